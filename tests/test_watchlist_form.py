"""The watchlist's own-form reader reads exactly what tomllib reads, faster.

The store reads the file it wrote with a few line checks instead of tomllib
(start-up with a 1,000-task watchlist), and hands anything else to tomllib.
These tests hold it to that: on our own files, on any edit of them, and on
entries with any text in them, it yields tomllib's document or steps aside.
"""

from __future__ import annotations

import tempfile
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from veo_tui.domain import FetchError, FetchErrorKind, State, TaskRecord
from veo_tui.store import watchlist
from veo_tui.store.watchlist import WatchEntry, WatchlistError, WatchlistStore

T0 = datetime(2025, 6, 6, 10, 25, tzinfo=UTC)


def sample_entries(count: int) -> list[WatchEntry]:
    entries = []
    for number in range(count):
        task_id = f"veo_task_{number:04d}"
        record = TaskRecord(
            task_id,
            State.SUCCESS if number % 2 else State.FAILED,
            success_flag=1 if number % 2 else 2,
            result_urls=(f"https://example.com/{number}.mp4",),
            error_message=None if number % 2 else 'it\'s "bad" \\ ünïcode',
            created_at=T0,
            completed_at=T0 + timedelta(seconds=90, microseconds=number),
            prompt="a 'quoted' prompt\twith a tab",
            params={"waterMark": None, "seeds": [1, 2.5]},
        )
        error = FetchError(FetchErrorKind.TIMEOUT, "slow", retry_after=1.5)
        entries.append(
            WatchEntry(
                task_id,
                T0 + timedelta(microseconds=number),
                record if number % 3 else None,
                T0 + timedelta(minutes=number) if number % 3 else None,
                error if number % 5 == 0 else None,
            )
        )
    return entries


def both_readers(text: str) -> tuple[dict[str, Any] | None, Any]:
    """Our reader's document, and tomllib's (or the error it raised)."""
    ours = watchlist._read_own_form(text)
    try:
        theirs: Any = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        theirs = error
    return ours, theirs


def test_our_own_files_are_read_without_tomllib_and_alike() -> None:
    text = watchlist._dump(sample_entries(40))

    ours, theirs = both_readers(text)

    assert ours is not None  # the fast path was taken
    assert ours == theirs


def test_an_empty_watchlist_reads_alike() -> None:
    ours, theirs = both_readers(watchlist._dump([]))

    assert ours == theirs == {"version": 1, "count": 0}


def test_the_store_reads_back_every_entry_as_written(tmp_path: Path) -> None:
    path = tmp_path / "watchlist.toml"
    entries = sample_entries(25)
    path.write_text(watchlist._dump(entries), "utf-8")

    assert WatchlistStore(path).load() == entries


@settings(max_examples=300, deadline=None)
@given(
    position=st.integers(min_value=0, max_value=10_000),
    cut=st.integers(min_value=0, max_value=3),
    insert=st.text(max_size=3),
)
def test_any_edit_of_our_file_is_read_as_tomllib_reads_it_or_left_to_it(
    position: int, cut: int, insert: str
) -> None:
    text = watchlist._dump(sample_entries(6))
    at = position % (len(text) + 1)
    edited = text[:at] + insert + text[at + cut :]

    ours, theirs = both_readers(edited)

    if ours is not None:
        assert not isinstance(theirs, Exception), "we read a file tomllib refuses"
        assert ours == theirs


@settings(max_examples=200, deadline=None)
@given(
    task_id=st.text(min_size=1, max_size=20),
    prompt=st.text(max_size=20),
    micro=st.integers(min_value=0, max_value=999_999),
)
def test_entries_with_any_text_read_alike(
    task_id: str, prompt: str, micro: int
) -> None:
    record = TaskRecord(task_id, State.GENERATING, prompt=prompt)
    moment = T0 + timedelta(microseconds=micro)
    text = watchlist._dump([WatchEntry(task_id, moment, record, moment)])

    ours, theirs = both_readers(text)

    assert not isinstance(theirs, Exception)
    if ours is not None:
        assert ours == theirs


def test_a_hand_edited_file_is_still_read(tmp_path: Path) -> None:
    path = tmp_path / "watchlist.toml"
    path.write_text(
        "# mine now\nversion = 1\ncount = 2\n\n"
        "[[tasks]]\ntask_id = 'a'   # a comment\nadded_at = 2025-01-01T00:00:00Z\n"
        '[[tasks]]\ntask_id="b"\nadded_at = 2025-01-01 00:00:01+02:00\n',
        "utf-8",
    )

    entries = WatchlistStore(path).load()

    assert [(e.task_id, e.added_at) for e in entries] == [
        ("a", datetime(2025, 1, 1, tzinfo=UTC)),
        ("b", datetime(2024, 12, 31, 22, 0, 1, tzinfo=UTC)),
    ]


def test_a_repeated_key_is_refused_as_tomllib_refuses_it(tmp_path: Path) -> None:
    """Not read by the fast path: the entry with the key twice is skipped (the
    file is not valid TOML), the other kept, and the file copied aside."""
    path = tmp_path / "watchlist.toml"
    text = watchlist._dump(sample_entries(2))
    edited = text.replace("[[tasks]]\n", '[[tasks]]\ntask_id = "x"\n', 1)
    path.write_text(edited)
    store = WatchlistStore(path)

    assert [e.task_id for e in store.load()] == ["veo_task_0001"]
    assert "is not valid TOML (Cannot overwrite a value" in store.warnings[0]
    (copy,) = tmp_path.glob("watchlist.toml.kept-*")
    assert copy.read_text() == edited


def test_saves_after_changes_write_what_a_full_rewrite_would(tmp_path: Path) -> None:
    """The store reuses the text of unchanged entries; it must never be stale."""
    path = tmp_path / "watchlist.toml"
    store = WatchlistStore(path)
    store.add([f"t{n}" for n in range(10)], T0)
    for state in (State.GENERATING, State.SUCCESS):
        first, *_ = store.load()
        store.update([first.with_result(TaskRecord("t0", state), T0)])
    fifth = store.load()[4]
    store.update([fifth.with_result(FetchError(FetchErrorKind.SERVER, "502"), T0)])
    store.remove(["t7"])
    store.add(["late"], T0 + timedelta(hours=1))

    on_disk = path.read_text("utf-8")

    assert on_disk == watchlist._dump(WatchlistStore(path).load())
    entries = WatchlistStore(path).load()
    assert entries[0].record == TaskRecord("t0", State.SUCCESS)
    assert entries[4].fetch_error is not None
    assert [e.task_id for e in entries][-2:] == ["t9", "late"]


@settings(max_examples=200, deadline=None)
@given(
    position=st.integers(min_value=0, max_value=10_000),
    cut=st.integers(min_value=0, max_value=12),
    insert=st.sampled_from(["", "[", "[[tasks", "]", "'", '"', "=", "\n", "x = 1\n"]),
)
def test_no_edit_of_our_file_is_lost(position: int, cut: int, insert: str) -> None:
    """Whatever an edit breaks, the store reads without crashing, and when it
    cannot read every entry, the file as it was survives the next save."""
    text = watchlist._dump(sample_entries(6))
    at = position % (len(text) + 1)
    edited = text[:at] + insert + text[at + cut :]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "watchlist.toml"
        path.write_text(edited, "utf-8")
        store = WatchlistStore(path)

        refusal = ""
        try:
            entries = store.load()
            store.add(["new"], T0)
        except WatchlistError as error:  # an edit to "version = 6", say
            refusal = str(error)
            entries = []

        assert not refusal or "newer veo-tui" in refusal

        assert len(entries) <= 6
        if len(entries) < 6:
            files = [p for p in Path(folder).iterdir() if p.is_file()]
            assert edited in [p.read_text("utf-8") for p in files]
