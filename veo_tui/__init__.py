"""veo-tui: watch kie.ai Veo 3.1 video tasks from the terminal.

The package is layered as ``../shared/DESIGN.md`` describes: ``domain`` parses
records, ``api`` talks to kie.ai, ``store`` reads config and keeps the
watchlist, ``cli`` and ``ui`` sit on top. Only ``ui`` imports Textual.
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

# Warnings reach the user through each command's own output (and the log file
# when enabled), never through logging's last-resort print to stderr, which
# showed each of them twice.
logging.getLogger(__name__).addHandler(logging.NullHandler())
