"""How to reach kie.ai, and the rules for where the key may go.

Kept apart from the client so that code which only needs the options (the
config, the dashboard before it polls) does not pay for importing httpx.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, tzinfo
from urllib.parse import urlsplit

DEFAULT_BASE_URL = "https://api.kie.ai"


class InsecureKeyError(ValueError):
    """The key cannot be sent safely: in clear text to another machine, or at all."""


@dataclass(frozen=True, slots=True)
class ApiOptions:
    """How to reach kie.ai and how patient to be.

    Attributes:
        base_url: ``https://api.kie.ai``, or the local stand-in.
        key: The API key; ``None`` makes every call an ``auth`` fetch error.
        timeout: Seconds for one whole request, connection to last byte.
        connect_timeout: Seconds to establish a connection.
        max_retries: Retries after a retryable failure (so at most this + 1 tries).
        backoff_base: The first retry's delay in seconds; each next one doubles.
        backoff_cap: The longest backoff delay in seconds.
        max_retry_wait: The longest ``Retry-After`` the client sleeps through
            itself; past it the error is returned so the caller can pause.
        max_body_bytes: Responses longer than this are refused (1 MB).
        max_connections: Size of the shared connection pool.
        naive_zone: The zone of record times written without one.
    """

    base_url: str = DEFAULT_BASE_URL
    key: str | None = None
    timeout: float = 20.0
    connect_timeout: float = 5.0
    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    max_retry_wait: float = 30.0
    max_body_bytes: int = 1_000_000
    max_connections: int = 8
    naive_zone: tzinfo = UTC

    def __post_init__(self) -> None:
        check_key_text(self.key)
        check_key_transport(self.base_url, self.key)

    def __repr__(self) -> str:
        # The dataclass repr would print the key.
        return f"ApiOptions(base_url={self.base_url!r}, key={mask_key(self.key)!r})"


def mask_key(key: str | None) -> str:
    """The key as it may be shown: its last 4 characters at most."""
    if not key:
        return "(none)"
    return "…" + key[-4:] if len(key) >= 12 else "…"


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` names this machine (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in ("localhost", "localhost.") or host.lower().endswith(
        ".localhost"
    ):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_key_text(key: str | None) -> None:
    """Refuse a key that an HTTP header cannot carry, without repeating it.

    A key pasted from a web page may hold a typographic dash or an invisible
    character; httpx would fail on it deep inside a request.

    Raises:
        InsecureKeyError: The key holds a character other than printable ASCII.
    """
    if key is None or (key.isascii() and key.isprintable() and " " not in key):
        return
    raise InsecureKeyError(
        "the API key holds a character other than printable ASCII (a typographic "
        "dash or an invisible character, perhaps): copy it again from kie.ai"
    )


def check_key_transport(base_url: str, key: str | None) -> None:
    """Refuse to send a key over plain http to anything but this machine.

    Raises:
        InsecureKeyError: The key would cross a network unencrypted.
    """
    parts = urlsplit(base_url)
    if not key or parts.scheme == "https":
        return
    if parts.scheme == "http" and is_loopback_host(parts.hostname or ""):
        return
    raise InsecureKeyError(
        f"refusing to send the API key to {parts.scheme}://{parts.hostname}: "
        "use https, or http only to a loopback address such as 127.0.0.1"
    )
