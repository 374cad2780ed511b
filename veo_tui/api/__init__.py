"""The async httpx client of kie.ai's API. No Textual here."""

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

__all__ = [
    "DEFAULT_BASE_URL",
    "USER_AGENT",
    "ApiOptions",
    "InsecureKeyError",
    "KieClient",
    "check_key_transport",
    "is_loopback_host",
    "mask_key",
]
