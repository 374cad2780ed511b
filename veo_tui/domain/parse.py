"""Turn any record-info answer into a :class:`TaskRecord` or a :class:`FetchError`.

kie.ai answers HTTP 200 with the real status in the body ``code``, has changed
where it puts result URLs more than once, writes times three ways, and now
and then sends a CDN refusal, an HTML gateway page or truncated JSON. Every
shape listed in ``shared/reference/kie-api.md`` is read here, and nothing
raises: whatever the bytes, the caller gets a value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, tzinfo
from typing import Any
from urllib.parse import urlsplit

from veo_tui.domain.records import (
    FetchError,
    FetchErrorKind,
    FetchResult,
    State,
    TaskRecord,
)
from veo_tui.domain.text import inert
from veo_tui.domain.times import parse_time

# The documented 422 messages of record-info, lower-cased and without the dot.
_RECORD_IS_NULL = "record is null"
_RETENTION = "temporarily supports records within 14 days"
_VALIDATION_HINTS = ("field is required", "must not be", "invalid param")

_FLAG_STATES = {
    0: State.GENERATING,
    1: State.SUCCESS,
    2: State.FAILED,
    3: State.FAILED,
}
_URL_SPLIT = re.compile(r"[\s,]+")
_MESSAGE_LIMIT = 300


def parse_record_info(
    task_id: str,
    http_status: int,
    body: bytes,
    *,
    naive_zone: tzinfo = UTC,
) -> FetchResult:
    """Read one record-info response.

    Args:
        task_id: The id that was asked for; the record carries it.
        http_status: The HTTP status line's code.
        body: The raw body, possibly truncated, non-JSON or not UTF-8.
        naive_zone: The zone of times written without one.
    """
    try:
        return _parse(task_id, http_status, body, naive_zone)
    except Exception as error:
        # A shape nobody has met yet: say so instead of crashing the caller.
        return FetchError(
            FetchErrorKind.MALFORMED,
            f"could not read kie.ai's answer ({type(error).__name__})",
            code=http_status,
        )


def _parse(task_id: str, http_status: int, body: bytes, zone: tzinfo) -> FetchResult:
    envelope = decode_json(body)
    if not isinstance(envelope, dict) or not looks_like_envelope(envelope):
        return non_json_error(http_status, body, envelope)

    code = as_int(envelope.get("code"))
    message = envelope_message(envelope)
    if code is None:
        code = http_status
    if code == 200:
        data = envelope.get("data")
        if isinstance(data, dict):
            return _record_from_data(task_id, data, message, zone)
        if data is None and _RECORD_IS_NULL in message.lower():
            return TaskRecord(task_id, State.NOT_FOUND, message=message)
        return FetchError(
            FetchErrorKind.MALFORMED,
            "kie.ai answered success but sent no record",
            code=code,
        )
    return body_code_result(task_id, code, message)


def decode_json(body: bytes) -> Any:
    """Parse JSON from bytes that may not be UTF-8; ``None`` when it is not JSON."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        # Keep the structure readable and mark the broken bytes visibly.
        text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def looks_like_envelope(body: Mapping[str, Any]) -> bool:
    """Whether a JSON object is kie.ai's envelope (``code``, ``msg``, ``data``)."""
    return "code" in body or "data" in body or "msg" in body or "message" in body


def envelope_message(envelope: Mapping[str, Any]) -> str:
    """The envelope's message, whichever key it came under."""
    # Some endpoints say "message" instead of "msg".
    for key in ("msg", "message"):
        value = envelope.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def non_json_error(http_status: int, body: bytes, parsed: Any) -> FetchError:
    """Classify an answer that is not kie.ai's JSON envelope."""
    snippet = _snippet(body)
    detail = f": {snippet}" if snippet else ""
    if http_status in (401, 403) and b"1010" not in body:
        return FetchError(
            FetchErrorKind.AUTH,
            f"HTTP {http_status}: the key was refused{detail}",
            code=http_status,
        )
    if http_status == 403:
        # Cloudflare's "error code: 1010": a client without a browser-like
        # User-Agent. Not the key's fault, and retrying will not help.
        return FetchError(
            FetchErrorKind.SERVER,
            f"HTTP 403 from kie.ai's CDN, which refused this client{detail}",
            code=http_status,
        )
    if http_status == 429:
        return FetchError(
            FetchErrorKind.RATE_LIMITED,
            f"HTTP 429: too many requests{detail}",
            code=429,
            retryable=True,
        )
    if http_status >= 500 or http_status == 455:
        kind = (
            FetchErrorKind.MAINTENANCE if http_status == 455 else FetchErrorKind.SERVER
        )
        return FetchError(
            kind,
            f"HTTP {http_status} from the server{detail}",
            code=http_status,
            retryable=True,
        )
    if http_status == 404:
        return FetchError(
            FetchErrorKind.SERVER,
            f"HTTP 404: no such endpoint; is the base URL right?{detail}",
            code=404,
        )
    if http_status != 200:
        return FetchError(
            FetchErrorKind.SERVER, f"HTTP {http_status}{detail}", code=http_status
        )
    if parsed is None:
        # A 200 whose body is not JSON was most often cut short on the way (a
        # proxy, a dropped transfer): asking again usually gets it whole.
        return FetchError(
            FetchErrorKind.MALFORMED,
            f"kie.ai sent a truncated or invalid JSON body{detail}",
            code=http_status,
            retryable=True,
        )
    return FetchError(
        FetchErrorKind.MALFORMED,
        f"kie.ai sent JSON of an unexpected shape{detail}",
        code=http_status,
    )


def _snippet(body: bytes) -> str:
    """A short, inert, single-line view of a body, for error messages."""
    text = body[:2000].decode("utf-8", errors="replace")
    text = re.sub(r"<[^>]*>", " ", text)  # HTML gateway pages: keep the words
    text = " ".join(text.split())
    return inert(text, limit=120)


def body_code_result(task_id: str, code: int, message: str) -> FetchResult:
    """Map a non-200 body code (kie.ai's real status) to a state or an error."""
    shown = inert(message, limit=_MESSAGE_LIMIT) or "no message"
    lowered = message.lower()
    if code == 401:
        return FetchError(
            FetchErrorKind.AUTH, f"the key was refused: {shown}", code=code
        )
    if code == 404 or (code == 422 and _RECORD_IS_NULL in lowered):
        return TaskRecord(task_id, State.NOT_FOUND, message=message or None)
    if code == 422 and _RETENTION in lowered:
        return TaskRecord(task_id, State.EXPIRED, message=message)
    if code == 422:
        # "record status is not success", "record result data is blank", ...:
        # the record exists, but kie.ai will not say more about it yet.
        return TaskRecord(task_id, State.UNKNOWN, message=message or None)
    if code == 429:
        return FetchError(
            FetchErrorKind.RATE_LIMITED,
            f"rate limited: {shown}",
            code=code,
            retryable=True,
        )
    if code == 433:
        # A sub-key's hourly, daily or total cap: waiting seconds will not help.
        return FetchError(
            FetchErrorKind.RATE_LIMITED,
            f"the key's usage cap was reached: {shown}",
            code=code,
        )
    if code == 455:
        return FetchError(
            FetchErrorKind.MAINTENANCE,
            f"kie.ai is under maintenance: {shown}",
            code=code,
            retryable=True,
        )
    if code >= 500:
        # A 500 carrying a validation text is our request's fault: do not retry.
        retryable = not any(hint in lowered for hint in _VALIDATION_HINTS)
        return FetchError(
            FetchErrorKind.SERVER,
            f"server error {code}: {shown}",
            code=code,
            retryable=retryable,
        )
    return FetchError(
        FetchErrorKind.SERVER, f"kie.ai answered {code}: {shown}", code=code
    )


def _record_from_data(
    task_id: str, data: Mapping[str, Any], message: str, zone: tzinfo
) -> TaskRecord:
    """Build a record from the ``data`` object of a code-200 answer."""
    flag = as_int(data.get("successFlag"))
    state = _FLAG_STATES.get(flag, State.UNKNOWN) if flag is not None else State.UNKNOWN
    response = data.get("response")
    if not isinstance(response, Mapping):
        response = {}

    # Current clients see URLs under response; the old format put a JSON string
    # straight under data; the callback schema sends a bracketed non-JSON string.
    result_urls = web_urls(response.get("resultUrls")) or web_urls(
        data.get("resultUrls")
    )
    params = _params(data.get("paramJson"))
    error_message = data.get("errorMessage")
    resolution = response.get("resolution", data.get("resolution"))
    prompt = params.get("prompt", data.get("prompt"))

    return TaskRecord(
        task_id=task_id,
        state=state,
        success_flag=flag,
        result_urls=result_urls,
        origin_urls=web_urls(response.get("originUrls"))
        or web_urls(data.get("originUrls")),
        full_result_urls=web_urls(response.get("fullResultUrls"))
        or web_urls(data.get("fullResultUrls")),
        resolution=str(resolution)
        if isinstance(resolution, str | int) and resolution != ""
        else None,
        error_code=_error_code(data.get("errorCode")),
        error_message=error_message.strip() or None
        if isinstance(error_message, str)
        else None,
        created_at=parse_time(data.get("createTime"), zone),
        completed_at=parse_time(data.get("completeTime"), zone),
        prompt=prompt if isinstance(prompt, str) else None,
        params=params,
        message=message if message and message.lower() != "success" else None,
    )


def as_int(value: object) -> int | None:
    """An int from an int or a numeric string ("1"); ``None`` otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,9}\s*", value):
        return int(value)
    return None


def _error_code(value: object) -> int | str | None:
    number = as_int(value)
    if number is not None:
        return number
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _params(value: object) -> dict[str, Any]:
    """The request parameters from ``paramJson`` (a JSON string, or an object)."""
    if isinstance(value, str):
        value = decode_json(value.encode("utf-8", errors="surrogatepass"))
    return dict(value) if isinstance(value, Mapping) else {}


def web_urls(value: object) -> tuple[str, ...]:
    """http(s) URLs from a list, a JSON-encoded list, or ``"[http://a, http://b]"``."""
    if isinstance(value, str):
        text = value.strip()
        decoded = (
            decode_json(text.encode("utf-8", errors="surrogatepass")) if text else None
        )
        if isinstance(decoded, list | str):
            value = decoded if isinstance(decoded, list) else [decoded]
        else:
            value = [
                piece.strip("\"' ") for piece in _URL_SPLIT.split(text.strip("[]"))
            ]
    if not isinstance(value, list):
        return ()
    return tuple(
        dict.fromkeys(
            item.strip()
            for item in value
            if isinstance(item, str) and is_web_url(item.strip())
        )
    )


def is_web_url(text: str) -> bool:
    """Whether ``text`` is an http(s) URL with a host and nothing unprintable."""
    if not text or len(text) > 4096 or not text.isprintable() or " " in text:
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)
