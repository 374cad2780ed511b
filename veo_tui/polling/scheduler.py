"""Which task to fetch when: intervals, growth, backoff and global pauses.

The :class:`Scheduler` is pure: it does no I/O and never reads a clock. The
caller passes the time in (seconds from a monotonic clock) and reports what
each fetch returned; the scheduler answers which task ids are due and how long
until the next one is. That keeps every timing rule testable with plain
numbers, and lets the dashboard and ``veo-tui watch`` share one policy.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from veo_tui.domain import FetchError, FetchErrorKind, FetchResult, State, TaskRecord


@dataclass(frozen=True, slots=True)
class PollSettings:
    """How often to ask kie.ai, and how gently.

    Attributes:
        interval: Seconds between polls of a generating task at first.
        max_interval: The longest interval that growth reaches.
        growth: Factor applied to the interval after each unchanged answer.
        jitter: Relative spread of every delay (0.1 means +-10%), so tasks
            added together do not stay in lockstep.
        grace: Seconds after a task is added during which "record is null."
            means "not visible yet" rather than "not found".
        concurrency: Requests in flight at once, across all tasks.
        max_requests_per_second: Requests started per second; 0 means no limit.
        error_backoff_base: Seconds before retrying a task after its first
            failed request; each further failure doubles it.
        error_backoff_cap: The longest per-task backoff, and the longest
            global pause taken when kie.ai gives no ``Retry-After``.
    """

    interval: float = 10.0
    max_interval: float = 60.0
    growth: float = 1.5
    jitter: float = 0.1
    grace: float = 120.0
    concurrency: int = 8
    max_requests_per_second: float = 10.0
    error_backoff_base: float = 10.0
    error_backoff_cap: float = 300.0


class PauseKind(StrEnum):
    """Why no task is being fetched at all."""

    RATE_LIMITED = "rate_limited"
    MAINTENANCE = "maintenance"
    AUTH = "auth"


_PAUSE_REASONS = {
    PauseKind.RATE_LIMITED: "rate limited by kie.ai",
    PauseKind.MAINTENANCE: "kie.ai maintenance",
    PauseKind.AUTH: "key refused by kie.ai",
}


@dataclass(slots=True)
class _Task:
    """What the scheduler keeps about one task."""

    tracked_at: float
    order: int
    due_at: float | None
    interval: float = 0.0
    errors: int = 0
    in_flight: bool = False
    forced: bool = False
    last: TaskRecord | None = None


def _turn(task: _Task) -> tuple[bool, float, int]:
    """Where a due task stands in line: never answered first, then the
    longest overdue, then the first tracked."""
    return (task.last is not None, task.due_at or 0.0, task.order)


class Scheduler:
    """Decides which task ids are due, from their answers and the time.

    Args:
        settings: The timing rules.
        random: Returns a float in [0, 1); replaceable for repeatable tests.
    """

    def __init__(
        self,
        settings: PollSettings | None = None,
        *,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self.settings = settings or PollSettings()
        self._random = random
        self._tasks: dict[str, _Task] = {}
        self._order = 0
        self._auto = True
        self._pause_kind: PauseKind | None = None
        self._paused_until: float | None = None
        self._pause_strikes = 0

    # The watched set.

    def track(
        self,
        task_id: str,
        now: float,
        record: TaskRecord | None = None,
        *,
        age: float = 0.0,
    ) -> None:
        """Start scheduling a task; tracking a tracked task changes nothing.

        A new task is due at once, unless its last-known ``record`` says it
        is finished (success, failed, expired), or not found past the grace.

        Args:
            task_id: The task.
            now: The current monotonic time.
            record: The last-known record (from the watchlist), if any.
            age: Seconds since the user added the task, so that the grace for
                "record is null." counts from the adding, not from this run.
        """
        if task_id in self._tasks:
            return
        self._order += 1
        task = _Task(tracked_at=now - age, order=self._order, due_at=now)
        task.last = record
        if record is not None and not self._polls_again(task, record, now):
            task.due_at = None
        self._tasks[task_id] = task

    def forget(self, task_id: str) -> None:
        """Stop scheduling a task; a result still in flight for it is ignored."""
        self._tasks.pop(task_id, None)

    def refresh(self, task_ids: Iterable[str], now: float) -> None:
        """The user asked: make these due at once, even finished ones.

        A refresh also lifts a pause for a refused key (the user may have fixed
        it), but not a pause kie.ai asked for with 429 or 455.
        """
        if self._pause_kind is PauseKind.AUTH:
            self.resume_auth()
        for task_id in task_ids:
            task = self._tasks.get(task_id)
            if task is not None:
                task.forced = True
                task.due_at = now if task.due_at is None else min(task.due_at, now)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._tasks

    def __len__(self) -> int:
        return len(self._tasks)

    # Automatic polling and pauses.

    @property
    def auto_refresh(self) -> bool:
        """Whether tasks are polled by themselves; refreshes are served anyway."""
        return self._auto

    @auto_refresh.setter
    def auto_refresh(self, value: bool) -> None:
        self._auto = value

    @property
    def pause_kind(self) -> PauseKind | None:
        """Why every request waits, or ``None`` when none does."""
        return self._pause_kind

    @property
    def paused_until(self) -> float | None:
        """The monotonic time the pause ends; ``None`` if none, or for a key.

        A pause for a refused key has no end: it lasts until
        :meth:`resume_auth`.
        """
        return self._paused_until

    @property
    def pause_reason(self) -> str | None:
        """A few words for the user on why nothing is fetched, if so."""
        return None if self._pause_kind is None else _PAUSE_REASONS[self._pause_kind]

    def resume_auth(self) -> None:
        """The key changed: end a pause for a refused key."""
        if self._pause_kind is PauseKind.AUTH:
            self._pause_kind = None
            self._paused_until = None

    # Handing out work.

    def due(self, now: float, limit: int | None = None) -> list[str]:
        """Task ids to fetch now: those never answered first (nothing is
        known of them, where a re-check refreshes what is), then the longest
        overdue.

        Nothing is due during a pause; only refreshed ids when automatic
        polling is off; never an id whose request is in flight.
        """
        self._end_pause_if_over(now)
        if self._pause_kind is not None:
            return []
        ready = [
            (_turn(task), task_id)
            for task_id, task in self._tasks.items()
            if task.due_at is not None
            and task.due_at <= now
            and not task.in_flight
            and (self._auto or task.forced)
        ]
        ready.sort()
        if limit is not None:
            ready = ready[: max(0, limit)]
        return [task_id for _, task_id in ready]

    def started(self, task_id: str, now: float) -> None:
        """A request for ``task_id`` was sent; it is not due again until answered."""
        task = self._tasks.get(task_id)
        if task is not None:
            task.in_flight = True
            task.forced = False

    def cancelled(self, task_id: str, now: float) -> None:
        """A request was abandoned without an answer; the task is due at once."""
        task = self._tasks.get(task_id)
        if task is not None and task.in_flight:
            task.in_flight = False
            task.due_at = now

    def on_result(self, task_id: str, result: FetchResult, now: float) -> None:
        """Schedule the next poll of ``task_id`` from what its fetch returned."""
        task = self._tasks.get(task_id)
        if task is None:
            return
        task.in_flight = False
        if isinstance(result, FetchError):
            self._on_error(task, result, now)
            return

        task.errors = 0
        self._pause_strikes = 0
        changed = task.last is None or result != task.last
        task.last = result
        if not self._polls_again(task, result, now):
            task.due_at = None
            return
        if result.state is State.NOT_FOUND or changed or task.interval <= 0:
            task.interval = self.settings.interval
        else:
            task.interval = min(
                self.settings.max_interval, task.interval * self.settings.growth
            )
        task.due_at = now + self._jittered(task.interval)

    # Answers for the UI.

    def next_wake(self, now: float) -> float | None:
        """Seconds until some task is due (0 if one is); ``None`` if none will be.

        Tasks in flight are left out: their answer will reschedule them.
        """
        self._end_pause_if_over(now)
        if self._pause_kind is PauseKind.AUTH:
            return None
        times = [
            task.due_at
            for task in self._tasks.values()
            if task.due_at is not None
            and not task.in_flight
            and (self._auto or task.forced)
        ]
        if not times:
            return None
        moment = min(times)
        if self._paused_until is not None:
            moment = max(moment, self._paused_until)
        return max(0.0, moment - now)

    def next_check(self, task_id: str, now: float) -> float | None:
        """Seconds until ``task_id`` is fetched again by itself.

        ``None`` when it will not be: finished, in flight, unknown, automatic
        polling off, or paused for a refused key.
        """
        task = self._tasks.get(task_id)
        if task is None or task.due_at is None or task.in_flight:
            return None
        if self._pause_kind is PauseKind.AUTH or not (self._auto or task.forced):
            return None
        moment = task.due_at
        if self._paused_until is not None:
            moment = max(moment, self._paused_until)
        return max(0.0, moment - now)

    def queue_position(self, task_id: str, now: float) -> int | None:
        """How many due tasks will be sent before ``task_id``, if it is due now.

        ``None`` when it is not waiting to be sent: not due yet, in flight,
        finished, unknown, or everything is paused. The order is that of
        :meth:`due`.
        """
        task = self._tasks.get(task_id)
        if task is None or not self._is_ready(task, now):
            return None
        self._end_pause_if_over(now)
        if self._pause_kind is not None:
            return None
        mine = _turn(task)
        return sum(
            1
            for other in self._tasks.values()
            if other is not task and self._is_ready(other, now) and _turn(other) < mine
        )

    def waiting(self, now: float, *, first_only: bool = False) -> int:
        """How many tasks are due now and not yet sent (0 during a pause);
        with ``first_only``, only those never answered yet."""
        self._end_pause_if_over(now)
        if self._pause_kind is not None:
            return 0
        return sum(
            1
            for task in self._tasks.values()
            if self._is_ready(task, now) and not (first_only and task.last is not None)
        )

    def polled(self) -> int:
        """How many tasks are polled again by themselves (not finished)."""
        if not self._auto:
            return 0
        return sum(1 for task in self._tasks.values() if task.due_at is not None)

    def is_pending(self, task_id: str, now: float) -> bool:
        """Whether the task's last answer was "record is null." within the grace.

        Such a task is most likely just created and not visible yet, so the UI
        shows it as still coming rather than as not found.
        """
        task = self._tasks.get(task_id)
        return (
            task is not None
            and task.last is not None
            and task.last.state is State.NOT_FOUND
            and now - task.tracked_at < self.settings.grace
        )

    # Rules.

    def _is_ready(self, task: _Task, now: float) -> bool:
        """Due now and not in flight, as :meth:`due` would hand it out."""
        return (
            task.due_at is not None
            and task.due_at <= now
            and not task.in_flight
            and (self._auto or task.forced)
        )

    def _polls_again(self, task: _Task, record: TaskRecord, now: float) -> bool:
        """Whether a task with this record is ever polled again by itself."""
        if record.state.is_terminal:
            return False
        if record.state is State.NOT_FOUND:
            return now - task.tracked_at < self.settings.grace
        return True

    def _on_error(self, task: _Task, error: FetchError, now: float) -> None:
        if error.kind is FetchErrorKind.AUTH:
            self._pause(PauseKind.AUTH, None)
            task.due_at = now
            return
        if error.kind in (FetchErrorKind.RATE_LIMITED, FetchErrorKind.MAINTENANCE):
            kind = (
                PauseKind.RATE_LIMITED
                if error.kind is FetchErrorKind.RATE_LIMITED
                else PauseKind.MAINTENANCE
            )
            if error.retry_after is not None:
                wait = error.retry_after
            else:
                wait = self._backoff(self._pause_strikes)
                self._pause_strikes += 1
            self._pause(kind, now + wait)
            task.due_at = now
            return

        task.errors += 1
        task.due_at = now + self._jittered(self._backoff(task.errors - 1))

    def _pause(self, kind: PauseKind, until: float | None) -> None:
        """Pause everything; of two timed pauses the later end wins."""
        if self._pause_kind is PauseKind.AUTH and kind is not PauseKind.AUTH:
            return
        if until is not None and self._paused_until is not None:
            until = max(until, self._paused_until)
        self._pause_kind = kind
        self._paused_until = until

    def _end_pause_if_over(self, now: float) -> None:
        if self._paused_until is not None and now >= self._paused_until:
            self._pause_kind = None
            self._paused_until = None

    def _backoff(self, failures: int) -> float:
        """The delay after ``failures + 1`` failures in a row, before jitter."""
        base = self.settings.error_backoff_base
        return min(self.settings.error_backoff_cap, base * 2.0 ** min(failures, 32))

    def _jittered(self, delay: float) -> float:
        spread = self.settings.jitter * (2.0 * self._random() - 1.0)
        return max(0.0, delay * (1.0 + spread))
