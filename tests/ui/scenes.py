"""The scenes of the snapshot tests and of ``screenshots/``: one definition each.

A scene seeds a watchlist, tells the fake kie.ai what to answer, and says what
to do once the app is up. Snapshot tests and ``scripts/screenshots.py`` both
use these, so the README shows exactly what the tests check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from textual.pilot import Pilot
from textual.widgets import TextArea

from tests.ui.conftest import NOW, FakeKie, done, entry, generating_body, seed, settle
from veo_tui.domain import State, TaskRecord
from veo_tui.store.watchlist import WatchlistStore
from veo_tui.ui import VeoTuiApp

CONTENT_POLICY = "Your prompt was flagged by Website as violating content policies."


def _mixed(store: WatchlistStore, kie: FakeKie) -> int:
    """A watchlist with a task in every state; returns the requests expected."""
    failed = TaskRecord(
        "veo_task_7f3a91c2d4e8",
        State.FAILED,
        success_flag=2,
        error_code=400,
        error_message=CONTENT_POLICY,
        created_at=NOW - timedelta(minutes=42),
        completed_at=NOW - timedelta(minutes=41, seconds=10),
        prompt="A crowded stadium erupts as the winning goal is scored",
        params={"prompt": "-", "model": "veo3_fast", "aspect_ratio": "16:9"},
    )
    tall = TaskRecord(
        "veo_task_5b20e77a9c13",
        State.SUCCESS,
        success_flag=1,
        result_urls=("https://tempfile.aiquickdraw.com/v/5b20e77a9c13.mp4",),
        origin_urls=("https://tempfile.aiquickdraw.com/v/5b20e77a9c13-origin.mp4",),
        resolution="720p",
        created_at=NOW - timedelta(days=12, minutes=3),
        completed_at=NOW - timedelta(days=12, minutes=1),
        prompt="Vertical street-food close-up, steam rising from a wok",
        params={"model": "veo3", "aspect_ratio": "9:16"},
    )
    expired = TaskRecord(
        "veo_task_0c11aa45e902",
        State.EXPIRED,
        message="Temporarily supports records within 14 days.",
    )
    missing = TaskRecord(
        "veo_task_deadbeef0001", State.NOT_FOUND, message="record is null."
    )
    generating = TaskRecord(
        "veo_task_a4d9e0f1b6c7",
        State.GENERATING,
        success_flag=0,
        created_at=NOW - timedelta(minutes=2),
        prompt="Waves at dusk, drone shot",
    )
    seed(
        store,
        entry("veo_task_3e8c5d0b1a27", done("veo_task_3e8c5d0b1a27")),
        entry(tall.task_id, tall),
        entry(failed.task_id, failed),
        entry(generating.task_id, generating),
        entry(expired.task_id, expired),
        entry(missing.task_id, missing),
    )
    kie.bodies[generating.task_id] = generating_body(
        generating.task_id, "Waves at dusk, drone shot"
    )
    return 1


async def _wait(pilot: Pilot[Any], kie: FakeKie, calls: int) -> None:
    app = pilot.app
    assert isinstance(app, VeoTuiApp)
    await settle(pilot, app, calls, kie)


@dataclass(frozen=True)
class Scene:
    """One picture of the dashboard."""

    name: str
    setup: Callable[[WatchlistStore, FakeKie], int]
    keys: tuple[str, ...] = ()
    after: Callable[[Pilot[Any]], Awaitable[None]] | None = None

    async def run_before(self, pilot: Pilot[Any], kie: FakeKie, calls: int) -> None:
        await _wait(pilot, kie, calls)
        if self.keys:
            await pilot.press(*self.keys)
        if self.after is not None:
            await self.after(pilot)
        await pilot.pause()


async def _type_ids(pilot: Pilot[Any]) -> None:
    area = pilot.app.screen.query_one(TextArea)
    area.cursor_blink = False
    area.insert("veo_task_1111aaaa2222, veo_task_3333bbbb4444\nnot an id\x07")
    await pilot.pause()


SCENES = (
    Scene("welcome", lambda store, kie: 0),
    Scene("mixed", _mixed),
    Scene("failed_detail", _mixed, keys=("down", "down")),
    Scene("add_dialog", _mixed, keys=("a",), after=_type_ids),
    Scene("help", _mixed, keys=("question_mark",)),
)
SIZES = ((120, 36), (80, 24))
