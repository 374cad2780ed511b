"""The project's own client against the stand-in: every body shape, every fault.

These are contract tests: if the stand-in and the client disagree about what
kie.ai says, one of them is wrong, and a test here fails.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from tests.sim.conftest import FROZEN_AT, SleepRecorder
from veo_tui.api import KieClient
from veo_tui.domain import FetchError, FetchErrorKind, State, TaskRecord
from veo_tui.sim import FaultKind, FaultSettings, RunningSim

MakeClient = Callable[..., KieClient]
RECORD_INFO = "/api/v1/veo/record-info"


async def fetch_record(make_client: MakeClient, task_id: str) -> TaskRecord:
    result = await make_client().record_info(task_id)
    assert isinstance(result, TaskRecord), result
    return result


async def test_a_current_shape_success_reads_as_success_with_its_url(
    make_client: MakeClient, sim: RunningSim
) -> None:
    record = await fetch_record(make_client, "success-current-naive")

    assert record.state is State.SUCCESS
    assert record.result_urls == (
        f"{sim.base_url}/files/success-current-naive/result-0.mp4",
    )
    assert record.origin_urls == ()
    assert record.prompt == "A futuristic city with flying cars at sunset."


async def test_naive_times_read_back_as_the_scheduled_utc_moments(
    make_client: MakeClient,
) -> None:
    record = await fetch_record(make_client, "success-current-naive")

    assert record.created_at == datetime.fromtimestamp(FROZEN_AT - 600, UTC)
    assert record.duration_s == 60


async def test_a_portrait_success_reads_with_origin_urls_and_epoch_times(
    make_client: MakeClient,
) -> None:
    record = await fetch_record(make_client, "success-portrait-epoch")

    assert record.state is State.SUCCESS
    assert len(record.origin_urls) == 1
    assert record.resolution == "1080p"
    assert record.completed_at == datetime.fromtimestamp(FROZEN_AT - 540, UTC)


async def test_a_legacy_shape_success_reads_its_urls_from_the_json_string(
    make_client: MakeClient,
) -> None:
    record = await fetch_record(make_client, "success-legacy")

    assert record.state is State.SUCCESS
    assert record.result_urls[0].endswith("/files/success-legacy/result-0.mp4")


async def test_an_extended_success_reads_with_full_result_urls(
    make_client: MakeClient,
) -> None:
    record = await fetch_record(make_client, "success-extended-iso")

    assert record.full_result_urls[0].endswith("/full-0.mp4")
    assert record.created_at == datetime.fromtimestamp(FROZEN_AT - 300, UTC)


async def test_a_string_flag_reads_as_success(make_client: MakeClient) -> None:
    record = await fetch_record(make_client, "success-flag-string")

    assert record.state is State.SUCCESS
    assert record.success_flag == 1


@pytest.mark.parametrize(
    ("task_id", "flag", "code", "reason"),
    [
        (
            "failed-content-policy",
            2,
            400,
            "Your prompt was flagged by Website as violating content policies.",
        ),
        ("failed-no-audio", 3, 500, "The Google model was unable to generate audio"),
    ],
)
async def test_a_failure_reads_with_kies_flag_code_and_reason(
    make_client: MakeClient, task_id: str, flag: int, code: int, reason: str
) -> None:
    record = await fetch_record(make_client, task_id)

    assert record.state is State.FAILED
    assert (record.success_flag, record.error_code) == (flag, code)
    assert record.failure_reason == reason


async def test_a_generating_task_reads_as_generating_without_urls(
    make_client: MakeClient,
) -> None:
    record = await fetch_record(make_client, "generating")

    assert record.state is State.GENERATING
    assert record.result_urls == ()
    assert record.completed_at is None


async def test_a_record_older_than_fourteen_days_reads_as_expired(
    make_client: MakeClient,
) -> None:
    record = await fetch_record(make_client, "expired")

    assert record.state is State.EXPIRED


async def test_an_unknown_id_reads_as_not_found(make_client: MakeClient) -> None:
    record = await fetch_record(make_client, "no-such-task")

    assert record.state is State.NOT_FOUND


async def test_a_task_not_yet_visible_reads_as_not_found_then_generating(
    make_client: MakeClient, sim: RunningSim
) -> None:
    before = await fetch_record(make_client, "invisible")
    sim.advance(5)
    after = await fetch_record(make_client, "invisible")

    assert before.state is State.NOT_FOUND
    assert after.state is State.GENERATING


async def test_a_wrong_key_is_an_auth_error(make_client: MakeClient) -> None:
    result = await make_client(key="sk-sim-wrong").record_info("generating")

    assert isinstance(result, FetchError)
    assert result.kind is FetchErrorKind.AUTH


# What the client makes of one answer of each fault kind, without retrying.
SINGLE_FAULT = [
    (FaultKind.RATE_LIMIT, FetchErrorKind.RATE_LIMITED),
    (FaultKind.MAINTENANCE, FetchErrorKind.MAINTENANCE),
    (FaultKind.SERVER_ERROR, FetchErrorKind.SERVER),
    (FaultKind.BAD_GATEWAY, FetchErrorKind.SERVER),
    (FaultKind.INTERNAL_ERROR, FetchErrorKind.SERVER),
    (FaultKind.CDN_REFUSAL, FetchErrorKind.SERVER),
    (FaultKind.TRUNCATED_JSON, FetchErrorKind.MALFORMED),
    (FaultKind.DROPPED_CONNECTION, FetchErrorKind.NETWORK),
    (FaultKind.HANG, FetchErrorKind.TIMEOUT),
]


@pytest.mark.parametrize(("fault", "kind"), SINGLE_FAULT)
async def test_each_fault_kind_reaches_the_client_as_its_fetch_error(
    make_client: MakeClient, sim: RunningSim, fault: FaultKind, kind: FetchErrorKind
) -> None:
    sim.force_fault(fault)

    result = await make_client(max_retries=0, timeout=0.5).record_info("generating")

    assert isinstance(result, FetchError)
    assert result.kind is kind


@pytest.mark.parametrize(
    "fault",
    [
        FaultKind.RATE_LIMIT,
        FaultKind.MAINTENANCE,
        FaultKind.SERVER_ERROR,
        FaultKind.BAD_GATEWAY,
        FaultKind.INTERNAL_ERROR,
        FaultKind.DROPPED_CONNECTION,
        FaultKind.HANG,
    ],
)
async def test_the_client_retries_a_passing_fault_and_gets_the_record(
    make_client: MakeClient, sim: RunningSim, fault: FaultKind
) -> None:
    sim.force_fault(fault, times=2)

    result = await make_client(timeout=0.5).record_info("generating")

    assert isinstance(result, TaskRecord)
    assert result.state is State.GENERATING
    assert sim.requests_to(RECORD_INFO) == 3


async def test_the_client_waits_as_long_as_retry_after_says(
    make_client: MakeClient, sim: RunningSim
) -> None:
    sleep = SleepRecorder()
    sim.force_fault(FaultKind.RATE_LIMIT)

    result = await make_client(sleep=sleep).record_info("generating")

    assert isinstance(result, TaskRecord)
    assert sleep.delays == [1.0]


async def test_a_cdn_refusal_is_not_retried(
    make_client: MakeClient, sim: RunningSim
) -> None:
    sim.force_fault(FaultKind.CDN_REFUSAL, times=3)

    result = await make_client().record_info("generating")

    assert isinstance(result, FetchError)
    assert sim.requests_to(RECORD_INFO) == 1


async def test_a_random_maintenance_opens_a_window_for_every_request(
    make_client: MakeClient, sim: RunningSim
) -> None:
    client = make_client(max_retries=0)
    sim.state.faults.update(
        FaultSettings(rates={FaultKind.MAINTENANCE: 1.0}, maintenance_window=30)
    )
    first = await client.record_info("generating")
    sim.state.faults.update(FaultSettings(maintenance_window=30))

    second = await client.record_info("generating")

    assert isinstance(first, FetchError)
    assert isinstance(second, FetchError)
    assert second.kind is FetchErrorKind.MAINTENANCE
