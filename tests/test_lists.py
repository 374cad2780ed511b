"""``veo-tui add``, ``rm`` and ``ls``: round trips through the watchlist file."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from veo_tui.cli import main
from veo_tui.domain import State, TaskRecord
from veo_tui.store.watchlist import WatchEntry, WatchlistStore, default_watchlist_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_add_then_ls_lists_the_ids_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "add", "b2", "a1")

    status, out, _ = run(capsys, "ls")

    assert status == 0
    assert [line.split()[0] for line in out.splitlines()] == ["b2", "a1"]
    assert "not checked yet" in out


def test_add_skips_ids_already_watched(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "add", "a1")

    _, out, _ = run(capsys, "add", "a1", "c3")

    assert "added 1 task(s)" in out
    assert "1 already watched" in out


def test_add_reads_ids_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("x1, x2\nx3  x4\n"))

    status, _, _ = run(capsys, "add", "-")

    assert status == 0
    assert [e.task_id for e in WatchlistStore(default_watchlist_path()).load()] == [
        "x1",
        "x2",
        "x3",
        "x4",
    ]


def test_add_refuses_bad_ids_and_changes_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, _, err = run(capsys, "add", "good1", "bad\x1bid")

    assert status == 2
    assert "control character" in err
    assert "\x1b" not in err
    assert not default_watchlist_path().exists()


def test_rm_removes_and_names_ids_not_watched(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run(capsys, "add", "a1", "b2")

    status, out, err = run(capsys, "rm", "a1", "zz9")

    assert status == 0
    assert "removed 1 task(s)" in out
    assert "not in the watchlist: zz9" in err
    assert [e.task_id for e in WatchlistStore(default_watchlist_path()).load()] == [
        "b2"
    ]


def test_ls_json_has_the_status_keys_and_watch_times(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run(capsys, "add", "a1")

    _, out, _ = run(capsys, "ls", "--json")

    line = json.loads(out)
    assert line["task_id"] == "a1"
    assert line["state"] == "unknown"
    assert line["added_at"].endswith("Z")
    assert line["checked_at"] is None


def record_null_answer(task_id: str, added_ago: timedelta) -> None:
    """The watchlist as a dashboard leaves it after one "record is null." answer."""
    store = WatchlistStore(default_watchlist_path())
    now = datetime.now(UTC)
    store.add([task_id], now - added_ago)
    record = TaskRecord(task_id, State.NOT_FOUND, message="record is null.")
    store.update([WatchEntry(task_id, now - added_ago, record=record, checked_at=now)])


def test_ls_shows_a_task_just_added_and_not_yet_visible_as_pending(
    capsys: pytest.CaptureFixture[str],
) -> None:
    record_null_answer("fresh", timedelta(seconds=30))
    record_null_answer("old", timedelta(minutes=30))

    _, out, _ = run(capsys, "ls")
    _, json_out, _ = run(capsys, "ls", "--json")

    states = {line.split()[0]: line.split()[1] for line in out.splitlines()}
    assert states == {"fresh": "pending", "old": "not_found"}
    lines = [json.loads(line) for line in json_out.splitlines()]
    assert [(line["state"], line["pending"]) for line in lines] == [
        ("not_found", True),
        ("not_found", False),
    ]


def test_ls_of_an_empty_watchlist_says_how_to_add(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, "ls")

    assert status == 0
    assert "veo-tui add" in out


def test_corrupt_watchlist_is_moved_aside_and_reported(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = default_watchlist_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("this is [not toml")

    status, _, err = run(capsys, "ls")

    assert status == 0
    assert "corrupt" in err or "moved" in err
    assert list(path.parent.glob("watchlist.toml.corrupt-*"))


def test_a_hand_edited_watchlist_is_listed_with_one_warning() -> None:
    path = default_watchlist_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "version = 1\ncount = 3\n[[tasks]]\ntask_id = 'mine'\n"
        "added_at = 2025-01-01T00:00:00Z\n",
        "utf-8",
    )

    # A process of its own: logging's last resort (which printed each
    # warning a second time) only shows outside pytest's log capture.
    done = subprocess.run(
        [sys.executable, "-m", "veo_tui", "ls"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    status, out, err = done.returncode, done.stdout, done.stderr

    assert status == 0
    assert out.split()[0] == "mine"
    assert err.count("says it holds 3 task(s) but holds 1") == 1
    assert err.startswith("veo-tui: warning: ")


def test_ls_into_a_reader_that_stops_early_ends_without_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run(capsys, "add", *(f"task{number:05}" for number in range(3000)))

    process = subprocess.Popen(
        [sys.executable, "-m", "veo_tui", "ls"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()  # like `| head -1`
    err = process.stderr.read()
    status = process.wait(timeout=60)

    assert first.split()[0] == b"task00000"
    assert status == 141  # as a shell reports a reader gone (SIGPIPE)
    assert err == b""


def test_ls_ids_feeds_rm(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(capsys, "add", "a1", "b2", "c3")
    _, ids, _ = run(capsys, "ls", "--ids")
    monkeypatch.setattr("sys.stdin", io.StringIO(ids))

    status, out, err = run(capsys, "rm", "-")

    assert ids == "a1\nb2\nc3\n"
    assert status == 0
    assert "removed 3 task(s)" in out
    assert err == ""
