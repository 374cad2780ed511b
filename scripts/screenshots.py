"""Regenerate ``screenshots/`` from the scenes the snapshot tests use.

Run from the repository root: ``.venv/bin/python scripts/screenshots.py``.
Writes one SVG per scene and size, and a PNG beside each when ``rsvg-convert``
(Debian's librsvg2-bin) is installed. kie.ai is mocked exactly as in the tests,
so nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import respx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.ui.conftest import (  # noqa: E402
    CREDIT,
    RECORD_INFO,
    FakeClock,
    FakeKie,
    build_app,
)
from tests.ui.scenes import SCENES, SIZES, Scene  # noqa: E402
from veo_tui.store.watchlist import WatchlistStore  # noqa: E402

OUT = ROOT / "screenshots"


async def shoot(scene: Scene, size: tuple[int, int], folder: Path) -> Path:
    """Render one scene at one size to an SVG; return its path."""
    store = WatchlistStore(folder / f"{scene.name}-{size[0]}.toml")
    kie = FakeKie()
    with respx.mock(assert_all_called=False) as router:
        router.get(RECORD_INFO).mock(side_effect=kie.answer)
        router.get(CREDIT).mock(side_effect=kie.credit)
        calls = scene.setup(store, kie)
        app = build_app(store, FakeClock())
        async with app.run_test(size=size) as pilot:
            await scene.run_before(pilot, kie, calls)
            svg = app.export_screenshot(title="veo-tui")
    path = OUT / f"{scene.name}-{size[0]}x{size[1]}.svg"
    path.write_text(svg, encoding="utf-8")
    return path


async def shoot_all(folder: Path) -> list[Path]:
    return [await shoot(scene, size, folder) for scene in SCENES for size in SIZES]


def main() -> None:
    OUT.mkdir(exist_ok=True)
    converter = shutil.which("rsvg-convert")
    with tempfile.TemporaryDirectory() as folder:
        svgs = asyncio.run(shoot_all(Path(folder)))
    for svg in svgs:
        print(svg.relative_to(ROOT))
        if converter:
            png = svg.with_suffix(".png")
            subprocess.run([converter, "-o", str(png), str(svg)], check=True)
            print(png.relative_to(ROOT))
    if not converter:
        print("no rsvg-convert: SVG only (apt-get install librsvg2-bin for PNG)")


if __name__ == "__main__":
    main()
