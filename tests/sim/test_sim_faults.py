"""Fault rates, latency, and the client living through the ``faults`` scenario."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from veo_tui.api import KieClient
from veo_tui.domain import FetchError, TaskRecord
from veo_tui.sim import FaultKind, FaultSettings, RunningSim, load_scenario
from veo_tui.sim.faults import FaultPlan

MakeClient = Callable[..., KieClient]


def plan(rates: dict[FaultKind, float], **settings: Any) -> FaultPlan:
    clock = iter(range(1_000_000))
    return FaultPlan(
        FaultSettings(rates=rates, **settings),
        random.Random(7),
        monotonic=lambda: float(next(clock)),
    )


def test_each_kind_strikes_at_about_its_rate() -> None:
    faults = plan({FaultKind.SERVER_ERROR: 0.2, FaultKind.HANG: 0.05})

    seen = Counter(faults.choose() for _ in range(10_000))

    assert 1_800 < seen[FaultKind.SERVER_ERROR] < 2_200
    assert 400 < seen[FaultKind.HANG] < 600
    assert 7_300 < seen[None] < 7_700


def test_no_rates_means_no_faults() -> None:
    faults = plan({})

    assert {faults.choose() for _ in range(1_000)} == {None}


def test_forced_faults_come_first_and_run_out() -> None:
    faults = plan({})
    faults.force(FaultKind.BAD_GATEWAY, times=2)

    chosen = [faults.choose() for _ in range(3)]

    assert chosen == [FaultKind.BAD_GATEWAY, FaultKind.BAD_GATEWAY, None]


def test_a_maintenance_window_lasts_its_length_then_ends() -> None:
    # The fake monotonic clock moves one second per choice.
    faults = plan({FaultKind.MAINTENANCE: 1.0}, maintenance_window=3)
    faults.choose()
    faults.update(FaultSettings(maintenance_window=3))

    chosen = [faults.choose() for _ in range(4)]

    assert chosen == [FaultKind.MAINTENANCE, FaultKind.MAINTENANCE, None, None]


def test_jitter_stays_within_its_bound() -> None:
    faults = plan({}, latency_ms=100, jitter_ms=50)

    delays = [faults.delay() for _ in range(1_000)]

    assert min(delays) >= 0.1
    assert max(delays) <= 0.15
    assert max(delays) - min(delays) > 0.04


def test_rates_adding_up_past_one_are_refused() -> None:
    with pytest.raises(ValueError, match="add up to more than 1"):
        FaultSettings(rates={FaultKind.HANG: 0.6, FaultKind.BAD_GATEWAY: 0.5})


def test_a_hang_is_bounded() -> None:
    with pytest.raises(ValueError, match="hang_for"):
        FaultSettings(hang_for=3600)


async def test_latency_delays_every_api_answer(sim: RunningSim) -> None:
    sim.reset(latency_ms=60)
    async with httpx.AsyncClient(base_url=sim.base_url, trust_env=False) as http:
        started = time.perf_counter()
        await http.get("/api/v1/chat/credit")
        elapsed = time.perf_counter() - started

    assert elapsed >= 0.06


async def test_videos_are_served_without_faults(sim: RunningSim) -> None:
    sim.force_fault(FaultKind.BAD_GATEWAY)
    async with httpx.AsyncClient(base_url=sim.base_url, trust_env=False) as http:
        response = await http.get("/files/success-current-naive/result-0.mp4")

    assert response.status_code == 200


async def test_the_client_lives_through_the_faults_scenario(
    make_client: MakeClient, sim: RunningSim
) -> None:
    # Its latency would only make this slow, and its maintenance windows would
    # outlast retries that do not really sleep; every other fault remains.
    scenario = load_scenario("faults")
    scenario = replace(
        scenario, faults=replace(scenario.faults, maintenance_window=0.0)
    )
    sim.reset(scenario=scenario, latency_ms=0, jitter_ms=0)
    client = make_client(timeout=0.3, max_retries=4)
    task_id = sim.task_ids[0]

    results = [await client.record_info(task_id) for _ in range(40)]

    records = [result for result in results if isinstance(result, TaskRecord)]
    errors = [result for result in results if isinstance(result, FetchError)]
    assert len(records) + len(errors) == 40
    assert len(records) >= 36
    assert sim.requests_to("/api/v1/veo/record-info") > 40
