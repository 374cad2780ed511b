"""The watchlist file: round trips, changes, corruption, crashes and concurrency."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import tomllib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from veo_tui.domain import FetchError, FetchErrorKind, State, TaskRecord
from veo_tui.store.watchlist import (
    FileGuard,
    WatchEntry,
    WatchlistError,
    WatchlistStore,
    default_watchlist_path,
)

CHILD = Path(__file__).parent / "helpers_watchlist_child.py"
T0 = datetime(2025, 6, 6, 10, 25, tzinfo=UTC)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "watchlist.toml"


@pytest.fixture
def store(path: Path) -> WatchlistStore:
    return WatchlistStore(path)


def full_record(task_id: str = "veo_task_1") -> TaskRecord:
    """A record with every field set, including awkward text."""
    return TaskRecord(
        task_id=task_id,
        state=State.SUCCESS,
        success_flag=1,
        result_urls=("https://example.com/a.mp4", "https://example.com/b.mp4"),
        origin_urls=("https://example.com/o.mp4",),
        full_result_urls=("https://example.com/full.mp4",),
        resolution="1080p",
        error_code="E42",
        error_message='it\'s "quoted"\nand\ttabbed \x7f \U0001f3ac',
        created_at=T0,
        completed_at=T0 + timedelta(seconds=94, microseconds=123456),
        prompt="A city at sunset ''' \\ [markup]",
        params={"prompt": "p", "waterMark": None, "seeds": [1, 2.5], "nested": {}},
        message="record status is not success",
    )


def test_default_path_is_in_the_user_data_folder() -> None:
    path = default_watchlist_path()

    assert path == Path(os.environ["XDG_DATA_HOME"]) / "veo-tui" / "watchlist.toml"


def test_a_missing_file_is_an_empty_watchlist(store: WatchlistStore) -> None:
    assert store.load() == []


def test_add_creates_the_folder_and_keeps_insertion_order(
    store: WatchlistStore, path: Path
) -> None:
    store.add(["c", "a"], T0)
    store.add(["b"], T0 + timedelta(seconds=1))

    assert [e.task_id for e in WatchlistStore(path).load()] == ["c", "a", "b"]


def test_add_skips_present_and_repeated_ids(store: WatchlistStore) -> None:
    store.add(["a"], T0)

    added = store.add(["a", "b", "b", "c"], T0)

    assert added == ["b", "c"]
    assert [e.task_id for e in store.load()] == ["a", "b", "c"]


def test_added_at_is_stored_in_utc(store: WatchlistStore) -> None:
    store.add(["a"], T0.astimezone(timezone(timedelta(hours=2))))

    (entry,) = store.load()

    assert entry.added_at == T0
    assert entry.added_at.utcoffset() == timedelta(0)


def test_every_record_field_survives_a_round_trip(
    store: WatchlistStore, path: Path
) -> None:
    record = full_record()
    error = FetchError(
        FetchErrorKind.RATE_LIMITED,
        "slow down",
        code=429,
        retryable=True,
        retry_after=12.5,
    )
    store.add(["veo_task_1"], T0)
    updated = WatchEntry(
        "veo_task_1",
        T0,
        record,
        checked_at=T0 + timedelta(minutes=1),
        fetch_error=error,
    )

    store.update([updated])
    (loaded,) = WatchlistStore(path).load()

    assert loaded == updated
    assert loaded.record is not None
    assert loaded.record.params == record.params
    assert {f: getattr(loaded.record, f) for f in record.__slots__} == {
        f: getattr(record, f) for f in record.__slots__
    }


def test_a_minimal_record_round_trips_without_empty_keys(
    store: WatchlistStore, path: Path
) -> None:
    store.add(["a"], T0)
    entry = store.load()[0].with_result(TaskRecord("a", State.GENERATING), T0)

    store.update([entry])

    assert WatchlistStore(path).load() == [entry]
    assert "None" not in path.read_text()


def test_the_file_is_valid_toml_with_a_version(
    store: WatchlistStore, path: Path
) -> None:
    store.add(["a"], T0)
    store.update([store.load()[0].with_result(full_record("a"), T0)])

    document = tomllib.loads(path.read_text("utf-8"))

    assert document["version"] == 1
    assert document["tasks"][0]["task_id"] == "a"


def test_awkward_task_ids_round_trip(store: WatchlistStore, path: Path) -> None:
    ids = ['quote"d', "back\\slash", "del\x7f", "emoji\U0001f3ac", "it's"]

    store.add(ids, T0)

    assert [e.task_id for e in WatchlistStore(path).load()] == ids


def test_with_result_keeps_the_last_record_on_a_fetch_error() -> None:
    record = full_record("a")
    entry = WatchEntry("a", T0, record, T0)
    error = FetchError(FetchErrorKind.NETWORK, "down")

    stale = entry.with_result(error, T0 + timedelta(seconds=5))

    assert stale.record == record
    assert stale.fetch_error == error
    assert stale.checked_at == T0 + timedelta(seconds=5)


def test_with_result_clears_the_error_when_a_record_comes() -> None:
    entry = WatchEntry("a", T0, fetch_error=FetchError(FetchErrorKind.NETWORK, "x"))

    fresh = entry.with_result(TaskRecord("a", State.GENERATING), T0)

    assert fresh.fetch_error is None
    assert fresh.record == TaskRecord("a", State.GENERATING)


def test_remove_returns_the_removed_entries(store: WatchlistStore) -> None:
    store.add(["a", "b", "c"], T0)

    removed = store.remove(["b", "zz"])

    assert [e.task_id for e in removed] == ["b"]
    assert [e.task_id for e in store.load()] == ["a", "c"]


def test_restore_puts_removed_entries_back_in_their_place(
    store: WatchlistStore,
) -> None:
    for n, task_id in enumerate(["a", "b", "c", "d"]):
        store.add([task_id], T0 + timedelta(seconds=n))
    removed = store.remove(["b", "d"])

    store.restore(removed)

    assert [e.task_id for e in store.load()] == ["a", "b", "c", "d"]


def test_restore_keeps_an_entry_added_again_meanwhile(store: WatchlistStore) -> None:
    store.add(["a"], T0)
    removed = store.remove(["a"])
    store.add(["a"], T0 + timedelta(hours=1))

    store.restore(removed)

    assert [e.added_at for e in store.load()] == [T0 + timedelta(hours=1)]


def test_update_ignores_ids_no_longer_watched(store: WatchlistStore) -> None:
    store.add(["a"], T0)
    gone = WatchEntry("gone", T0).with_result(TaskRecord("gone", State.SUCCESS), T0)

    store.update([gone])

    assert [e.task_id for e in store.load()] == ["a"]


def test_update_keeps_added_at_and_order(store: WatchlistStore) -> None:
    store.add(["a", "b"], T0)
    later = WatchEntry("a", T0 + timedelta(days=3), TaskRecord("a", State.FAILED))

    store.update([later])

    saved = [(e.task_id, e.added_at) for e in store.load()]
    assert saved == [("a", T0), ("b", T0 + timedelta(microseconds=1))]
    assert store.load()[0].record == TaskRecord("a", State.FAILED)


def test_ids_added_together_go_back_in_order_after_undo(store: WatchlistStore) -> None:
    store.add(["a", "b", "c"], T0)
    removed = store.remove(["a"])

    store.restore(removed)

    assert [e.task_id for e in store.load()] == ["a", "b", "c"]


def test_a_change_made_by_another_store_is_seen(path: Path) -> None:
    mine, theirs = WatchlistStore(path), WatchlistStore(path)
    mine.add(["a"], T0)
    mine.load()

    theirs.add(["b"], T0)

    assert [e.task_id for e in mine.load()] == ["a", "b"]


def test_a_change_read_in_passing_while_saving_is_still_reported(path: Path) -> None:
    """A dashboard saving its checks must still learn of `veo-tui add`."""
    mine, theirs = WatchlistStore(path), WatchlistStore(path)
    mine.add(["a"], T0)
    entry = mine.load()[0]
    assert not mine.changed()

    theirs.add(["b"], T0)
    mine.update([entry.with_result(TaskRecord("a", State.GENERATING), T0)])

    assert mine.changed()  # though the file is as mine last wrote it
    assert [e.task_id for e in mine.load()] == ["a", "b"]
    assert not mine.changed()


@pytest.mark.parametrize(
    "content",
    [
        b'version = 1\ncount = 1\n[[tasks]]\ntask_id = "a',
        b"\xff\xfe not utf-8",
        b"version = 1\ncount = 1\ntasks = 'a'\n",
        b"not toml at all [",
        b'version = 1\ncount = 1\n[[tasks\ntask_id = "a"\n',
    ],
    ids=["truncated", "not-utf8", "tasks-not-a-list", "not-toml", "no-task-readable"],
)
def test_a_corrupt_file_is_moved_aside_and_reported(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    store = WatchlistStore(path)

    entries = store.load()

    (aside,) = path.parent.glob("watchlist.toml.corrupt-*")
    assert entries == []
    assert aside.read_bytes() == content
    assert not path.exists()
    assert aside.name in store.warnings[0]


GOOD_TASK = "[[tasks]]\ntask_id = 'a'\nadded_at = 2025-01-01T00:00:00Z\n"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("version = 1\ncount = 2\n" + GOOD_TASK, "says it holds 2 task(s) but holds 1"),
        ("version = 1\n" + GOOD_TASK, "has no valid 'count' line"),
        ("version = 1\ncount = '1'\n" + GOOD_TASK, "has no valid 'count' line"),
    ],
    ids=["cut-short-or-edited", "no-count", "count-not-a-number"],
)
def test_a_wrong_count_keeps_the_tasks_and_a_copy_of_the_file(
    path: Path, content: str, problem: str
) -> None:
    path.parent.mkdir(parents=True)
    path.write_text(content, "utf-8")
    store = WatchlistStore(path)

    assert [e.task_id for e in store.load()] == ["a"]
    (copy,) = path.parent.glob("watchlist.toml.kept-*")
    assert copy.read_text("utf-8") == content
    assert problem in store.warnings[0]
    assert copy.name in store.warnings[0]

    store.add(["b"], T0)  # the next write rewrites it whole, count and all

    assert [e.task_id for e in WatchlistStore(path).load()] == ["a", "b"]
    assert copy.read_text("utf-8") == content
    assert not list(path.parent.glob("*.corrupt-*"))


@pytest.mark.parametrize(
    "version_line",
    ["", "version = 'x'\n", "version = '1'\n", "version = 0\n", "version = true\n"],
    ids=["no-version", "text", "number-as-text", "zero", "boolean"],
)
def test_a_missing_or_unreadable_version_keeps_the_tasks_and_a_copy(
    path: Path, version_line: str
) -> None:
    """A hand-written file is read as the current layout, not moved aside."""
    path.parent.mkdir(parents=True)
    content = version_line + "count = 1\n" + GOOD_TASK
    path.write_text(content, "utf-8")
    store = WatchlistStore(path)

    assert [e.task_id for e in store.load()] == ["a"]

    (copy,) = path.parent.glob("watchlist.toml.kept-*")
    assert copy.read_text("utf-8") == content
    assert store.warnings == [
        f"The watchlist {path} has no valid 'version' line; the 1 task(s) that "
        f"could be read are kept, and the file as it was is saved as {copy.name}."
    ]
    assert not list(path.parent.glob("*.corrupt-*"))

    store.add(["b"], T0)  # the next write gives it a version again

    assert tomllib.loads(path.read_text("utf-8"))["version"] == 1
    assert [e.task_id for e in WatchlistStore(path).load()] == ["a", "b"]


def test_tasks_alone_without_version_or_count_are_read(path: Path) -> None:
    """The tester's file: two lines, no version, no count, no added_at."""
    path.parent.mkdir(parents=True)
    path.write_text('[[tasks]]\ntask_id = "good1"\n', "utf-8")
    store = WatchlistStore(path)

    assert [e.task_id for e in store.load()] == ["good1"]
    assert any(
        "has no valid 'version' line and has no valid 'count' line" in warning
        for warning in store.warnings
    )
    assert len(list(path.parent.glob("watchlist.toml.kept-*"))) == 1
    assert path.read_text("utf-8") == '[[tasks]]\ntask_id = "good1"\n'


def test_a_newer_format_is_refused_even_when_part_of_it_is_not_toml(
    path: Path,
) -> None:
    path.parent.mkdir(parents=True)
    content = "version = 2\ncount = 2\n" + GOOD_TASK + "[[tasks\n"
    path.write_text(content, "utf-8")

    with pytest.raises(WatchlistError, match="newer veo-tui"):
        WatchlistStore(path).add(["b"], T0)

    assert path.read_text("utf-8") == content
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "watchlist.toml",
        "watchlist.toml.lock",
    ]


def test_a_broken_line_costs_only_the_entry_it_is_in(path: Path) -> None:
    path.parent.mkdir(parents=True)
    content = (
        "version = 1\ncount = 3\n"
        + GOOD_TASK
        + "[[tasks\ntask_id = 'lost'\n"  # line 6: its ']]' is missing
        + GOOD_TASK.replace("'a'", "'c'")
    )
    path.write_text(content, "utf-8")
    store = WatchlistStore(path)

    assert [e.task_id for e in store.load()] == ["a", "c"]

    (copy,) = path.parent.glob("watchlist.toml.kept-*")
    assert copy.read_text("utf-8") == content
    (warning,) = store.warnings
    assert warning.startswith(f"The watchlist {path} is not valid TOML (")
    assert "(at line 6, column 8); 1 part(s) that could not be read were " in warning
    assert "says it holds 3 task(s) but holds 2" in warning
    assert copy.name in warning
    assert not list(path.parent.glob("*.corrupt-*"))

    store.add(["d"], T0)

    assert tomllib.loads(path.read_text("utf-8"))["count"] == 3
    assert [e.task_id for e in WatchlistStore(path).load()] == ["a", "c", "d"]


def test_a_broken_value_costs_only_its_entry(path: Path) -> None:
    path.parent.mkdir(parents=True)
    content = (
        "version = 1\r\ncount = 2\r\n"  # from an editor on Windows
        + GOOD_TASK.replace("\n", "\r\n")
        + "[[tasks]]\r\ntask_id = 'b'\r\nadded_at = 2025-13-45\r\n"
    )
    path.write_text(content, "utf-8", newline="")
    store = WatchlistStore(path)

    assert [e.task_id for e in store.load()] == ["a"]
    assert "says it holds 2 task(s) but holds 1" in store.warnings[0]


def test_an_entry_that_cannot_be_read_is_kept_in_a_copy(path: Path) -> None:
    path.parent.mkdir(parents=True)
    content = "version = 1\ncount = 2\n" + GOOD_TASK + "[[tasks]]\ntask_id = 12345\n"
    path.write_text(content, "utf-8")

    for _ in range(3):  # reading again (veo-tui ls) makes no more copies
        store = WatchlistStore(path)
        assert [e.task_id for e in store.load()] == ["a"]
    store.add(["b"], T0)

    (copy,) = path.parent.glob("watchlist.toml.kept-*")
    assert "task_id = 12345" in copy.read_text("utf-8")
    assert any(copy.name in warning for warning in store.warnings)


def test_a_task_written_twice_by_hand_is_kept_once(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_text("version = 1\ncount = 2\n" + GOOD_TASK + GOOD_TASK, "utf-8")
    store = WatchlistStore(path)

    assert [e.task_id for e in store.load()] == ["a"]
    assert "twice" in store.warnings[0]


def test_a_byte_order_mark_from_a_windows_editor_is_ignored(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xef\xbb\xbfversion = 1\ncount = 1\n" + GOOD_TASK.encode())
    store = WatchlistStore(path)

    assert [e.task_id for e in store.load()] == ["a"]
    assert store.warnings == []


def test_the_next_write_after_a_corrupt_file_starts_fresh(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not toml at all [")
    store = WatchlistStore(path)

    store.add(["a"], T0)

    assert [e.task_id for e in WatchlistStore(path).load()] == ["a"]
    assert len(list(path.parent.glob("watchlist.toml.corrupt-*"))) == 1


def test_a_broken_record_is_dropped_and_the_entry_kept(
    store: WatchlistStore, path: Path
) -> None:
    store.add(["a", "b"], T0)
    store.update([store.load()[0].with_result(full_record("a"), T0)])
    text = path.read_text("utf-8").replace('"state":"success"', '"state":"bogus"')
    path.write_text(text, "utf-8")

    entries = WatchlistStore(path).load()

    assert [(e.task_id, e.record) for e in entries] == [("a", None), ("b", None)]


@pytest.mark.parametrize(
    "record",
    [
        '\'{"state":"success","result_urls":"not a list"}\'',
        '\'{"state":"success","created_at":"2025-01-01 10:00"}\'',
        '\'{"state":"success","params":[1]}\'',
        "'not json'",
        "42",
    ],
    ids=["wrong-type", "naive-time", "params-not-a-table", "not-json", "not-a-string"],
)
def test_a_record_of_the_wrong_shape_is_dropped_with_a_warning(
    path: Path, record: str
) -> None:
    path.parent.mkdir(parents=True)
    path.write_text(
        "version = 1\ncount = 1\n[[tasks]]\ntask_id = 'a'\n"
        f"added_at = 2025-01-01T00:00:00Z\nrecord = {record}\n",
        "utf-8",
    )
    store = WatchlistStore(path)

    entries = store.load()

    assert [(e.task_id, e.record) for e in entries] == [("a", None)]
    assert "'a'" in store.warnings[0]


def test_extra_keys_on_disk_are_ignored(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_text(
        "version = 1\ncount = 1\nfuture = true\n[[tasks]]\ntask_id = 'a'\n"
        "added_at = 2025-01-01T00:00:00Z\nshiny = 3\n"
        'record = \'{"state":"generating","shiny":1}\'\n',
        "utf-8",
    )

    entries = WatchlistStore(path).load()

    assert entries[0].record == TaskRecord("a", State.GENERATING)


def test_a_newer_format_is_refused_and_left_alone(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_text("version = 2\ncount = 0\n", "utf-8")

    with pytest.raises(WatchlistError, match="newer veo-tui"):
        WatchlistStore(path).add(["a"], T0)

    assert path.read_text("utf-8") == "version = 2\ncount = 0\n"


def test_a_folder_in_place_of_the_file_is_refused_not_moved(path: Path) -> None:
    path.mkdir(parents=True)

    with pytest.raises(WatchlistError) as caught:
        WatchlistStore(path).add(["a"], T0)

    assert str(caught.value) == (
        f"Cannot read {path}: it is a folder (a watchlist must be a regular file "
        "of at most 256 MB); move it away and veo-tui starts a new one"
    )
    assert path.is_dir()
    assert not list(path.parent.glob("*.corrupt-*"))


def test_a_file_over_the_size_limit_is_refused_not_moved(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("veo_tui.store.watchlist.SIZE_LIMIT", 64)
    path.parent.mkdir(parents=True)
    content = "version = 1\ncount = 1\n" + GOOD_TASK
    path.write_text(content, "utf-8")

    with pytest.raises(WatchlistError, match="it is larger than 64 bytes"):
        WatchlistStore(path).load()

    assert path.read_text("utf-8") == content
    assert not list(path.parent.glob("*.corrupt-*"))


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0, reason="needs file permissions"
)
def test_an_unreadable_file_raises_an_error_naming_it(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_text("version = 1\ncount = 0\n", "utf-8")
    path.chmod(0)

    with pytest.raises(WatchlistError, match=str(path)):
        WatchlistStore(path).load()


def test_an_unreadable_file_is_not_moved_aside(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path.parent.mkdir(parents=True)
    path.write_text("version = 1\ncount = 0\n", "utf-8")

    def refuse(file: Path, limit: int) -> bytes:
        raise PermissionError(13, "Permission denied", str(file))

    monkeypatch.setattr("veo_tui.store.watchlist.read_regular_file", refuse)

    with pytest.raises(WatchlistError, match="Permission denied"):
        WatchlistStore(path).add(["a"], T0)

    assert path.exists()
    assert not list(path.parent.glob("*.corrupt-*"))


def test_a_held_lock_times_out_with_a_clear_error(path: Path) -> None:
    holder = WatchlistStore(path)
    waiter = WatchlistStore(path, lock_timeout=0.05)
    holder.add(["a"], T0)

    with holder._locked(), pytest.raises(WatchlistError, match="held its lock"):
        waiter.add(["b"], T0)


def test_a_folder_in_place_of_the_lock_file_is_a_clear_error(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_text("version = 1\ncount = 0\n", "utf-8")
    Path(f"{path}.lock").mkdir()

    expected = (
        f"Cannot change {path}: its lock file {path}.lock cannot be opened: "
        "Is a directory"
    )

    with pytest.raises(WatchlistError) as adding:
        WatchlistStore(path).add(["a"], T0)
    with pytest.raises(WatchlistError) as removing:
        WatchlistStore(path).remove(["a"])

    assert str(adding.value) == str(removing.value) == expected
    assert path.read_text("utf-8") == "version = 1\ncount = 0\n"


def test_an_error_while_holding_the_lock_is_not_blamed_on_the_lock(
    path: Path,
) -> None:
    guard = FileGuard(path, timeout=1)

    with pytest.raises(FileNotFoundError, match="from the body"), guard.hold():
        raise FileNotFoundError(2, "from the body")

    with FileGuard(path, timeout=0.05).hold():  # and it was let go
        pass


def test_a_temporary_file_left_by_a_killed_save_is_cleaned_up(
    store: WatchlistStore, path: Path
) -> None:
    store.add(["a"], T0)
    leftover = path.parent / ".watchlist-abc.tmp"
    leftover.write_text("half a file")

    store.add(["b"], T0)

    assert not leftover.exists()


def test_killing_a_save_leaves_the_old_or_the_new_file_whole(path: Path) -> None:
    chooser = random.Random(7)

    for _ in range(4):
        child = subprocess.Popen(
            [sys.executable, str(CHILD), "save-loop", str(path), "200"],
            stdout=subprocess.PIPE,
        )
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"
        # A tiny wall-clock wait: the only way to land inside a real save.
        time.sleep(chooser.uniform(0.0, 0.05))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()

        store = WatchlistStore(path)
        entries = store.load()

        messages = {e.record.message for e in entries if e.record is not None}
        assert store.warnings == []
        assert len(entries) == 200
        assert len(messages) == 1


def test_two_processes_adding_at_once_lose_no_id(path: Path) -> None:
    children = [
        subprocess.Popen(
            [sys.executable, str(CHILD), "add", str(path), name, "500", "10"]
        )
        for name in ("left", "right")
    ]

    codes = [child.wait(timeout=60) for child in children]

    ids = {e.task_id for e in WatchlistStore(path).load()}
    assert codes == [0, 0]
    assert len(ids) == 1000


def test_an_emptied_file_is_an_empty_watchlist_without_warnings(tmp_path: Path) -> None:
    path = tmp_path / "watchlist.toml"
    path.write_text("\n  \n")
    store = WatchlistStore(path)

    assert store.load() == []
    assert store.warnings == []
    assert [p.name for p in tmp_path.glob("watchlist.toml*")] == ["watchlist.toml"]
