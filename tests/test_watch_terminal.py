"""``veo-tui watch`` on a terminal: the live table, as a terminal would show it.

The drawings go to a small terminal model that wraps long lines, scrolls what
leaves the top into its scrollback, and rewraps its lines when it is made
narrower, as most terminals do. Each test then reads what a user would see.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from typing import TextIO, cast

import pytest
from rich.cells import get_character_cell_size

from tests.test_watch import FAST, SCENARIO, SIM_KEY, options
from veo_tui.cli.watch import Watch
from veo_tui.domain import State, TaskRecord
from veo_tui.sim import RunningSim, parse_scenario, running_sim_in_thread

_CONTROL = re.compile(r"\x1b\[(\d*)([A-Za-z])|\n")


class Terminal:
    """A terminal, enough of one for the watch's drawings.

    Its rows hold every row ever shown, the scrollback first; ``top`` is the
    first row on the screen. A row that a long line wrapped out of is marked,
    so that a narrower terminal can rewrap whole lines.
    """

    def __init__(self, columns: int, lines: int) -> None:
        self.columns = columns
        self.lines = lines
        self.rows: list[list[str]] = [[]]
        self.wrapped: list[bool] = [False]
        self.top = 0
        self.row = 0
        self.column = 0

    # What the watch sees.

    def write(self, text: str) -> int:
        position = 0
        for control in _CONTROL.finditer(text):
            self._print(text[position : control.start()])
            self._control(control)
            position = control.end()
        self._print(text[position:])
        return len(text)

    def flush(self) -> None:
        pass

    def size(self, fallback: tuple[int, int] = (80, 24)) -> os.terminal_size:
        return os.terminal_size((self.columns, self.lines))

    # What the user sees.

    def history(self) -> list[str]:
        """Every line shown, scrollback and screen, wrapped ones joined again."""
        text = "".join(self._logical_text()).removesuffix("\n")
        return [line.rstrip() for line in text.split("\n")]

    def screen(self) -> list[str]:
        """The rows on the screen now, as shown."""
        rows = self.rows[self.top : self.top + self.lines]
        return ["".join(row).rstrip() for row in rows]

    def resize(self, columns: int) -> None:
        """Make the terminal ``columns`` wide; its lines rewrap to fit."""
        lines: list[list[str]] = [[]]
        cursor_line = cursor_offset = 0
        for index, row in enumerate(self.rows):
            if index == self.row:
                cursor_line, cursor_offset = len(lines) - 1, len(lines[-1])
                cursor_offset += self.column
            lines[-1].extend(row)
            if not self.wrapped[index]:
                lines.append([])
        lines.pop()
        self.columns = columns
        self.rows, self.wrapped = [], []
        for number, line in enumerate(lines):
            for start in range(0, max(1, len(line)), columns):
                if number == cursor_line and start <= cursor_offset:
                    self.row = len(self.rows)
                    self.column = cursor_offset - start
                self.rows.append(line[start : start + columns])
                self.wrapped.append(start + columns < len(line))
        self.top = max(0, self.row - self.lines + 1)

    # The model.

    def _logical_text(self) -> Iterator[str]:
        for row, wrapped in zip(self.rows, self.wrapped, strict=True):
            yield "".join(row)
            if not wrapped:
                yield "\n"

    def _print(self, text: str) -> None:
        for char in text:
            width = get_character_cell_size(char)
            if self.column + width > self.columns:
                self.wrapped[self.row] = True
                self._line_feed()
            row = self.rows[self.row]
            row.extend(" " * max(0, self.column - len(row)))
            row[self.column : self.column + width] = [char] + [""] * (width - 1)
            self.column += width

    def _control(self, control: re.Match[str]) -> None:
        if control.group(0) == "\n":
            self._line_feed()
            return
        count, command = int(control.group(1) or "1"), control.group(2)
        if command == "F":
            self.row, self.column = max(self.top, self.row - count), 0
        elif command == "E":  # down, to the first column; never scrolls
            self.row = min(self.row + count, self.top + self.lines - 1)
            self.column = 0
            while len(self.rows) <= self.row:
                self.rows.append([])
                self.wrapped.append(False)
        elif command == "K" and count == 2:
            self.rows[self.row].clear()
            self.wrapped[self.row] = False
        else:
            # "\x1b[J" (erase below) among them: at the screen's top, tmux
            # takes it for a clear screen and keeps a copy in its scrollback.
            raise AssertionError(f"unexpected control {control.group(0)!r}")

    def _line_feed(self) -> None:
        # A terminal's "\n" returns to the first column too (onlcr).
        self.row, self.column = self.row + 1, 0
        if self.row == len(self.rows):
            self.rows.append([])
            self.wrapped.append(False)
        if self.row >= self.top + self.lines:
            self.top += 1


def _live_watch(
    terminal: Terminal, monkeypatch: pytest.MonkeyPatch, records: list[TaskRecord]
) -> Watch:
    """A live watch with these records known, drawing on ``terminal``."""
    monkeypatch.setattr("veo_tui.cli.watch.shutil.get_terminal_size", terminal.size)
    watch = Watch(
        [record.task_id for record in records], live=True, out=cast(TextIO, terminal)
    )
    for record in records:
        watch.tasks[record.task_id].result = record
    return watch


def _ids(count: int) -> list[str]:
    return [f"{number:02}" + "c" * 30 for number in range(count)]


def _url(length: int) -> str:
    """A result URL ``length`` characters long."""
    start = "http://127.0.0.1:8778/files/"
    return start + "v" * (length - len(start) - 4) + ".mp4"


def _count(lines: list[str], text: str) -> int:
    return sum(line.count(text) for line in lines)


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    scenario = parse_scenario(SCENARIO, source="watch terminal test")
    with running_sim_in_thread(scenario=scenario, key=SIM_KEY, port=0) as running:
        yield running


def test_on_a_terminal_the_last_drawing_shows_whole_urls(
    sim: RunningSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim.reset(speed=5)
    terminal = Terminal(40, 24)
    monkeypatch.setattr("veo_tui.cli.watch.shutil.get_terminal_size", terminal.size)
    runner = Watch(["done-ok"], live=True, out=cast(TextIO, terminal))

    status = asyncio.run(runner.run(options(sim), FAST, give_up_after=20))

    url = f"{sim.base_url}/files/done-ok/result-0.mp4"
    assert status == 0
    assert terminal.history()[0].endswith(url)
    assert terminal.history()[1:] == ["1 of 1 finished", ""]


def test_a_final_line_that_wraps_leaves_no_stale_text_under_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    terminal = Terminal(100, 24)
    done, pending = _ids(2)
    url = _url(150)
    watch = _live_watch(
        terminal,
        monkeypatch,
        [
            TaskRecord(done, State.SUCCESS, result_urls=(url,)),
            TaskRecord(pending, State.GENERATING),
        ],
    )
    watch._draw()
    watch.tasks[pending].result = TaskRecord(pending, State.FAILED)

    watch._draw(final=True)

    history = terminal.history()
    assert history[0].endswith(url)
    assert history[1].startswith(pending)
    assert "generating" not in "".join(history)
    assert history[2:] == ["0 of 2 finished", ""]


def test_lines_of_wide_characters_are_cut_to_the_width_while_redrawn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    terminal = Terminal(60, 24)
    task_ids = _ids(2)
    reason = "内容违反了使用政策" * 5
    watch = _live_watch(
        terminal,
        monkeypatch,
        [
            TaskRecord(task_id, State.FAILED, error_message=reason)
            for task_id in task_ids
        ],
    )

    for _ in range(3):
        watch._draw()

    assert not any(terminal.wrapped)
    assert [_count(terminal.history(), task_id) for task_id in task_ids] == [1, 1]


def test_a_table_taller_than_the_terminal_is_cut_while_redrawn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    terminal = Terminal(100, 10)
    task_ids = _ids(16)
    watch = _live_watch(
        terminal, monkeypatch, [TaskRecord(t, State.GENERATING) for t in task_ids]
    )

    for _ in range(3):
        watch._draw()

    assert terminal.top == 0  # nothing scrolled away
    assert terminal.screen()[7:] == ["… and 9 more", "0 of 16 finished", ""]
    assert [_count(terminal.history(), t) for t in task_ids] == [1] * 7 + [0] * 9


def test_the_last_drawing_of_a_tall_table_shows_every_task_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    terminal = Terminal(100, 10)
    terminal.write("$ veo-tui watch …\n")
    task_ids = _ids(16)
    watch = _live_watch(
        terminal, monkeypatch, [TaskRecord(t, State.GENERATING) for t in task_ids]
    )
    for _ in range(3):
        watch._draw()

    watch._draw(final=True)

    history = terminal.history()
    assert history[0] == "$ veo-tui watch …"
    assert [_count(history, t) for t in task_ids] == [1] * 16
    assert history[-2:] == ["0 of 16 finished", ""]


def test_after_the_terminal_is_made_narrower_no_copy_is_left_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    terminal = Terminal(100, 24)
    task_ids = _ids(3)
    watch = _live_watch(
        terminal,
        monkeypatch,
        [TaskRecord(t, State.SUCCESS, result_urls=(_url(60),)) for t in task_ids],
    )
    watch._draw()

    terminal.resize(50)
    watch._draw()
    watch._draw(final=True)

    history = terminal.history()
    assert [_count(history, t) for t in task_ids] == [1, 1, 1]
    assert history[-2:] == ["0 of 3 finished", ""]
