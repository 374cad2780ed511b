"""The dashboard: a live watchlist of tasks with their details.

The app owns the in-memory entries (the watchlist plus last-known records),
mirrors them to disk through :class:`~veo_tui.store.watchlist.WatchlistStore`
on every change, and lets an :class:`~veo_tui.ui.engine.Engine` decide when to
fetch what. The table is only ever updated in place: rows are added, removed
and changed cell by cell, never cleared and refilled, so the cursor, the marks
and the scroll position survive refreshes, sorts and filters.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import Worker

from veo_tui.domain import (
    FetchError,
    FetchErrorKind,
    ParsedIds,
    State,
    format_credits,
    inert,
    is_web_url,
    split_task_ids,
)
from veo_tui.store.prefs import Prefs
from veo_tui.store.upscales import Upscale, UpscaleStore, upscales_path
from veo_tui.store.watchlist import WatchEntry, WatchlistError, WatchlistStore
from veo_tui.ui.cells import (
    BADGES,
    COLUMNS,
    PENDING_BADGE,
    IdText,
    row_cells,
    set_text,
)
from veo_tui.ui.clipboard import (
    clipboard_command,
    copy_with_system_tool,
    graphical_browser_available,
)
from veo_tui.ui.details import DetailsPanel, FolderAction, UrlAction
from veo_tui.ui.engine import Engine, EngineStatus
from veo_tui.ui.results import TaskExtras, progress_line, saved_file
from veo_tui.ui.table import TaskTable

if TYPE_CHECKING:
    from veo_tui.api.download import Downloader, DownloadProgress
    from veo_tui.api.upscale import FourKRequests

SORTS = ("added", "created", "state", "duration")
CREDITS_EVERY = 300.0
"""Seconds between two reads of the account balance."""
FILL_CHUNK = 100
"""Rows added to the table per repaint (start-up with a long watchlist)."""
DISK_CHECK_TICKS = 2
"""How often (s) the watchlist file is checked for changes made elsewhere."""
KEY_CHECK_TICKS = 5
"""While the key is missing or refused, the config is read again this often (s)."""
SAVE_SPACING = 2.0
"""Seconds between two saves of the watchlist while answers keep coming."""
ANNOUNCE_EACH_UP_TO = 3
"""Tasks finishing in one batch beyond this get one notification between them."""
WIDE_FROM = 150
"""Terminal width (columns) from which the details sit beside the table."""
_STATE_ORDER = {
    State.FAILED: 0,
    State.GENERATING: 1,
    State.UNKNOWN: 2,
    State.NOT_FOUND: 3,
    State.SUCCESS: 4,
    State.EXPIRED: 5,
}


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class DashboardOptions:
    """What the dashboard needs to know beyond the watchlist itself.

    Attributes:
        notify: Raise a notification when a task finishes.
        bell: Ring the terminal bell when a task finishes.
        no_key_message: Shown as a banner when there is no API key.
        key_refused_message: Shown as a banner when kie.ai refuses the key:
            what to do, for where the key came from (the CLI knows).
        note: A line shown under the header (e.g. the demo's explanation).
        download_dir: Where `D` saves result videos (None: downloads off).
        downloads_auto: Download each task's results when it succeeds.
        own_process: The dashboard is what this process is for (the CLI says
            so; tests do not). Python's cyclic garbage collector is then
            paused from construction to the first frame, and what start-up
            built (modules, styles, widgets, the watchlist) is frozen out of
            later collections: start-up makes ~100,000 long-lived objects,
            and scanning them again and again is time for nothing, ~40 ms
            before the first frame with 1,000 tasks, and pauses later.
    """

    notify: bool = True
    bell: bool = True
    no_key_message: str | None = None
    key_refused_message: str | None = None
    note: str | None = None
    download_dir: Path | None = None
    downloads_auto: bool = False
    own_process: bool = False


class VeoTuiApp(App[int]):
    """veo-tui's dashboard."""

    CSS_PATH = "veo_tui.tcss"
    TITLE = "veo-tui"
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012 - App declares it without ClassVar
        (0, "-narrow"),
        (WIDE_FROM, "-wide"),
    ]

    BINDINGS: ClassVar[list[BindingType]] = [
        # Footer order: what matters most first, so a narrow terminal keeps it.
        Binding("a", "add", "Add"),
        Binding("question_mark,f1", "help", "Help"),
        Binding("q", "quit", "Quit"),
        Binding("d,delete", "remove", "Remove"),
        Binding("c", "copy_url", "Copy URL"),
        Binding("o", "open_url", "Open"),
        Binding("r", "refresh", "Refresh"),
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
        Binding("p", "toggle_pause", "Pause"),
        Binding("D", "download", "Download"),
        Binding("h", "hd", "1080p", show=False),
        Binding("K", "uhd", "4K", show=False),
        Binding("u", "undo", "Undo", show=False),
        Binding("space", "mark", "Mark", show=False),
        Binding("y", "copy_id", "Copy id", show=False),
        Binding("R", "refresh_all", "Refresh all", show=False),
    ]

    KEYS_HELP: ClassVar[list[tuple[str, str]]] = [
        ("↑ ↓", "move between tasks (PgUp / PgDn: a page)"),
        ("Home / End", "the first / the last task"),
        ("a", "add task ids (paste many at once)"),
        ("d / Delete", "remove the selected or marked tasks"),
        ("u", "undo the last removal"),
        ("space", "mark or unmark the task, and move to the next"),
        ("c", "copy the first result URL"),
        ("y", "copy the task id"),
        ("o", "open the first result URL in the browser"),
        ("r", "refresh the selected task now"),
        ("R", "refresh every task now"),
        ("p", "pause or resume auto refresh"),
        ("/", "filter by id, prompt or state (Escape clears)"),
        ("s", "change the sort: added, created, state, duration"),
        ("? / F1", "this help"),
        ("ctrl+p", "command palette: every action, and the theme"),
        ("D", "download the result videos of the selected or marked tasks"),
        ("h", "ask kie.ai for the 1080p video (16:9 tasks)"),
        ("K", "ask kie.ai for the 4K video (costs credits; asks first)"),
        ("Escape", "clear the filter, or cancel downloads under way"),
        ("q", "quit"),
    ]

    def __init__(
        self,
        store: WatchlistStore,
        engine: Engine,
        *,
        options: DashboardOptions | None = None,
        prefs: Prefs | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__()
        self.store = store
        self.engine = engine
        self.options = options or DashboardOptions()
        self.prefs = prefs
        self.clock = clock
        self.grace = timedelta(seconds=engine.settings.grace)
        self.entries: dict[str, WatchEntry] = {}
        self.marks: set[str] = set()
        self.sort_by = "added"
        self.filter_text = ""
        self._cells: dict[str, tuple[str, ...]] = {}
        self._order: list[str] = []
        self._undo: list[WatchEntry] = []
        self._cursor_id: str | None = None
        self._unsaved: dict[str, WatchEntry] = {}
        self._no_key_message = self.options.no_key_message
        self._ticks = 0
        self._filling = False
        self.extras: dict[str, TaskExtras] = {}
        self.upscales = UpscaleStore(upscales_path(store.path))
        self.saved_ids: set[str] = set()
        self.credits: float | None = None
        self.credits_checked = False
        self._downloader: Downloader | None = None
        self._fourk: FourKRequests | None = None
        self._details_due = False
        self._saver: Worker[None] | None = None
        if prefs is not None and prefs.theme in self.available_themes:
            self.theme = prefs.theme
        self._gc_paused = self.options.own_process and gc.isenabled()
        if self._gc_paused:
            gc.disable()  # until the first frame: see DashboardOptions

    # Layout

    def compose(self) -> ComposeResult:
        # Textual sets the breakpoint class on the first resize event, after
        # the first frame: set it now, so that frame already has its layout.
        self.screen.set_class(self.size.width >= WIDE_FROM, "-wide")
        self.screen.set_class(self.size.width < WIDE_FROM, "-narrow")
        yield Static(id="topbar")
        yield Static(id="banner")
        with Horizontal(id="body"):
            with Vertical(id="table-box"):
                # The filter box is mounted above the table on the first "/".
                yield TaskTable(id="tasks", cursor_type="row", zebra_stripes=True)
                yield Static(id="empty")
            yield DetailsPanel(
                clock=self.clock,
                grace=self.grace,
                next_check=self.engine.next_check,
                queue_position=self.engine.queue_position,
                extras=self.extras.get,
                id="details",
            )
        yield Footer()

    def on_mount(self) -> None:
        table = self.table
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        for entry in self.store.load():
            self.entries[entry.task_id] = entry
        self._show_store_warnings()
        # The first frame needs a screenful of rows; the rest follow it.
        self.sync_table(rows=self.size.height)
        table.focus()
        self.set_interval(1.0, self.tick)
        self.update_topbar()
        # Polling starts once the first frame is up: it brings in httpx.
        self.call_after_refresh(self._start_polling)

    def _start_polling(self) -> None:
        self._resume_gc()
        polling = self.engine.start(self, list(self.entries.values()))
        if polling is not None:
            self.run_worker(polling, name="poller", group="poller", exclusive=True)
        self._find_saved()
        self._load_upscales()
        self.refresh_credits()
        self.set_interval(CREDITS_EVERY, self.refresh_credits)

    def _resume_gc(self, *, freeze: bool = True) -> None:
        if self._gc_paused:
            self._gc_paused = False
            if freeze:
                gc.freeze()
            gc.enable()

    def on_unmount(self) -> None:
        self._resume_gc(freeze=False)
        # A 1080p/4K link that arrived just before quitting is still written.
        with contextlib.suppress(WatchlistError):
            self.upscales.flush()

    def _load_upscales(self) -> None:
        """The 1080p and 4K videos kie.ai made in earlier runs."""
        upscales = self.upscales.load()
        for message in self.upscales.warnings:
            self.notify(message, severity="warning", markup=False, timeout=10)
        self.upscales.warnings.clear()
        for task_id, upscale in upscales.items():
            if task_id not in self.entries:
                continue
            extras = self._extras(task_id)
            if upscale.hd_url:
                extras.hd_url, extras.hd_note = upscale.hd_url, "ready"
            extras.uhd_requested_at = upscale.uhd_requested_at
            if upscale.uhd_urls:
                extras.uhd_urls, extras.uhd_note = upscale.uhd_urls, "ready"
            elif upscale.uhd_requested_at is not None:
                when = upscale.uhd_requested_at.astimezone()
                extras.uhd_note = (
                    f"asked for {when:%Y-%m-%d %H:%M}; K checks again "
                    "(not charged twice)"
                )
        if self.selected_id() in upscales:
            self._show_selected()

    def _keep_upscale(self, task_id: str) -> None:
        """Save a task's 1080p/4K state for later runs (in a thread)."""
        extras = self._extras(task_id)
        upscale = Upscale(extras.hd_url, extras.uhd_urls, extras.uhd_requested_at)
        self.upscales.put(task_id, upscale)
        self._save_upscales()

    @work(thread=True, group="upscales")
    def _save_upscales(self) -> None:
        try:
            self.upscales.flush()
        except WatchlistError as error:
            self.call_from_thread(
                self.notify,
                f"The 1080p/4K links are not saved for later runs: {error}",
                severity="warning",
                markup=False,
            )

    def _find_saved(self) -> None:
        """Which tasks were downloaded in an earlier run (their files exist)."""
        folder = self.options.download_dir
        if folder is None:
            return
        for task_id, entry in self.entries.items():
            if entry.record is not None and entry.record.state is State.SUCCESS:
                path = saved_file(folder, task_id)
                if path is not None:
                    self.saved_ids.add(task_id)
                    self._extras(task_id).saved = [path]
        if self.saved_ids:
            self.sync_table(self.saved_ids)
            if self.selected_id() in self.saved_ids:
                self._show_selected()  # "downloaded: safe", and the folder button

    # The widgets, looked up once: timers may still fire while the screen
    # is being torn down, when a query would find nothing.

    @cached_property
    def table(self) -> TaskTable:
        return self.query_one("#tasks", TaskTable)

    @cached_property
    def details(self) -> DetailsPanel:
        return self.query_one(DetailsPanel)

    @cached_property
    def topbar(self) -> Static:
        return self.query_one("#topbar", Static)

    @cached_property
    def banner(self) -> Static:
        return self.query_one("#banner", Static)

    @cached_property
    def empty_note(self) -> Static:
        return self.query_one("#empty", Static)

    @property
    def filter_box(self) -> Input | None:
        """The filter box, if "/" ever mounted it."""
        boxes = self.query("#filter").results(Input)
        return next(boxes, None)

    # The table, kept in step with the entries

    def visible_ids(self) -> list[str]:
        """Task ids that pass the filter, in the current sort order."""
        if self.filter_text.strip():
            ids = [task_id for task_id in self.entries if self._matches(task_id)]
        else:
            ids = list(self.entries)
        if self.sort_by == "created":
            ids.sort(key=self._created_key, reverse=True)
        elif self.sort_by == "state":
            ids.sort(key=self._state_key)
        elif self.sort_by == "duration":
            ids.sort(key=self._duration_key, reverse=True)
        return ids

    def _matches(self, task_id: str) -> bool:
        needle = self.filter_text.strip().lower()
        if not needle:
            return True
        entry = self.entries[task_id]
        record = entry.record
        haystack = [task_id.lower()]
        if record is not None:
            haystack.append(record.state.value.replace("_", " "))
            haystack.append(record.state.value)
            haystack.append((record.prompt or "").lower())
        else:
            haystack.append("queued")
        return any(needle in text for text in haystack)

    def _created_key(self, task_id: str) -> float:
        record = self.entries[task_id].record
        moment = record.created_at if record and record.created_at else None
        return (
            moment.timestamp() if moment else self.entries[task_id].added_at.timestamp()
        )

    def _state_key(self, task_id: str) -> int:
        record = self.entries[task_id].record
        return _STATE_ORDER.get(record.state, 9) if record else 9

    def _duration_key(self, task_id: str) -> float:
        record = self.entries[task_id].record
        if record is None:
            return -1.0
        if record.duration_s is not None:
            return record.duration_s
        if record.created_at is not None:
            return (self.clock() - record.created_at).total_seconds()
        return -1.0

    def sync_table(
        self, changed: Iterable[str] | None = None, *, rows: int = FILL_CHUNK
    ) -> None:
        """Bring the table in line with the entries, touching only what differs.

        Args:
            changed: Ids whose entries changed; ``None`` re-checks every row
                (cheap: a cell is only updated when its text differs).
            rows: At most this many missing rows are added now, the rest
                after the next repaint, ``FILL_CHUNK`` at a time.
        """
        table = self.table
        scroll_y = table.scroll_y
        # The task under the cursor, as the table has it now: a key press may
        # have moved the cursor before its highlight message reached us.
        if self._order and table.row_count:
            row_key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
            self._cursor_id = row_key.value
        desired = self.visible_ids()
        wanted = set(desired)
        now = self.clock()
        grace = self.grace

        gone = [key for key in self._cells if key not in wanted]
        table.remove_rows(gone)
        for task_id in gone:
            del self._cells[task_id]
        # Rows are added at most FILL_CHUNK at a time, the rest after the
        # next repaint: a thousand rows at start-up would delay the first frame.
        missing = [task_id for task_id in desired if task_id not in self._cells]
        new_rows = [
            (
                task_id,
                row_cells(
                    self.entries[task_id],
                    now,
                    grace,
                    task_id in self.marks,
                    task_id in self.saved_ids,
                ),
            )
            for task_id in missing[:rows]
        ]
        table.append_rows(new_rows)
        for task_id, cells in new_rows:
            self._cells[task_id] = tuple(cell.plain for cell in cells)
        added = set(missing[:rows])
        ids = self._cells.keys() if changed is None else changed
        self._update_rows([i for i in ids if i in self._cells and i not in added], now)

        shown = [task_id for task_id in desired if task_id in self._cells]
        # New rows went in at the end; sort only if that is not their place
        # (a fill in the order added never sorts: 10,000 rows would each time).
        in_table = [i for i in self._order if i in self._cells] + missing[:rows]
        if shown != in_table:
            rank = {task_id: position for position, task_id in enumerate(shown)}
            table.sort(
                "id",
                key=lambda cell: rank[cell.task_id] if isinstance(cell, IdText) else 0,
            )
        self._order = shown
        if len(missing) > rows and not self._filling:
            self._filling = True
            self.call_after_refresh(self._fill_rest)
        self._restore_cursor(scroll_y)
        self.empty_note.display = not desired
        self._update_empty_text()

    def _fill_rest(self) -> None:
        self._filling = False
        self.sync_table(changed=())
        if not self._filling and self.options.own_process and gc.isenabled():
            gc.freeze()  # the rows are long-lived too: see DashboardOptions

    def _update_rows(self, task_ids: Iterable[str], now: datetime) -> None:
        """Recompute these rows; only cells whose text changed are touched."""
        changes: dict[str, dict[str, Text]] = {}
        for task_id in task_ids:
            cells = row_cells(
                self.entries[task_id],
                now,
                self.grace,
                task_id in self.marks,
                task_id in self.saved_ids,
            )
            old = self._cells[task_id]
            new = tuple(cell.plain for cell in cells)
            if new == old:
                continue
            columns = (key for key, _, _ in COLUMNS)
            changes[task_id] = {
                key: cell
                for key, cell, before, after in zip(
                    columns, cells, old, new, strict=True
                )
                if before != after
            }
            self._cells[task_id] = new
        self.table.set_cells(changes)

    def _restore_cursor(self, scroll_y: float) -> None:
        """Keep the cursor on the same task, wherever that task now is."""
        table = self.table
        if not self._order:
            return
        task_id = self._cursor_id
        if task_id is not None and task_id in self._cells:
            row = table.get_row_index(task_id)
        else:
            row = min(table.cursor_row, len(self._order) - 1)
        if table.cursor_row != row:
            on_screen = table.cursor_row - scroll_y  # where the cursor was shown
            table.move_cursor(row=row, animate=False, scroll=False)
            # The rows move around the cursor while it stays in view; when
            # its task moved out of view, the view follows it to where it is.
            shown = table.scrollable_content_region.height - table.header_height
            if not scroll_y <= row < scroll_y + max(1, shown):
                scroll_y = max(0, row - on_screen)
            table.scroll_to(y=scroll_y, animate=False, immediate=True)
        now_on = self._order[row] if row < len(self._order) else None
        if now_on != task_id and not self._details_due:
            # The selected task went away (removed here or elsewhere): the
            # panels follow the row that took its place.
            self._details_due = True
            self.call_after_refresh(self._show_selected)
        self._cursor_id = now_on

    def _update_empty_text(self) -> None:
        empty = self.empty_note
        if not empty.display:
            return
        if self.entries:
            text = Text(
                f"No task matches the filter {inert(self.filter_text)!r}.", style="dim"
            )
        else:
            text = Text()
            text.append("Welcome to veo-tui.\n\n", style="bold")
            text.append("Your watchlist is empty. Press ")
            text.append("a", style="bold cyan")
            text.append(" and paste the task ids kie.ai gave you: one or many, ")
            text.append("separated by spaces, commas or new lines.\n\n")
            text.append(
                "Each task is checked until it succeeds or fails; ", style="dim"
            )
            text.append("press ? for every key.", style="dim")
        empty.update(text)

    @on(DataTable.RowHighlighted, "#tasks")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._cursor_id = event.row_key.value
        # The panels follow after the cursor has been painted: holding a key
        # down then moves the cursor at full speed, the panels catch up.
        if not self._details_due:
            self._details_due = True
            self.call_after_refresh(self._show_selected)

    def _show_selected(self) -> None:
        self._details_due = False
        task_id = self._cursor_id
        self.details.show(self.entries.get(task_id) if task_id else None)

    def selected_id(self) -> str | None:
        """The task under the cursor, if any row is shown.

        Read from the table itself: with keys pressed fast (space held down),
        the cursor is ahead of the highlight messages that report it.
        """
        table = self.table
        if not self._order or not table.row_count:
            return None
        row_key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return row_key.value if row_key.value in self._cells else None

    def selected_ids(self) -> list[str]:
        """The marked tasks, or else the task under the cursor."""
        marked = [task_id for task_id in self._order if task_id in self.marks]
        if marked:
            return marked
        current = self.selected_id()
        return [current] if current else []

    # Live parts

    def tick(self) -> None:
        """Once a second: repaint times and spinners, and the header.

        Only the rows on screen are recomputed: with a thousand tasks, the
        others would cost tens of milliseconds a second for nothing seen.
        A row scrolled into view is at most a second behind.
        """
        now = self.clock()
        self._ticks += 1
        if self._ticks % KEY_CHECK_TICKS == 0:
            self._check_key()
        if self._ticks % DISK_CHECK_TICKS == 0 and self.store.changed():
            self._merge_from_disk()
        table = self.table
        first = max(0, int(table.scroll_y) - 1)
        last = first + table.size.height + 2
        self._update_rows(self._order[first:last], now)
        self.details.tick()
        self.update_topbar()

    def _merge_from_disk(self) -> None:
        """Take ids another process added to or removed from the watchlist."""
        try:
            on_disk = self.store.load()
        except Exception:  # unreadable for now: keep what we show, try later
            return
        self._show_store_warnings()
        ids = {entry.task_id for entry in on_disk}
        new = [entry for entry in on_disk if entry.task_id not in self.entries]
        gone = [task_id for task_id in self.entries if task_id not in ids]
        if not new and not gone:
            return
        for task_id in gone:
            del self.entries[task_id]
            self.marks.discard(task_id)
        for entry in new:
            self.entries[entry.task_id] = entry
        self.engine.forget(gone)
        self.engine.track(new)
        self.sync_table()
        self.update_topbar()
        self.notify(
            f"The watchlist changed on disk: {len(new)} added, {len(gone)} removed.",
            markup=False,
            timeout=4,
        )

    def _check_key(self) -> None:
        """Pick up a key set or fixed in the config file while we run."""
        changed, polling = self.engine.check_key()
        if polling is not None:
            self.run_worker(polling, name="poller", group="poller", exclusive=True)
        if changed:
            self._no_key_message = None
            self.notify("Using the new API key; checking tasks again.", markup=False)
            self.engine.refresh([i for i, e in self.entries.items() if e.fetch_error])
            self.update_topbar()

    def update_topbar(self) -> None:
        status = self.engine.status()
        counts = dict.fromkeys(State, 0)
        queued = pending = 0
        now = self.clock()
        for entry in self.entries.values():
            if entry.record is None:
                queued += 1
            elif entry.is_pending(now, self.grace):
                pending += 1
            else:
                counts[entry.record.state] += 1
        # A balance read means kie.ai was reached, though no task was checked.
        reached = self.credits is not None

        def build(compact: bool) -> Text:
            bar = Text()
            bar.append(" veo-tui ", style="bold reverse")
            bar.append("  ")
            bar.append_text(_connection_text(status, reached=reached))
            bar.append("  ")
            if status.paused:
                bar.append("⏸ paused", style="bold yellow")
            else:
                bar.append("⟳ auto", style="green")
            bar.append("   ")
            for state, count in counts.items():
                if count:
                    badge = BADGES[state]
                    word = "" if compact else f" {badge.word}"
                    bar.append(f"{badge.glyph} {count}{word}  ", style=badge.style)
            if pending:
                word = "" if compact else " pending"
                bar.append(
                    f"{PENDING_BADGE.glyph} {pending}{word}  ",
                    style=PENDING_BADGE.style,
                )
            if queued:
                bar.append(f"· {queued}{'' if compact else ' queued'}  ", style="dim")
            if self.credits is not None:
                bar.append(f"credits {format_credits(self.credits)}  ", style="bold")
            bar.append(f"sort: {self.sort_by}", style="dim")
            if self.filter_text:
                bar.append(
                    f"  filter: {inert(self.filter_text, limit=30)}", style="dim"
                )
            return bar

        # The states' words go when the line would not fit the width.
        bar = build(compact=False)
        if bar.cell_len > self.size.width:
            bar = build(compact=True)
        set_text(self.topbar, bar)
        self._update_banner(status)

    def _update_banner(self, status: EngineStatus) -> None:
        banner = self.banner
        message: Text | None = None
        if self._no_key_message:
            message = Text("⚠ " + self._no_key_message, style="bold")
        elif status.key_refused:
            message = Text(
                "⚠ "
                + (
                    self.options.key_refused_message
                    or "kie.ai refused the API key: polling is paused until the "
                    "key changes (fix api.key in the config file and it is "
                    "picked up, or set KIE_API_KEY and restart; press r to try "
                    "again)."
                ),
                style="bold",
            )
        elif status.waiting_reason:
            message = Text("⏳ " + status.waiting_reason)
        elif status.backlog:
            message = Text("⏳ " + status.backlog)
        elif self.options.note:
            message = Text(self.options.note, style="italic")
        banner.display = message is not None
        if message is not None:
            set_text(banner, message)
            banner.set_class(status.key_refused or bool(self._no_key_message), "-error")

    # Results arriving from the engine

    def apply_entries(self, updated: Sequence[WatchEntry]) -> None:
        """Take a batch of checked entries: one repaint, one save."""
        changed: list[str] = []
        finished: list[WatchEntry] = []
        for entry in updated:
            before = self.entries.get(entry.task_id)
            if before is None:
                continue  # removed while its request was in flight
            self.entries[entry.task_id] = entry
            changed.append(entry.task_id)
            if _just_finished(before, entry):
                finished.append(entry)
        if not changed:
            return
        self.sync_table(
            changed if self.sort_by == "added" and not self.filter_text else None
        )
        current = self.selected_id()
        if current in changed:
            self.details.show(self.entries[current])
        self.update_topbar()
        self.save_updates([self.entries[task_id] for task_id in changed])
        if len(finished) > ANNOUNCE_EACH_UP_TO:
            self._announce_many(finished)
        else:
            for entry in finished:
                self._announce(entry)
        for entry in finished:
            record = entry.record
            if self.options.downloads_auto and record and record.state is State.SUCCESS:
                self._start_downloads([entry.task_id])

    def _announce_many(self, finished: Sequence[WatchEntry]) -> None:
        """One notification and one bell for a batch of finished tasks."""
        succeeded = sum(
            1 for e in finished if e.record and e.record.state is State.SUCCESS
        )
        others = len(finished) - succeeded
        if self.options.notify:
            parts = [f"{succeeded} succeeded"] if succeeded else []
            if others:
                parts.append(f"{others} failed or expired")
            self.notify(
                f"{len(finished)} tasks finished: {', '.join(parts)}.",
                title="✖ some failed" if others else "✔ success",
                severity="error" if others else "information",
                markup=False,
            )
        if self.options.bell:
            self.bell()

    def _announce(self, entry: WatchEntry) -> None:
        record = entry.record
        if record is None:
            return
        if self.options.notify:
            if record.state is State.SUCCESS:
                videos = len(record.result_urls)
                self.notify(
                    f"{inert(entry.task_id, limit=40)} finished: {videos} video(s).",
                    title="✔ success",
                    markup=False,
                )
            else:
                reason = inert(record.failure_reason or "no reason given", limit=200)
                self.notify(
                    f"{inert(entry.task_id, limit=40)}: {reason}",
                    title="✖ failed",
                    severity="error",
                    markup=False,
                )
        if self.options.bell:
            self.bell()

    def save_updates(self, entries: list[WatchEntry]) -> None:
        """Queue checked entries for the disk; one writer, every 2 s at most.

        Rewriting a 1,000-task file costs tens of milliseconds, so answers
        that arrive while a save runs are gathered into the next one.
        """
        for entry in entries:
            self._unsaved[entry.task_id] = entry
        if self._saver is None or self._saver.is_finished:
            self._saver = self._write_unsaved()

    @work(group="save")
    async def _write_unsaved(self) -> None:
        while self._unsaved:
            batch, self._unsaved = list(self._unsaved.values()), {}
            try:
                await asyncio.to_thread(self.store.update, batch)
            except Exception as error:  # the file is ours, but the disk is not
                self.notify(
                    f"Could not save the watchlist: {inert(str(error), limit=200)}",
                    severity="error",
                    markup=False,
                )
                return
            if self._unsaved:
                await asyncio.sleep(SAVE_SPACING)

    async def wait_saved(self) -> None:
        """Wait until every checked entry so far has reached the disk."""
        while self._saver is not None and not self._saver.is_finished:
            await self._saver.wait()

    def _show_store_warnings(self) -> None:
        for warning in self.store.warnings:
            self.notify(
                inert(warning, limit=400), severity="warning", timeout=15, markup=False
            )
        self.store.warnings.clear()

    # Actions

    def action_add(self) -> None:
        from veo_tui.ui.dialogs import AddDialog  # TextArea: not needed to start

        dialog = AddDialog(
            known=lambda task_id: task_id in self.entries, add=self.add_ids
        )
        self.push_screen(dialog)  # it adds through add_ids itself

    def add_ids_text(self, text: str) -> None:
        """Add the ids in ``text``, as if pasted into the add dialog."""
        self.add_ids(split_task_ids(text))

    def add_ids(self, parsed: ParsedIds) -> int | None:
        """Add valid ids, skip known ones, and say what happened.

        Returns:
            How many were added; ``None`` when the watchlist could not be saved.
        """
        fresh = [task_id for task_id in parsed.valid if task_id not in self.entries]
        known = len(parsed.valid) - len(fresh)
        now = self.clock()
        try:
            self.store.add(fresh, now)
        except Exception as error:
            self.notify(
                f"Could not save the watchlist: {inert(str(error), limit=200)}",
                severity="error",
                markup=False,
            )
            return None
        saved = {entry.task_id: entry for entry in self.store.load()}
        new_entries = [
            saved.get(task_id, WatchEntry(task_id, now)) for task_id in fresh
        ]
        for entry in new_entries:
            self.entries[entry.task_id] = entry
        self.sync_table()
        if new_entries and self.selected_id() is None:
            self._select(new_entries[0].task_id)
        self.engine.track(new_entries)
        skipped = known + len(parsed.duplicates)
        note = f"Added {len(fresh)} task(s)."
        if skipped:
            note += f" Skipped {skipped} duplicate(s)."
        self.notify(note, markup=False)
        self.update_topbar()
        return len(fresh)

    def _select(self, task_id: str) -> None:
        if task_id in self._cells:
            self._cursor_id = task_id
            self.table.move_cursor(row=self.table.get_row_index(task_id))

    def action_remove(self) -> None:
        ids = self.selected_ids()
        if not ids:
            return
        try:
            self.store.remove(ids)
        except Exception as error:
            self.notify(
                f"Could not save the watchlist: {inert(str(error), limit=200)}",
                severity="error",
                markup=False,
            )
            return
        # Keep our own view of each entry for the undo: it may be newer than
        # the file's, whose update may still be on its way.
        self._undo = [self.entries[task_id] for task_id in ids]
        for task_id in ids:
            self.entries.pop(task_id, None)
            self.marks.discard(task_id)
        self.engine.forget(ids)
        self.sync_table()
        self.details.show(self.entries.get(self.selected_id() or ""))
        what = inert(ids[0], limit=40) if len(ids) == 1 else f"{len(ids)} tasks"
        self.notify(f"Removed {what}. Press u to undo.", markup=False, timeout=8)
        self.update_topbar()

    def action_undo(self) -> None:
        if not self._undo:
            self.notify("Nothing to undo.", markup=False)
            return
        entries, self._undo = self._undo, []
        try:
            self.store.restore(entries)
        except Exception as error:
            self._undo = entries
            self.notify(
                f"Could not save the watchlist: {inert(str(error), limit=200)}",
                severity="error",
                markup=False,
            )
            return
        for entry in entries:
            self.entries.setdefault(entry.task_id, entry)
        # Restored entries go back where they were: take the file's order.
        place = {e.task_id: n for n, e in enumerate(self.store.load())}
        self.entries = dict(
            sorted(self.entries.items(), key=lambda kv: place.get(kv[0], len(place)))
        )
        self._order = []
        self.sync_table()
        self._select(entries[0].task_id)
        self.engine.track(entries)
        self.notify(f"Restored {len(entries)} task(s).", markup=False)
        self.update_topbar()

    def action_mark(self) -> None:
        task_id = self.selected_id()
        if task_id is None:
            return
        self.marks ^= {task_id}
        self._update_rows([task_id], self.clock())
        if self.table.cursor_row < len(self._order) - 1:
            self.table.action_cursor_down()

    def action_copy_url(self) -> None:
        url = self._first_url()
        if url is not None:
            self.copy_text(url, "the first result URL")

    def action_copy_id(self) -> None:
        task_id = self.selected_id()
        if task_id is not None:
            self.copy_text(task_id, "the task id")

    def action_open_url(self) -> None:
        url = self._first_url()
        if url is not None:
            self.open_web_url(url)

    def _first_url(self) -> str | None:
        task_id = self.selected_id()
        if task_id is None:
            return None
        record = self.entries[task_id].record
        urls = (record.result_urls or record.full_result_urls) if record else ()
        if not urls:
            self.notify(
                "This task has no result URL yet.", severity="warning", markup=False
            )
            return None
        return urls[0]

    # Keeping results: downloads, 1080p, 4K, credits

    def _extras(self, task_id: str) -> TaskExtras:
        return self.extras.setdefault(task_id, TaskExtras())

    def _show_if_selected(self, task_id: str) -> None:
        if self.selected_id() == task_id and task_id in self.entries:
            self.details.show(self.entries[task_id])

    def _successes(self, ids: Sequence[str]) -> list[str]:
        done = []
        for task_id in ids:
            record = self.entries[task_id].record
            if record is not None and record.state is State.SUCCESS:
                done.append(task_id)
        return done

    def action_download(self) -> None:
        if self.options.download_dir is None:
            self.notify("Downloads are off here.", severity="warning", markup=False)
            return
        ids = self._successes(self.selected_ids())
        if not ids:
            self.notify(
                "Only finished, successful tasks have videos to download.",
                severity="warning",
                markup=False,
            )
            return
        self._start_downloads(ids)

    def _start_downloads(self, ids: Sequence[str]) -> None:
        for task_id in ids:
            record = self.entries[task_id].record
            urls = (record.result_urls or record.full_result_urls) if record else ()
            if urls:
                self.run_worker(
                    self._download(task_id, urls),
                    name=f"download {task_id}",
                    group="download",
                )

    async def _download(self, task_id: str, urls: Sequence[str]) -> None:
        from veo_tui.api.download import Downloader, DownloadStatus  # httpx: late

        extras = self._extras(task_id)
        if self._downloader is None:
            assert self.options.download_dir is not None
            self._downloader = Downloader(self.options.download_dir)

        def progress(update: DownloadProgress) -> None:
            extras.download = progress_line(update)
            self._show_if_selected(task_id)

        extras.download = "starting…"
        self._show_if_selected(task_id)
        try:
            results = await self._downloader.download_task(
                task_id, urls, on_progress=progress
            )
        except asyncio.CancelledError:
            extras.download = "cancelled (the .part file is kept to resume)"
            self._show_if_selected(task_id)
            raise
        saved = [result.path for result in results if result.ok and result.path]
        already = all(r.status is DownloadStatus.ALREADY_DOWNLOADED for r in results)
        failed = [result for result in results if not result.ok]
        extras.saved = saved
        name = inert(task_id, limit=40)
        if failed:
            reason = failed[0].message or "unknown error"
            extras.download = f"failed: {reason}"
            self.notify(
                f"Download of {name} failed: {inert(reason, limit=200)}",
                severity="error",
                markup=False,
            )
        else:
            extras.download = f"done: {len(saved)} video(s)"
            self.saved_ids.add(task_id)
            verb = "Already downloaded" if already else "Saved"
            self.notify(
                f"{verb} {name}: {inert(str(saved[0]), limit=200)}", markup=False
            )
        if task_id in self._cells:
            self._update_rows([task_id], self.clock())
        self._show_if_selected(task_id)

    @on(FolderAction)
    def _open_folder(self, message: FolderAction) -> None:
        folder = message.path.parent
        if not self._can_open():
            self.notify(
                "Nothing to open folders with here (over SSH, or no desktop); "
                f"the videos are in {inert(str(folder), limit=200)}",
                severity="warning",
                markup=False,
            )
            return
        self.open_url(folder.as_uri())
        self.notify(f"Opening the folder {inert(str(folder), limit=200)}", markup=False)

    def _upscale_target(self) -> str | None:
        """The selected task, if it can be upscaled (success, and a client)."""
        task_id = self.selected_id()
        if task_id is None or not self._successes([task_id]):
            self.notify(
                "Select a successful task first.", severity="warning", markup=False
            )
            return None
        if self.engine.client is None:
            self.notify(
                "No API key: 1080p and 4K need one.", severity="warning", markup=False
            )
            return None
        return task_id

    def action_hd(self) -> None:
        task_id = self._upscale_target()
        if task_id is None:
            return
        record = self.entries[task_id].record
        ratio = (
            record.params.get("aspect_ratio", record.params.get("aspectRatio"))
            if record
            else None
        )
        if ratio not in (None, "16:9"):
            self.notify(
                f"1080p is for 16:9 videos; this one is {inert(str(ratio), limit=10)}.",
                severity="warning",
                markup=False,
            )
            return
        self.run_worker(
            self._follow_hd(task_id), group="upscale", name=f"1080p {task_id}"
        )

    async def _follow_hd(self, task_id: str) -> None:
        from veo_tui.api.upscale import follow_1080p

        client = self.engine.client
        if client is None:
            return
        extras = self._extras(task_id)

        def polled(count: int, result: object) -> None:
            extras.hd_note = f"processing at kie.ai (check {count})…"
            self._show_if_selected(task_id)

        extras.hd_note = "asking kie.ai…"
        self._show_if_selected(task_id)
        result = await follow_1080p(client, task_id, on_poll=polled)
        if isinstance(result, str):
            extras.hd_url, extras.hd_note = result, "ready"
            self._keep_upscale(task_id)
            self.notify(f"1080p ready for {inert(task_id, limit=40)}.", markup=False)
        else:
            extras.hd_note = f"failed: {result.message}"
        self._show_if_selected(task_id)

    def action_uhd(self) -> None:
        task_id = self._upscale_target()
        if task_id is None:
            return
        asked = self._extras(task_id).uhd_requested_at is not None
        if asked or (self._fourk is not None and self._fourk.was_requested(task_id)):
            # Already paid for: follow it again, which kie.ai does not charge.
            self.run_worker(
                self._follow_uhd(task_id), group="upscale", name=f"4k {task_id}"
            )
            return
        question = Text()
        question.append("Get the 4K video?\n\n", style="bold")
        question.append(f"Task {inert(task_id, limit=60)}\n")
        question.append("kie.ai charges credits for 4K", style="bold yellow")
        if self.credits is not None:
            question.append(f" (balance: {format_credits(self.credits)})")
        question.append(". It is requested once; asking again does not charge twice.")

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(
                    self._follow_uhd(task_id), group="upscale", name=f"4k {task_id}"
                )

        from veo_tui.ui.dialogs import ConfirmScreen

        self.push_screen(ConfirmScreen(question), answered)

    async def _follow_uhd(self, task_id: str) -> None:
        from veo_tui.api.upscale import FourKRequests, follow_4k

        client = self.engine.client
        if client is None:
            return
        if self._fourk is None:
            self._fourk = FourKRequests()
        extras = self._extras(task_id)
        if extras.uhd_requested_at is not None:  # perhaps in an earlier run
            self._fourk.remember(task_id, urls=extras.uhd_urls)

        def polled(count: int, result: object) -> None:
            extras.uhd_note = f"processing at kie.ai (check {count})…"
            refused = isinstance(result, FetchError) and not result.retryable
            if count == 1 and extras.uhd_requested_at is None and not refused:
                # Taken (or perhaps taken: an answer lost on the way): charged.
                self.refresh_credits()
                extras.uhd_requested_at = self.clock()
                self._keep_upscale(task_id)
            self._show_if_selected(task_id)

        extras.uhd_note = "requested…"
        self._show_if_selected(task_id)
        result = await follow_4k(client, self._fourk, task_id, on_poll=polled)
        if isinstance(result, tuple):
            extras.uhd_urls, extras.uhd_note = result, "ready"
            extras.uhd_requested_at = extras.uhd_requested_at or self.clock()
            self._keep_upscale(task_id)
            self.notify(f"4K ready for {inert(task_id, limit=40)}.", markup=False)
        else:
            extras.uhd_note = f"failed: {result.message}"
        self.refresh_credits()
        self._show_if_selected(task_id)

    @work(group="credits", exclusive=True)
    async def refresh_credits(self) -> None:
        """Read the account balance for the header."""
        client = self.engine.client
        if client is None:
            return
        balance = await client.credits()
        self.credits_checked = True
        if isinstance(balance, float | int):
            self.credits = float(balance)
            self.update_topbar()

    @on(UrlAction)
    def _url_action(self, message: UrlAction) -> None:
        if message.action == "copy":
            self.copy_text(message.url, "the URL")
        else:
            self.open_web_url(message.url)

    def copy_text(self, text: str, what: str) -> None:
        """Copy with OSC 52 and, locally, the system clipboard; say so."""
        if not text.isprintable():
            self.notify(
                "Refusing to copy text with control characters.",
                severity="error",
                markup=False,
            )
            return
        self.copy_to_clipboard(text)
        command = clipboard_command()
        via = "OSC 52"
        if command is not None:
            via += f" and {command[0]}"
            self._system_copy(text, command)
        self.notify(f"Copied {what} ({via}):\n{inert(text, limit=300)}", markup=False)

    @work(thread=True, group="clipboard")
    def _system_copy(self, text: str, command: Sequence[str]) -> None:
        copy_with_system_tool(text, command)

    def open_web_url(self, url: str) -> None:
        """Open an http(s) URL in the browser; anything else is refused."""
        if not is_web_url(url):
            self.notify(
                "Only http(s) URLs can be opened.", severity="error", markup=False
            )
            return
        if not self._can_open():
            self.notify(
                "No browser to open it with here (over SSH, or no desktop): "
                f"press c to copy it instead.\n{inert(url, limit=300)}",
                severity="warning",
                markup=False,
            )
            return
        self.open_url(url)
        self.notify(
            f"Asked the browser to open {inert(url, limit=300)}\n"
            "(if nothing opens, press c to copy it)",
            markup=False,
        )

    def _can_open(self) -> bool:
        """Whether open_url will reach a browser or a file manager."""
        return self.is_web or graphical_browser_available()

    def action_refresh(self) -> None:
        self._check_key()  # the user may have just fixed the key
        ids = self.selected_ids()
        if ids:
            self.engine.refresh(ids)
            self.notify(f"Checking {len(ids)} task(s) now.", markup=False, timeout=2)

    def action_refresh_all(self) -> None:
        self._check_key()
        if self.entries:
            self.engine.refresh(list(self.entries))
            self.notify(
                f"Checking all {len(self.entries)} task(s) now.",
                markup=False,
                timeout=2,
            )

    def action_toggle_pause(self) -> None:
        paused = not self.engine.status().paused
        self.engine.set_paused(paused)
        self.notify(
            "Auto refresh paused." if paused else "Auto refresh resumed.",
            markup=False,
            timeout=2,
        )
        self.update_topbar()

    async def action_filter(self) -> None:
        box = self.filter_box
        if box is None:
            # Not composed at start: its styles and widget cost the first
            # frame time, and many sessions never filter.
            box = Input(placeholder="filter by id, prompt or state", id="filter")
            await self.query_one("#table-box").mount(box, before=self.table)
        box.display = True
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.sync_table()
        self.update_topbar()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        box = self.filter_box
        if box is not None and not box.value:
            box.display = False
        self.table.focus()

    def on_key(self, event: events.Key) -> None:
        if event.key != "escape":
            return
        box = self.filter_box
        if box is not None and (box.has_focus or self.filter_text):
            box.value = ""
            box.display = False
            self.table.focus()
            return
        running = [
            w for w in self.workers if w.group == "download" and not w.is_finished
        ]
        for worker in running:
            worker.cancel()
        if running:
            self.notify(
                f"Cancelled {len(running)} download(s); the .part files are kept "
                "to resume.",
                markup=False,
            )

    def action_sort(self) -> None:
        self.sort_by = SORTS[(SORTS.index(self.sort_by) + 1) % len(SORTS)]
        self.sync_table()
        self.notify(f"Sorted by {self.sort_by}.", markup=False, timeout=2)
        self.update_topbar()

    def action_help(self) -> None:
        from veo_tui.ui.dialogs import HelpScreen

        self.push_screen(HelpScreen(self.KEYS_HELP))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for action, title, help_text in (
            ("add", "Add tasks", "Paste or type task ids"),
            ("remove", "Remove tasks", "Remove the selected or marked tasks"),
            ("undo", "Undo removal", "Put the last removed tasks back"),
            ("mark", "Mark task", "Mark or unmark the task under the cursor"),
            ("copy_url", "Copy result URL", "Copy the first result URL"),
            ("copy_id", "Copy task id", "Copy the selected task's id"),
            ("open_url", "Open result URL", "Open the first result URL in the browser"),
            ("refresh", "Refresh task", "Check the selected task now"),
            ("refresh_all", "Refresh all", "Check every task now"),
            ("toggle_pause", "Pause or resume", "Pause or resume auto refresh"),
            ("filter", "Filter", "Filter by id, prompt or state"),
            ("sort", "Change sort", "Cycle the sort: added, created, state, duration"),
            ("download", "Download videos", "Save the selected tasks' videos"),
            ("hd", "Get 1080p", "Ask kie.ai for the 1080p video (16:9)"),
            ("uhd", "Get 4K", "Ask kie.ai for the 4K video (costs credits)"),
            ("help", "Help", "Show every key"),
        ):
            yield SystemCommand(title, help_text, getattr(self, f"action_{action}"))

    def watch_theme(self, theme: str) -> None:
        if self.prefs is not None and self.prefs.theme != theme:
            self.prefs.theme = theme
            self.prefs.save()

    async def action_quit(self) -> None:
        if self._downloader is not None:
            with contextlib.suppress(Exception):
                await self._downloader.aclose()
        await self.engine.stop()
        if self._unsaved:
            # Whatever came in since the last save, so a restart shows it.
            with contextlib.suppress(Exception):
                self.store.update(list(self._unsaved.values()))
        self.exit(0)


def _just_finished(before: WatchEntry, after: WatchEntry) -> bool:
    """Whether this check saw the task finish (not merely learnt it had)."""
    if after.record is None or after.record.state not in (State.SUCCESS, State.FAILED):
        return False
    return before.record is not None and not before.record.state.is_terminal


def _connection_text(status: EngineStatus, *, reached: bool = False) -> Text:
    if status.no_key:
        return Text("● no key", style="bold red")
    if status.key_refused:
        return Text("● key refused", style="bold red")
    if status.last_error is FetchErrorKind.MAINTENANCE:
        return Text("● maintenance", style="bold yellow")
    if status.last_error is FetchErrorKind.RATE_LIMITED:
        return Text("● rate limited", style="bold yellow")
    if status.last_error in (FetchErrorKind.NETWORK, FetchErrorKind.TIMEOUT):
        return Text("● offline", style="bold red")
    if status.last_error is not None:
        return Text("● server trouble", style="bold yellow")
    if status.connected or reached:
        return Text("● ok", style="bold green")
    return Text("○ not checked yet", style="dim")
