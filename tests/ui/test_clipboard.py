"""Which system clipboard tool is used, and when none is."""

from __future__ import annotations

import sys

import pytest

from veo_tui.ui.clipboard import clipboard_command


def test_no_system_clipboard_over_ssh() -> None:
    env = {"SSH_CONNECTION": "10.0.0.1 5000 10.0.0.2 22", "DISPLAY": ":0"}

    assert clipboard_command(env) is None


@pytest.mark.skipif(sys.platform != "linux", reason="X11 and Wayland tools")
def test_x11_tool_is_used_when_a_display_and_the_tool_exist(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("shutil.which", lambda name: f"/usr/bin/{name}")

    assert clipboard_command({"DISPLAY": ":0"}) == ["xclip", "-selection", "clipboard"]


@pytest.mark.skipif(sys.platform != "linux", reason="X11 and Wayland tools")
def test_no_tool_without_a_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda name: f"/usr/bin/{name}")

    assert clipboard_command({}) is None
