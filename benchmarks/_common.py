"""Shared pieces of the benchmarks: the machine, the table, seeded watchlists.

The scripts in this folder import this module by its bare name, since each
is run as ``python benchmarks/<name>.py`` (which puts this folder on the path).
Nothing here touches the network beyond 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from veo_tui.domain import FetchError, State, TaskRecord
from veo_tui.store.watchlist import WatchEntry, WatchlistStore

if TYPE_CHECKING:
    from veo_tui.api import KieClient

NOW = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)
"""The fixed wall time of seeded records, so runs compare."""


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a result table.

    Attributes:
        what: What was measured.
        measured: The figure, formatted.
        target: The target, formatted; "" for a reference line.
        verdict: "PASS", "FAIL", or "" for a reference line.
    """

    what: str
    measured: str
    target: str = ""
    verdict: str = ""


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def cpu_model() -> str:
    """The CPU model as /proc/cpuinfo names it, or the platform's guess."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_line() -> str:
    """Where the run happened, in one line for the table's footer."""
    return (
        f"{os.cpu_count()} cores ({cpu_model()}), Python {platform.python_version()}"
        f", {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def print_table(title: str, rows: Sequence[Row], notes: Sequence[str] = ()) -> None:
    """Print the result table: measured, target, pass or fail, references."""
    header = Row("measure", "measured", "target", "result")
    widths = [
        max(len(getattr(row, name)) for row in [header, *rows])
        for name in ("what", "measured", "target", "verdict")
    ]
    print(f"\n{title}\n")
    for index, row in enumerate([header, *rows]):
        cells = (row.what, row.measured, row.target, row.verdict)
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * w for w in widths))
    print()
    for note in notes:
        print(f"note: {note}")
    print(f"machine: {machine_line()}")
    sys.stdout.flush()


def task_id(number: int) -> str:
    return f"veo_task_bench{number:08d}"


def success_record(task: str) -> TaskRecord:
    """A finished task as kie.ai describes one, prompt and URL included."""
    return TaskRecord(
        task,
        State.SUCCESS,
        success_flag=1,
        result_urls=(f"https://tempfile.aiquickdraw.com/v/{task}.mp4",),
        resolution="1080p",
        created_at=NOW - timedelta(minutes=10),
        completed_at=NOW - timedelta(minutes=8),
        prompt="Benchmark task: a slow pan across a mountain range at golden hour.",
        params={"model": "veo3_fast", "aspect_ratio": "16:9"},
    )


def generating_record(task: str) -> TaskRecord:
    return TaskRecord(
        task,
        State.GENERATING,
        success_flag=0,
        created_at=NOW - timedelta(minutes=2),
        prompt="Benchmark task: waves at dusk, drone shot.",
    )


def seed_watchlist(path: Path, count: int, *, finished: bool = True) -> list[str]:
    """Write a watchlist of ``count`` tasks, as a previous run would leave it.

    Args:
        path: The watchlist file to create.
        count: How many tasks.
        finished: Give each a success record; else no record (never checked).

    Returns:
        The task ids, in order.
    """
    store = WatchlistStore(path)
    ids = [task_id(n) for n in range(count)]
    store.add(ids, NOW - timedelta(hours=1))
    if finished:
        entries = [
            WatchEntry(
                task,
                added_at=NOW - timedelta(hours=1),
                record=success_record(task),
                checked_at=NOW - timedelta(minutes=5),
            )
            for task in ids
        ]
        store.update(entries)
    return ids


@dataclass(frozen=True, slots=True)
class StandIn:
    """A stand-in serving from a child process: where it is, what it seeded."""

    base_url: str
    key: str
    task_ids: tuple[str, ...]
    connection: multiprocessing.connection.Connection

    def requests_to(self, path: str) -> int:
        """How many requests ``path`` has received so far."""
        self.connection.send(("count", path))
        count: int = self.connection.recv()
        return count


def _serve_stand_in(
    connection: multiprocessing.connection.Connection,
    scenario: str,
    count: int,
    latency_ms: float,
    speed: float | None,
) -> None:
    from veo_tui.sim import SimOptions, running_sim_in_thread

    options = SimOptions(
        scenario=scenario, count=count, latency_ms=latency_ms, speed=speed, port=0
    )
    with running_sim_in_thread(options) as sim:
        connection.send((sim.base_url, sim.key, sim.task_ids))
        while True:
            message = connection.recv()
            if message[0] == "count":
                connection.send(sim.requests_to(message[1]))
            else:
                break


@contextmanager
def stand_in_process(
    scenario: str = "load",
    *,
    count: int = 100,
    latency_ms: float = 0.0,
    speed: float | None = None,
) -> Iterator[StandIn]:
    """Run the local stand-in (``veo-tui sim``'s server) in a child process.

    A child process, not a thread: kie.ai is another machine, so its work
    should not take the measured process's CPU or its GIL. On this 2-core
    machine the stand-in gets the other core.
    """
    with server_process(
        _serve_stand_in, (scenario, count, latency_ms, speed), "the stand-in"
    ) as (connection, (base_url, key, ids)):
        yield StandIn(base_url, key, tuple(ids), connection)


@contextmanager
def server_process(
    target: Callable[..., None], args: tuple[Any, ...], what: str
) -> Iterator[tuple[multiprocessing.connection.Connection, Any]]:
    """Run ``target(connection, *args)`` in a child process until done.

    The child sends one message once it serves (yielded with the connection)
    and stops when sent ``("stop",)``.
    """
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(
        target=target, args=(theirs, *args), name="veo-tui-bench-server", daemon=True
    )
    child.start()
    try:
        if not ours.poll(60):
            raise RuntimeError(f"{what} did not start within 60 s")
        yield ours, ours.recv()
    finally:
        ours.send(("stop",))
        child.join(10)
        if child.is_alive():
            child.terminate()
            child.join(5)


async def poller_refresh(
    client: KieClient, ids: tuple[str, ...], concurrency: int | None = None
) -> tuple[float, int]:
    """Seconds for the poller (the dashboard's path) to fetch every id once,
    with no request rate limit; and the fetch errors seen."""
    from veo_tui.polling import Poller, PollResult, PollSettings, Scheduler

    settings = PollSettings(max_requests_per_second=0)
    if concurrency is not None:
        settings = replace(settings, concurrency=concurrency)
    results: list[PollResult] = []
    finished = asyncio.Event()

    def on_batch(batch: list[PollResult]) -> None:
        results.extend(batch)
        if len(results) >= len(ids):
            finished.set()

    poller = Poller(Scheduler(settings), on_batch, client=client)
    started = time.perf_counter()
    for task_id in ids:
        poller.track(task_id)
    loop = asyncio.create_task(poller.run())
    await asyncio.wait_for(finished.wait(), timeout=60)
    elapsed = time.perf_counter() - started
    poller.stop()
    await loop
    errors = sum(isinstance(item.result, FetchError) for item in results)
    return elapsed, errors
