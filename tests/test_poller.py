"""The poller's loop on a fake clock: limits, batches, pauses, stopping."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from veo_tui.api import ApiOptions, KieClient
from veo_tui.domain import FetchError, FetchErrorKind, FetchResult, State, TaskRecord
from veo_tui.polling import PauseKind, Poller, PollResult, PollSettings, Scheduler

WALL_START = datetime(2025, 6, 6, 12, 0, tzinfo=UTC)


class FakeClock:
    """Monotonic time that moves only when a test advances it."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def __call__(self) -> float:
        return self.now

    def wall(self) -> datetime:
        return WALL_START + timedelta(seconds=self.now)

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._order), future))
        await future

    async def settle(self) -> None:
        """Let every task that can run, run, without time passing."""
        for _ in range(50):
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking each sleeper at its own moment."""
        target = self.now + seconds
        await self.settle()
        while self._sleepers and self._sleepers[0][0] <= target:
            moment, _, future = heapq.heappop(self._sleepers)
            if future.done():
                continue
            self.now = max(self.now, moment)
            future.set_result(None)
            await self.settle()
        self.now = target
        await self.settle()


class FakeKie:
    """A fetch that takes ``latency`` fake seconds and counts what it sees."""

    def __init__(
        self,
        clock: FakeClock,
        latency: float = 1.0,
        answer: Callable[[str], FetchResult] | None = None,
    ) -> None:
        self.clock = clock
        self.latency = latency
        self.answer = answer or (lambda task_id: TaskRecord(task_id, State.GENERATING))
        self.in_flight = 0
        self.most_in_flight = 0
        self.starts: list[tuple[float, str]] = []

    async def fetch(self, task_id: str) -> FetchResult:
        self.starts.append((self.clock.now, task_id))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await self.clock.sleep(self.latency)
        finally:
            self.in_flight -= 1
        return self.answer(task_id)


class Harness:
    """A poller on a fake clock and a fake kie.ai, with its batches recorded."""

    def __init__(
        self,
        settings: PollSettings,
        kie: FakeKie,
        batch_window: float = 0.1,
        batch_size: int = 200,
    ) -> None:
        self.clock = kie.clock
        self.kie = kie
        self.batches: list[list[PollResult]] = []
        self.poller = Poller(
            Scheduler(settings, random=lambda: 0.5),
            self.batches.append,
            fetch=kie.fetch,
            clock=self.clock,
            wall_clock=self.clock.wall,
            sleep=self.clock.sleep,
            batch_window=batch_window,
            batch_size=batch_size,
        )
        self.runner: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.runner = asyncio.create_task(self.poller.run())

    @property
    def fetched(self) -> list[str]:
        return [task_id for _, task_id in self.kie.starts]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def make(clock: FakeClock) -> AsyncIterator[Callable[..., Harness]]:
    harnesses: list[Harness] = []

    def build(
        settings: PollSettings | None = None,
        kie: FakeKie | None = None,
        batch_window: float = 0.1,
        batch_size: int = 200,
    ) -> Harness:
        harness = Harness(
            settings or PollSettings(), kie or FakeKie(clock), batch_window, batch_size
        )
        harnesses.append(harness)
        harness.start()
        return harness

    yield build

    for harness in harnesses:
        harness.poller.stop()
        if harness.runner is not None and not harness.runner.done():
            await asyncio.wait_for(harness.runner, timeout=5)


async def test_a_tracked_task_is_fetched_at_once(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    harness = make()

    harness.poller.track("a")
    await clock.settle()

    assert harness.fetched == ["a"]


async def test_answers_are_delivered_with_the_time_they_came(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    harness = make(kie=FakeKie(clock, latency=2.0))
    harness.poller.track("a")

    await clock.advance(2.0)

    assert harness.batches == [
        [
            PollResult(
                "a",
                TaskRecord("a", State.GENERATING),
                WALL_START + timedelta(seconds=2),
            )
        ]
    ]


async def test_a_generating_task_is_fetched_again_after_the_interval(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    harness = make(PollSettings(interval=10.0), FakeKie(clock, latency=1.0))
    harness.poller.track("a")

    await clock.advance(10.9)
    assert harness.kie.starts == [(0.0, "a")]
    await clock.advance(0.2)

    assert harness.kie.starts == [(0.0, "a"), (11.0, "a")]


async def test_a_finished_task_is_not_fetched_again(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    kie = FakeKie(clock, answer=lambda task_id: TaskRecord(task_id, State.SUCCESS))
    harness = make(kie=kie)
    harness.poller.track("a")

    await clock.advance(1000.0)

    assert harness.fetched == ["a"]


async def test_no_more_than_concurrency_requests_are_in_flight(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    settings = PollSettings(concurrency=4, max_requests_per_second=0)
    harness = make(settings, FakeKie(clock, latency=1.0))
    for n in range(20):
        harness.poller.track(f"t{n}")

    await clock.advance(5.5)

    assert harness.kie.most_in_flight == 4
    assert len(set(harness.fetched)) == 20


async def test_no_more_than_the_rate_limit_start_in_any_second(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    settings = PollSettings(concurrency=30, max_requests_per_second=10)
    harness = make(settings, FakeKie(clock, latency=0.1))
    for n in range(30):
        harness.poller.track(f"t{n}")

    await clock.advance(3.5)

    times = [moment for moment, _ in harness.kie.starts]
    busiest = max(sum(1 for t in times if s <= t < s + 1.0) for s in times)
    assert busiest == 10
    assert len(set(harness.fetched)) == 30


async def test_a_rate_below_one_per_second_spaces_requests_out(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    settings = PollSettings(max_requests_per_second=0.5)
    harness = make(settings, FakeKie(clock, latency=0.1))
    for task_id in "abc":
        harness.poller.track(task_id)

    await clock.advance(4.5)

    assert [moment for moment, _ in harness.kie.starts] == [0.0, 2.0, 4.0]


async def test_answers_that_come_within_the_window_share_a_batch(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    latencies = {"a": 0.05, "b": 0.12, "c": 5.0}
    kie = FakeKie(clock)

    async def fetch(task_id: str) -> FetchResult:
        kie.latency = latencies[task_id]
        return await FakeKie.fetch(kie, task_id)

    harness = make(kie=kie, batch_window=0.1)
    harness.poller._fetch = fetch
    for task_id in "abc":
        harness.poller.track(task_id)

    await clock.advance(6.0)

    assert [[r.task_id for r in batch] for batch in harness.batches] == [
        ["a", "b"],
        ["c"],
    ]


async def test_a_full_batch_is_delivered_at_once(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    settings = PollSettings(concurrency=1, max_requests_per_second=0)
    harness = make(settings, FakeKie(clock, latency=0.01), batch_size=3)
    for n in range(7):
        harness.poller.track(f"t{n}")
    # Keep the batch from closing on the window: one request is always in flight.

    await clock.advance(0.075)

    assert [len(batch) for batch in harness.batches] == [3, 3, 1]


async def test_stop_ends_run_promptly(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    harness = make(kie=FakeKie(clock, latency=100.0))
    harness.poller.track("a")
    await clock.settle()

    harness.poller.stop()
    await clock.settle()

    assert harness.runner is not None
    assert harness.runner.done()


async def test_stopping_abandons_requests_in_flight_and_makes_them_due(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    harness = make(kie=FakeKie(clock, latency=100.0))
    harness.poller.track("a")
    await clock.settle()

    harness.poller.stop()
    await clock.settle()

    assert harness.kie.in_flight == 0
    assert harness.poller.scheduler.due(clock.now) == ["a"]


async def test_cancelling_run_cancels_requests_in_flight(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    harness = make(kie=FakeKie(clock, latency=100.0))
    harness.poller.track("a")
    await clock.settle()
    assert harness.runner is not None

    harness.runner.cancel()
    await clock.settle()

    assert harness.runner.cancelled()
    assert harness.kie.in_flight == 0


async def test_a_429_with_retry_after_pauses_every_request(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    answers = iter(
        [FetchError(FetchErrorKind.RATE_LIMITED, "slow", 429, True, retry_after=30.0)]
    )
    kie = FakeKie(
        clock,
        latency=1.0,
        answer=lambda task_id: next(answers, TaskRecord(task_id, State.SUCCESS)),
    )
    settings = PollSettings(concurrency=1)
    harness = make(settings, kie)
    harness.poller.track("a")
    harness.poller.track("b")

    await clock.advance(30.5)
    assert harness.kie.starts == [(0.0, "a")]
    status = harness.poller.pause_status()
    await clock.advance(1.0)

    assert status is not None
    assert status.kind is PauseKind.RATE_LIMITED
    assert status.until == WALL_START + timedelta(seconds=31)
    assert harness.kie.starts[1] == (31.0, "b")


async def test_a_455_pauses_every_request(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    kie = FakeKie(
        clock, answer=lambda _: FetchError(FetchErrorKind.MAINTENANCE, "m", 455)
    )
    harness = make(PollSettings(error_backoff_base=10.0), kie)
    harness.poller.track("a")
    harness.poller.track("b")

    await clock.advance(5.0)

    assert sorted(harness.fetched) == ["a", "b"]
    status = harness.poller.pause_status()
    assert status is not None
    assert status.reason == "kie.ai maintenance"


async def test_a_401_pauses_every_request_until_the_key_changes(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    refused = FetchError(FetchErrorKind.AUTH, "You do not have access permissions", 401)
    kie = FakeKie(clock, answer=lambda _: refused)
    harness = make(PollSettings(concurrency=1), kie)
    harness.poller.track("a")
    harness.poller.track("b")

    await clock.advance(3600.0)
    assert harness.fetched == ["a"]
    status = harness.poller.pause_status()
    harness.poller.resume_auth()
    await clock.settle()

    assert status is not None
    assert status.until is None
    assert harness.fetched == ["a", "b"]


async def test_paused_auto_refresh_fetches_nothing_by_itself(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    harness = make()
    harness.poller.set_paused(True)

    harness.poller.track("a")
    await clock.advance(100.0)

    assert harness.poller.paused
    assert harness.fetched == []


async def test_an_explicit_refresh_runs_while_auto_refresh_is_paused(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    harness = make()
    harness.poller.set_paused(True)
    harness.poller.track("a")
    harness.poller.track("b")

    harness.poller.refresh(["b"])
    await clock.advance(100.0)

    assert harness.fetched == ["b"]


async def test_a_fetch_that_raises_becomes_a_network_error(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    def explode(task_id: str) -> FetchResult:
        raise RuntimeError("boom")

    harness = make(kie=FakeKie(clock, answer=explode))
    harness.poller.track("a")

    await clock.advance(1.0)

    (batch,) = harness.batches
    assert isinstance(batch[0].result, FetchError)
    assert batch[0].result.kind is FetchErrorKind.NETWORK


async def test_a_forgotten_task_answer_is_dropped(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    harness = make(kie=FakeKie(clock, latency=5.0))
    harness.poller.track("a")
    await clock.settle()

    harness.poller.forget("a")
    await clock.advance(10.0)

    assert harness.batches == []


async def test_next_check_counts_down_on_the_clock(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    harness = make(PollSettings(interval=10.0), FakeKie(clock, latency=1.0))
    harness.poller.track("a")

    await clock.advance(4.0)

    assert harness.poller.next_check("a") == pytest.approx(7.0)


async def test_the_client_record_info_is_the_default_fetch(clock: FakeClock) -> None:
    batches: list[list[PollResult]] = []
    async with KieClient(ApiOptions(key=None)) as client:
        poller = Poller(Scheduler(), batches.append, client=client)
        runner = asyncio.create_task(poller.run())
        poller.track("a")
        for _ in range(50):
            await asyncio.sleep(0)
        poller.stop()
        await asyncio.wait_for(runner, timeout=5)

    result = batches[0][0].result
    assert isinstance(result, FetchError)
    assert result.kind is FetchErrorKind.AUTH


def test_a_poller_needs_a_client_or_a_fetch() -> None:
    with pytest.raises(ValueError, match="client or a fetch"):
        Poller(Scheduler(), lambda batch: None)


def tracking(harness: Harness, count: int, width: int = 3) -> Harness:
    """``harness``, tracking ``count`` tasks named ``t000``, ``t001``, ..."""
    for number in range(count):
        harness.poller.track(f"t{number:0{width}}")
    return harness


async def test_a_backlog_behind_the_rate_limit_says_how_long_it_takes(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    settings = PollSettings(concurrency=8, max_requests_per_second=10)
    harness = tracking(make(settings, FakeKie(clock, latency=0.5)), 100)

    await clock.settle()
    backlog = harness.poller.backlog()

    assert backlog is not None
    assert backlog.waiting == 92  # 8 sent at once
    assert backlog.limit == "rate"
    assert backlog.seconds == pytest.approx(9.2)
    assert backlog.first == 92  # none answered yet
    assert backlog.first_seconds == pytest.approx(9.2)


async def test_the_first_checks_count_down_while_re_checks_queue_behind(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    """New tasks go first: their count and time go down steadily, whatever
    re-checks of the answered ones are due meanwhile."""
    settings = PollSettings(concurrency=8, max_requests_per_second=2, interval=5)
    harness = tracking(make(settings, FakeKie(clock, latency=0.1)), 100)

    await clock.advance(10)
    early = harness.poller.backlog()
    await clock.advance(20)
    later = harness.poller.backlog()

    assert early is not None
    assert later is not None
    assert later.first < early.first
    assert later.first_seconds < early.first_seconds
    assert later.waiting > later.first  # re-checks of answered tasks wait too


async def test_a_queued_task_counts_its_turn_as_its_next_check(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    settings = PollSettings(concurrency=8, max_requests_per_second=10)
    harness = tracking(make(settings, FakeKie(clock, latency=0.5)), 100)

    await clock.settle()

    assert harness.poller.queue_position("t099") == 91
    assert harness.poller.next_check("t099") == pytest.approx(9.1)
    assert harness.poller.next_check("t008") == 0.0  # first in line


async def test_more_tasks_than_the_rate_limit_can_keep_up_with_say_their_real_interval(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    """300 generating tasks at 2 checks a second: a round takes ~150 s, longer
    than the 60 s cap, so the backlog says how often each really is checked
    once every task has had its first answer."""
    settings = PollSettings(concurrency=8, max_requests_per_second=2)
    harness = tracking(make(settings, FakeKie(clock, latency=0.1)), 300)

    await clock.advance(60)
    first_pass = harness.poller.backlog()
    await clock.advance(200)  # every task answered once; the re-checks queue
    behind = harness.poller.backlog()

    assert first_pass is not None
    assert first_pass.cycle is None
    assert behind is not None
    assert behind.limit == "rate"
    assert behind.cycle == pytest.approx(150)


async def test_tasks_the_limits_keep_up_with_have_no_cycle(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    settings = PollSettings(concurrency=8, max_requests_per_second=2)
    harness = tracking(
        make(settings, FakeKie(clock, latency=0.1)), 100
    )  # a round: 50 s < 60 s

    await clock.advance(300)
    backlog = harness.poller.backlog()

    assert backlog is None or backlog.cycle is None


async def test_without_a_rate_limit_the_backlog_is_paced_by_answers(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    settings = PollSettings(concurrency=4, max_requests_per_second=0)
    harness = tracking(make(settings, FakeKie(clock, latency=2.0)), 44, width=2)

    await clock.advance(2.0)  # one round of answers gives the latency
    backlog = harness.poller.backlog()

    assert backlog is not None
    assert backlog.limit == "concurrency"
    assert backlog.waiting == 36
    assert backlog.seconds == pytest.approx(36 / 4 * 2.0)


async def test_no_backlog_when_nothing_waits(
    make: Callable[..., Harness], clock: FakeClock
) -> None:
    harness = make(PollSettings(concurrency=8), FakeKie(clock, latency=1.0))
    harness.poller.track("a")

    await clock.settle()

    assert harness.poller.backlog() is None
