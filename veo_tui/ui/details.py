"""The detail panels of the selected task: Status, Timings, Error, Videos, Request.

Panels are rebuilt from the task's entry whenever it changes and once per
second for the live parts (time generating, last and next check). The Videos
panel keeps its URL rows as widgets, each with its own copy and open buttons,
and rebuilds them only when the set of URLs changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Label, Static

from veo_tui.domain import State, failure_hint, human_duration, inert
from veo_tui.store.watchlist import WatchEntry
from veo_tui.ui.cells import (
    RETENTION,
    ago,
    badge_for,
    expires_in,
    fetch_error_word,
    plain,
    set_text,
)
from veo_tui.ui.results import TaskExtras


def _extra_notes(extras: TaskExtras | None) -> list[tuple[str, str]]:
    if extras is None:
        return []
    notes = [("Download", extras.download), ("1080p", extras.hd_note)]
    notes.append(("4K", extras.uhd_note))
    if extras.saved:
        notes.append(("Saved", ", ".join(str(path) for path in extras.saved)))
    return [(label, note) for label, note in notes if note]


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "-"
    seconds = (now - moment).total_seconds()
    when = human_duration(seconds) + " ago" if seconds >= 60 else ago(moment, now)
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC · {when}"


def _line(label: str, value: str | Text, style: str = "") -> Text:
    text = Text(f"{label:<12}", style="dim")
    text.append(value if isinstance(value, Text) else Text(value, style=style))
    return text


class FolderAction(Message):
    """The user asked to open the folder a video was saved in."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path


class UrlAction(Message):
    """The user asked to copy or open one URL of the Videos panel."""

    def __init__(self, url: str, action: str) -> None:
        super().__init__()
        self.url = url
        self.action = action


class UrlRow(Horizontal):
    """One video URL with its own copy and open buttons."""

    def __init__(self, kind: str, url: str) -> None:
        super().__init__(classes="url-row")
        self.kind = kind
        self.url = url

    def compose(self) -> ComposeResult:
        yield Label(plain(self.kind, style="dim"), classes="url-kind")
        yield Label(plain(self.url), classes="url")
        yield Button("copy", classes="url-copy", compact=True)
        yield Button("open", classes="url-open", compact=True)

    def show(self, kind: str, url: str) -> None:
        """Reuse this row for another URL (cheaper than a new widget)."""
        if (kind, url) == (self.kind, self.url):
            return
        self.kind, self.url = kind, url
        self.query_one(".url-kind", Label).update(plain(kind, style="dim"))
        self.query_one(".url", Label).update(plain(url))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        action = "copy" if event.button.has_class("url-copy") else "open"
        self.post_message(UrlAction(self.url, action))


class DetailsPanel(VerticalScroll):
    """Everything about the selected task, in five titled panels."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        grace: timedelta,
        next_check: Callable[[str], datetime | None],
        queue_position: Callable[[str], int | None] = lambda task_id: None,
        extras: Callable[[str], TaskExtras | None] = lambda task_id: None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._clock = clock
        self._grace = grace
        self._next_check = next_check
        self._queue_position = queue_position
        self._extras = extras
        self._entry: WatchEntry | None = None
        self._urls: tuple[tuple[str, str], ...] = ()

    def compose(self) -> ComposeResult:
        # The error comes right after the status: for a failed task it is
        # what the user came to read.
        yield Static(id="status-panel", classes="panel")
        yield Static(id="error-panel", classes="panel")
        with Vertical(id="videos-panel", classes="panel"):
            yield Static(id="videos-summary")
            yield Vertical(id="video-urls")
            # The "open folder" button is mounted when a task has a saved file.
        yield Static(id="timings-panel", classes="panel")
        yield Static(id="request-panel", classes="panel")

    def on_mount(self) -> None:
        titles = {
            "#status-panel": "Status",
            "#timings-panel": "Timings",
            "#error-panel": "Error",
            "#videos-panel": "Videos",
            "#request-panel": "Request",
        }
        for selector, title in titles.items():
            self.query_one(selector).border_title = title
        self.show(None)

    @property
    def _ready(self) -> bool:
        # Events can arrive before the panels are mounted or after they are
        # gone (start-up and shut-down); there is nothing to paint then.
        return bool(self.query("#status-panel"))

    def show(self, entry: WatchEntry | None) -> None:
        """Show ``entry`` (or the empty state) in every panel."""
        self._entry = entry
        if not self._ready:
            return
        self._render_status()
        self._render_timings()
        self._render_error()
        self._render_videos()
        self._render_request()

    def tick(self) -> None:
        """Repaint the live parts: elapsed time, last and next check."""
        if self._entry is not None and self._ready:
            self._render_status()
            self._render_timings()

    def _render_status(self) -> None:
        panel = self.query_one("#status-panel", Static)
        entry = self._entry
        if entry is None:
            set_text(panel, Text("Select a task to see its details.", style="dim"))
            return
        now = self._clock()
        badge = badge_for(entry, now, self._grace)
        record = entry.record
        flag = (
            "-"
            if record is None or record.success_flag is None
            else str(record.success_flag)
        )
        lines = [
            _line("Task", plain(entry.task_id)),
            _line("State", badge.text()),
            _line("Raw flag", flag),
            _line("Checked", _when(entry.checked_at, now)),
        ]
        next_check = self._next_check(entry.task_id)
        if next_check is not None:
            wait = human_duration((next_check - now).total_seconds())
            ahead = self._queue_position(entry.task_id)
            if ahead:  # due, but behind others for the request limits
                others = "other" if ahead == 1 else "others"
                when = f"in about {wait}, queued behind {ahead:,} {others}"
            else:
                when = f"in {wait}"
            lines.append(_line("Next check", when))
        elif record is not None and record.state.is_terminal:
            lines.append(_line("Next check", "never (finished)"))
        if entry.fetch_error is not None:
            error = entry.fetch_error
            stale = Text(f"⚠ {fetch_error_word(error)}: ", style="bold yellow")
            stale.append(plain(error.message, limit=300))
            lines.append(_line("Last check", stale))
            if record is not None:
                lines.append(
                    _line("", "the state shown is the last known one", "italic yellow")
                )
        if record is not None and record.message:
            lines.append(_line("kie.ai says", plain(record.message, limit=300)))
        set_text(panel, Text("\n").join(lines))

    def _render_timings(self) -> None:
        panel = self.query_one("#timings-panel", Static)
        record = self._entry.record if self._entry else None
        panel.display = record is not None
        if record is None:
            return
        now = self._clock()
        lines = [
            _line("Created", _when(record.created_at, now)),
            _line("Completed", _when(record.completed_at, now)),
            _line("Duration", human_duration(record.duration_s)),
        ]
        if record.state is State.GENERATING and record.created_at is not None:
            running = human_duration((now - record.created_at).total_seconds())
            lines.append(_line("Live", f"generating for {running}", "yellow"))
        if record.state is State.SUCCESS and record.completed_at is not None:
            left, warn = expires_in(record, now)
            gone_at = record.completed_at + RETENTION
            text = f"in {left} ({gone_at:%Y-%m-%d %H:%M} UTC)"
            if left == "gone":
                text = "results have expired (kie.ai keeps them 14 days)"
            lines.append(_line("Expires", text, "bold red" if warn else ""))
        set_text(panel, Text("\n").join(lines))

    def _render_error(self) -> None:
        panel = self.query_one("#error-panel", Static)
        record = self._entry.record if self._entry else None
        failed = record is not None and (
            record.state is State.FAILED or record.error_message is not None
        )
        panel.display = failed
        if record is None or not failed:
            return
        code = "-" if record.error_code is None else str(record.error_code)
        lines = [
            _line("Code", plain(code)),
            _line(
                "Message",
                Text(
                    inert(
                        record.error_message or "(none given)",
                        keep_newlines=True,
                        limit=4000,
                    )
                ),
            ),
        ]
        hint = failure_hint(record)
        if hint:
            lines.append(_line("Hint", hint, "italic"))
        set_text(panel, Text("\n").join(lines))

    def _render_videos(self) -> None:
        entry = self._entry
        record = entry.record if entry else None
        extras = self._extras(entry.task_id) if entry else None
        panel = self.query_one("#videos-panel")
        urls: tuple[tuple[str, str], ...] = ()
        if record is not None:
            urls = (
                *(("result", url) for url in record.result_urls),
                *(("origin", url) for url in record.origin_urls),
                *(("full", url) for url in record.full_result_urls),
            )
        if extras is not None:
            if extras.hd_url:
                urls = (*urls, ("1080p", extras.hd_url))
            urls = (*urls, *(("4k", url) for url in extras.uhd_urls))
        notes = _extra_notes(extras)
        panel.display = bool(urls or notes)
        lines: list[Text] = []
        if record is not None and urls:
            lines.append(_line("Resolution", plain(record.resolution or "unknown")))
            left, warn = expires_in(record, self._clock())
            if extras is not None and extras.saved:
                lines.append(_line("Expires in", f"{left} (downloaded: safe)", "green"))
            elif left != "-":
                lines.append(_line("Expires in", left, "bold red" if warn else ""))
        lines.extend(_line(label, plain(note, limit=300)) for label, note in notes)
        set_text(self.query_one("#videos-summary", Static), Text("\n").join(lines))
        saved = bool(extras and extras.saved)
        folder = next(panel.query("#open-folder").results(Button), None)
        if folder is not None:
            folder.display = saved
        elif saved:
            # Not composed at start: Button's styles are the largest of any
            # widget's, and most tasks are never downloaded.
            panel.mount(Button("open folder", id="open-folder", compact=True))
        if urls != self._urls:
            self._urls = urls
            # Moving the cursor changes the URLs at every step: reuse the rows
            # and only add or remove the difference, to keep layout work small.
            holder = self.query_one("#video-urls", Vertical)
            rows = list(holder.query_children(UrlRow))
            for row, (kind, url) in zip(rows, urls, strict=False):
                row.show(kind, url)
            for row in rows[len(urls) :]:
                row.remove()
            if len(urls) > len(rows):
                holder.mount_all([UrlRow(kind, url) for kind, url in urls[len(rows) :]])

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id != "open-folder":
            return
        event.stop()
        extras = self._extras(self._entry.task_id) if self._entry else None
        if extras is not None and extras.saved:
            self.post_message(FolderAction(extras.saved[0]))

    def _render_request(self) -> None:
        panel = self.query_one("#request-panel", Static)
        record = self._entry.record if self._entry else None
        panel.display = record is not None and bool(record.prompt or record.params)
        if record is None:
            return
        text = Text()
        if record.prompt:
            text.append(inert(record.prompt, keep_newlines=True, limit=4000))
        params = {k: v for k, v in record.params.items() if k != "prompt"}
        for key in sorted(params):
            value = params[key]
            shown = (
                value
                if isinstance(value, str)
                else json.dumps(value, ensure_ascii=False)
            )
            text.append("\n")
            text.append(inert(f"{key}: ", limit=40), style="dim")
            text.append(inert(shown, limit=300))
        set_text(panel, text)
