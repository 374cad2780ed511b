"""The Textual dashboard: the only package of veo-tui that imports Textual."""

from __future__ import annotations

from veo_tui.ui.app import DashboardOptions, VeoTuiApp
from veo_tui.ui.engine import Engine, EngineStatus

__all__ = ["DashboardOptions", "Engine", "EngineStatus", "VeoTuiApp"]
