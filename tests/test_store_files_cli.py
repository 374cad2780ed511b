"""What the commands say when the files on disk cannot be used as they are.

A read-only data folder, a folder where the lock file goes, a hand-written
watchlist, a config path that names a device or a pipe: each is one line on
standard error and exit status 2 (or, for a hand-written watchlist, the tasks
it holds), never a traceback, a hang or all the memory.

Tests run as root here, which file permissions do not stop, so a read-only
folder is made by refusing, in ``os``, every write into it with the error a
read-only file system gives (EROFS); the lock library and ``tempfile`` both
open files through ``os.open``.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from veo_tui.cli import main
from veo_tui.store.upscales import Upscale, UpscaleStore, upscales_path
from veo_tui.store.watchlist import (
    WatchlistError,
    WatchlistStore,
    default_watchlist_path,
)

T0 = datetime(2025, 6, 6, 10, 25, tzinfo=UTC)
GOOD = (
    "version = 1\ncount = 1\n[[tasks]]\ntask_id = 'a'\n"
    "added_at = 2025-01-01T00:00:00Z\n"
)
READ_ONLY = os.strerror(errno.EROFS)  # "Read-only file system"

ReadOnly = Callable[..., None]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def folder() -> Path:
    """The watchlist's folder, made, as every command finds it."""
    path = default_watchlist_path().parent
    path.mkdir(parents=True)
    return path


@pytest.fixture
def read_only(monkeypatch: pytest.MonkeyPatch) -> ReadOnly:
    """``read_only(folder)`` makes ``folder`` refuse writes as a read-only
    file system does; ``lock=False`` spares the lock file (a folder that is
    not writable but holds a lock file that is)."""

    def make(folder: Path, *, lock: bool = True) -> None:
        real_open, real_replace = os.open, os.replace
        writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC

        def refused(path: Any) -> bool:
            name = os.path.abspath(os.fsdecode(path))
            return os.path.dirname(name) == str(folder) and (
                lock or not name.endswith(".lock")
            )

        def guarded_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            if flags & writing and refused(path):
                raise OSError(errno.EROFS, READ_ONLY, os.fsdecode(path))
            return real_open(path, flags, *args, **kwargs)

        def guarded_replace(source: Any, target: Any, **kwargs: Any) -> None:
            if refused(source) or refused(target):
                raise OSError(errno.EROFS, READ_ONLY, os.fsdecode(source))
            real_replace(source, target, **kwargs)

        monkeypatch.setattr(os, "open", guarded_open)
        monkeypatch.setattr(os, "replace", guarded_replace)
        monkeypatch.setattr(os, "rename", guarded_replace)

    return make


def files_in(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text("utf-8") for p in folder.iterdir() if p.is_file()}


# The lock file cannot be opened.


@pytest.mark.parametrize("command", ["add", "rm"])
def test_a_folder_named_like_the_lock_file_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], folder: Path, command: str
) -> None:
    watchlist = folder / "watchlist.toml"
    watchlist.write_text(GOOD, "utf-8")
    (folder / "watchlist.toml.lock").mkdir()

    status, out, err = run(capsys, command, "a")

    assert status == 2
    assert out == ""
    assert err == (
        f"veo-tui: Cannot change {watchlist}: its lock file {watchlist}.lock "
        "cannot be opened: Is a directory\n"
    )
    assert watchlist.read_text("utf-8") == GOOD


@pytest.mark.parametrize("command", ["add", "rm"])
def test_a_read_only_folder_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
    folder: Path,
    read_only: ReadOnly,
    command: str,
) -> None:
    watchlist = folder / "watchlist.toml"
    watchlist.write_text(GOOD, "utf-8")
    read_only(folder)

    status, out, err = run(capsys, command, "a")

    assert status == 2
    assert out == ""
    assert err == (
        f"veo-tui: Cannot change {watchlist}: its lock file {watchlist}.lock "
        f"cannot be opened: {READ_ONLY}\n"
    )
    assert files_in(folder) == {"watchlist.toml": GOOD}


def test_the_dashboards_upscales_report_a_lock_that_cannot_be_opened(
    folder: Path, read_only: ReadOnly
) -> None:
    path = upscales_path(folder / "watchlist.toml")
    read_only(folder)

    with pytest.raises(WatchlistError) as caught:
        UpscaleStore(path).save("a", Upscale(hd_url="https://x.example/a.mp4"))

    assert str(caught.value) == (
        f"Cannot change {path}: its lock file {path}.lock cannot be opened: {READ_ONLY}"
    )


# Locked, but nothing can be written beside the file.


def test_a_save_that_cannot_write_changes_nothing(
    folder: Path, read_only: ReadOnly
) -> None:
    watchlist = folder / "watchlist.toml"
    watchlist.write_text(GOOD, "utf-8")
    read_only(folder, lock=False)

    with pytest.raises(WatchlistError) as caught:
        WatchlistStore(watchlist).add(["b"], T0)

    assert str(caught.value) == f"Cannot write {watchlist}: {READ_ONLY}"
    assert files_in(folder) == {"watchlist.toml": GOOD, "watchlist.toml.lock": ""}


def test_a_hand_edited_file_whose_copy_cannot_be_kept_is_an_error(
    folder: Path, read_only: ReadOnly
) -> None:
    watchlist = folder / "watchlist.toml"
    content = "count = 1\n[[tasks]]\ntask_id = 'a'\n"  # no version: to be copied
    watchlist.write_text(content, "utf-8")
    read_only(folder)

    with pytest.raises(WatchlistError) as caught:
        WatchlistStore(watchlist).load()

    assert str(caught.value) == (
        f"Cannot keep a copy of {watchlist} before changing it: {READ_ONLY}"
    )
    assert files_in(folder) == {"watchlist.toml": content}


def test_a_corrupt_file_that_cannot_be_moved_aside_is_an_error(
    folder: Path, read_only: ReadOnly
) -> None:
    watchlist = folder / "watchlist.toml"
    watchlist.write_text("not toml at all [", "utf-8")
    read_only(folder, lock=False)

    with pytest.raises(WatchlistError) as caught:
        WatchlistStore(watchlist).add(["b"], T0)

    assert str(caught.value) == (
        f"Cannot move the unreadable watchlist {watchlist} aside: {READ_ONLY}"
    )
    assert files_in(folder)["watchlist.toml"] == "not toml at all ["


def test_upscales_that_cannot_be_written_are_an_error_and_kept_for_later(
    folder: Path, read_only: ReadOnly
) -> None:
    path = upscales_path(folder / "watchlist.toml")
    read_only(folder, lock=False)
    store = UpscaleStore(path)

    with pytest.raises(WatchlistError) as caught:
        store.save("a", Upscale(hd_url="https://x.example/a.mp4"))

    assert str(caught.value) == f"Cannot write {path}: {READ_ONLY}"
    assert not path.exists()


# A watchlist written by hand.


def test_ls_reads_a_watchlist_without_a_version_line(
    capsys: pytest.CaptureFixture[str], folder: Path
) -> None:
    watchlist = folder / "watchlist.toml"
    content = '[[tasks]]\ntask_id = "good1"\n'
    watchlist.write_text(content, "utf-8")

    status, out, err = run(capsys, "ls")

    assert status == 0
    assert out.split()[0] == "good1"
    (copy,) = folder.glob("watchlist.toml.kept-*")
    assert copy.read_text("utf-8") == content
    assert watchlist.read_text("utf-8") == content
    assert not list(folder.glob("*.corrupt-*"))
    assert (
        f"veo-tui: warning: The watchlist {watchlist} has no valid 'version' line "
        "and has no valid 'count' line; the 1 task(s) that could be read are "
        f"kept, and the file as it was is saved as {copy.name}.\n"
    ) in err


def test_add_keeps_the_tasks_of_a_watchlist_with_an_unreadable_version(
    capsys: pytest.CaptureFixture[str], folder: Path
) -> None:
    watchlist = folder / "watchlist.toml"
    content = 'version = "x"\n[[tasks]]\ntask_id = "good1"\n'
    watchlist.write_text(content, "utf-8")

    status, out, _ = run(capsys, "add", "good2")

    assert status == 0
    assert "added 1 task(s)" in out
    ids = [e.task_id for e in WatchlistStore(watchlist).load()]
    assert ids == ["good1", "good2"]
    (copy,) = folder.glob("watchlist.toml.kept-*")
    assert copy.read_text("utf-8") == content


def test_a_watchlist_from_a_newer_veo_tui_is_still_refused(
    capsys: pytest.CaptureFixture[str], folder: Path
) -> None:
    watchlist = folder / "watchlist.toml"
    watchlist.write_text("version = 2\ncount = 0\n", "utf-8")

    status, _, err = run(capsys, "add", "good2")

    assert status == 2
    assert "written by a newer veo-tui (format 2" in err
    assert files_in(folder) == {
        "watchlist.toml": "version = 2\ncount = 0\n",
        "watchlist.toml.lock": "",
    }


# Paths that name no regular file: refused without reading them. These run
# in a child process with a time limit and a memory cap, since reading one
# would hang (a pipe) or take all the memory there is (/dev/zero).


def run_guarded(*argv: str) -> subprocess.CompletedProcess[str]:
    def cap_memory() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    return subprocess.run(
        [sys.executable, "-m", "veo_tui", *argv],
        capture_output=True,
        text=True,
        timeout=30,
        preexec_fn=cap_memory,
    )


posix_only = pytest.mark.skipif(
    os.name != "posix" or not Path("/dev/zero").exists(), reason="needs /dev, mkfifo"
)


@posix_only
@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda path: path.symlink_to("/dev/zero"), "a device"),
        (lambda path: path.symlink_to("/dev/urandom"), "a device"),
        (os.mkfifo, "a named pipe (FIFO)"),
    ],
    ids=["dev-zero", "dev-urandom", "fifo"],
)
def test_a_config_that_is_no_regular_file_is_refused_at_once(
    tmp_path: Path, make: Callable[[Path], None], kind: str
) -> None:
    path = tmp_path / "config.toml"
    make(path)

    result = run_guarded("status", "--config", str(path), "abc")

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"veo-tui: Cannot read {path}: it is {kind} (a config file must be a "
        "regular file of at most 1 MB)\n"
    )


@posix_only
@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda path: path.symlink_to("/dev/zero"), "a device"),
        (os.mkfifo, "a named pipe (FIFO)"),
    ],
    ids=["dev-zero", "fifo"],
)
def test_a_watchlist_that_is_no_regular_file_is_refused_at_once(
    folder: Path, make: Callable[[Path], None], kind: str
) -> None:
    watchlist = folder / "watchlist.toml"
    make(watchlist)

    result = run_guarded("ls")

    assert result.returncode == 2
    assert result.stderr == (
        f"veo-tui: Cannot read {watchlist}: it is {kind} (a watchlist must be a "
        "regular file of at most 256 MB); move it away and veo-tui starts a new "
        "one\n"
    )
    assert watchlist.is_symlink() or watchlist.is_fifo()
    assert not list(folder.glob("*.corrupt-*"))


@posix_only
def test_upscales_that_are_a_pipe_are_not_waited_for(folder: Path) -> None:
    path = upscales_path(folder / "watchlist.toml")
    os.mkfifo(path)
    store = UpscaleStore(path)

    def too_long(*_: object) -> None:
        raise TimeoutError("waited for a writer to the pipe")

    previous = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(10)
    try:
        assert store.load() == {}
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert store.warnings == [
        f"Cannot read {path}: it is a named pipe (FIFO); 1080p/4K links not shown"
    ]
