"""The words of the project as types: a task's state, a record, a fetch error.

A record is what kie.ai's record-info endpoint said about one task, already
normalised from whichever of its shapes the answer came in. A fetch error says
why no record could be had. Both are immutable values, so they can be cached,
compared and handed between layers freely.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class State(StrEnum):
    """Where a task stands, as far as veo-tui can tell."""

    GENERATING = "generating"
    SUCCESS = "success"
    FAILED = "failed"
    EXPIRED = "expired"
    NOT_FOUND = "not_found"
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        """Whether the task will never change again (so need not be polled)."""
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({State.SUCCESS, State.FAILED, State.EXPIRED})
"""States that kie.ai never moves a task out of."""


class FetchErrorKind(StrEnum):
    """Why a record could not be had."""

    AUTH = "auth"
    RATE_LIMITED = "rate_limited"
    MAINTENANCE = "maintenance"
    SERVER = "server"
    NETWORK = "network"
    TIMEOUT = "timeout"
    MALFORMED = "malformed"


@dataclass(frozen=True, slots=True)
class FetchError:
    """A request for a record that did not yield one.

    Attributes:
        kind: The family of the failure, which decides how callers react.
        message: A sentence for the user, safe to show (no key, no body dump).
        code: The body ``code`` or the HTTP status that told us, if any.
        retryable: Whether asking again later may succeed.
        retry_after: Seconds the server asked us to wait, if it said.
    """

    kind: FetchErrorKind
    message: str
    code: int | None = None
    retryable: bool = False
    retry_after: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``fetch_error`` object of the JSON output."""
        return {"kind": self.kind.value, "code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """What record-info said about one task, in one normalised shape.

    Attributes:
        task_id: The id the record was asked for.
        state: The derived state (see :class:`State`).
        success_flag: kie.ai's raw ``successFlag`` as an int, if it was one.
        result_urls: The videos, http(s) URLs only.
        origin_urls: Un-cropped originals (present when not 16:9).
        full_result_urls: The whole clip of an extended video.
        resolution: As kie.ai wrote it, e.g. ``1080p``.
        error_code: ``errorCode`` (an int where it was numeric).
        error_message: ``errorMessage``; ``None`` when empty or absent.
        created_at: Task creation time, timezone-aware.
        completed_at: Task completion time, timezone-aware.
        prompt: The prompt from ``paramJson``.
        params: Every request parameter kie.ai echoed in ``paramJson``.
        message: The envelope's ``msg`` when it says more than "success".
    """

    task_id: str
    state: State
    success_flag: int | None = None
    result_urls: tuple[str, ...] = ()
    origin_urls: tuple[str, ...] = ()
    full_result_urls: tuple[str, ...] = ()
    resolution: str | None = None
    error_code: int | str | None = None
    error_message: str | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None
    prompt: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict, compare=False)
    message: str | None = None

    @property
    def duration_s(self) -> float | None:
        """Seconds from creation to completion, when both are known."""
        if self.created_at is None or self.completed_at is None:
            return None
        seconds = (self.completed_at - self.created_at).total_seconds()
        return seconds if seconds >= 0 else None

    @property
    def failure_reason(self) -> str | None:
        """The best sentence for why the task did not succeed, if it did not."""
        if self.error_message:
            return self.error_message
        if self.error_code is not None:
            return f"error code {self.error_code}"
        return self.message


FetchResult = TaskRecord | FetchError
"""What one fetch of one task yields: a record, or why there is none."""
