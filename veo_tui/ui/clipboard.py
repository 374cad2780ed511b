"""The system clipboard and the browser, where they exist on this machine.

Textual's ``copy_to_clipboard`` sends OSC 52, which reaches the clipboard of
the machine the terminal runs on, even over SSH, if the terminal allows it.
Locally we also hand the text to the platform's clipboard tool, so copying
works in terminals that ignore OSC 52. Over SSH that tool would fill the
remote machine's clipboard, which helps nobody, so it is skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence


def clipboard_command(environ: Mapping[str, str] | None = None) -> Sequence[str] | None:
    """The command that writes stdin to the system clipboard, if there is one."""
    env = os.environ if environ is None else environ
    if env.get("SSH_CONNECTION") or env.get("SSH_TTY"):
        return None
    candidates: list[list[str]] = []
    if sys.platform == "darwin":
        candidates.append(["pbcopy"])
    elif sys.platform == "win32":
        candidates.append(["clip"])
    else:
        if env.get("WAYLAND_DISPLAY"):
            candidates.append(["wl-copy"])
        if env.get("DISPLAY"):
            candidates.append(["xclip", "-selection", "clipboard"])
            candidates.append(["xsel", "--clipboard", "--input"])
    for command in candidates:
        if shutil.which(command[0]):
            return command
    return None


def copy_with_system_tool(text: str, command: Sequence[str]) -> bool:
    """Write ``text`` to the clipboard with ``command``; whether it worked."""
    try:
        subprocess.run(
            list(command),
            input=text.encode("utf-8"),
            check=True,
            timeout=3,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def graphical_browser_available() -> bool:
    """Whether :mod:`webbrowser` has a browser that opens beside the dashboard.

    None is found over SSH or on a machine without a desktop. A terminal
    browser (lynx, w3m, ``www-browser``) would run in the dashboard's own
    terminal, under it, so it does not count.
    """
    import webbrowser

    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    return type(browser) is not webbrowser.GenericBrowser
