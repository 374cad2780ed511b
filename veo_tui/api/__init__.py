"""The async httpx client of kie.ai's API, downloads and 4K/1080p. No Textual here."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from veo_tui.api.options import (
    DEFAULT_BASE_URL,
    ApiOptions,
    InsecureKeyError,
    check_key_transport,
    is_loopback_host,
    mask_key,
)

if TYPE_CHECKING:
    from veo_tui.api.client import USER_AGENT, KieClient
    from veo_tui.api.download import (
        Downloader,
        DownloadErrorKind,
        DownloadProgress,
        DownloadResult,
        DownloadStatus,
        download_name,
    )
    from veo_tui.api.upscale import FourKRequests, follow_4k, follow_1080p

# What needs httpx is imported on first use: the dashboard's first frame
# should not wait for it.
_LAZY = {
    "USER_AGENT": "client",
    "KieClient": "client",
    "Downloader": "download",
    "DownloadErrorKind": "download",
    "DownloadProgress": "download",
    "DownloadResult": "download",
    "DownloadStatus": "download",
    "download_name": "download",
    "FourKRequests": "upscale",
    "follow_4k": "upscale",
    "follow_1080p": "upscale",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"veo_tui.api.{module}"), name)


__all__ = [
    "DEFAULT_BASE_URL",
    "USER_AGENT",
    "ApiOptions",
    "DownloadErrorKind",
    "DownloadProgress",
    "DownloadResult",
    "DownloadStatus",
    "Downloader",
    "FourKRequests",
    "InsecureKeyError",
    "KieClient",
    "check_key_transport",
    "download_name",
    "follow_4k",
    "follow_1080p",
    "is_loopback_host",
    "mask_key",
]
