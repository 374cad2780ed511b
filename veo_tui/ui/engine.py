"""The dashboard's one interface to polling: a client, a scheduler, a poller.

The app talks to an :class:`Engine` only: it says which tasks to watch,
forget or refresh, and gets checked entries back in batches. What is fetched
when is the scheduler's business (``veo_tui.polling``), so a smarter policy
changes nothing here.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from veo_tui.api.options import ApiOptions
from veo_tui.domain import FetchError, FetchErrorKind, FetchResult, human_duration
from veo_tui.polling.poller import Fetch, Poller, PollResult
from veo_tui.polling.scheduler import PauseKind, PollSettings, Scheduler
from veo_tui.store.watchlist import WatchEntry

if TYPE_CHECKING:
    from veo_tui.api.client import KieClient


BACKLOG_NOTICE_S = 5.0
"""Checks queued for longer than this are worth a line in the banner."""


class EntrySink(Protocol):
    """Who receives checked entries (the app)."""

    entries: dict[str, WatchEntry]

    def apply_entries(self, updated: Sequence[WatchEntry]) -> None: ...


@dataclass(frozen=True, slots=True)
class EngineStatus:
    """What the header and the banner say about the connection.

    Attributes:
        paused: Auto refresh is paused by the user.
        no_key: There is no key, so nothing is fetched.
        key_refused: kie.ai refused the key; polling waits for a new one.
        connected: At least one record came back since the last error.
        last_error: The kind of the latest fetch error, if the latest answer
            was one.
        waiting_reason: Why every request is waiting and until when, if so.
        backlog: How many checks wait their turn behind the request limits,
            and for about how long, when that is long enough to notice.
    """

    paused: bool = False
    no_key: bool = False
    key_refused: bool = False
    connected: bool = False
    last_error: FetchErrorKind | None = None
    waiting_reason: str | None = None
    backlog: str | None = None


class Engine:
    """Polls kie.ai for the app's tasks and hands back checked entries.

    Args:
        api: How to reach kie.ai; ``None`` when there is no key (nothing is
            fetched, the app still works).
        settings: Intervals and limits.
        fetch: A fetch to use instead of a real client (tests).
        key_source: Reads the key afresh (from the config file), so that a
            missing or refused key can be replaced without a restart;
            returns the options to use, or ``None`` while there is no key.
        clock: Monotonic seconds, for the scheduler.
        wall_clock: Aware UTC now, for ``checked_at`` and ages.
    """

    def __init__(
        self,
        api: ApiOptions | None,
        settings: PollSettings | None = None,
        *,
        fetch: Fetch | None = None,
        key_source: Callable[[], ApiOptions | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.api = api
        self.settings = settings or PollSettings()
        self._fetch_override = fetch
        self._key_source = key_source
        self._clock = clock
        self._wall_clock = wall_clock
        self._client: KieClient | None = None
        self._poller: Poller | None = None
        self._sink: EntrySink | None = None
        self._last_error: FetchErrorKind | None = None
        self._connected = False
        self._paused = False
        self._closing: set[asyncio.Future[None]] = set()
        self._early_refresh: set[str] = set()

    @property
    def active(self) -> bool:
        """Whether anything will ever be fetched."""
        return self.api is not None or self._fetch_override is not None

    def start(
        self, sink: EntrySink, entries: Sequence[WatchEntry]
    ) -> Coroutine[None, None, None] | None:
        """Set up polling of ``entries``; return the loop for the caller to run.

        Returns ``None`` when nothing will be fetched (no key).
        """
        self._sink = sink
        if not self.active:
            return None
        if self._fetch_override is None and self.api is not None:
            self._client = _client(self.api)
        self._poller = Poller(
            Scheduler(self.settings),
            self._on_batch,
            fetch=self._fetch_override or self._fetch,
            clock=self._clock,
            wall_clock=self._wall_clock,
        )
        self.track(entries)
        if self._early_refresh:
            self._poller.refresh(sorted(self._early_refresh))
            self._early_refresh.clear()
        return self._poller.run()

    async def _fetch(self, task_id: str) -> FetchResult:
        # Through self._client, so that a new key takes effect at once.
        if self._client is None:
            return FetchError(FetchErrorKind.AUTH, "no API key is set (KIE_API_KEY)")
        return await self._client.record_info(task_id)

    def check_key(self) -> tuple[bool, Coroutine[None, None, None] | None]:
        """Take a new key from ``key_source`` while the key is missing or refused.

        Returns:
            Whether a new key is now in use, and a polling loop for the caller
            to run when polling had not started for want of a key.
        """
        if self._key_source is None or self._fetch_override is not None:
            return False, None
        status = self.status()
        if not (status.no_key or status.key_refused):
            return False, None
        fresh = self._key_source()
        if fresh is None or (self.api is not None and fresh.key == self.api.key):
            return False, None
        old, self.api = self._client, fresh
        self._client = _client(fresh)
        if old is not None and self._sink is not None:
            closing = asyncio.ensure_future(old.aclose())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        if self._poller is None:
            assert self._sink is not None
            return True, self.start(self._sink, list(self._sink.entries.values()))
        self._poller.resume_auth()
        return True, None

    def track(self, entries: Sequence[WatchEntry]) -> None:
        """Watch these entries; unfinished ones are fetched at once."""
        if self._poller is None:
            return
        now = self._wall_clock()
        for entry in entries:
            age = max(0.0, (now - entry.added_at).total_seconds())
            self._poller.track(entry.task_id, entry.record, age=age)

    def forget(self, task_ids: Sequence[str]) -> None:
        if self._poller is not None:
            for task_id in task_ids:
                self._poller.forget(task_id)

    def refresh(self, task_ids: Sequence[str]) -> None:
        """Fetch these now, finished or not; also the way out of a refused key."""
        if self._poller is None:
            # Asked before polling started (a key pressed at once): keep it.
            self._early_refresh.update(task_ids)
            return
        if self._poller.scheduler.pause_kind is PauseKind.AUTH:
            self._poller.resume_auth()
        self._poller.refresh(task_ids)

    def wake(self) -> None:
        """Look again at what is due now (after the clock moved, in tests)."""
        if self._poller is not None:
            self._poller.wake()

    def set_paused(self, paused: bool) -> None:
        self._paused = paused
        if self._poller is not None:
            self._poller.set_paused(paused)

    def next_check(self, task_id: str) -> datetime | None:
        """When ``task_id`` will be fetched again by itself, if ever."""
        if self._poller is None:
            return None
        seconds = self._poller.next_check(task_id)
        if seconds is None:
            return None
        return self._wall_clock() + timedelta(seconds=seconds)

    def queue_position(self, task_id: str) -> int | None:
        """How many checks go before this task's, when it is due and waiting."""
        if self._poller is None:
            return None
        return self._poller.queue_position(task_id)

    def is_pending(self, task_id: str) -> bool:
        """A "record is null." answer within the grace: the task is still coming."""
        if self._poller is None:
            return False
        return self._poller.scheduler.is_pending(task_id, self._clock())

    @property
    def client(self) -> KieClient | None:
        """The client in use (for credits, 1080p and 4K), if there is a key."""
        return self._client

    @property
    def busy(self) -> bool:
        """Whether requests are in flight (their answers not yet handed over)."""
        return self._poller is not None and self._poller.in_flight > 0

    def status(self) -> EngineStatus:
        pause = self._poller.pause_status() if self._poller is not None else None
        waiting = None
        if pause is not None and pause.kind is not PauseKind.AUTH:
            waiting = f"Waiting: {pause.reason}"
            if pause.until is not None:
                waiting += f" until {pause.until.astimezone():%H:%M:%S}"
        return EngineStatus(
            paused=self._paused,
            no_key=not self.active,
            key_refused=pause is not None and pause.kind is PauseKind.AUTH,
            connected=self._connected,
            last_error=self._last_error,
            waiting_reason=waiting,
            backlog=self._backlog_text() if pause is None else None,
        )

    def _backlog_text(self) -> str | None:
        """A sentence on checks queued behind the limits, if they wait long."""
        backlog = self._poller.backlog() if self._poller is not None else None
        if backlog is None or backlog.seconds < BACKLOG_NOTICE_S:
            return None
        settings = self.settings
        if backlog.limit == "rate":
            rate = f"{settings.max_requests_per_second:g}"
            why = f"at most {rate} a second (poll.max_requests_per_second)"
        else:
            why = f"{settings.concurrency} at a time (poll.concurrency)"
        if backlog.first:
            # New tasks go first, so this count and time go down steadily.
            return (
                f"{backlog.first:,} task(s) queued for a first check, {why}: "
                f"about {human_duration(backlog.first_seconds)} to go"
            )
        if backlog.cycle is not None:
            return (
                f"too many tasks for {why}: each is checked only about every "
                f"{human_duration(backlog.cycle)}"
            )
        return (
            f"{backlog.waiting:,} checks queued, {why}: "
            f"about {human_duration(backlog.seconds)} to send them all"
        )

    async def stop(self) -> None:
        """Stop polling and close the connection pool."""
        if self._poller is not None:
            self._poller.stop()
        if self._client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._client.aclose(), timeout=2)

    def _on_batch(self, results: list[PollResult]) -> None:
        sink = self._sink
        if sink is None:
            return
        updated: list[WatchEntry] = []
        for item in results:
            self._note(item.result)
            entry = sink.entries.get(item.task_id)
            if entry is not None:
                updated.append(entry.with_result(item.result, item.checked_at))
        if updated:
            sink.apply_entries(updated)

    def _note(self, result: FetchResult) -> None:
        if isinstance(result, FetchError):
            self._last_error = result.kind
            self._connected = False
        else:
            self._last_error = None
            self._connected = True


def _client(options: ApiOptions) -> KieClient:
    # Imported here: httpx is not needed until the first request.
    from veo_tui.api.client import KieClient

    return KieClient(options)
