"""Target 4: cold start to the first frame, and key-press to repaint.

Cold start: each run is a fresh interpreter (``python this-file --child``) in
a pseudo-terminal of 120x36, with Textual's real terminal driver, exiting at
its first frame: the first time the screen hands a compositor update to
``App._display``, which writes it to the terminal. The dashboard is started
the way the ``veo-tui`` command starts it (``veo_tui.cli.main([])``: argument
parsing, the config, the watchlist read and checked, then the app) on a
1,000-task watchlist of finished tasks in a temporary home; the reference is
a bare Textual app showing an empty ``DataTable``. The parent times from
just before starting the process to the child's marker on a pipe, so the
figure covers interpreter start, imports, reading the watchlist, mounting,
the first layout and paint. The two are started alternately, several times
each; medians are compared.

Key-press to repaint: the dashboard runs headless (in this process) on 1,000
never-checked tasks, all due at once, with a fake fetch that answers after
50 ms (concurrency 8, no rate limit), so answers arrive in batches for about
seven seconds. Meanwhile "down" is sent through the driver, as a terminal's
key would be, every 20-60 ms. Latency is measured from sending the key to the
first ``App._display`` call whose frame shows the cursor on the new row;
inside that call the update is also serialised to terminal bytes
(``render_segments``), the work a real driver would do before writing.

Run: ``.venv/bin/python benchmarks/bench_startup.py``
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import fcntl
import os
import pty
import random
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path
from typing import Any
from unittest import mock

TASKS = 1000
SIZE = (120, 36)
START_RUNS = 11
MAX_START_RATIO = 1.5
PRESSES = 100
LATENCY_S = 0.05
MAX_P95_MS = 50.0
MARKER = b"FIRST-FRAME"
MARKER_FD = "BENCH_MARKER_FD"
LOST_AFTER_S = 1.0


# Children: start, paint one frame, say so, exit.


def exit_at_first_frame() -> None:
    """Make every app say so on the marker pipe at its first frame, and exit."""
    from textual.app import App

    display = App._display
    marker = int(os.environ[MARKER_FD])

    def hooked(app: Any, screen: Any, renderable: Any) -> None:
        display(app, screen, renderable)
        if renderable is not None and not getattr(app, "_bench_painted", False):
            app._bench_painted = True
            os.write(marker, MARKER + b"\n")
            app.exit()

    App._display = hooked  # type: ignore[method-assign,assignment]


def child_app() -> None:
    """``veo-tui`` with no arguments: the dashboard on the user's watchlist."""
    exit_at_first_frame()
    from veo_tui.cli import main

    sys.exit(main([]))


def child_bare() -> None:
    exit_at_first_frame()
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable()

    Bare().run()


def time_start(which: str, env: dict[str, str]) -> float:
    """Seconds from starting a child in a terminal to its first-frame marker."""
    terminal, child_side = pty.openpty()
    rows, columns = SIZE[1], SIZE[0]
    fcntl.ioctl(
        child_side, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0)
    )
    marker_read, marker_write = os.pipe()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", which],
        stdin=child_side,
        stdout=child_side,
        stderr=child_side,  # where Textual writes the screen
        env={**env, MARKER_FD: str(marker_write)},
        pass_fds=(marker_write,),
        start_new_session=True,
    )
    os.close(child_side)
    os.close(marker_write)
    screen = bytearray()

    def drain() -> None:  # a terminal reads what the app writes
        try:
            while chunk := os.read(terminal, 65536):
                screen.extend(chunk)
        except OSError:
            pass

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    elapsed = None
    with os.fdopen(marker_read, "rb") as marker:
        for line in marker:
            if line.strip() == MARKER:
                elapsed = time.perf_counter() - started
                break
    process.wait(timeout=60)
    os.close(terminal)
    reader.join(timeout=5)
    if elapsed is None:
        tail = bytes(screen[-2000:]).decode(errors="replace")
        raise RuntimeError(f"the child {which} never painted a frame:\n{tail}")
    return elapsed


def isolated_home(folder: Path) -> dict[str, str]:
    """An environment whose config, data and state folders are under ``folder``.

    The key is fake and the API address unreachable: every task in the
    watchlist is finished, so nothing is fetched before the first frame.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("XDG_", "VEO_TUI_", "KIE_"))
    }
    env.update(
        HOME=str(folder),
        XDG_CONFIG_HOME=str(folder / "config"),
        XDG_DATA_HOME=str(folder / "data"),
        XDG_STATE_HOME=str(folder / "state"),
        XDG_CACHE_HOME=str(folder / "cache"),
        KIE_API_KEY="bench-not-a-real-key-0000",
        KIE_BASE_URL="http://127.0.0.1:9",
        TERM="xterm-256color",
    )
    return env


# Key-press to repaint during a refresh.


async def key_latencies(watchlist: Path) -> tuple[list[float], int, int, float]:
    """Latencies (s) of "down" presses during a refresh, presses lost, answers
    and the refresh's seconds."""
    from _common import generating_record
    from textual import events

    from veo_tui.domain import FetchResult
    from veo_tui.polling import PollSettings
    from veo_tui.store.watchlist import WatchlistStore
    from veo_tui.ui import DashboardOptions, Engine, VeoTuiApp

    answers = 0
    all_answered = asyncio.Event()

    async def fetch(task_id: str) -> FetchResult:
        nonlocal answers
        await asyncio.sleep(LATENCY_S)
        answers += 1
        if answers >= TASKS:
            all_answered.set()
        return generating_record(task_id)

    engine = Engine(None, PollSettings(max_requests_per_second=0), fetch=fetch)
    app = VeoTuiApp(
        WatchlistStore(watchlist),
        engine,
        options=DashboardOptions(bell=False, own_process=True),
    )
    painted = asyncio.Event()
    want_row = -1
    display = app._display

    def hooked(screen: Any, renderable: Any) -> None:
        display(screen, renderable)
        if renderable is None or not hasattr(renderable, "render_segments"):
            return
        renderable.render_segments(app.console)
        if app.table.cursor_row >= want_row >= 0:
            painted.set()

    app._display = hooked  # type: ignore[method-assign]
    jitter = random.Random(4)
    latencies: list[float] = []
    lost = 0
    async with app.run_test(size=SIZE) as pilot:
        started = time.perf_counter()
        await pilot.pause(0.2)  # the first batches are in
        driver = app._driver
        assert driver is not None
        while len(latencies) + lost < PRESSES and answers < TASKS:
            want_row = app.table.cursor_row + 1
            painted.clear()
            key = events.Key("down", None)
            key.set_sender(app)
            sent = time.perf_counter()
            driver.send_message(key)
            try:
                await asyncio.wait_for(painted.wait(), timeout=LOST_AFTER_S)
                latencies.append(time.perf_counter() - sent)
            except TimeoutError:
                lost += 1  # the cursor never showed on the next row
            want_row = -1
            await asyncio.sleep(jitter.uniform(0.02, 0.06))
        await asyncio.wait_for(all_answered.wait(), timeout=60)
        refresh = time.perf_counter() - started
        await app.wait_saved()
    return latencies, lost, answers, refresh


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_app() if args.child[0] == "app" else child_bare()
        return
    # Here, not at the top: a child must import nothing the app it times does
    # not (_common brings veo_tui's store, which the bare app would pay for).
    from _common import Row, print_table, seed_watchlist, verdict

    # Textual's bytecode was written when pip installed it; ours is written on
    # a first run, unless PYTHONDONTWRITEBYTECODE is set (as on the machine
    # these figures were taken on). Compile it, so both start as after a
    # first run, rather than timing our compiler against their .pyc files.
    import veo_tui
    from veo_tui.store.watchlist import default_watchlist_path

    compileall.compile_dir(Path(veo_tui.__file__).parent, quiet=1)

    with tempfile.TemporaryDirectory(prefix="veo-tui-bench-") as folder:
        env = isolated_home(Path(folder))
        with mock.patch.dict(os.environ, env, clear=True):
            watchlist = default_watchlist_path()  # where veo-tui will look
        seed_watchlist(watchlist, TASKS)
        time_start("bare", env)  # warm the disk cache for both
        time_start("app", env)
        ours: list[float] = []
        bare: list[float] = []
        for _ in range(START_RUNS):
            ours.append(time_start("app", env))
            bare.append(time_start("bare", env))

        fresh = Path(folder) / "fresh.toml"
        seed_watchlist(fresh, TASKS, finished=False)
        latencies, lost, answers, refresh = asyncio.run(key_latencies(fresh))

    start, bare_start = statistics.median(ours), statistics.median(bare)
    ratio = start / bare_start
    p95 = percentile(latencies, 0.95) * 1000
    rows = [
        Row(
            f"cold start to first frame, {TASKS:,}-task watchlist (median)",
            f"{start * 1000:.0f} ms",
            f"<= {MAX_START_RATIO * bare_start * 1000:.0f} ms",
            verdict(ratio <= MAX_START_RATIO),
        ),
        Row(
            "  as a multiple of the bare app",
            f"{ratio:.2f}x",
            f"<= {MAX_START_RATIO}x",
            verdict(ratio <= MAX_START_RATIO),
        ),
        Row(
            "reference: bare Textual app, empty DataTable (median)",
            f"{bare_start * 1000:.0f} ms",
        ),
        Row(
            "  all runs (ms): dashboard / bare",
            " ".join(f"{t * 1000:.0f}" for t in ours)
            + " / "
            + " ".join(f"{t * 1000:.0f}" for t in bare),
        ),
        Row(
            f"key-press to repaint during a refresh, p95 ({len(latencies)} presses)",
            f"{p95:.1f} ms",
            f"< {MAX_P95_MS:g} ms",
            verdict(p95 < MAX_P95_MS),
        ),
        Row(
            "  key presses lost (cursor not on the next row within 1 s)",
            f"{lost} of {lost + len(latencies)}",
            "0",
            verdict(lost == 0),
        ),
        Row(
            "  median / max",
            f"{statistics.median(latencies) * 1000:.1f} / "
            f"{max(latencies) * 1000:.1f} ms",
        ),
        Row(
            "  the refresh: answers / seconds",
            f"{answers:,} / {refresh:.2f} s",
        ),
    ]
    print_table(
        f"Target 4: cold start ({START_RUNS} runs each, alternating, in a "
        f"terminal) and key-press to repaint (headless), {SIZE[0]}x{SIZE[1]}",
        rows,
        [
            "start: process start to the first frame written to a 120x36 "
            "pseudo-terminal, interpreter and imports included",
            "start: `veo-tui` as typed (veo_tui.cli.main), veo_tui's bytecode "
            "compiled first, as after a first run",
            "key: driver.send_message(Key) to the first frame showing the moved "
            "cursor, serialised to terminal bytes",
        ],
    )


if __name__ == "__main__":
    main()
