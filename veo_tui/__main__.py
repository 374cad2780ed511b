"""``python -m veo_tui`` does what the ``veo-tui`` command does."""

from __future__ import annotations

from veo_tui.cli import main

raise SystemExit(main())
