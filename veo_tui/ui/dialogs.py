"""Modal screens: adding task ids, and the help screen of every key."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Static, TextArea

from veo_tui.domain import ParsedIds, inert, split_task_ids


class IdsArea(TextArea):
    """A text area where Enter submits and pasted newlines are kept."""

    class Submitted(Message):
        pass

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted())
            return
        await super()._on_key(event)


NOT_SAVED = (
    "The watchlist could not be saved, so nothing was added (the notification "
    "says why); the ids stay here to try again."
)


class AddDialog(ModalScreen[ParsedIds | None]):
    """Type or paste one or many task ids; Enter adds them.

    Ids may be separated by spaces, commas or newlines. Pieces that cannot be
    ids stay in the box, named, so the user can fix them: nothing pasted is
    lost, nor when the watchlist cannot be saved. The ids are added through
    ``add`` (which returns how many were new, or ``None`` when nothing could
    be saved); the screen's result is the parsed ids, or ``None`` when
    cancelled.
    """

    # Here rather than in veo_tui.tcss: parsed when a dialog first opens,
    # not at every start.
    DEFAULT_CSS = """
    AddDialog {
        align: center middle;
    }
    #add-dialog {
        width: 80%;
        max-width: 100;
        height: auto;
        max-height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 1 2;
    }
    #add-title {
        text-style: bold;
    }
    #add-help {
        color: $text-muted;
        margin-bottom: 1;
    }
    #add-ids {
        height: 8;
    }
    #add-problems {
        height: auto;
        max-height: 10;
        margin-top: 1;
    }
    #add-buttons {
        height: auto;
        align-horizontal: right;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, known: Callable[[str], bool], add: Callable[[ParsedIds], int | None]
    ) -> None:
        super().__init__()
        self._known = known
        self._add = add

    def compose(self) -> ComposeResult:
        with Vertical(id="add-dialog"):
            yield Static("Add tasks", id="add-title")
            yield Static(
                "Paste or type task ids, separated by spaces, commas or new lines. "
                "Enter adds them; Escape cancels.",
                id="add-help",
            )
            yield IdsArea(id="add-ids", soft_wrap=True, show_line_numbers=False)
            yield Static(id="add-problems")
            with Vertical(id="add-buttons"):
                yield Button("Add", id="add-ok", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one(IdsArea).focus()

    def on_ids_area_submitted(self) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "add-ok":
            self._submit()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _submit(self) -> None:
        area = self.query_one(IdsArea)
        parsed = split_task_ids(area.text)
        if parsed.invalid:
            # The valid ones now; the box stays open with what was refused, so
            # it can be fixed (or with everything, if nothing could be saved).
            added = self._add(parsed) if parsed.valid else 0
            if added is not None:
                area.load_text("\n".join(piece for piece, _ in parsed.invalid))
            self._show_problems(parsed, added)
            return
        if not parsed.valid and not parsed.duplicates:
            self._show_message(
                Text("Nothing to add: the box is empty.", style="yellow")
            )
            return
        if self._add(parsed) is None:
            self._show_message(Text(NOT_SAVED, style="bold red"))
            return
        self.dismiss(parsed)

    def _show_problems(self, parsed: ParsedIds, added: int | None) -> None:
        text = Text(
            f"{len(parsed.invalid)} piece(s) cannot be task ids and were not added",
            style="bold red",
        )
        if added:
            text.append(f" ({added} valid id(s) were added)", style="green")
        elif added is None:
            text.append(f". {NOT_SAVED}", style="bold red")
        text.append(":")
        for _, reason in parsed.invalid[:8]:
            text.append("\n• " + inert(reason, limit=120))
        if len(parsed.invalid) > 8:
            text.append(f"\n… and {len(parsed.invalid) - 8} more")
        self._show_message(text)

    def _show_message(self, text: Text) -> None:
        self.query_one("#add-problems", Static).update(text)


class HelpScreen(ModalScreen[None]):
    """Every key of the dashboard, one per line."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    #help-dialog {
        width: 80%;
        max-width: 90;
        height: auto;
        max-height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 1 2;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "dismiss_help", "Close"),
    ]

    def __init__(self, keys: Iterable[tuple[str, str]]) -> None:
        super().__init__()
        self._keys = list(keys)

    def compose(self) -> ComposeResult:
        text = Text()
        text.append("veo-tui keys\n\n", style="bold")
        for key, description in self._keys:
            text.append(f"  {key:<14}", style="bold cyan")
            text.append(description + "\n")
        text.append(
            "\nIn the Videos panel, every URL has its own copy and open buttons "
            "(Tab to reach them). URLs can also be selected with the mouse.\n"
            "ctrl+p opens the command palette with every action and the theme "
            "choice.",
            style="dim",
        )
        with VerticalScroll(id="help-dialog"):
            yield Static(text)

    def action_dismiss_help(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A yes-or-no question, for actions that cost money (4K)."""

    DEFAULT_CSS = """
    ConfirmScreen {
        align: center middle;
    }
    #confirm-dialog {
        width: 70;
        height: auto;
        border: thick $warning;
        background: $surface;
        padding: 1 2;
    }
    #confirm-buttons {
        height: auto;
        margin-top: 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: Text) -> None:
        super().__init__()
        self._question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Static(self._question)
            with Vertical(id="confirm-buttons"):
                yield Button(
                    "Yes (y)", id="confirm-yes", variant="warning", compact=True
                )
                yield Button("No (n)", id="confirm-no", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
