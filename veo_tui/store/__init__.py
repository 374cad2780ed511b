"""Config (read only), and the watchlist with its last-known records (written)."""

from __future__ import annotations

from veo_tui.store.config import Config, ConfigError, load_config
from veo_tui.store.watchlist import (
    WatchEntry,
    WatchlistError,
    WatchlistStore,
    default_watchlist_path,
)

__all__ = [
    "Config",
    "ConfigError",
    "WatchEntry",
    "WatchlistError",
    "WatchlistStore",
    "default_watchlist_path",
    "load_config",
]
