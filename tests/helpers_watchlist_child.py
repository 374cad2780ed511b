"""A child process for the watchlist tests: saves in a loop, or adds ids.

``save-loop PATH COUNT``: writes COUNT entries whose records all carry the same
generation number, then rewrites them with the next number, forever; it prints
``ready`` after the first save so the parent knows when to kill it.

``add PATH PREFIX COUNT CHUNK``: adds ids ``PREFIX-0`` .. ``PREFIX-(COUNT-1)``,
CHUNK at a time, each call its own locked change of the file.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from veo_tui.domain import State, TaskRecord
from veo_tui.store.watchlist import WatchlistStore


def save_loop(path: Path, count: int) -> None:
    """Rewrite every entry's record with a new generation number, forever."""
    store = WatchlistStore(path)
    now = datetime.now(UTC)
    store.add([f"task-{n}" for n in range(count)], now)
    generation = 0
    while True:
        entries = [
            entry.with_result(
                TaskRecord(
                    entry.task_id,
                    State.GENERATING,
                    success_flag=0,
                    prompt="x" * 200,
                    message=f"generation {generation}",
                ),
                now,
            )
            for entry in store.load()
        ]
        store.update(entries)
        if generation == 0:
            print("ready", flush=True)
        generation += 1


def add(path: Path, prefix: str, count: int, chunk: int) -> None:
    """Add ``count`` ids in calls of ``chunk`` ids."""
    store = WatchlistStore(path)
    ids = [f"{prefix}-{n}" for n in range(count)]
    for start in range(0, count, chunk):
        store.add(ids[start : start + chunk], datetime.now(UTC))


def main(argv: list[str]) -> None:
    """Run the mode named by ``argv[0]``."""
    if argv[0] == "save-loop":
        save_loop(Path(argv[1]), int(argv[2]))
    elif argv[0] == "add":
        add(Path(argv[1]), argv[2], int(argv[3]), int(argv[4]))
    else:
        raise SystemExit(f"unknown mode {argv[0]!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
