"""The ways the stand-in misbehaves on purpose, and how often.

kie.ai and the CDN in front of it fail in a handful of recognisable ways: 429
with ``Retry-After``, 455 during maintenance, HTML gateway pages, JSON cut
short, connections that close mid-body, requests that never answer. Each is a
:class:`FaultKind` with its own rate, so a scenario can ask for exactly the
weather a test or a benchmark needs. :class:`FaultPlan` decides, request by
request, which fault (if any) strikes; tests can also force the next few.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class FaultKind(StrEnum):
    """One way for a request to go wrong, as a scenario key and a ``--fault`` name."""

    RATE_LIMIT = "rate_limit"
    """HTTP 429 with ``Retry-After`` and body code 429."""
    MAINTENANCE = "maintenance"
    """Body code 455; a random one opens a window in which every request gets it."""
    SERVER_ERROR = "server_error"
    """HTTP 500 with an HTML page."""
    BAD_GATEWAY = "bad_gateway"
    """HTTP 502 with an HTML gateway page."""
    INTERNAL_ERROR = "internal_error"
    """HTTP 200 with body code 500, kie.ai's own way of saying it."""
    CDN_REFUSAL = "cdn_refusal"
    """HTTP 403 ``error code: 1010``, the CDN refusing a client."""
    TRUNCATED_JSON = "truncated_json"
    """A complete HTTP answer whose JSON body is cut in half."""
    DROPPED_CONNECTION = "dropped_connection"
    """Headers and half the body, then the connection closes."""
    HANG = "hang"
    """No answer until the client gives up (or ``hang_for`` passes), then a close."""


@dataclass(frozen=True, slots=True)
class FaultSettings:
    """Rates and shapes of the faults, as a scenario or the command line set them.

    Attributes:
        rates: Chance per API request of each fault kind, 0 to 1; their sum is
            at most 1, since one request meets at most one fault.
        latency_ms: Fixed delay before every API answer.
        jitter_ms: Extra delay drawn uniformly from 0 to this, per request.
        retry_after: Seconds written in ``Retry-After`` on a 429.
        maintenance_window: How long a random maintenance lasts, in seconds.
        hang_for: How long a hanging request waits for the client to give up
            before the stand-in closes it, in seconds.
    """

    rates: Mapping[FaultKind, float] = field(default_factory=dict)
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    retry_after: int = 1
    maintenance_window: float = 3.0
    hang_for: float = 30.0

    def __post_init__(self) -> None:
        for kind, rate in self.rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"the rate of {kind.value} must be from 0 to 1")
        if sum(self.rates.values()) > 1.0 + 1e-9:
            raise ValueError("the fault rates add up to more than 1")
        if not 0 <= self.hang_for <= 600:
            raise ValueError("hang_for must be from 0 to 600 seconds")

    def delay(self, rng: random.Random) -> float:
        """Seconds to wait before answering one request."""
        jitter = rng.uniform(0.0, self.jitter_ms) if self.jitter_ms else 0.0
        return (self.latency_ms + jitter) / 1000.0


class FaultPlan:
    """Chooses the fault of each API request: forced ones first, then by rate.

    Thread-safe, so a test on one thread can force faults into a stand-in
    serving on another.
    """

    def __init__(
        self,
        settings: FaultSettings,
        rng: random.Random,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._rng = rng
        self._monotonic = monotonic
        self._forced: deque[FaultKind] = deque()
        self._forced_files: deque[FaultKind] = deque()
        self._maintenance_until = 0.0
        self._lock = threading.Lock()

    def force(self, kind: FaultKind, times: int = 1) -> None:
        """Make the next ``times`` API requests meet ``kind``, whatever the rates."""
        with self._lock:
            self._forced.extend([kind] * times)

    def force_file(self, kind: FaultKind, times: int = 1) -> None:
        """Make the next ``times`` video downloads meet ``kind``.

        Rates never apply to videos, so that a flaky scenario does not break
        the downloads it was not written for; only forced faults reach them.
        """
        with self._lock:
            self._forced_files.extend([kind] * times)

    def choose_file(self) -> FaultKind | None:
        """The fault of the video download being served now, or ``None``."""
        with self._lock:
            return self._forced_files.popleft() if self._forced_files else None

    def update(self, settings: FaultSettings) -> None:
        """Use new rates and shapes from the next request on."""
        with self._lock:
            self.settings = settings

    def clear(self) -> None:
        """Drop forced faults and end any maintenance window."""
        with self._lock:
            self._forced.clear()
            self._forced_files.clear()
            self._maintenance_until = 0.0

    def choose(self) -> FaultKind | None:
        """The fault of the request being served now, or ``None``."""
        with self._lock:
            if self._forced:
                return self._forced.popleft()
            now = self._monotonic()
            if now < self._maintenance_until:
                return FaultKind.MAINTENANCE
            roll = self._rng.random()
            for kind, rate in self.settings.rates.items():
                if roll < rate:
                    if kind is FaultKind.MAINTENANCE:
                        self._maintenance_until = now + self.settings.maintenance_window
                    return kind
                roll -= rate
            return None

    def delay(self) -> float:
        """Seconds of latency for the request being served now."""
        with self._lock:
            return self.settings.delay(self._rng)


def parse_fault_option(text: str) -> tuple[FaultKind, float]:
    """Read ``KIND=RATE`` as given to ``--fault``.

    Raises:
        ValueError: With a sentence naming the valid kinds or the rate's range.
    """
    name, sep, rate_text = text.partition("=")
    kinds = ", ".join(kind.value for kind in FaultKind)
    try:
        kind = FaultKind(name.strip().replace("-", "_"))
    except ValueError:
        raise ValueError(
            f"--fault {text!r}: unknown fault kind; expected one of {kinds}"
        ) from None
    if not sep:
        return kind, 1.0
    try:
        rate = float(rate_text)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"--fault {text!r}: expected a rate from 0 to 1 after '='")
    return kind, rate
