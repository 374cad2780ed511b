"""The async httpx client of kie.ai's API, downloads and 4K/1080p. No Textual here."""

from __future__ import annotations

from veo_tui.api.client import (
    DEFAULT_BASE_URL,
    USER_AGENT,
    ApiOptions,
    InsecureKeyError,
    KieClient,
    check_key_transport,
    is_loopback_host,
    mask_key,
)
from veo_tui.api.download import (
    Downloader,
    DownloadErrorKind,
    DownloadProgress,
    DownloadResult,
    DownloadStatus,
    download_name,
)
from veo_tui.api.upscale import FourKRequests, follow_4k, follow_1080p

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
