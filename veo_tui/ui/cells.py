"""What a task looks like on screen: badges, table cells, relative times.

Every string from kie.ai or the user passes through :func:`plain`, which makes
it inert (no markup, no control characters) and wraps it in a Rich ``Text``
so that Textual never reads it as markup. Badges pair a glyph and a word with
their colour, so they read on a terminal without colour too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from veo_tui.domain import (
    FetchError,
    FetchErrorKind,
    State,
    TaskRecord,
    human_duration,
    inert,
)
from veo_tui.store.watchlist import WatchEntry

RETENTION = timedelta(days=14)
"""kie.ai deletes result media this long after completion."""

SPINNER = "◐◓◑◒"


@dataclass(frozen=True, slots=True)
class Badge:
    """How one state reads: a glyph, a word and a style."""

    glyph: str
    word: str
    style: str

    def text(self) -> Text:
        return Text(f"{self.glyph} {self.word}", style=self.style)


BADGES = {
    State.GENERATING: Badge("◐", "generating", "bold yellow"),
    State.SUCCESS: Badge("✔", "success", "bold green"),
    State.FAILED: Badge("✖", "failed", "bold red"),
    State.EXPIRED: Badge("⊘", "expired", "dim"),
    State.NOT_FOUND: Badge("∅", "not found", "magenta"),
    State.UNKNOWN: Badge("?", "unknown", "bold magenta"),
}
NEW_BADGE = Badge("·", "queued", "dim")
PENDING_BADGE = Badge("…", "pending", "cyan")
STALE_STYLE = "italic"


class IdText(Text):
    """A table cell that remembers which task it belongs to (for sorting)."""

    task_id: str


def set_text(widget: Static, text: Text) -> None:
    """Update ``widget`` only if ``text`` differs from what it shows.

    ``Static.update`` costs a layout of the whole screen unless told the size
    cannot change. The live parts are recomputed every second and mostly come
    out the same, or differ only in a few characters on the same lines: those
    are repainted without a layout.
    """
    old: Text | None = getattr(widget, "_veo_shown", None)
    if old == text:
        return
    widget._veo_shown = text  # type: ignore[attr-defined]
    width = widget.content_size.width
    same_shape = (
        old is not None
        and width > 0
        and old.plain.count("\n") == text.plain.count("\n")
        and _widest(old) <= width
        and _widest(text) <= width
    )
    widget.update(text, layout=not same_shape)


def _widest(text: Text) -> int:
    return max((cell_len(line) for line in text.plain.split("\n")), default=0)


def plain(text: str | None, *, limit: int | None = None, style: str = "") -> Text:
    """Remote or user text as an inert, markup-free ``Text``."""
    return Text(inert(text or "", limit=limit), style=style, no_wrap=True)


def short_id(task_id: str, width: int = 16) -> str:
    """An id cut in the middle to fit ``width``: the ends tell ids apart."""
    shown = inert(task_id)
    if len(shown) <= width:
        return shown
    tail = (width - 1) // 2
    return shown[: width - 1 - tail] + "…" + shown[-tail:]


def id_cell(task_id: str) -> IdText:
    cell = IdText(short_id(task_id), no_wrap=True)
    cell.task_id = task_id
    return cell


def badge_for(entry: WatchEntry, now: datetime, grace: timedelta) -> Badge:
    """The badge of a row: its state, or queued / pending before it is known."""
    if entry.record is None:
        return NEW_BADGE
    if entry.is_pending(now, grace):
        return PENDING_BADGE
    badge = BADGES[entry.record.state]
    if entry.record.state is State.GENERATING:
        frame = SPINNER[int(now.timestamp()) % len(SPINNER)]
        badge = Badge(frame, badge.word, badge.style)
    return badge


def badge_cell(entry: WatchEntry, now: datetime, grace: timedelta) -> Text:
    """The state cell, marked when the last check failed (the state is stale)."""
    text = badge_for(entry, now, grace).text()
    if entry.fetch_error is not None and entry.record is not None:
        text.append(" !", style="bold yellow")
        text.stylize(STALE_STYLE)
    return text


def ago(moment: datetime | None, now: datetime) -> str:
    """``12s ago``, ``5m ago``, ``3h ago``, ``2d ago``; ``-`` when unknown."""
    if moment is None:
        return "-"
    seconds = (now - moment).total_seconds()
    if seconds < 0:
        return "in " + human_duration(-seconds).split()[0]
    if seconds < 5:
        return "now"
    if seconds < 60:
        return f"{int(seconds)}s ago"
    if seconds < 3600:
        return f"{int(seconds // 60)}m ago"
    if seconds < 86_400:
        return f"{int(seconds // 3600)}h ago"
    return f"{int(seconds // 86_400)}d ago"


def elapsed(record: TaskRecord | None, now: datetime) -> str:
    """The duration of a finished task, or how long a running one has run."""
    if record is None:
        return "-"
    if record.duration_s is not None:
        return human_duration(record.duration_s)
    if record.state is State.GENERATING and record.created_at is not None:
        # A trailing ellipsis: still counting.
        return human_duration((now - record.created_at).total_seconds()) + "…"
    return "-"


def expires_in(record: TaskRecord | None, now: datetime) -> tuple[str, bool]:
    """How long results have left (14 days from completion), and whether to warn."""
    if (
        record is None
        or record.state is not State.SUCCESS
        or record.completed_at is None
    ):
        return "-", False
    left = record.completed_at + RETENTION - now
    if left <= timedelta(0):
        return "gone", True
    if left < timedelta(days=1):
        return f"{int(left.total_seconds() // 3600)} h", True
    return f"{left.days} d", left < timedelta(days=2)


def checked_cell(entry: WatchEntry, now: datetime) -> Text:
    """When the task was last checked, or why the last check failed."""
    if entry.fetch_error is not None:
        return Text(f"⚠ {fetch_error_word(entry.fetch_error)}", style="yellow")
    return Text(ago(entry.checked_at, now), style="dim")


def fetch_error_word(error: FetchError) -> str:
    return {
        FetchErrorKind.AUTH: "key refused",
        FetchErrorKind.RATE_LIMITED: "rate limited",
        FetchErrorKind.MAINTENANCE: "maintenance",
        FetchErrorKind.SERVER: "server error",
        FetchErrorKind.NETWORK: "offline",
        FetchErrorKind.TIMEOUT: "timed out",
        FetchErrorKind.MALFORMED: "bad answer",
    }[error.kind]


def prompt_start(record: TaskRecord | None, width: int = 36) -> Text:
    """The first words of the prompt, on one line."""
    if record is None or not record.prompt:
        return Text("")
    return plain(" ".join(record.prompt.split()), limit=width)


def row_cells(
    entry: WatchEntry,
    now: datetime,
    grace: timedelta,
    marked: bool,
    saved: bool = False,
) -> tuple[Text, ...]:
    """Every cell of one row, in column order (see :data:`COLUMNS`)."""
    record = entry.record
    expiry, warn = expires_in(record, now)
    state = Text("●" if marked else " ", style="bold cyan")
    state.append_text(badge_cell(entry, now, grace))
    return (
        state,
        id_cell(entry.task_id),
        Text(ago(record.created_at if record else None, now)),
        Text(elapsed(record, now)),
        plain(record.resolution if record else None, limit=6),
        # Downloaded results are safe whatever kie.ai deletes.
        Text("✔ saved", style="green")
        if saved
        else Text(expiry, style="bold red" if warn else ""),
        checked_cell(entry, now),
        prompt_start(record, width=40),
    )


COLUMNS = (
    ("state", " State", 15),  # "●◓ generating !": marked and stale
    ("id", "Task id", 16),
    ("created", "Created", 7),
    ("duration", "Duration", 9),
    ("resolution", "Res", 5),
    ("expires", "Expires", 7),
    ("checked", "Checked", 13),
    ("prompt", "Prompt", 40),
)
"""Column keys, labels and widths.

Fixed widths keep columns still while their cells change in place. The state
cell starts with the mark (``●``) of rows marked for a bulk action."""
