"""Read the answers of kie.ai's other endpoints: credits, 1080p and 4K videos.

They share record-info's envelope and its habits (HTTP 200 with the real status
in the body ``code``, non-JSON refusals from the CDN), plus a few of their own:
``get-1080p-video`` says "1080P is processing..." with codes 400 or 500, and
``get-4k-video`` has answered 422 with the URLs already in ``data``. So these
parsers decide by what came back (a URL, a number) before they look at the
code. Like :func:`~veo_tui.domain.parse.parse_record_info`, nothing here raises.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from veo_tui.domain.parse import (
    as_int,
    body_code_result,
    decode_json,
    envelope_message,
    looks_like_envelope,
    non_json_error,
    web_urls,
)
from veo_tui.domain.records import FetchError, FetchErrorKind
from veo_tui.domain.text import inert

_T = TypeVar("_T")
_PROCESSING = "processing"


def format_credits(balance: float) -> str:
    """``35.95`` as given, ``500`` rather than ``500.0``, never ``1e+06``."""
    return str(int(balance)) if balance.is_integer() else repr(balance)


def parse_credits(http_status: int, body: bytes) -> float | FetchError:
    """The account's balance from ``GET /api/v1/chat/credit``, fractions as given.

    Args:
        http_status: The HTTP status line's code.
        body: The raw body.
    """

    def read(code: int, message: str, data: Any) -> float | FetchError:
        balance = _as_number(data)
        if code == 200 and balance is not None:
            return balance
        if code == 200:
            return FetchError(
                FetchErrorKind.MALFORMED,
                "kie.ai answered success but sent no balance",
                code=code,
            )
        return _error(code, message)

    return _guarded(http_status, body, read)


def parse_1080p(http_status: int, body: bytes) -> str | FetchError | None:
    """The 1080p URL from ``get-1080p-video``; ``None`` while it is processing.

    A URL in ``data.resultUrl`` wins whatever the code. Without one, a message
    that says "processing" (sent with 400 or 500) or a code-200 answer means
    "not yet"; anything else is the error it says.
    """

    def read(code: int, message: str, data: Any) -> str | FetchError | None:
        urls = _urls_in(data, "resultUrl", "resultUrls")
        if urls:
            return urls[0]
        if code == 200 or _PROCESSING in message.lower():
            return None
        return _error(code, message)

    return _guarded(http_status, body, read)


def parse_4k(http_status: int, body: bytes) -> tuple[str, ...] | FetchError | None:
    """The 4K URLs from ``get-4k-video``; ``None`` while it is processing.

    URLs in ``data.resultUrls`` win whatever the code (422 has been seen with
    them). Without any, "4k is processing..." (422) or a code-200 answer (the
    first request, just accepted) means "not yet".
    """

    def read(code: int, message: str, data: Any) -> tuple[str, ...] | FetchError | None:
        urls = _urls_in(data, "resultUrls", "resultUrl")
        if urls:
            return urls
        if code == 200 or _PROCESSING in message.lower():
            return None
        return _error(code, message)

    return _guarded(http_status, body, read)


def _guarded(
    http_status: int,
    body: bytes,
    read: Callable[[int, str, Any], _T | FetchError],
) -> _T | FetchError:
    """Decode the envelope, hand code, message and data to ``read``; never raise."""
    try:
        envelope = decode_json(body)
        if not isinstance(envelope, dict) or not looks_like_envelope(envelope):
            return non_json_error(http_status, body, envelope)
        code = as_int(envelope.get("code"))
        return read(
            http_status if code is None else code,
            envelope_message(envelope),
            envelope.get("data"),
        )
    except Exception as error:
        # A shape nobody has met yet: say so instead of crashing the caller.
        return FetchError(
            FetchErrorKind.MALFORMED,
            f"could not read kie.ai's answer ({type(error).__name__})",
            code=http_status,
        )


def _error(code: int, message: str) -> FetchError:
    """The fetch error for a body code, mapped as record-info's are."""
    result = body_code_result("", code, message)
    if isinstance(result, FetchError):
        return result
    # record-info turns 404/422 into task states; here they are plain refusals
    # ("record is null.", "record status is not success", expired, ...).
    shown = inert(message, limit=300) or "no message"
    return FetchError(
        FetchErrorKind.SERVER, f"kie.ai answered {code}: {shown}", code=code
    )


def _urls_in(data: Any, *keys: str) -> tuple[str, ...]:
    """http(s) URLs under the first of ``keys`` in ``data`` that holds any."""
    if not isinstance(data, Mapping):
        return ()
    for key in keys:
        value = data.get(key)
        urls = web_urls(
            [value] if isinstance(value, str) and key.endswith("Url") else value
        )
        if urls:
            return urls
    return ()


def _as_number(value: object) -> float | None:
    """A finite float from a number or a numeric string; ``None`` otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None
