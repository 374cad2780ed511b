"""The scheduler's timing rules, on plain numbers: no clock, no I/O."""

from __future__ import annotations

import pytest

from veo_tui.domain import FetchError, FetchErrorKind, State, TaskRecord
from veo_tui.polling import PauseKind, PollSettings, Scheduler

GENERATING = TaskRecord("t", State.GENERATING, success_flag=0)
NOT_FOUND = TaskRecord("t", State.NOT_FOUND, message="record is null.")
SERVER = FetchError(FetchErrorKind.SERVER, "kie.ai had a problem", code=500)


def no_jitter(settings: PollSettings | None = None) -> Scheduler:
    """A scheduler whose random source always gives the middle of the spread."""
    return Scheduler(settings or PollSettings(), random=lambda: 0.5)


def poll(scheduler: Scheduler, result: TaskRecord | FetchError, now: float) -> None:
    """Hand out ``t`` at ``now`` and answer it at once."""
    assert scheduler.due(now) == ["t"]
    scheduler.started("t", now)
    scheduler.on_result("t", result, now)


def test_a_new_task_is_due_at_once() -> None:
    scheduler = no_jitter()

    scheduler.track("t", now=100.0)

    assert scheduler.due(100.0) == ["t"]


@pytest.mark.parametrize("state", [State.SUCCESS, State.FAILED, State.EXPIRED])
def test_a_task_known_to_be_finished_is_never_due(state: State) -> None:
    scheduler = no_jitter()

    scheduler.track("t", 0.0, TaskRecord("t", state))

    assert scheduler.due(1e9) == []
    assert scheduler.next_wake(0.0) is None


def test_a_task_known_to_be_generating_is_due_at_once() -> None:
    scheduler = no_jitter()

    scheduler.track("t", 0.0, GENERATING)

    assert scheduler.due(0.0) == ["t"]


def test_due_lists_the_longest_overdue_first() -> None:
    scheduler = no_jitter()
    scheduler.track("a", 0.0)
    scheduler.track("b", 0.0)
    scheduler.started("a", 0.0)
    scheduler.on_result("a", GENERATING, 0.0)

    assert scheduler.due(20.0) == ["b", "a"]


def test_due_lists_answered_tasks_the_longest_overdue_first() -> None:
    scheduler = no_jitter()
    for task_id in "ab":
        scheduler.track(task_id, 0.0)
    scheduler.started("b", 0.0)
    scheduler.on_result("b", TaskRecord("b", State.GENERATING), 0.0)
    scheduler.started("a", 5.0)
    scheduler.on_result("a", TaskRecord("a", State.GENERATING), 5.0)

    assert scheduler.due(30.0) == ["b", "a"]


def test_tasks_never_answered_go_before_re_checks_of_known_ones() -> None:
    """A restart with 1,500 generating tasks on file and 500 never checked:
    the 500, of which nothing is known, do not wait behind all the others."""
    scheduler = no_jitter()
    scheduler.track("known", 0.0, TaskRecord("known", State.GENERATING))
    scheduler.track("new", 0.0)
    scheduler.track("later", 50.0)

    assert scheduler.due(60.0) == ["new", "later", "known"]
    assert scheduler.queue_position("known", 60.0) == 2


def test_due_honours_the_limit() -> None:
    scheduler = no_jitter()
    for task_id in "abc":
        scheduler.track(task_id, 0.0)

    assert scheduler.due(0.0, limit=2) == ["a", "b"]


def test_a_task_in_flight_is_not_handed_out_twice() -> None:
    scheduler = no_jitter()
    scheduler.track("t", 0.0)

    scheduler.started("t", 0.0)

    assert scheduler.due(1000.0) == []


def test_a_cancelled_request_makes_the_task_due_again() -> None:
    scheduler = no_jitter()
    scheduler.track("t", 0.0)
    scheduler.started("t", 0.0)

    scheduler.cancelled("t", 3.0)

    assert scheduler.due(3.0) == ["t"]


def test_a_generating_task_is_polled_again_after_the_interval() -> None:
    scheduler = no_jitter()
    scheduler.track("t", 0.0)

    poll(scheduler, GENERATING, 0.0)

    assert scheduler.due(9.9) == []
    assert scheduler.due(10.0) == ["t"]


def test_an_unknown_state_is_polled_like_a_generating_one() -> None:
    scheduler = no_jitter()
    scheduler.track("t", 0.0)

    poll(scheduler, TaskRecord("t", State.UNKNOWN, success_flag=7), 0.0)

    assert scheduler.next_check("t", 0.0) == pytest.approx(10.0)


def test_generating_task_interval_grows_to_the_cap() -> None:
    scheduler = no_jitter()
    scheduler.track("t", 0.0)
    now, gaps = 0.0, []

    for _ in range(8):
        poll(scheduler, GENERATING, now)
        gap = scheduler.next_check("t", now)
        assert gap is not None
        gaps.append(gap)
        now += gap

    assert gaps == pytest.approx([10.0, 15.0, 22.5, 33.75, 50.625, 60.0, 60.0, 60.0])


def test_a_changed_record_resets_the_interval() -> None:
    scheduler = no_jitter()
    scheduler.track("t", 0.0)
    poll(scheduler, GENERATING, 0.0)
    poll(scheduler, GENERATING, 10.0)
    changed = TaskRecord("t", State.GENERATING, success_flag=0, resolution="720p")

    poll(scheduler, changed, 25.0)

    assert scheduler.next_check("t", 25.0) == pytest.approx(10.0)


@pytest.mark.parametrize("draw", [0.0, 0.999999])
def test_jitter_stays_within_its_bounds(draw: float) -> None:
    scheduler = Scheduler(PollSettings(jitter=0.1), random=lambda: draw)
    scheduler.track("t", 0.0)

    poll(scheduler, GENERATING, 0.0)

    gap = scheduler.next_check("t", 0.0)
    assert gap is not None
    assert 9.0 <= gap <= 11.0
    assert gap == pytest.approx(9.0 if draw == 0.0 else 11.0, abs=1e-4)


def test_tasks_added_together_spread_out() -> None:
    draws = iter([0.1, 0.9])
    scheduler = Scheduler(random=lambda: next(draws))
    scheduler.track("a", 0.0)
    scheduler.track("b", 0.0)

    for task_id in scheduler.due(0.0):
        scheduler.started(task_id, 0.0)
        scheduler.on_result(task_id, GENERATING, 0.0)

    assert scheduler.next_check("a", 0.0) != scheduler.next_check("b", 0.0)


@pytest.mark.parametrize("state", [State.SUCCESS, State.FAILED, State.EXPIRED])
def test_a_task_that_finishes_is_polled_no_more(state: State) -> None:
    scheduler = no_jitter()
    scheduler.track("t", 0.0)

    poll(scheduler, TaskRecord("t", state), 0.0)

    assert scheduler.due(1e9) == []
    assert scheduler.next_check("t", 0.0) is None


def test_not_found_within_the_grace_is_pending_and_polled_again() -> None:
    scheduler = no_jitter()
    scheduler.track("t", 0.0)

    poll(scheduler, NOT_FOUND, 5.0)

    assert scheduler.is_pending("t", 5.0)
    assert scheduler.next_check("t", 5.0) == pytest.approx(10.0)


def test_not_found_interval_does_not_grow() -> None:
    scheduler = no_jitter()
    scheduler.track("t", 0.0)
    poll(scheduler, NOT_FOUND, 0.0)

    poll(scheduler, NOT_FOUND, 10.0)

    assert scheduler.next_check("t", 10.0) == pytest.approx(10.0)


def test_not_found_after_the_grace_is_polled_no_more() -> None:
    scheduler = no_jitter(PollSettings(grace=120.0))
    scheduler.track("t", 0.0)

    poll(scheduler, NOT_FOUND, 120.0)

    assert not scheduler.is_pending("t", 120.0)
    assert scheduler.next_check("t", 120.0) is None


def test_the_grace_counts_from_when_the_task_was_added() -> None:
    scheduler = no_jitter(PollSettings(grace=120.0))
    scheduler.track("t", 0.0, age=200.0)

    poll(scheduler, NOT_FOUND, 0.0)

    assert scheduler.next_check("t", 0.0) is None


def test_a_known_not_found_past_the_grace_is_not_due() -> None:
    scheduler = no_jitter()

    scheduler.track("t", 0.0, NOT_FOUND, age=1000.0)

    assert scheduler.due(0.0) == []


def test_refresh_makes_a_finished_task_due_at_once() -> None:
    scheduler = no_jitter()
    scheduler.track("t", 0.0, TaskRecord("t", State.SUCCESS))

    scheduler.refresh(["t"], 50.0)

    assert scheduler.due(50.0) == ["t"]


def test_a_refreshed_finished_task_is_not_polled_after_its_answer() -> None:
    scheduler = no_jitter()
    scheduler.track("t", 0.0, TaskRecord("t", State.SUCCESS))
    scheduler.refresh(["t"], 50.0)

    poll(scheduler, TaskRecord("t", State.SUCCESS), 50.0)

    assert scheduler.due(1e9) == []


def test_refresh_brings_a_waiting_task_forward() -> None:
    scheduler = no_jitter()
    scheduler.track("t", 0.0)
    poll(scheduler, GENERATING, 0.0)

    scheduler.refresh(["t"], 2.0)

    assert scheduler.due(2.0) == ["t"]


def test_a_failed_request_backs_off_exponentially_per_task() -> None:
    scheduler = no_jitter(PollSettings(error_backoff_base=10.0))
    scheduler.track("t", 0.0)
    scheduler.track("other", 0.0)
    now, gaps = 0.0, []

    for _ in range(3):
        scheduler.started("t", now)
        scheduler.on_result("t", SERVER, now)
        gap = scheduler.next_check("t", now)
        assert gap is not None
        gaps.append(gap)
        now += gap

    assert gaps == pytest.approx([10.0, 20.0, 40.0])
    assert scheduler.next_check("other", now) == 0.0


def test_per_task_backoff_stops_at_the_cap() -> None:
    scheduler = no_jitter(PollSettings(error_backoff_base=10.0, error_backoff_cap=30.0))
    scheduler.track("t", 0.0)

    for _ in range(6):
        scheduler.started("t", 0.0)
        scheduler.on_result("t", SERVER, 0.0)

    assert scheduler.next_check("t", 0.0) == pytest.approx(30.0)


def test_an_answer_after_errors_returns_to_the_interval() -> None:
    scheduler = no_jitter()
    scheduler.track("t", 0.0)
    scheduler.started("t", 0.0)
    scheduler.on_result("t", SERVER, 0.0)

    poll(scheduler, GENERATING, 10.0)

    assert scheduler.next_check("t", 10.0) == pytest.approx(10.0)


def test_rate_limited_with_retry_after_pauses_every_task_until_then() -> None:
    scheduler = no_jitter()
    scheduler.track("t", 0.0)
    scheduler.track("other", 0.0)
    scheduler.started("t", 0.0)
    limited = FetchError(
        FetchErrorKind.RATE_LIMITED, "slow down", code=429, retry_after=45.0
    )

    scheduler.on_result("t", limited, 5.0)

    assert scheduler.due(49.9) == []
    assert scheduler.next_wake(5.0) == pytest.approx(45.0)
    assert scheduler.paused_until == pytest.approx(50.0)
    assert scheduler.pause_kind is PauseKind.RATE_LIMITED
    assert scheduler.pause_reason == "rate limited by kie.ai"
    assert scheduler.due(50.0) == ["other", "t"]


def test_maintenance_without_retry_after_pauses_for_the_backoff_base() -> None:
    scheduler = no_jitter(PollSettings(error_backoff_base=10.0))
    scheduler.track("t", 0.0)
    scheduler.started("t", 0.0)

    scheduler.on_result("t", FetchError(FetchErrorKind.MAINTENANCE, "m", 455), 0.0)

    assert scheduler.pause_reason == "kie.ai maintenance"
    assert scheduler.paused_until == pytest.approx(10.0)


def test_repeated_pauses_without_retry_after_grow() -> None:
    scheduler = no_jitter(PollSettings(error_backoff_base=10.0))
    scheduler.track("t", 0.0)
    maintenance = FetchError(FetchErrorKind.MAINTENANCE, "m", 455)
    scheduler.started("t", 0.0)
    scheduler.on_result("t", maintenance, 0.0)

    scheduler.started("t", 10.0)
    scheduler.on_result("t", maintenance, 10.0)

    assert scheduler.paused_until == pytest.approx(30.0)


def test_the_pause_ends_by_itself() -> None:
    scheduler = no_jitter()
    scheduler.track("t", 0.0)
    scheduler.started("t", 0.0)
    scheduler.on_result(
        "t", FetchError(FetchErrorKind.RATE_LIMITED, "x", retry_after=5.0), 0.0
    )

    scheduler.due(5.0)

    assert scheduler.pause_kind is None
    assert scheduler.pause_reason is None


def test_a_refused_key_pauses_everything_until_resumed() -> None:
    scheduler = no_jitter()
    scheduler.track("t", 0.0)
    scheduler.track("other", 0.0)
    scheduler.started("t", 0.0)

    scheduler.on_result("t", FetchError(FetchErrorKind.AUTH, "refused", 401), 0.0)

    assert scheduler.due(1e9) == []
    assert scheduler.next_wake(0.0) is None
    assert scheduler.paused_until is None
    assert scheduler.pause_reason == "key refused by kie.ai"


def test_resume_auth_makes_waiting_tasks_due_again() -> None:
    scheduler = no_jitter()
    scheduler.track("t", 0.0)
    scheduler.started("t", 0.0)
    scheduler.on_result("t", FetchError(FetchErrorKind.AUTH, "refused", 401), 0.0)

    scheduler.resume_auth()

    assert scheduler.due(1.0) == ["t"]


def test_a_refresh_lifts_a_key_pause() -> None:
    scheduler = no_jitter()
    scheduler.track("t", 0.0)
    scheduler.started("t", 0.0)
    scheduler.on_result("t", FetchError(FetchErrorKind.AUTH, "refused", 401), 0.0)

    scheduler.refresh(["t"], 1.0)

    assert scheduler.due(1.0) == ["t"]


def test_a_refresh_waits_out_a_rate_limit_pause() -> None:
    scheduler = no_jitter()
    scheduler.track("t", 0.0)
    scheduler.started("t", 0.0)
    scheduler.on_result(
        "t", FetchError(FetchErrorKind.RATE_LIMITED, "x", retry_after=30.0), 0.0
    )

    scheduler.refresh(["t"], 1.0)

    assert scheduler.due(1.0) == []
    assert scheduler.due(30.0) == ["t"]


def test_with_auto_refresh_off_only_refreshed_tasks_are_due() -> None:
    scheduler = no_jitter()
    scheduler.track("a", 0.0)
    scheduler.track("b", 0.0)
    scheduler.auto_refresh = False

    scheduler.refresh(["b"], 0.0)

    assert scheduler.due(0.0) == ["b"]


def test_with_auto_refresh_off_nothing_wakes_by_itself() -> None:
    scheduler = no_jitter()
    scheduler.track("a", 0.0)

    scheduler.auto_refresh = False

    assert scheduler.next_wake(0.0) is None
    assert scheduler.next_check("a", 0.0) is None


def test_a_forgotten_task_is_not_due_and_its_late_answer_is_ignored() -> None:
    scheduler = no_jitter()
    scheduler.track("t", 0.0)
    scheduler.started("t", 0.0)

    scheduler.forget("t")
    scheduler.on_result("t", GENERATING, 1.0)

    assert "t" not in scheduler
    assert scheduler.due(1e9) == []


def test_next_wake_is_the_time_to_the_earliest_due_task() -> None:
    scheduler = no_jitter()
    scheduler.track("t", 0.0)
    poll(scheduler, GENERATING, 0.0)

    assert scheduler.next_wake(4.0) == pytest.approx(6.0)


def test_next_wake_is_none_when_nothing_is_watched() -> None:
    assert no_jitter().next_wake(0.0) is None


def test_queue_position_counts_the_due_tasks_sent_before() -> None:
    scheduler = no_jitter()
    for task_id in ("a", "b", "c"):
        scheduler.track(task_id, 0.0)

    positions = [scheduler.queue_position(task_id, 0.0) for task_id in "abc"]

    assert positions == [0, 1, 2]
    assert scheduler.waiting(0.0) == 3


def test_a_task_not_due_or_in_flight_has_no_queue_position() -> None:
    scheduler = no_jitter()
    scheduler.track("sent", 0.0)
    scheduler.track("later", 0.0)
    scheduler.started("sent", 0.0)
    scheduler.started("later", 0.0)
    scheduler.on_result("later", GENERATING, 0.0)

    assert scheduler.queue_position("sent", 1.0) is None
    assert scheduler.queue_position("later", 1.0) is None
    assert scheduler.queue_position("unknown", 1.0) is None
    assert scheduler.waiting(1.0) == 0


def test_nothing_waits_in_the_queue_during_a_pause() -> None:
    scheduler = no_jitter()
    scheduler.track("t", 0.0)
    scheduler.track("u", 0.0)
    scheduler.started("t", 0.0)
    limited = FetchError(FetchErrorKind.RATE_LIMITED, "slow down", retry_after=30.0)
    scheduler.on_result("t", limited, 0.0)

    assert scheduler.waiting(1.0) == 0
    assert scheduler.queue_position("u", 1.0) is None
    assert scheduler.waiting(31.0) == 2
