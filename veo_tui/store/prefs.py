"""Small preferences the dashboard remembers for the user (the theme).

The config file is the user's and is only ever read, so what the app itself
remembers lives beside the watchlist, in the data folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from veo_tui.store.config import APP_NAME, NotAFileError, read_regular_file


def default_prefs_path() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "prefs.toml"


@dataclass
class Prefs:
    """What the dashboard remembers between runs.

    Attributes:
        path: Where they are kept.
        theme: The Textual theme last chosen, or ``None`` for the default.
    """

    path: Path = field(default_factory=default_prefs_path)
    theme: str | None = None

    @classmethod
    def load(cls, path: Path | None = None) -> Prefs:
        """Read the preferences; anything unreadable counts as none set."""
        prefs = cls(path or default_prefs_path())
        try:
            # A device or pipe put there must not hang the start.
            text = read_regular_file(prefs.path, 64 * 1024).decode("utf-8")
        except (OSError, UnicodeDecodeError, NotAFileError):
            return prefs
        import tomllib  # only when there is a file: most starts have none

        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return prefs
        theme = document.get("theme")
        prefs.theme = theme if isinstance(theme, str) and theme else None
        return prefs

    def save(self) -> None:
        """Write the preferences atomically; a failure only loses the theme."""
        import tomli_w  # only when the theme changes

        document = {"theme": self.theme} if self.theme else {}
        temporary = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(tomli_w.dumps(document), encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError:
            pass
