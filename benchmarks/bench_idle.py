"""Target 3: the dashboard idle with 1,000 finished tasks, below 1% of a core.

Two child processes run side by side for the same 30 s (the machine has two
cores, and each is nearly idle): the real :class:`VeoTuiApp`, headless at
120x36, on a watchlist of 1,000 success records with its polling engine
running (nothing is due, since every task is finished); and, as the
reference, a bare Textual app showing an empty ``DataTable``. Each child lets
its app settle for 2 s, then reads its own CPU time (user + system, all
threads) before and after 30 s of idling.

Headless means no bytes are written to a terminal; everything else (timers,
the once-a-second tick, layout, compositing) runs as in a terminal.

Run: ``.venv/bin/python benchmarks/bench_idle.py``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import Row, print_table, seed_watchlist, verdict

TASKS = 1000
IDLE_S = 30.0
SETTLE_S = 2.0
MAX_SHARE = 0.01
SIZE = (120, 36)


async def idle(app: Any) -> dict[str, float]:
    """CPU seconds the app's process spends over the idle span."""
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(SETTLE_S)
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.sleep(IDLE_S)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        rows = 0
        for table in app.query("DataTable"):
            rows += table.row_count
    return {"cpu": cpu, "wall": wall, "rows": rows}


def child_app(watchlist: Path) -> dict[str, float]:
    from veo_tui.domain import FetchResult
    from veo_tui.polling import PollSettings
    from veo_tui.store.watchlist import WatchlistStore
    from veo_tui.ui import DashboardOptions, Engine, VeoTuiApp

    fetches = 0

    async def fetch(task_id: str) -> FetchResult:
        nonlocal fetches
        fetches += 1
        raise RuntimeError("nothing should be fetched: every task is finished")

    engine = Engine(None, PollSettings(), fetch=fetch)
    app = VeoTuiApp(
        WatchlistStore(watchlist),
        engine,
        options=DashboardOptions(bell=False, own_process=True),
    )
    result = asyncio.run(idle(app))
    result["fetches"] = fetches
    return result


def child_bare() -> dict[str, float]:
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable()

    return asyncio.run(idle(Bare()))


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, "--child", *args],
        stdout=subprocess.PIPE,
        text=True,
    )


def collect(process: subprocess.Popen[str]) -> dict[str, float]:
    out, _ = process.communicate(timeout=IDLE_S + 60)
    if process.returncode != 0:
        raise RuntimeError(f"a child failed with status {process.returncode}")
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind = args.child[0]
        result = child_app(Path(args.child[1])) if kind == "app" else child_bare()
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory(prefix="veo-tui-bench-") as folder:
        watchlist = Path(folder) / "watchlist.toml"
        seed_watchlist(watchlist, TASKS)
        ours = spawn("app", str(watchlist))
        bare = spawn("bare")
        app_result, bare_result = collect(ours), collect(bare)

    share = app_result["cpu"] / app_result["wall"]
    bare_share = bare_result["cpu"] / bare_result["wall"]
    rows = [
        Row(
            f"dashboard idle, {TASKS:,} finished tasks: CPU",
            f"{share:.2%} of a core ({app_result['cpu']:.3f} s"
            f" in {app_result['wall']:.1f} s)",
            f"< {MAX_SHARE:.0%}",
            verdict(share < MAX_SHARE),
        ),
        Row(
            "  rows in the table / fetches made",
            f"{app_result['rows']:,.0f} / {app_result['fetches']:.0f}",
            f"{TASKS:,} / 0",
            verdict(app_result["rows"] == TASKS and app_result["fetches"] == 0),
        ),
        Row(
            "reference: bare Textual app, empty DataTable",
            f"{bare_share:.2%} of a core ({bare_result['cpu']:.3f} s"
            f" in {bare_result['wall']:.1f} s)",
        ),
    ]
    print_table(
        f"Target 3: dashboard idle for {IDLE_S:g} s with {TASKS:,} finished tasks "
        f"(headless, {SIZE[0]}x{SIZE[1]})",
        rows,
        ["both apps idle side by side in their own processes, after 2 s to settle"],
    )


if __name__ == "__main__":
    main()
