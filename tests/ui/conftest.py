"""Fixtures for the dashboard: a fake clock, kie.ai mocked with respx, an app."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from textual.pilot import Pilot

from tests.conftest import FAKE_KEY
from veo_tui.api import ApiOptions
from veo_tui.domain import State, TaskRecord
from veo_tui.polling.scheduler import PollSettings
from veo_tui.store.prefs import Prefs
from veo_tui.store.watchlist import WatchEntry, WatchlistStore
from veo_tui.ui import DashboardOptions, Engine, VeoTuiApp

NOW = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)
BASE = "https://api.kie.ai"
RECORD_INFO = f"{BASE}/api/v1/veo/record-info"
CREDIT = f"{BASE}/api/v1/chat/credit"


class FakeClock:
    """Wall and monotonic time that move only when a test says so."""

    def __init__(self) -> None:
        self.now = NOW
        self.seconds = 1000.0

    def wall(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.seconds

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.seconds += seconds


def success_body(
    task_id: str, prompt: str = "A red fox in the snow", **extra: Any
) -> dict[str, Any]:
    data = {
        "taskId": task_id,
        "paramJson": json.dumps(
            {"prompt": prompt, "aspect_ratio": "16:9", "model": "veo3_fast"}
        ),
        "response": {
            "taskId": task_id,
            "resultUrls": [f"https://cdn.example.com/{task_id}.mp4"],
            "resolution": "1080p",
        },
        "successFlag": 1,
        "errorCode": None,
        "errorMessage": "",
        "createTime": "2026-12-03 11:50:00",
        "completeTime": "2026-12-03 11:52:30",
    }
    data.update(extra)
    return {"code": 200, "msg": "success", "data": data}


def generating_body(task_id: str, prompt: str = "Waves at dusk") -> dict[str, Any]:
    return {
        "code": 200,
        "msg": "success",
        "data": {
            "taskId": task_id,
            "paramJson": json.dumps({"prompt": prompt}),
            "successFlag": 0,
            "response": None,
            "createTime": "2026-12-03 11:58:00",
        },
    }


def failed_body(task_id: str, message: str) -> dict[str, Any]:
    return {
        "code": 200,
        "msg": "success",
        "data": {
            "taskId": task_id,
            "paramJson": json.dumps({"prompt": "A crowded stadium"}),
            "successFlag": 2,
            "errorCode": 400,
            "errorMessage": message,
            "createTime": "2026-12-03 11:40:00",
            "completeTime": "2026-12-03 11:41:00",
        },
    }


NOT_FOUND_BODY = {"code": 422, "msg": "record is null.", "data": None}
REFUSED_BODY = {"code": 401, "msg": "You do not have access permissions"}


class FakeKie:
    """kie.ai's record-info behind respx: a body per task id, changeable."""

    def __init__(self) -> None:
        self.bodies: dict[str, dict[str, Any] | httpx.Response] = {}
        self.calls: list[str] = []
        self.refused_keys: set[str] = set()
        self.balance = 35.95
        self.credit_calls = 0
        self.router: respx.MockRouter | None = None

    def answer(self, request: httpx.Request) -> httpx.Response:
        task_id = request.url.params["taskId"]
        self.calls.append(task_id)
        key = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if key in self.refused_keys:
            return httpx.Response(200, json=REFUSED_BODY)
        body = self.bodies.get(task_id, NOT_FOUND_BODY)
        if isinstance(body, httpx.Response):
            return body
        return httpx.Response(200, json=body)

    def credit(self, request: httpx.Request) -> httpx.Response:
        self.credit_calls += 1
        key = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if key in self.refused_keys:
            return httpx.Response(200, json=REFUSED_BODY)
        return httpx.Response(
            200, json={"code": 200, "msg": "success", "data": self.balance}
        )


@pytest.fixture(autouse=True)
def a_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    """Say there is a browser: these machines have none, and the tests that
    open URLs replace ``open_url`` anyway. A test of "no browser" undoes it."""
    monkeypatch.setattr("veo_tui.ui.app.graphical_browser_available", lambda: True)


@pytest.fixture
def kie() -> Iterator[FakeKie]:
    fake = FakeKie()
    with respx.mock(assert_all_called=False) as router:
        router.get(RECORD_INFO).mock(side_effect=fake.answer)
        router.get(CREDIT).mock(side_effect=fake.credit)
        fake.router = router
        yield fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path) -> WatchlistStore:
    return WatchlistStore(tmp_path / "watchlist.toml")


AppFactory = Callable[..., VeoTuiApp]


def build_app(
    store: WatchlistStore,
    clock: FakeClock,
    *,
    key: str | None = FAKE_KEY,
    prefs: Prefs | None = None,
    **options: Any,
) -> VeoTuiApp:
    """A dashboard on ``store`` and ``clock``, talking to the (mocked) kie.ai."""
    api = ApiOptions(base_url=BASE, key=key, max_retries=0) if key else None
    engine = Engine(
        api,
        PollSettings(max_requests_per_second=0),
        clock=clock.monotonic,
        wall_clock=clock.wall,
    )
    no_key = None if key else "No API key: set KIE_API_KEY and start again."
    options.setdefault("no_key_message", no_key)
    return VeoTuiApp(
        store,
        engine,
        options=DashboardOptions(**options),
        prefs=prefs,
        clock=clock.wall,
    )


@pytest.fixture
def make_app(store: WatchlistStore, clock: FakeClock) -> AppFactory:
    """Build a dashboard on the test's store, clock and mocked kie.ai."""

    def make(
        *, key: str | None = FAKE_KEY, prefs: Prefs | None = None, **options: Any
    ) -> VeoTuiApp:
        return build_app(store, clock, key=key, prefs=prefs, **options)

    return make


def seed(store: WatchlistStore, *entries: WatchEntry) -> None:
    """Put entries on disk as a previous run would have left them."""
    store.add([entry.task_id for entry in entries], NOW - timedelta(hours=1))
    store.update(list(entries))


def entry(task_id: str, record: TaskRecord | None = None) -> WatchEntry:
    return WatchEntry(
        task_id,
        added_at=NOW - timedelta(hours=1),
        record=record,
        checked_at=NOW - timedelta(minutes=5) if record else None,
    )


async def settle(pilot: Pilot[Any], app: VeoTuiApp, calls: int, kie: FakeKie) -> None:
    """Wait until kie.ai has had ``calls`` requests and their answers are shown."""
    for _ in range(200):
        await pilot.pause(0.01)
        credits_known = app.engine.api is None or app.credits_checked
        if len(kie.calls) >= calls and not app.engine.busy and credits_known:
            await pilot.pause()
            return
    raise AssertionError(f"only {len(kie.calls)} of {calls} requests were made")


def done(task_id: str) -> TaskRecord:
    return TaskRecord(
        task_id,
        State.SUCCESS,
        success_flag=1,
        result_urls=(f"https://cdn.example.com/{task_id}.mp4",),
        resolution="1080p",
        created_at=NOW - timedelta(minutes=10),
        completed_at=NOW - timedelta(minutes=8),
        prompt="A lighthouse in a storm",
    )
