"""Follow a 1080p or 4K request until its video is ready, without paying twice.

kie.ai makes both on request and answers "processing" until they are done:
``get-1080p-video`` is free to ask again and again; ``get-4k-video`` costs
credits on the first request and answers repeats with "4k is processing...".
The helpers here ask, wait, and ask again a bounded number of times (the wait
is injectable, so tests move a clock instead of sleeping).

A 4K request is the one place veo-tui spends the user's money, so
:class:`FourKRequests` remembers, for the whole process, which tasks were
asked for: while one :func:`follow_4k` is in flight for a task, a second call
joins it instead of sending another first request, and once the URLs are in,
later calls get them without asking kie.ai at all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from veo_tui.api.client import KieClient
from veo_tui.domain import FetchError, FetchErrorKind

log = logging.getLogger(__name__)

HD_INTERVAL = 20.0
"""Seconds between 1080p checks; kie.ai suggests 20-30."""

UHD_INTERVAL = 30.0
"""Seconds between 4K checks; kie.ai suggests 30 or more."""

_T = TypeVar("_T")
_Key = tuple[str, int]

PollCallback = Callable[[int, object], None]
"""Called after each check with its number (from 1) and what it returned: the
URL(s), ``None`` while processing, or a :class:`FetchError`. After check 1 of a
4K follow the credits have been spent (a good moment to refresh the balance)."""


class FourKRequests:
    """The 4K videos this process asked kie.ai for, so none is paid for twice.

    Keep one for the whole process (the dashboard holds one) and pass it to
    every :func:`follow_4k`. It lives in one event loop.
    """

    def __init__(self) -> None:
        self._requested: set[_Key] = set()
        self._ready: dict[_Key, tuple[str, ...]] = {}
        self._flights: dict[_Key, asyncio.Future[tuple[str, ...] | FetchError]] = {}

    def was_requested(self, task_id: str, index: int = 0) -> bool:
        """Whether a (paid) first request for this video has been sent."""
        return (task_id, index) in self._requested

    def in_flight(self, task_id: str, index: int = 0) -> bool:
        """Whether a :func:`follow_4k` for this video is running now."""
        return (task_id, index) in self._flights

    def urls(self, task_id: str, index: int = 0) -> tuple[str, ...] | None:
        """The 4K URLs, once a follow has received them."""
        return self._ready.get((task_id, index))

    def remember(
        self, task_id: str, index: int = 0, urls: tuple[str, ...] = ()
    ) -> None:
        """Take what an earlier run knew: the request was sent, and its URLs."""
        self._requested.add((task_id, index))
        if urls:
            self._ready[(task_id, index)] = urls


async def follow_1080p(
    client: KieClient,
    task_id: str,
    index: int = 0,
    *,
    interval: float = HD_INTERVAL,
    max_polls: int = 30,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    on_poll: PollCallback | None = None,
) -> str | FetchError:
    """Ask for a task's 1080p video until its URL comes back.

    Args:
        client: The API client.
        task_id: A successful 16:9 task.
        index: Which of the task's videos (0 for the first).
        interval: Seconds between checks.
        max_polls: Checks before giving up with a ``timeout`` error.
        sleep: Awaitable sleep, replaceable so tests need not wait.
        on_poll: Told the outcome of every check.

    Returns:
        The URL, or the error that ended the wait.
    """
    return await _follow(
        lambda: client.get_1080p(task_id, index),
        interval=interval,
        max_polls=max_polls,
        sleep=sleep,
        on_poll=on_poll,
        what="1080p",
    )


async def follow_4k(
    client: KieClient,
    guard: FourKRequests,
    task_id: str,
    index: int = 0,
    *,
    interval: float = UHD_INTERVAL,
    max_polls: int = 40,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    on_poll: PollCallback | None = None,
) -> tuple[str, ...] | FetchError:
    """Request a task's 4K video (this costs credits) and wait for its URLs.

    Ask the user before calling this. With the same ``guard``, a second call
    for a video already being followed waits for the first one's outcome, and
    a call for a video already received returns its URLs without a request.
    After an error the guard forgets the flight, so the user may try again;
    kie.ai answers a repeat of a request it took with "processing", not with
    a second charge.

    Args:
        client: The API client.
        guard: The process's record of 4K requests.
        task_id: A successful task.
        index: Which of the task's videos (0 for the first).
        interval: Seconds between checks.
        max_polls: Checks, the paid first request included, before giving up
            with a ``timeout`` error.
        sleep: Awaitable sleep, replaceable so tests need not wait.
        on_poll: Told the outcome of every check (see :data:`PollCallback`).

    Returns:
        The URLs, or the error that ended the wait.
    """
    key = (task_id, index)
    ready = guard.urls(task_id, index)
    if ready is not None:
        return ready
    flight = guard._flights.get(key)
    if flight is not None:
        return await asyncio.shield(flight)

    flight = asyncio.get_running_loop().create_future()
    guard._flights[key] = flight

    async def ask() -> tuple[str, ...] | FetchError | None:
        guard._requested.add(key)
        return await client.get_4k(task_id, index)

    try:
        result = await _follow(
            ask,
            interval=interval,
            max_polls=max_polls,
            sleep=sleep,
            on_poll=on_poll,
            what="4K",
        )
    except BaseException:
        # Whoever joined this flight gets a value, not someone else's cancel.
        flight.set_result(
            FetchError(
                FetchErrorKind.TIMEOUT,
                f"following the 4K request of {task_id} was stopped; asking again "
                "is not charged twice",
            )
        )
        raise
    finally:
        del guard._flights[key]
    if not isinstance(result, FetchError):
        guard._ready[key] = result
    flight.set_result(result)
    return result


async def _follow(
    ask: Callable[[], Awaitable[_T | FetchError | None]],
    *,
    interval: float,
    max_polls: int,
    sleep: Callable[[float], Awaitable[None]],
    on_poll: PollCallback | None,
    what: str,
) -> _T | FetchError:
    """Call ``ask`` until a value or a final error, at most ``max_polls`` times.

    ``None`` (processing) and errors that may pass (already retried by the
    client) mean "ask again after ``interval``", or after the server's
    ``Retry-After`` when that is longer.
    """
    for poll in range(1, max_polls + 1):
        result = await ask()
        if on_poll is not None:
            on_poll(poll, result)
        if result is None:
            wait = interval
        elif isinstance(result, FetchError):
            if not result.retryable:
                return result
            wait = max(interval, result.retry_after or 0.0)
        else:
            return result
        if poll < max_polls:
            log.info("%s video still processing; check %d in %.0fs", what, poll, wait)
            await sleep(wait)
    return FetchError(
        FetchErrorKind.TIMEOUT,
        f"the {what} video was still not ready after {max_polls} checks; "
        "try again later",
    )
