"""Which task to fetch when, and the async loop that fetches it.

:class:`Scheduler` holds the timing rules and no I/O; :class:`Poller` runs it
against kie.ai within the concurrency and request-rate limits.
"""

from __future__ import annotations

from veo_tui.polling.poller import Backlog, Fetch, PauseStatus, Poller, PollResult
from veo_tui.polling.scheduler import PauseKind, PollSettings, Scheduler

__all__ = [
    "Backlog",
    "Fetch",
    "PauseKind",
    "PauseStatus",
    "PollResult",
    "PollSettings",
    "Poller",
    "Scheduler",
]
