"""The task table: a DataTable that repaints only the rows that changed."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual._types import SegmentLines
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.geometry import Size
from textual.widgets import DataTable
from textual.widgets.data_table import CellKey, ColumnKey, RowDoesNotExist, RowKey

Key = TypeVar("Key", bound=Hashable)

_ELSEWHERE = Coordinate(-2, -2)
"""Where the cursor is, for a row it is not on (no row or header is at -2)."""


class TaskTable(DataTable[Text]):
    """A ``DataTable`` for a watchlist whose rows change a few at a time.

    DataTable keys its render caches by a counter that every change bumps and
    by the cursor's position, so one changed cell, one added row or one
    cursor move makes the next frame render every visible cell or row again
    (~270 cells at 120x36, 15-25 ms). With answers arriving in batches ten
    times a second during a refresh, that work sat in front of key presses.
    Here :meth:`set_cells` drops only the changed cells and rows from the
    caches, :meth:`append_rows` adds rows below the others without touching
    them, and a row's cached rendering only depends on whether the cursor is
    on it.

    This reaches into DataTable's caches, so it is tied to the pinned Textual
    version; tests/ui/test_table.py draws it beside a plain DataTable through
    the same changes and compares every segment, and the snapshot tests check
    the rest.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # DataTable's Home and End scroll sideways; in a list of tasks they
        # mean the first and the last one.
        Binding("home", "scroll_top", "First", show=False),
        Binding("end", "scroll_bottom", "Last", show=False),
    ]

    def append_rows(self, rows: Sequence[tuple[str, Sequence[Text]]]) -> None:
        """Add rows after the last one, by key and cells; no drawn row changes.

        ``add_row`` bumps the counter of every render cache key as well, so
        filling a long table a chunk at a time re-rendered the visible cells
        at each chunk; a row added below the others changes none of them.
        """
        if not rows:
            return
        count = self._update_count
        offsets = self._offset_cache.get(count)  # y -> (row, line in row)
        for key, cells in rows:
            row_key = self.add_row(*cells, key=key)
            if offsets is not None:
                offsets.extend((row_key, y) for y in range(self.rows[row_key].height))
        self._update_count = count

    def remove_rows(self, keys: Iterable[str]) -> None:
        """Remove these rows at once; the others keep their order.

        ``remove_row`` renumbers every row after the one removed, so hiding
        4,000 rows behind a filter one by one took 10-15 s; this renumbers
        once.
        """
        doomed = {RowKey(key) for key in keys}
        if not doomed:
            return
        missing = doomed - set(self._row_locations)
        if missing:
            raise RowDoesNotExist(f"Row keys not in the table: {sorted(missing)!r}")
        order = sorted(
            (index, row_key)
            for row_key in self._row_locations
            if (index := self._row_locations.get(row_key)) is not None
        )
        kept = [row_key for _, row_key in order if row_key not in doomed]
        self._row_locations = TwoWayDict(
            {row_key: index for index, row_key in enumerate(kept)}
        )
        for row_key in doomed:
            for column_key in self._data[row_key]:
                self._updated_cells.discard(CellKey(row_key, column_key))
            del self.rows[row_key]
            del self._data[row_key]
        self._require_update_dimensions = True
        self.check_idle()
        self.cursor_coordinate = self.cursor_coordinate
        self.hover_coordinate = self.hover_coordinate
        self._update_count += 1
        self.refresh(layout=True)

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        # DataTable measures every cell of every new row to size its columns;
        # when no column sizes itself and no row does, there is nothing to
        # learn from that (a tenth of a millisecond a row, 10,000 rows).
        if any(column.auto_width for column in self.columns.values()) or any(
            row.auto_height or row.label is not None
            for key in new_rows
            if (row := self.rows.get(key)) is not None
        ):
            super()._update_dimensions(new_rows)
            return
        header_height = self.header_height if self.show_header else 0
        self.virtual_size = Size(
            sum(column.get_render_width(self) for column in self.columns.values())
            + self._row_label_column_width,
            sum(row.height for row in self.rows.values()) + header_height,
        )

    def _render_line_in_row(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> tuple[SegmentLines, SegmentLines]:
        # DataTable caches each row's rendering keyed by where the cursor is,
        # so a cursor move re-renders every visible row. With a row cursor, a
        # row only needs to know whether the cursor (or the mouse) is on it.
        if self.cursor_type == "row":
            row = (
                self._row_locations.get(row_key)
                if row_key in self._row_locations
                else -1  # the header
            )
            if cursor_location.row != row:
                cursor_location = _ELSEWHERE
            if hover_location.row != row:
                hover_location = _ELSEWHERE
        return super()._render_line_in_row(
            row_key, line_no, base_style, cursor_location, hover_location
        )

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> SegmentLines:
        # DataTable renders a cell as Styled(Padding(cell)) through two more
        # layers of Console.render_lines; for a one-line row of Text that is
        # the cell's own line between two pad segments, styled. The same
        # segments (the twin test compares them) for ~30% less time: a
        # screenful of cells is drawn at start and at every scroll.
        padding = self.cell_padding
        row_key = self._row_locations.get_key(row_index) if row_index >= 0 else None
        column_key = self._column_locations.get_key(column_index)
        row = self.rows.get(row_key) if row_key is not None else None
        if (
            row_key is None
            or column_key is None
            or row is None
            or row.height != 1
            or row_index < self.fixed_rows
            or column_index < self.fixed_columns
            or width <= 2 * padding
        ):
            return super()._render_cell(
                row_index, column_index, base_style, width, cursor, hover
            )
        key = (
            row_key,
            column_key,
            base_style,
            cursor,
            hover,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        cache = self._cell_render_cache
        lines = cache.get(key)
        if lines is not None:
            return lines
        cell = self._get_row_renderables(row_index).cells[column_index]
        if not isinstance(cell, Text):
            return super()._render_cell(
                row_index, column_index, base_style, width, cursor, hover
            )
        style = base_style + Style.from_meta({"row": row_index, "column": column_index})
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        console = self.app.console
        options = self.app.console_options.update_dimensions(width - 2 * padding, 1)
        pad_style = console.get_style("none")  # Padding's default style
        inner = console.render_lines(
            cell, options.update(no_wrap=True), style=pad_style, pad=True
        )
        pad = Segment(" " * padding, pad_style)
        line = [pad, *inner[0], pad] if padding else list(inner[0])
        lines = [
            list(
                Segment.apply_style(
                    line, style=style + component_style, post_style=post_style
                )
            )
        ]
        cache[key] = lines
        return lines

    def set_cells(self, changes: Mapping[str, Mapping[str, Text]]) -> None:
        """Put new values in cells, by row key and column key; no widths change.

        Raises:
            KeyError: A row or column is not in the table.
        """
        rows: set[RowKey] = set()
        cells: set[tuple[RowKey, ColumnKey]] = set()
        for row, values in changes.items():
            row_key = RowKey(row)
            data = self._data[row_key]
            for column, value in values.items():
                column_key = ColumnKey(column)
                if column_key not in data:
                    raise KeyError(column)
                data[column_key] = value
                cells.add((row_key, column_key))
            rows.add(row_key)
        if not rows:
            return
        indexes = {self._row_locations.get(row_key) for row_key in rows}
        self._forget(rows, cells, indexes)
        for index in indexes:
            if index is not None:
                self.refresh_row(index)

    def _forget(
        self,
        rows: set[RowKey],
        cells: set[tuple[RowKey, ColumnKey]],
        indexes: set[int | None],
    ) -> None:
        """Drop what is cached of the rendering of these cells and rows."""
        _discard_where(self._cell_render_cache, lambda key: key[:2] in cells)
        _discard_where(self._row_render_cache, lambda key: key[0] in rows)
        _discard_where(self._row_renderable_cache, lambda key: key[1] in indexes)
        # Whole screen lines, keyed by their y: cheap to rebuild from the rows.
        self._line_cache.clear()


def _discard_where(cache: LRUCache[Key, Any], doomed: Callable[[Key], bool]) -> None:
    # LRUCache has keys() but is not iterable itself.
    for key in [key for key in cache.keys() if doomed(key)]:  # noqa: SIM118
        cache.discard(key)
