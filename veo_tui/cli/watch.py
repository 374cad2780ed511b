"""``veo-tui watch``: poll tasks until every one has finished, then exit.

It runs the dashboard's scheduler and poller, so it polls as gently: new tasks
at once, generating ones at a growing interval, finished ones never again.
On a terminal it keeps a compact table up to date; otherwise (or with
``--json``) it prints one line per change of state. The exit status says how
things ended, for scripts:

0 all succeeded, 1 any failed, expired or not found, 2 usage or config error,
3 timeout reached, 4 records could not be fetched, 130 interrupted, 141 the
reader of the output went away (``veo-tui watch ID | head -1``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from veo_tui.api import ApiOptions
from veo_tui.cli.common import (
    EXIT_FAILED,
    EXIT_FETCH,
    EXIT_OK,
    EXIT_TIMEOUT,
    UsageError,
    ids_from_arguments,
)
from veo_tui.cli.dashboard import poll_settings
from veo_tui.cli.lists import watchlist_store
from veo_tui.cli.logs import setup_logging
from veo_tui.cli.output import json_line, text_line
from veo_tui.cli.status import api_options
from veo_tui.domain import FetchError, FetchErrorKind, FetchResult, State, TaskRecord
from veo_tui.polling.poller import Poller, PollResult
from veo_tui.polling.scheduler import PollSettings, Scheduler
from veo_tui.store.config import load_config
from veo_tui.store.watchlist import WatchEntry, WatchlistError, WatchlistStore

SAVE_EVERY_S = 2.0
"""With ``--watchlist``, checks are written back to the file this often."""

GIVE_UP_AFTER = 3
"""Failed checks in a row (each already retried by the client) before a task's
record is declared impossible to fetch."""


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``watch`` subcommand."""
    parser = subparsers.add_parser(
        "watch",
        parents=[common],
        help="poll tasks until all have finished",
        description=(
            "Poll tasks until every one has finished. Exit status: 0 all "
            "succeeded, 1 any failed, expired or not found, 2 usage or config "
            "error, 3 timeout reached, 4 records could not be fetched (key "
            "refused, network down past retries), 130 interrupted."
        ),
    )
    parser.add_argument(
        "task_ids",
        nargs="*",
        metavar="TASK_ID",
        help="task ids, or - to read them from standard input",
    )
    parser.add_argument(
        "--watchlist",
        action="store_true",
        help="watch the unfinished tasks of the dashboard's watchlist",
    )
    parser.add_argument(
        "--json", action="store_true", help="one JSON line per change of state"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="give up after this long (exit status 3)",
    )
    parser.add_argument(
        "--fail-fast",
        action="store_true",
        help="stop as soon as one task fails (exit status 1)",
    )
    parser.add_argument("--base-url", metavar="URL", help="the API's base URL")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Carry out ``veo-tui watch``."""
    if args.watchlist and args.task_ids:
        raise UsageError("give task ids or --watchlist, not both")
    if args.timeout is not None and not args.timeout > 0:  # NaN too
        raise UsageError(
            f"--timeout must be a positive number of seconds, got {args.timeout:g}"
        )
    config = load_config(args.config, base_url=args.base_url, log=args.log)
    store: WatchlistStore | None = None
    entries: dict[str, WatchEntry] = {}
    if args.watchlist:
        store, entries, nothing = _unfinished_in_watchlist(args)
        task_ids = list(entries)
        if nothing is not None:
            reason, status = nothing
            print(f"veo-tui: nothing to watch: {reason}", file=sys.stderr)
            return status
    elif args.task_ids:
        task_ids = ids_from_arguments(args.task_ids)
    else:
        raise UsageError("give task ids to watch, or --watchlist")
    setup_logging(config)
    options = api_options(config)
    live = sys.stdout.isatty() and not args.json
    watch = Watch(
        task_ids,
        json=args.json,
        live=live,
        fail_fast=args.fail_fast,
        out=sys.stdout,
        store=store,
        entries=entries,
    )
    return asyncio.run(
        watch.run(options, poll_settings(config), give_up_after=args.timeout)
    )


def _unfinished_in_watchlist(
    args: argparse.Namespace,
) -> tuple[WatchlistStore, dict[str, WatchEntry], tuple[str, int] | None]:
    """The watchlist and its unfinished entries by id; with none, why there is
    nothing to watch and the exit status."""
    store = watchlist_store(args)
    try:
        entries = store.load()
    except WatchlistError as error:
        raise UsageError(str(error)) from None
    unfinished = {
        e.task_id: e
        for e in entries
        if e.record is None or not e.record.state.is_terminal
    }
    if unfinished:
        return store, unfinished, None
    if not entries:
        # A missing file is an empty watchlist too.
        reason = (
            f"the watchlist is empty ({store.path}); add ids with: veo-tui add ID..."
        )
        return store, unfinished, (reason, EXIT_OK)
    failed = any(
        e.record is not None and e.record.state is not State.SUCCESS for e in entries
    )
    reason = "every task in the watchlist has finished"
    return store, unfinished, (reason, EXIT_FAILED if failed else EXIT_OK)


@dataclass
class _Task:
    result: FetchResult | None = None
    failures: int = 0
    final: str | None = None  # "ok", "failed" or "unfetchable"


@dataclass
class Watch:
    """One run of ``watch``: what is known of each task, and the output.

    Attributes:
        task_ids: The tasks, in the order given.
        json: Print JSON lines instead of text.
        live: Redraw a table in place (a terminal) instead of printing changes.
        fail_fast: End at the first failure.
        out: Where to write.
        store: The watchlist to write each check back to (``--watchlist``),
            so that the dashboard and ``ls`` show what the watch saw.
        entries: The store's entries of the watched tasks, by id.
    """

    task_ids: Sequence[str]
    json: bool = False
    live: bool = False
    fail_fast: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)
    store: WatchlistStore | None = None
    entries: dict[str, WatchEntry] = field(default_factory=dict)
    tasks: dict[str, _Task] = field(init=False)
    _done: asyncio.Event = field(init=False)
    _refused: bool = field(init=False, default=False)
    _reader_gone: bool = field(init=False, default=False)
    _drawn: list[str] = field(init=False, default_factory=list)
    _drawn_width: int = field(init=False, default=0)
    _unsaved: dict[str, WatchEntry] = field(init=False, default_factory=dict)
    _save_failed: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.tasks = {task_id: _Task() for task_id in self.task_ids}

    async def run(
        self,
        options: ApiOptions,
        settings: PollSettings,
        *,
        give_up_after: float | None = None,
        fetch: Callable[[str], Any] | None = None,
    ) -> int:
        """Poll until done, ``give_up_after`` seconds, or a refused key.

        Returns:
            The exit status.

        Raises:
            BrokenPipeError: The output's reader went away (``| head -1``); the
                watch stopped there, after saving what it saw to the watchlist.
        """
        from veo_tui.api import KieClient  # httpx: not for every `veo-tui` start

        self._done = asyncio.Event()
        scheduler = Scheduler(settings)
        async with KieClient(options) as client:
            poller = Poller(
                scheduler,
                lambda batch: self._on_batch(batch, scheduler, poller),
                client=client,
                fetch=fetch,
            )
            for task_id in self.task_ids:
                poller.track(task_id)
            polling = asyncio.create_task(poller.run())
            drawing = (
                asyncio.create_task(self._redraw_every_second()) if self.live else None
            )
            stop_saving = asyncio.Event()
            saving = (
                asyncio.create_task(self._save_every(SAVE_EVERY_S, stop_saving))
                if self.store is not None
                else None
            )
            try:
                async with asyncio.timeout(give_up_after):
                    await self._done.wait()
                timed_out = False
            except TimeoutError:
                timed_out = True
            finally:
                poller.stop()
                for job in (polling, drawing):
                    if job is not None:
                        job.cancel()
                await asyncio.gather(polling, return_exceptions=True)
                if drawing is not None:
                    await asyncio.gather(drawing, return_exceptions=True)
                if saving is not None:
                    # Not cancelled: it saves what came since its last save,
                    # even on Ctrl-C, and a write is never cut short.
                    stop_saving.set()
                    await asyncio.gather(saving, return_exceptions=True)
                if self.live:
                    self._draw(final=True)
        if self._reader_gone:
            raise BrokenPipeError("the output's reader went away")
        if timed_out:
            left = sum(1 for t in self.tasks.values() if not t.final)
            print(
                f"veo-tui: timed out with {left} of {len(self.tasks)} task(s) "
                "unfinished",
                file=sys.stderr,
            )
        return self._status(timed_out)

    def _on_batch(
        self, batch: list[PollResult], scheduler: Scheduler, poller: Poller
    ) -> None:
        now = time.monotonic()
        for item in batch:
            task = self.tasks.get(item.task_id)
            if task is None or task.final is not None:
                continue
            result = item.result
            # What was seen goes to the watchlist (with --watchlist), "record
            # is null." too: ls and the dashboard show it as pending.
            entry = self.entries.get(item.task_id)
            if entry is not None:
                entry = entry.with_result(item.result, item.checked_at)
                self.entries[item.task_id] = self._unsaved[item.task_id] = entry
            if (
                isinstance(result, TaskRecord)
                and result.state is State.NOT_FOUND
                and scheduler.is_pending(item.task_id, now)
            ):
                # "record is null." soon after the watch began: most likely a
                # task just created. Say nothing until it shows or the grace ends.
                continue
            changed = _differs(task.result, item.result)
            task.result = item.result
            task.final = self._final(item.task_id, item.result, task, scheduler, now)
            if task.final is not None:
                poller.forget(item.task_id)
            if changed and not self.live:
                self._print(item.task_id, item.result)
        if self._refused or all(t.final for t in self.tasks.values()):
            self._done.set()
        if self.fail_fast and any(t.final == "failed" for t in self.tasks.values()):
            self._done.set()

    def _final(
        self,
        task_id: str,
        result: FetchResult,
        task: _Task,
        scheduler: Scheduler,
        now: float,
    ) -> str | None:
        if isinstance(result, FetchError):
            task.failures += 1
            if result.kind is FetchErrorKind.AUTH:
                self._refused = True
                return "unfetchable"
            return "unfetchable" if task.failures >= GIVE_UP_AFTER else None
        task.failures = 0
        if result.state is State.SUCCESS:
            return "ok"
        if result.state in (State.FAILED, State.EXPIRED):
            return "failed"
        if result.state is State.NOT_FOUND and not scheduler.is_pending(task_id, now):
            return "failed"
        return None

    async def _save_every(self, seconds: float, stop: asyncio.Event) -> None:
        """Write the checks back every ``seconds``, and once more at ``stop``."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), seconds)
            batch, self._unsaved = list(self._unsaved.values()), {}
            if batch:
                await asyncio.to_thread(self._save, batch)

    def _save(self, batch: list[WatchEntry]) -> None:
        """Write checks to the watchlist (in a thread); warn once if it fails.

        Ids removed from the watchlist meanwhile (``veo-tui rm``, the
        dashboard) stay removed: the store ignores them.
        """
        assert self.store is not None
        try:
            self.store.update(batch)
        except WatchlistError as error:
            if not self._save_failed:
                self._save_failed = True
                print(
                    f"veo-tui: warning: cannot save to the watchlist: {error}",
                    file=sys.stderr,
                )

    def _status(self, timed_out: bool) -> int:
        finals = [t.final for t in self.tasks.values()]
        if self._refused or "unfetchable" in finals:
            return EXIT_FETCH
        if "failed" in finals:
            return EXIT_FAILED
        if timed_out:
            return EXIT_TIMEOUT
        return EXIT_OK

    def _print(self, task_id: str, result: FetchResult) -> None:
        if self.json:
            line = json_line(task_id, result)
        else:
            line = text_line(task_id, result, self._id_width)
        self._write(line + "\n")

    def _write(self, text: str) -> None:
        """Write and flush; a reader gone away ends the watch instead of raising.

        The error would otherwise end only the poller or the drawing, which
        run in tasks of their own, and the watch would wait on forever.
        """
        if self._reader_gone:
            return
        try:
            self.out.write(text)
            self.out.flush()
        except BrokenPipeError:
            self._reader_gone = True
            self._done.set()

    @property
    def _id_width(self) -> int:
        return min(max(len(task_id) for task_id in self.task_ids), 40)

    async def _redraw_every_second(self) -> None:
        while not self._reader_gone:
            self._draw()
            await asyncio.sleep(1)

    def _draw(self, *, final: bool = False) -> None:
        """Redraw the table in place: move up over the last drawing, rewrite it.

        While it is redrawn, each line is cut to the terminal's width (a line
        that wrapped would throw off the next redraw) and the table to its
        height (the cursor cannot move back up over lines scrolled off the
        screen); the final drawing is never redrawn, so it shows whole lines,
        URLs and all, and every task.
        """
        from rich.cells import cell_len, set_cell_size  # only a terminal needs it

        columns, rows = _terminal_size()
        lines = self._table_lines()
        if not final:
            lines = _fit_height(lines, rows - 1)  # the last row holds the cursor
            lines = [
                set_cell_size(line, columns - 1)
                if cell_len(line) > columns - 1
                else line
                for line in lines
            ]
        up = self._rows_drawn(columns)
        # Clear the rows of the last drawing one by one (a line of the new
        # drawing that wraps must not land on stale text), then go back to
        # its top. Not "erase below" from there: tmux, for one, takes that at
        # the screen's top for a clear screen and keeps a copy in scrollback.
        erase = f"\x1b[{up}F" + "\x1b[2K\x1b[E" * up + f"\x1b[{up}F" if up else ""
        self._write(erase + "".join(f"{line}\n" for line in lines))
        self._drawn, self._drawn_width = lines, columns

    def _table_lines(self) -> list[str]:
        """One line per task, in the order given, then how many have finished."""
        lines = []
        for task_id, task in self.tasks.items():
            result = task.result or TaskRecord(
                task_id, State.UNKNOWN, message="checking…"
            )
            lines.append(text_line(task_id, result, self._id_width))
        finished = sum(1 for t in self.tasks.values() if t.final)
        lines.append(f"{finished} of {len(self.tasks)} finished")
        return lines

    def _rows_drawn(self, columns: int) -> int:
        """Screen rows the last drawing takes up now that the terminal is
        ``columns`` wide.

        A line takes as many rows as it wrapped to at the width it was drawn
        at. Most terminals rewrap their lines when they are made narrower, so
        then the rows at the new width count, if more.
        """
        width = min(self._drawn_width, columns)
        return sum(_rows(line, width) for line in self._drawn)


def _fit_height(lines: list[str], height: int) -> list[str]:
    """The table's task lines and summary line, within ``height`` lines.

    When the tasks do not all fit, the first ones are kept and a line says how
    many more there are; the summary line stays last.
    """
    if len(lines) <= height:
        return lines
    *tasks, summary = lines
    if height < 2:
        return [summary]
    shown = height - 2
    return [*tasks[:shown], f"… and {len(tasks) - shown} more", summary]


def _rows(line: str, columns: int) -> int:
    """Screen rows a line takes on a terminal ``columns`` wide (wide
    characters count two cells, and do not split across rows)."""
    from rich.cells import cell_len, chop_cells

    if columns <= 0 or cell_len(line) <= columns:
        return 1
    return len(chop_cells(line, columns))


def _differs(before: FetchResult | None, after: FetchResult) -> bool:
    if before is None or type(before) is not type(after):
        return True
    if isinstance(after, FetchError):
        assert isinstance(before, FetchError)
        return (before.kind, before.code) != (after.kind, after.code)
    return before != after


def _terminal_size() -> tuple[int, int]:
    """The terminal's columns and rows, each at least 2."""
    size = shutil.get_terminal_size(fallback=(100, 24))
    return max(2, size.columns), max(2, size.lines)
