"""Records, states and the parsing of every record-info shape. No I/O here."""

from __future__ import annotations

from veo_tui.domain.endpoints import (
    format_credits,
    parse_4k,
    parse_1080p,
    parse_credits,
)
from veo_tui.domain.hints import failure_hint
from veo_tui.domain.ids import (
    InvalidTaskId,
    ParsedIds,
    check_task_id,
    id_pieces,
    split_task_ids,
)
from veo_tui.domain.parse import is_web_url, parse_record_info
from veo_tui.domain.records import (
    TERMINAL_STATES,
    FetchError,
    FetchErrorKind,
    FetchResult,
    State,
    TaskRecord,
)
from veo_tui.domain.text import human_duration, inert
from veo_tui.domain.times import iso_utc, parse_time

__all__ = [
    "TERMINAL_STATES",
    "FetchError",
    "FetchErrorKind",
    "FetchResult",
    "InvalidTaskId",
    "ParsedIds",
    "State",
    "TaskRecord",
    "check_task_id",
    "failure_hint",
    "format_credits",
    "human_duration",
    "id_pieces",
    "inert",
    "is_web_url",
    "iso_utc",
    "parse_4k",
    "parse_1080p",
    "parse_credits",
    "parse_record_info",
    "parse_time",
    "split_task_ids",
]
