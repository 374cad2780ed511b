"""veo-tui: watch kie.ai Veo 3.1 video tasks from the terminal.

The package is layered as ``../shared/DESIGN.md`` describes: ``domain`` parses
records, ``api`` talks to kie.ai, ``store`` reads config and keeps the
watchlist, ``cli`` and ``ui`` sit on top. Only ``ui`` imports Textual.
"""

from __future__ import annotations

__version__ = "0.1.0"
