"""Shared fixtures: the body corpus, a clean environment, fake keys."""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "corpus"
FAKE_KEY = "sk-test-0000fake0000key0000abcd"
"""A key that looks like none kie.ai would issue; safe to print in tests."""


def corpus(name: str) -> bytes:
    """The raw bytes of one body from ``tests/corpus``."""
    return (CORPUS / name).read_bytes()


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's own key, config or data folders."""
    for name in ("KIE_API_KEY", "KIE_BASE_URL", "VEO_TUI_CONFIG", "VEO_TUI_LOG"):
        monkeypatch.delenv(name, raising=False)
    for name in (
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "XDG_STATE_HOME",
        "XDG_CACHE_HOME",
    ):
        folder = tmp_path / "xdg" / name.lower()
        folder.mkdir(parents=True)
        monkeypatch.setenv(name, str(folder))
