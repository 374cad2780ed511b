"""The task table draws changed cells, and only those rows are redrawn."""

from __future__ import annotations

import pytest
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from veo_tui.ui.table import TaskTable


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TaskTable(cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(TaskTable)
        table.add_column("Name", key="name", width=8)
        table.add_column("State", key="state", width=12)
        for number in range(40):
            table.add_row(Text(f"row{number}"), Text("waiting"), key=f"r{number}")


def drawn(table: TaskTable) -> list[str]:
    """The table's lines as the screen would get them."""
    return [table.render_line(y).text for y in range(table.size.height)]


def line_of(table: TaskTable, name: str) -> str:
    (line,) = [line for line in drawn(table) if f" {name} " in line]
    return line


async def test_a_changed_cell_is_drawn_and_other_rows_stay_as_they_were() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(TaskTable)
        await pilot.pause()
        before = drawn(table)

        table.set_cells({"r2": {"state": Text("done")}})
        await pilot.pause()

        after = drawn(table)
        assert "done" in line_of(table, "row2")
        changed = [
            y
            for y, (old, new) in enumerate(zip(before, after, strict=True))
            if old != new
        ]
        assert changed == [3]  # under the header, the third row
        assert table.get_cell("r2", "state") == Text("done")


async def test_the_row_under_the_cursor_shows_its_change() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(TaskTable)
        await pilot.press("down")

        table.set_cells({"r1": {"name": Text("renamed"), "state": Text("failed")}})
        await pilot.pause()

        assert "renamed" in line_of(table, "renamed")
        assert "failed" in line_of(table, "renamed")
        assert table.cursor_row == 1


async def test_every_change_of_a_row_is_drawn_in_turn() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(TaskTable)
        for state in ("queued", "generating", "success"):
            table.set_cells({"r0": {"state": Text(state)}})
            await pilot.pause()

            assert state in line_of(table, "row0")


async def test_a_row_changed_off_screen_is_drawn_new_when_scrolled_to() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(TaskTable)
        await pilot.pause()

        table.set_cells({"r30": {"state": Text("expired")}})
        table.move_cursor(row=30)
        await pilot.pause()

        assert "expired" in line_of(table, "row30")


async def test_a_row_or_column_that_is_not_there_is_refused() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(TaskTable)
        await pilot.pause()

        with pytest.raises(KeyError):
            table.set_cells({"nope": {"state": Text("x")}})
        with pytest.raises(KeyError):
            table.set_cells({"r0": {"nope": Text("x")}})


async def test_rows_appended_in_chunks_are_drawn_where_they_belong() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(TaskTable)
        await pilot.pause()
        top = drawn(table)

        for chunk in range(3):
            table.append_rows(
                [
                    (f"n{n}", [Text(f"new{n}"), Text("queued")])
                    for n in range(chunk * 5, chunk * 5 + 5)
                ]
            )
            await pilot.pause()

        assert drawn(table) == top  # nothing on screen moved or changed
        assert table.row_count == 55
        assert table.virtual_size.height == 56  # the header and every row
        table.move_cursor(row=54)
        await pilot.pause()
        assert "new14" in line_of(table, "new14")
        assert "new10" in line_of(table, "new10")

        table.set_cells({"n14": {"state": Text("success")}})
        await pilot.pause()
        assert "success" in line_of(table, "new14")


class TwinApp(App[None]):
    """A TaskTable and a plain DataTable side by side, given the same changes."""

    CSS = "DataTable { width: 1fr; height: 1fr; }"

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield TaskTable(cursor_type="row", zebra_stripes=True, id="ours")
            yield DataTable[Text](cursor_type="row", zebra_stripes=True, id="theirs")

    def on_mount(self) -> None:
        for table in self.query(DataTable):
            table.add_column("Name", key="name", width=8)
            table.add_column("State", key="state", width=10)
            table.add_column("Note", key="note", width=7)
            for number in range(30):
                state = Text("waiting", style="yellow" if number % 2 else "")
                note = NOTES[number % len(NOTES)]
                table.add_row(Text(f"row{number}"), state, note, key=f"r{number}")


def _spans() -> Text:
    text = Text("●", style="bold cyan")
    text.append_text(Text("✔ ok", style="bold green"))
    text.append(" more", style="dim")
    return text


NOTES = [
    Text(""),
    Text("exactly"),  # the column's width
    Text("much longer than the column"),
    Text("much longer than the column", overflow="ellipsis"),
    Text("much longer than the column", no_wrap=True),
    Text("✔ saved", style="green"),
    Text("中文字幕的", style="bold red"),  # wide characters cut at the edge
    _spans(),
    Text("right", justify="right"),
    "a str",  # not Text: drawn the way DataTable draws it
]


def segments(table: DataTable[Text]) -> list[list[tuple[str, Style | None]]]:
    """Each drawn line as text and style, to compare two tables exactly."""
    return [
        [(segment.text, segment.style) for segment in table.render_line(y)]
        for y in range(table.size.height)
    ]


async def test_it_draws_exactly_what_a_plain_datatable_draws() -> None:
    app = TwinApp()
    async with app.run_test(size=(60, 14)) as pilot:
        ours = app.query_one("#ours", TaskTable)
        theirs = app.query_one("#theirs", DataTable)

        async def same_after(step: str) -> None:
            # Each drawn while it has the focus, as focus changes the colours.
            drawings = []
            for table in (ours, theirs):
                table.focus()
                await pilot.pause()
                drawings.append(segments(table))
            assert drawings[0] == drawings[1], step

        await same_after("start")
        for row in (1, 2, 5, 12, 25, 3, 0):  # down, far down (scrolls), back up
            ours.move_cursor(row=row)
            theirs.move_cursor(row=row)
            await same_after(f"cursor on {row}")
        ours.set_cells({"r1": {"state": Text("success", style="green")}})
        theirs.update_cell("r1", "state", Text("success", style="green"))
        await same_after("a cell changed")
        ours.append_rows(
            [(f"n{n}", [Text(f"new{n}"), Text("queued")]) for n in range(4)]
        )
        for n in range(4):
            theirs.add_row(Text(f"new{n}"), Text("queued"), key=f"n{n}")
        await same_after("rows appended")
        for table in (ours, theirs):
            table.move_cursor(row=33)
        await same_after("cursor on an appended row")
        gone = ["r2", "r5", "r7", "n1", "n3"]  # the cursor's row among them
        ours.remove_rows(gone)
        for key in gone:
            theirs.remove_row(key)
        await same_after("rows removed")
        assert [row.key.value for row in ours.ordered_rows] == [
            row.key.value for row in theirs.ordered_rows
        ]
        with pytest.raises(RowDoesNotExist):
            ours.remove_rows(["r2"])
