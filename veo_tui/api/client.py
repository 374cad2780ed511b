"""The async kie.ai client: one shared connection pool, bounded and polite.

Every request has explicit timeouts, a ``User-Agent`` naming veo-tui (kie's CDN
refuses clients without one), a cap on how much of a response is read, and a
bounded number of retries with exponential backoff and jitter for the
failures that may pass (429, 455, 5xx, timeouts, dropped connections),
honouring ``Retry-After``. Methods return values, never raise: a record, or a
:class:`~veo_tui.domain.FetchError` saying why there is none.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

import httpx

from veo_tui import __version__
from veo_tui.api.options import ApiOptions
from veo_tui.domain import (
    FetchError,
    FetchErrorKind,
    FetchResult,
    inert,
    parse_4k,
    parse_1080p,
    parse_credits,
    parse_record_info,
)

log = logging.getLogger(__name__)

RECORD_INFO_PATH = "/api/v1/veo/record-info"
CREDIT_PATH = "/api/v1/chat/credit"
HD_PATH = "/api/v1/veo/get-1080p-video"
UHD_PATH = "/api/v1/veo/get-4k-video"
USER_AGENT = f"veo-tui/{__version__} python-httpx/{httpx.__version__}"


_T = TypeVar("_T")


def _after_tries(error: FetchError, tries: int) -> FetchError:
    """Say how many tries an error took, when it took more than one."""
    if tries < 2:
        return error
    return replace(error, message=f"{error.message} ({tries} tries)")


_NO_KEY = FetchError(FetchErrorKind.AUTH, "no API key is set (KIE_API_KEY)")


class _BodyTooLarge(Exception):
    pass


@dataclass(frozen=True, slots=True)
class RawResponse:
    """A response read within the size cap."""

    status: int
    headers: httpx.Headers
    body: bytes


class KieClient:
    """One run's client of kie.ai; use as ``async with KieClient(options)``.

    Args:
        options: Where and how to connect.
        transport: An httpx transport to use instead of the network (tests).
        sleep: Awaitable sleep, replaceable so tests need not wait.
        jitter: Returns a float in [0, 1); replaceable for repeatable tests.
        now: The current time, for ``Retry-After`` given as an HTTP date.
        http2: Speak HTTP/2 (needs the optional ``h2`` package). Over https it
            is negotiated and HTTP/1.1 stays the fallback; over plain http
            (the local stand-in) it is spoken by prior knowledge (h2c), so the
            server must speak it. Off by default: HTTP/1.1 only.
    """

    def __init__(
        self,
        options: ApiOptions,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        http2: bool = False,
    ) -> None:
        self.options = options
        self._sleep = sleep
        self._jitter = jitter
        self._now = now
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if options.key:
            headers["Authorization"] = f"Bearer {options.key}"
        self._http = httpx.AsyncClient(
            base_url=options.base_url,
            headers=headers,
            timeout=httpx.Timeout(options.timeout, connect=options.connect_timeout),
            limits=httpx.Limits(
                max_connections=options.max_connections,
                max_keepalive_connections=options.max_connections,
            ),
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            http2=http2,
            # httpx only speaks HTTP/2 over plain http by prior knowledge,
            # which it does when HTTP/1.1 is off.
            http1=not (http2 and urlsplit(options.base_url).scheme == "http"),
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def record_info(self, task_id: str) -> FetchResult:
        """Fetch and parse one task's record, retrying what may pass."""
        if not self.options.key:
            return _NO_KEY

        async def once() -> FetchResult:
            raw = await self._get(RECORD_INFO_PATH, {"taskId": task_id})
            if isinstance(raw, FetchError):
                return raw
            result = parse_record_info(
                task_id, raw.status, raw.body, naive_zone=self.options.naive_zone
            )
            if isinstance(result, FetchError):
                result = replace(result, retry_after=self._retry_after(raw.headers))
            return result

        return await self._with_retries(once)

    async def credits(self) -> float | FetchError:
        """The account's credit balance, fractions as kie.ai gives them."""
        if not self.options.key:
            return _NO_KEY

        async def once() -> float | FetchError:
            raw = await self._get(CREDIT_PATH, {})
            if isinstance(raw, FetchError):
                return raw
            return self._with_retry_after(parse_credits(raw.status, raw.body), raw)

        return await self._with_retries(once)

    async def get_1080p(self, task_id: str, index: int = 0) -> str | FetchError | None:
        """Ask for a task's 1080p video: its URL when ready, ``None`` while not.

        Free and safe to repeat; kie.ai suggests asking every 20-30 s.

        Args:
            task_id: A successful 16:9 task.
            index: Which of the task's videos (0 for the first).
        """
        if not self.options.key:
            return _NO_KEY

        async def once() -> str | FetchError | None:
            raw = await self._get(HD_PATH, {"taskId": task_id, "index": index})
            if isinstance(raw, FetchError):
                return raw
            return self._with_retry_after(parse_1080p(raw.status, raw.body), raw)

        return await self._with_retries(once)

    async def get_4k(
        self, task_id: str, index: int = 0
    ) -> tuple[str, ...] | FetchError | None:
        """Ask for a task's 4K video: its URLs when ready, ``None`` while not.

        The first request of a task **costs credits**. kie.ai answers a repeat
        while processing with "4k is processing..." and no charge, but two
        first requests racing each other may both be charged: never call this
        twice at once for one task; :func:`veo_tui.api.upscale.follow_4k` with
        a :class:`~veo_tui.api.upscale.FourKRequests` guard sees to that. It is
        sent once, without automatic retries, since a lost answer does not
        prove the request was not taken.

        Args:
            task_id: A successful task.
            index: Which of the task's videos (0 for the first).
        """
        if not self.options.key:
            return _NO_KEY
        raw = await self._request(
            "POST", UHD_PATH, json={"taskId": task_id, "index": index}
        )
        if isinstance(raw, FetchError):
            return raw
        return self._with_retry_after(parse_4k(raw.status, raw.body), raw)

    def _with_retry_after(self, result: _T, raw: RawResponse) -> _T:
        """``result`` with the server's ``Retry-After``, when it is an error."""
        if isinstance(result, FetchError):
            retry_after = self._retry_after(raw.headers)
            return replace(result, retry_after=retry_after)
        return result

    async def _with_retries(self, attempt: Callable[[], Awaitable[_T]]) -> _T:
        """Run ``attempt`` until a value, a final error, or no retries left."""
        tries = 0
        while True:
            result = await attempt()
            if not isinstance(result, FetchError) or not result.retryable:
                return result
            if tries >= self.options.max_retries:
                return _after_tries(result, tries + 1)  # type: ignore[return-value]
            delay = self._delay(tries, result.retry_after)
            if delay is None:
                return _after_tries(result, tries + 1)  # type: ignore[return-value]
            tries += 1
            log.info(
                "retry %d in %.2fs after %s: %s",
                tries,
                delay,
                result.kind,
                result.message,
            )
            await self._sleep(delay)

    def _delay(self, tries: int, retry_after: float | None) -> float | None:
        """Seconds to wait before the next try, or ``None`` to stop trying."""
        if retry_after is not None:
            return retry_after if retry_after <= self.options.max_retry_wait else None
        ceiling = min(self.options.backoff_cap, self.options.backoff_base * 2.0**tries)
        return ceiling * (0.5 + 0.5 * self._jitter())

    def _retry_after(self, headers: httpx.Headers) -> float | None:
        """``Retry-After`` in seconds, from either of its two forms."""
        value = headers.get("retry-after")
        if value is None:
            return None
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return max(0.0, (moment - self._now()).total_seconds())

    async def _get(self, path: str, params: dict[str, Any]) -> RawResponse | FetchError:
        """One GET within the size cap and the whole-request timeout."""
        return await self._request("GET", path, params=params)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
    ) -> RawResponse | FetchError:
        """One request within the size cap and the whole-request timeout."""
        try:
            async with asyncio.timeout(self.options.timeout):
                async with self._http.stream(
                    method, path, params=params, json=json
                ) as response:
                    body = await self._read_capped(response)
                    return RawResponse(response.status_code, response.headers, body)
        except (TimeoutError, httpx.TimeoutException):
            return FetchError(
                FetchErrorKind.TIMEOUT,
                f"no answer from {self._host} within {self.options.timeout:g} s",
                retryable=True,
            )
        except _BodyTooLarge:
            return FetchError(
                FetchErrorKind.MALFORMED,
                f"the answer was larger than {self.options.max_body_bytes:,} bytes",
            )
        except httpx.DecodingError:
            return FetchError(
                FetchErrorKind.MALFORMED,
                "the answer's compressed body could not be decoded",
            )
        except httpx.HTTPError as error:
            reason = inert(str(error), limit=160) or type(error).__name__
            return FetchError(
                FetchErrorKind.NETWORK,
                f"could not reach {self._host}: {reason}",
                retryable=True,
            )

    async def _read_capped(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.options.max_body_bytes:
            raise _BodyTooLarge
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.options.max_body_bytes:
                raise _BodyTooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    @property
    def _host(self) -> str:
        return urlsplit(self.options.base_url).netloc or self.options.base_url
