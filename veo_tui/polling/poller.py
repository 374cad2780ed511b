"""The async loop that runs the scheduler: fetch what is due, within limits.

The :class:`Poller` asks its :class:`~veo_tui.polling.scheduler.Scheduler`
which task ids are due, fetches them with at most ``concurrency`` requests in
flight and at most ``max_requests_per_second`` started per second, tells the
scheduler each answer as it comes, and hands the answers to its caller in
batches, so a dashboard repaints once per batch rather than once per task.
Clock, sleep and fetch are injectable, so tests run on a fake clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from veo_tui.domain import FetchError, FetchErrorKind, FetchResult, TaskRecord
from veo_tui.polling.scheduler import PauseKind, Scheduler

if TYPE_CHECKING:
    from veo_tui.api.client import KieClient

log = logging.getLogger(__name__)

Fetch = Callable[[str], Awaitable[FetchResult]]
"""Fetches one task's record, never raising: ``KieClient.record_info``'s shape."""


@dataclass(frozen=True, slots=True)
class PollResult:
    """One answer, as handed to the caller.

    Attributes:
        task_id: The task that was fetched.
        result: Its record, or why there is none.
        checked_at: When the answer came (aware, UTC).
    """

    task_id: str
    result: FetchResult
    checked_at: datetime


@dataclass(frozen=True, slots=True)
class PauseStatus:
    """Why every request waits, for the header of the UI.

    Attributes:
        kind: Rate limit, maintenance, or a refused key.
        reason: A few words for the user, e.g. "rate limited by kie.ai".
        until: When requests resume (aware, UTC); ``None`` for a refused key,
            which waits until the key changes.
    """

    kind: PauseKind
    reason: str
    until: datetime | None


@dataclass(frozen=True, slots=True)
class Backlog:
    """Tasks due now that wait their turn behind the limits, for the UI.

    Attributes:
        waiting: Tasks due and not yet sent.
        seconds: About how long until the last of them is sent.
        limit: Which limit holds them back: ``"rate"``
            (``max_requests_per_second``) or ``"concurrency"``.
        cycle: When the limits cannot keep up with every unfinished task even
            at ``max_interval``, about how long one round of them takes (the
            real interval each task gets); ``None`` when they can.
        first: Of the waiting, tasks never answered yet (they go first).
        first_seconds: About how long until each of those has been sent.
    """

    waiting: int
    seconds: float
    limit: str
    cycle: float | None = None
    first: int = 0
    first_seconds: float = 0.0


class Poller:
    """Runs a :class:`Scheduler` against kie.ai until stopped.

    Args:
        scheduler: Whose settings give the limits and whose rules say what is
            due. The poller owns it while running: change the watched set
            through :meth:`track`, :meth:`forget` and :meth:`refresh`, which
            also wake the loop.
        on_batch: Called with the answers gathered so far, at most every
            ``batch_window`` seconds, or sooner when ``batch_size`` answers
            have come or no request is left in flight.
        client: The client whose ``record_info`` fetches, over its one pool.
        fetch: A fetch to use instead of the client's (tests, the stand-in).
        clock: Monotonic seconds; the scheduler's time.
        wall_clock: The aware UTC time, for ``checked_at``.
        sleep: Awaitable sleep on ``clock``'s time.
        batch_window: Seconds an answer may wait for others to join its batch.
        batch_size: Answers that make a batch full.
    """

    def __init__(
        self,
        scheduler: Scheduler,
        on_batch: Callable[[list[PollResult]], None],
        *,
        client: KieClient | None = None,
        fetch: Fetch | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        batch_window: float = 0.1,
        batch_size: int = 200,
    ) -> None:
        if fetch is None:
            if client is None:
                raise ValueError("Poller needs a client or a fetch function")
            fetch = client.record_info
        self.scheduler = scheduler
        self._on_batch = on_batch
        self._fetch = fetch
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._batch_window = batch_window
        self._batch_size = max(1, batch_size)

        self._wake = asyncio.Event()
        self._stopping = False
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._starts: deque[float] = deque()
        self._batch: list[PollResult] = []
        self._batch_started: float | None = None
        self._latency: float | None = None  # a moving mean of answer times

    # Changing what is watched; each wakes the loop.

    def track(
        self, task_id: str, record: TaskRecord | None = None, *, age: float = 0.0
    ) -> None:
        """Watch a task (see :meth:`Scheduler.track`)."""
        self.scheduler.track(task_id, self._clock(), record, age=age)
        self.wake()

    def forget(self, task_id: str) -> None:
        """Stop watching a task; an answer still in flight is dropped."""
        self.scheduler.forget(task_id)
        task = self._in_flight.pop(task_id, None)
        if task is not None:
            task.cancel()

    def refresh(self, task_ids: Iterable[str]) -> None:
        """Fetch these tasks as soon as limits allow, even finished ones."""
        self.scheduler.refresh(task_ids, self._clock())
        self.wake()

    def resume_auth(self) -> None:
        """The key changed: end a pause for a refused key."""
        self.scheduler.resume_auth()
        self.wake()

    def wake(self) -> None:
        """Look at the scheduler again now (ids were added or refreshed)."""
        self._wake.set()

    @property
    def paused(self) -> bool:
        """Whether automatic polling is paused (explicit refreshes still run)."""
        return not self.scheduler.auto_refresh

    def set_paused(self, paused: bool) -> None:
        """Pause or resume automatic polling."""
        self.scheduler.auto_refresh = not paused
        self.wake()

    # What the UI shows.

    @property
    def in_flight(self) -> int:
        """Requests sent and not yet answered."""
        return len(self._in_flight)

    def pause_status(self) -> PauseStatus | None:
        """Why every request waits and until when, or ``None`` if none does."""
        scheduler = self.scheduler
        if scheduler.pause_kind is None or scheduler.pause_reason is None:
            return None
        until = None
        if scheduler.paused_until is not None:
            left = max(0.0, scheduler.paused_until - self._clock())
            until = self._wall_clock() + timedelta(seconds=left)
        return PauseStatus(scheduler.pause_kind, scheduler.pause_reason, until)

    def next_check(self, task_id: str) -> float | None:
        """Seconds until ``task_id`` is fetched again by itself, if it will be.

        A task already due but queued behind others counts the time its turn
        should take at the current limits, not zero.
        """
        now = self._clock()
        seconds = self.scheduler.next_check(task_id, now)
        if seconds == 0.0:
            ahead = self.scheduler.queue_position(task_id, now)
            if ahead:
                seconds = self._turn_in(ahead)[0]
        return seconds

    def queue_position(self, task_id: str) -> int | None:
        """How many due tasks will be sent before ``task_id``, if it is due."""
        return self.scheduler.queue_position(task_id, self._clock())

    def backlog(self) -> Backlog | None:
        """The tasks waiting their turn, when more are due than can be sent now."""
        waiting = self.scheduler.waiting(self._clock())
        if waiting == 0:
            return None
        seconds, limit = self._turn_in(waiting)
        first = self.scheduler.waiting(self._clock(), first_only=True)
        if first:
            first_seconds, first_limit = self._turn_in(first)
            return Backlog(
                waiting, seconds, first_limit, first=first, first_seconds=first_seconds
            )
        # Only tasks checked before wait: perhaps for good. A round of every
        # unfinished task longer than the longest interval (and its jitter)
        # says the limits cannot keep up with them.
        round_trip, round_limit = self._turn_in(self.scheduler.polled())
        if round_trip > self.scheduler.settings.max_interval * 1.1:
            return Backlog(waiting, seconds, round_limit, cycle=round_trip)
        return Backlog(waiting, seconds, limit)

    def _turn_in(self, ahead: int) -> tuple[float, str]:
        """About how long until ``ahead`` more requests have been sent, and which
        limit says so."""
        settings = self.scheduler.settings
        by_rate = (
            ahead / settings.max_requests_per_second
            if settings.max_requests_per_second > 0
            else 0.0
        )
        by_slots = ahead / max(1, settings.concurrency) * (self._latency or 0.0)
        if by_rate >= by_slots:
            return by_rate, "rate"
        return by_slots, "concurrency"

    # The loop.

    def stop(self) -> None:
        """Ask :meth:`run` to end; requests in flight are abandoned."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Fetch what is due until :meth:`stop`; safe to cancel.

        On the way out, requests in flight are cancelled (their tasks become
        due again) and the answers already gathered are delivered.
        """
        self._stopping = False
        try:
            while not self._stopping:
                self._start_due()
                self._flush_if_ready()
                await self._wait(self._next_timeout())
        finally:
            await self._abandon_in_flight()
            if self._batch:
                self._flush()

    def _start_due(self) -> None:
        """Send requests for due ids, as far as the two limits allow."""
        now = self._clock()
        room = self.scheduler.settings.concurrency - len(self._in_flight)
        room = min(room, self._rate_room(now))
        if room <= 0:
            return
        for task_id in self.scheduler.due(now, limit=room):
            self.scheduler.started(task_id, now)
            self._starts.append(now)
            self._in_flight[task_id] = asyncio.create_task(
                self._fetch_one(task_id), name=f"veo-tui fetch {task_id}"
            )

    def _rate_window(self) -> tuple[float, int] | None:
        """The limit as "at most N starts in any window of W seconds".

        ``None`` when there is no limit. Below one request per second the
        window widens, so 0.5 means one start in any two seconds.
        """
        limit = self.scheduler.settings.max_requests_per_second
        if limit <= 0:
            return None
        window = max(1.0, 1.0 / limit)
        return window, max(1, int(limit * window))

    def _rate_room(self, now: float) -> int:
        """Requests that may start now without passing the rate limit."""
        rate = self._rate_window()
        if rate is None:
            return self.scheduler.settings.concurrency
        window, count = rate
        while self._starts and self._starts[0] <= now - window:
            self._starts.popleft()
        return max(0, count - len(self._starts))

    def _rate_wait(self, now: float) -> float:
        """Seconds until the rate limit lets one more request start."""
        rate = self._rate_window()
        if rate is None or self._rate_room(now) > 0 or not self._starts:
            return 0.0
        return max(0.0, self._starts[0] + rate[0] - now)

    def _next_timeout(self) -> float | None:
        """Seconds to wait before looking again; ``None`` to wait for a wake."""
        now = self._clock()
        waits: list[float] = []
        if len(self._in_flight) < self.scheduler.settings.concurrency:
            due_in = self.scheduler.next_wake(now)
            if due_in is not None:
                waits.append(max(due_in, self._rate_wait(now)))
        if self._batch_started is not None:
            waits.append(max(0.0, self._batch_started + self._batch_window - now))
        return min(waits) if waits else None

    async def _wait(self, seconds: float | None) -> None:
        """Sleep ``seconds``, or until woken, whichever comes first."""
        if self._wake.is_set():
            self._wake.clear()
            return
        if seconds is not None and seconds <= 0:
            # Let the fetches that are ready run before looking again.
            await asyncio.sleep(0)
            return
        waiter = asyncio.ensure_future(self._wake.wait())
        waiters: set[asyncio.Future[Any]] = {waiter}
        if seconds is not None:
            waiters.add(asyncio.ensure_future(self._sleep(seconds)))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in waiters:
                pending.cancel()
        self._wake.clear()

    async def _fetch_one(self, task_id: str) -> None:
        sent = self._clock()
        try:
            result = await self._fetch(task_id)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            # The client never raises by contract; a fake or a bug might.
            log.exception("fetching %s raised", task_id)
            result = FetchError(
                FetchErrorKind.NETWORK,
                f"unexpected error while fetching: {type(error).__name__}",
                retryable=True,
            )
        if self._in_flight.pop(task_id, None) is None:
            return  # forgotten meanwhile
        now = self._clock()
        took = max(0.0, now - sent)
        self._latency = (
            took if self._latency is None else (0.8 * self._latency + 0.2 * took)
        )
        self.scheduler.on_result(task_id, result, now)
        self._batch.append(PollResult(task_id, result, self._wall_clock()))
        if self._batch_started is None:
            self._batch_started = now
        self._wake.set()

    def _flush_if_ready(self) -> None:
        if not self._batch or self._batch_started is None:
            return
        full = len(self._batch) >= self._batch_size
        aged = self._clock() >= self._batch_started + self._batch_window
        idle = not self._in_flight
        if full or aged or idle:
            self._flush()

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        self._batch_started = None
        self._on_batch(batch)

    async def _abandon_in_flight(self) -> None:
        tasks = dict(self._in_flight)
        self._in_flight.clear()
        for task in tasks.values():
            task.cancel()
        if tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks.values(), return_exceptions=True)
        now = self._clock()
        for task_id in tasks:
            self.scheduler.cancelled(task_id, now)
