"""The dashboard and ``watch`` living through the stand-in's faults.

Each fault is forced on the next request(s), so every test sees exactly the
weather it is about; the dashboard's polling runs on a fake clock, woken by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from tests.ui.conftest import FakeClock, entry, seed
from veo_tui.api import ApiOptions
from veo_tui.cli.watch import Watch
from veo_tui.domain import State, TaskRecord
from veo_tui.polling.scheduler import PollSettings
from veo_tui.sim import FaultKind, RunningSim, parse_scenario, running_sim_in_thread
from veo_tui.store.watchlist import WatchlistStore
from veo_tui.ui import DashboardOptions, Engine, VeoTuiApp

SIM_KEY = "sk-sim-test-0000faults0000"
RECORD_INFO = "/api/v1/veo/record-info"

SCENARIO = """
[sim]
name = "faults test"
seed = 11

[faults]
retry_after = 1
hang_for = "5s"

[[task]]
id = "g1"
prompt = "takes an hour"
age = "0s"
duration = "3600s"

[[task]]
id = "done-ok"
prompt = "finished already"
age = "10m"
duration = "60s"
"""

FAST = PollSettings(
    interval=0.1,
    max_interval=0.2,
    grace=0.0,
    error_backoff_base=0.05,
    error_backoff_cap=0.1,
    max_requests_per_second=0,
)

# kind, the word in the task's Checked cell, the header's connection text,
# the fetch error kind ``watch`` reports.
FAULTS = [
    (FaultKind.RATE_LIMIT, "rate limited", "● rate limited", "rate_limited"),
    (FaultKind.MAINTENANCE, "maintenance", "● maintenance", "maintenance"),
    (FaultKind.SERVER_ERROR, "server error", "● server trouble", "server"),
    (FaultKind.BAD_GATEWAY, "server error", "● server trouble", "server"),
    (FaultKind.TRUNCATED_JSON, "bad answer", "● server trouble", "malformed"),
    (FaultKind.DROPPED_CONNECTION, "offline", "● offline", "network"),
    (FaultKind.HANG, "timed out", "● offline", "timeout"),
]


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    scenario = parse_scenario(SCENARIO, source="faults test")
    with running_sim_in_thread(scenario=scenario, key=SIM_KEY, port=0) as running:
        yield running


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path) -> WatchlistStore:
    return WatchlistStore(tmp_path / "watchlist.toml")


def timeout_for(kind: FaultKind | None) -> float:
    """Short only where the fault is a hang: a loaded machine can take more
    than 0.3 s to answer, and the test would see a timeout, not its fault."""
    return 0.3 if kind is FaultKind.HANG else 2.0


def api_options(base_url: str, timeout: float = 2.0) -> ApiOptions:
    return ApiOptions(
        base_url=base_url,
        key=SIM_KEY,
        max_retries=0,
        backoff_base=0.01,
        timeout=timeout,
        connect_timeout=timeout,
    )


def fault_app(
    store: WatchlistStore,
    clock: FakeClock,
    base_url: str,
    monkeypatch: pytest.MonkeyPatch,
    timeout: float = 2.0,
) -> VeoTuiApp:
    """A dashboard on the stand-in, its polling on ``clock``, credits not asked.

    The balance check is left out so that a forced fault always strikes the
    task's request, not the credit request racing it.
    """
    engine = Engine(
        api_options(base_url, timeout),
        FAST,
        clock=clock.monotonic,
        wall_clock=clock.wall,
    )
    app = VeoTuiApp(store, engine, options=DashboardOptions(), clock=clock.wall)
    monkeypatch.setattr(app, "refresh_credits", lambda: None)
    return app


def cell(app: VeoTuiApp, task_id: str, column: str) -> str:
    value = app.query_one("#tasks", DataTable).get_cell(task_id, column)
    return value.plain if isinstance(value, Text) else str(value)


def shown(app: VeoTuiApp, selector: str) -> str:
    content = app.query_one(selector, Static).render()
    return str(content.plain if isinstance(content, Text) else content)


async def checked(
    pilot: Pilot[Any], app: VeoTuiApp, sim: RunningSim, requests: int
) -> None:
    """Wait until the stand-in has had ``requests`` and their answers are shown."""
    for _ in range(300):
        await pilot.pause(0.01)
        if sim.requests_to(RECORD_INFO) >= requests and not app.engine.busy:
            await pilot.pause()
            return
    raise AssertionError(f"only {sim.requests_to(RECORD_INFO)} requests were made")


def seed_generating(store: WatchlistStore) -> None:
    seed(store, entry("g1", TaskRecord("g1", State.GENERATING, success_flag=0)))


async def still_answers_keys(pilot: Pilot[Any], app: VeoTuiApp) -> None:
    await pilot.press("p")
    await pilot.pause()
    assert "⏸ paused" in shown(app, "#topbar")
    await pilot.press("p")
    await pilot.pause()
    assert "⟳ auto" in shown(app, "#topbar")


# The dashboard


@pytest.mark.parametrize(("kind", "word", "header", "_"), FAULTS)
async def test_dashboard_shows_the_fault_stays_up_and_recovers_by_itself(
    kind: FaultKind,
    word: str,
    header: str,
    _: str,
    sim: RunningSim,
    store: WatchlistStore,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim.reset()
    seed_generating(store)
    sim.force_fault(kind)
    app = fault_app(store, clock, sim.base_url, monkeypatch, timeout_for(kind))

    async with app.run_test() as pilot:
        await checked(pilot, app, sim, 1)
        assert cell(app, "g1", "state").endswith("generating !")
        assert f"⚠ {word}" in cell(app, "g1", "checked")
        assert header in shown(app, "#topbar")
        await still_answers_keys(pilot, app)

        clock.advance(120)
        app.engine.wake()
        await checked(pilot, app, sim, 2)

        assert "generating" in cell(app, "g1", "state")
        assert "!" not in cell(app, "g1", "state")
        assert "⚠" not in cell(app, "g1", "checked")
        assert "● ok" in shown(app, "#topbar")
        assert app.is_running
    assert [saved.task_id for saved in store.load()] == ["g1"]


async def test_dashboard_lives_through_a_server_that_goes_away_and_comes_back(
    store: WatchlistStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = parse_scenario(SCENARIO, source="faults test")
    seed_generating(store)
    with contextlib.ExitStack() as first_life, contextlib.ExitStack() as second:
        first = first_life.enter_context(
            running_sim_in_thread(scenario=scenario, key=SIM_KEY, port=0)
        )
        app = fault_app(store, clock, first.base_url, monkeypatch)
        async with app.run_test() as pilot:
            await checked(pilot, app, first, 1)
            assert "● ok" in shown(app, "#topbar")

            first_life.close()
            clock.advance(120)
            app.engine.wake()
            await wait_for(pilot, lambda: "offline" in cell(app, "g1", "checked"))
            assert cell(app, "g1", "state").endswith("generating !")
            assert "● offline" in shown(app, "#topbar")
            await still_answers_keys(pilot, app)

            back = second.enter_context(
                running_sim_in_thread(scenario=scenario, key=SIM_KEY, port=first.port)
            )
            clock.advance(120)
            app.engine.wake()
            await checked(pilot, app, back, 1)

            assert "!" not in cell(app, "g1", "state")
            assert "⚠" not in cell(app, "g1", "checked")
            assert "● ok" in shown(app, "#topbar")
    assert [saved.task_id for saved in store.load()] == ["g1"]


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool]) -> None:
    for _ in range(300):
        await pilot.pause(0.01)
        if condition():
            return
    raise AssertionError("the condition never held")


# watch


def watch(
    sim: RunningSim, *ids: str, timeout: float = 2.0
) -> tuple[int, list[dict[str, Any]]]:
    out = io.StringIO()
    runner = Watch(list(ids), json=True, out=out)

    options = api_options(sim.base_url, timeout)
    status = asyncio.run(runner.run(options, FAST, give_up_after=5))

    return status, [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.parametrize(("kind", "_", "__", "error_kind"), FAULTS)
def test_watch_reports_the_fault_then_carries_on_to_the_end(
    kind: FaultKind, _: str, __: str, error_kind: str, sim: RunningSim
) -> None:
    sim.reset()
    sim.force_fault(kind)

    status, lines = watch(sim, "done-ok", timeout=timeout_for(kind))

    assert status == 0
    assert lines[0]["fetch_error"]["kind"] == error_kind
    assert lines[0]["state"] != "success"
    assert lines[-1]["state"] == "success"
    assert lines[-1]["fetch_error"] is None


async def test_dashboard_stays_responsive_through_a_latency_spike(
    sim: RunningSim,
    store: WatchlistStore,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim.reset(latency_ms=200)  # slow, but well within the client's timeout
    seed_generating(store)
    app = fault_app(store, clock, sim.base_url, monkeypatch)

    async with app.run_test() as pilot:
        await still_answers_keys(pilot, app)  # while the slow request is out
        await checked(pilot, app, sim, 1)

        assert cell(app, "g1", "state").endswith("generating")
        assert "⚠" not in cell(app, "g1", "checked")
        assert "● ok" in shown(app, "#topbar")
