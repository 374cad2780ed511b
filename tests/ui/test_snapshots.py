"""SVG snapshots of the dashboard at 120x36 and 80x24, on a fixed clock.

Update them with ``pytest tests/ui/test_snapshots.py --snapshot-update`` after
looking at the pictures in the report.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from tests.ui.conftest import AppFactory, FakeKie
from tests.ui.scenes import SCENES, SIZES, Scene
from veo_tui.store.watchlist import WatchlistStore


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("scene", SCENES, ids=lambda s: s.name)
def test_snapshot(
    scene: Scene,
    size: tuple[int, int],
    snap_compare: Any,
    make_app: AppFactory,
    store: WatchlistStore,
    kie: FakeKie,
) -> None:
    calls = scene.setup(store, kie)
    app = make_app()

    async def run_before(pilot: Pilot[Any]) -> None:
        await scene.run_before(pilot, kie, calls)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
