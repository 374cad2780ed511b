"""upscales.json: the 1080p/4K links kept across runs."""

from __future__ import annotations

import errno
import json
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from veo_tui.store.upscales import Upscale, UpscaleStore, upscales_path
from veo_tui.store.watchlist import FileGuard, WatchlistError

ASKED = datetime(2026, 12, 3, 11, 0, tzinfo=UTC)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return upscales_path(tmp_path / "watchlist.toml")


def test_it_lives_beside_the_watchlist(tmp_path: Path) -> None:
    assert upscales_path(tmp_path / "w.toml") == tmp_path / "upscales.json"


def test_a_saved_task_reads_back_and_others_are_kept(path: Path) -> None:
    store = UpscaleStore(path)
    store.save("a", Upscale(hd_url="https://cdn.example.com/a-1080p.mp4"))
    store.save(
        "b",
        Upscale(uhd_urls=("https://cdn.example.com/b-4k.mp4",), uhd_requested_at=ASKED),
    )

    again = UpscaleStore(path).load()

    assert again == {
        "a": Upscale(hd_url="https://cdn.example.com/a-1080p.mp4"),
        "b": Upscale(
            uhd_urls=("https://cdn.example.com/b-4k.mp4",), uhd_requested_at=ASKED
        ),
    }


def test_no_file_is_no_upscales_and_no_warning(path: Path) -> None:
    store = UpscaleStore(path)
    assert store.load() == {}
    assert store.warnings == []


def test_links_that_are_not_web_urls_are_dropped(path: Path) -> None:
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "tasks": {
                    "a": {
                        "hd_url": "file:///etc/passwd",
                        "uhd_urls": [
                            "javascript:alert(1)",
                            7,
                            "https://x.example/4k.mp4",
                        ],
                        "uhd_requested_at": "not a date",
                    },
                    "b": "not an object",
                },
            }
        )
    )
    assert UpscaleStore(path).load() == {
        "a": Upscale(uhd_urls=("https://x.example/4k.mp4",))
    }


def test_a_time_without_zone_is_taken_as_utc(path: Path) -> None:
    path.write_text(
        '{"version": 1, "tasks": {"a": {"uhd_requested_at": "2026-12-03T11:00:00"}}}'
    )
    assert UpscaleStore(path).load()["a"].uhd_requested_at == ASKED


@pytest.mark.parametrize(
    "text", ["{not json", "[]", '{"version": 2, "tasks": {}}', '{"version": 1}']
)
def test_an_unreadable_file_warns_and_is_moved_aside_not_overwritten(
    path: Path, text: str
) -> None:
    path.write_text(text)
    store = UpscaleStore(path)

    assert store.load() == {}
    assert any(str(path) in warning for warning in store.warnings)

    store.save("a", Upscale(hd_url="https://cdn.example.com/a.mp4"))

    kept = [p.read_text() for p in path.parent.glob("upscales.json.corrupt-*")]
    assert kept == [text]
    assert UpscaleStore(path).load() == {
        "a": Upscale(hd_url="https://cdn.example.com/a.mp4")
    }


def test_a_later_state_is_never_overwritten_by_an_earlier_one(path: Path) -> None:
    """A flush waiting on the lock, then a newer change and its own flush: the
    file ends with the newer state, whichever thread the lock lets go first."""
    store = UpscaleStore(path)
    other = FileGuard(path, timeout=5)
    asked = Upscale(uhd_requested_at=ASKED)
    ready = Upscale(uhd_urls=("https://x.example/4k.mp4",), uhd_requested_at=ASKED)
    threads = []
    with other.hold():  # another veo-tui is writing
        store.put("a", asked)
        threads.append(threading.Thread(target=store.flush))
        threads[-1].start()
        for _ in range(200):  # until that flush has taken the change
            if not store._pending:
                break
            time.sleep(0.01)
        store.put("a", ready)
        threads.append(threading.Thread(target=store.flush))
        threads[-1].start()
        time.sleep(0.05)
    for thread in threads:
        thread.join()

    assert UpscaleStore(path).load()["a"] == ready


def test_a_failed_write_keeps_the_change_for_the_next_flush(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    store = UpscaleStore(blocker / "upscales.json")
    store.put("a", Upscale(hd_url="https://x.example/a.mp4"))

    with pytest.raises(WatchlistError, match="not-a-folder"):
        store.flush()

    blocker.unlink()
    store.flush()
    assert UpscaleStore(blocker / "upscales.json").load() == {
        "a": Upscale(hd_url="https://x.example/a.mp4")
    }


def test_a_folder_in_its_place_warns_and_shows_no_links(path: Path) -> None:
    path.mkdir()
    store = UpscaleStore(path)

    assert store.load() == {}
    assert store.warnings == [
        f"Cannot read {path}: it is a folder; 1080p/4K links not shown"
    ]


def test_a_file_over_the_size_limit_is_not_read(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("veo_tui.store.upscales.SIZE_LIMIT", 16)
    path.write_text(json.dumps({"version": 1, "tasks": {}}) + " " * 16)
    store = UpscaleStore(path)

    assert store.load() == {}
    assert store.warnings == [
        f"Cannot read {path}: it is larger than 16 bytes; 1080p/4K links not shown"
    ]


def test_an_unreadable_file_that_cannot_be_moved_aside_is_not_overwritten(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path.write_text("{not json")
    real_replace = os.replace

    def replace(source: str | Path, target: str | Path) -> None:
        if Path(source) == path:  # only the move aside fails
            raise OSError(errno.EBUSY, "Device or resource busy", str(source))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    store = UpscaleStore(path)

    with pytest.raises(WatchlistError) as caught:
        store.save("a", Upscale(hd_url="https://cdn.example.com/a.mp4"))

    assert str(caught.value) == (
        f"Cannot move the unreadable {path} aside: Device or resource busy"
    )
    assert path.read_text() == "{not json"


def test_an_unreadable_file_set_aside_twice_in_one_second_keeps_both(
    path: Path,
) -> None:
    for text in ("{first", "{second"):  # most likely within the same second
        path.write_text(text)
        UpscaleStore(path).save("a", Upscale(hd_url="https://x.example/a.mp4"))

    kept = sorted(p.read_text() for p in path.parent.glob("upscales.json.corrupt-*"))
    assert kept == ["{first", "{second"]
