"""Config (read only) and, later, the watchlist and record cache (written)."""

from __future__ import annotations

from veo_tui.store.config import Config, ConfigError, load_config

__all__ = ["Config", "ConfigError", "load_config"]
