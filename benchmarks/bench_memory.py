"""Target 5: resident memory with 10,000 tasks in the watchlist, below 120 MB.

Each figure comes from a fresh child process: the dashboard, headless at
120x36, on a watchlist of 10,000 tasks with success records (prompt, URL,
times), engine running, left until every row is in the table (it is filled
a chunk per repaint after the first frame) and 2 s more, then scrolled to
the end; and, as the baseline, a bare Textual app showing an empty
``DataTable``. Each child reports its peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``).

Run: ``.venv/bin/python benchmarks/bench_memory.py``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import Row, print_table, seed_watchlist, verdict

TASKS = 10_000
SIZE = (120, 36)
SETTLE_S = 2.0
FILL_TIMEOUT_S = 60.0
MAX_MB = 120.0


def peak_mb() -> float:
    """Peak resident set size of this process in MB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def settle(app: Any, rows_wanted: int = 0) -> dict[str, float]:
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(int(FILL_TIMEOUT_S / 0.1)):  # the table fills in chunks
            rows = sum(table.row_count for table in app.query("DataTable"))
            if rows >= rows_wanted:
                break
            await pilot.pause(0.1)
        await pilot.pause(SETTLE_S)
        rows = sum(table.row_count for table in app.query("DataTable"))
        await pilot.press("end")  # scroll to the bottom: render the far rows too
        await pilot.pause(0.5)
    return {"peak_mb": peak_mb(), "rows": rows}


def child_app(watchlist: Path) -> dict[str, float]:
    from veo_tui.domain import FetchResult
    from veo_tui.polling import PollSettings
    from veo_tui.store.watchlist import WatchlistStore
    from veo_tui.ui import DashboardOptions, Engine, VeoTuiApp

    async def fetch(task_id: str) -> FetchResult:
        raise RuntimeError("nothing should be fetched: every task is finished")

    app = VeoTuiApp(
        WatchlistStore(watchlist),
        Engine(None, PollSettings(), fetch=fetch),
        options=DashboardOptions(bell=False, own_process=True),
    )
    return asyncio.run(settle(app, rows_wanted=TASKS))


def child_bare() -> dict[str, float]:
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable()

    return asyncio.run(settle(Bare()))


def run_child(*args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the child {args[0]} failed:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
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
        size_mb = watchlist.stat().st_size / 1024 / 1024
        ours = run_child("app", str(watchlist))
        bare = run_child("bare")

    rows = [
        Row(
            f"dashboard, {TASKS:,} tasks: peak RSS",
            f"{ours['peak_mb']:.1f} MB",
            f"< {MAX_MB:g} MB",
            verdict(ours["peak_mb"] < MAX_MB),
        ),
        Row(
            "  rows in the table",
            f"{ours['rows']:,.0f}",
            f"{TASKS:,}",
            verdict(ours["rows"] == TASKS),
        ),
        Row("  above the bare app", f"{ours['peak_mb'] - bare['peak_mb']:.1f} MB"),
        Row(
            "reference: bare Textual app, empty DataTable", f"{bare['peak_mb']:.1f} MB"
        ),
        Row("the watchlist file", f"{size_mb:.1f} MB"),
    ]
    print_table(
        f"Target 5: resident memory, {TASKS:,}-task watchlist "
        f"(headless, {SIZE[0]}x{SIZE[1]})",
        rows,
        ["peak RSS of a fresh child process, ru_maxrss"],
    )


if __name__ == "__main__":
    main()
