"""The dashboard's saved preferences (the theme): never in the way of a start."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from veo_tui.store.prefs import Prefs


def test_a_saved_theme_reads_back(tmp_path: Path) -> None:
    Prefs(tmp_path / "prefs.toml", theme="nord").save()

    assert Prefs.load(tmp_path / "prefs.toml").theme == "nord"


@pytest.mark.parametrize("content", [b"theme = [", b"\xff\xfe", b"theme = 3"])
def test_an_unreadable_prefs_file_counts_as_none_set(
    tmp_path: Path, content: bytes
) -> None:
    (tmp_path / "prefs.toml").write_bytes(content)

    assert Prefs.load(tmp_path / "prefs.toml").theme is None


@pytest.mark.skipif(os.name != "posix", reason="needs mkfifo")
def test_a_named_pipe_in_its_place_does_not_hang_the_start(tmp_path: Path) -> None:
    # Reading a FIFO blocks until someone writes; the start must not wait.
    os.mkfifo(tmp_path / "prefs.toml")
    loaded: list[Prefs] = []
    reader = threading.Thread(
        target=lambda: loaded.append(Prefs.load(tmp_path / "prefs.toml")),
        daemon=True,  # a hang fails this test, not the whole run
    )

    reader.start()
    reader.join(10)

    assert [prefs.theme for prefs in loaded] == [None]
