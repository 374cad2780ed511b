"""How headless commands print a task: a readable line, or a JSON object.

The JSON keys are a contract scripts rely on; they are the same for every
command that prints tasks (``status --json`` now, ``watch --json`` later).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from veo_tui.domain import (
    FetchError,
    FetchResult,
    State,
    TaskRecord,
    human_duration,
    inert,
    iso_utc,
)

JSON_KEYS = (
    "task_id",
    "state",
    "success_flag",
    "result_urls",
    "origin_urls",
    "full_result_urls",
    "resolution",
    "error_code",
    "error_message",
    "created_at",
    "completed_at",
    "duration_s",
    "prompt",
    "fetch_error",
)
"""The keys of every JSON line, in order."""


def task_json(task_id: str, result: FetchResult) -> dict[str, Any]:
    """The JSON object for one task: its record, or ``unknown`` with a fetch error."""
    if isinstance(result, FetchError):
        record = TaskRecord(task_id, State.UNKNOWN)
        fetch_error: dict[str, Any] | None = result.to_json()
    else:
        record = result
        fetch_error = None
    duration = record.duration_s
    return {
        "task_id": record.task_id,
        "state": record.state.value,
        "success_flag": record.success_flag,
        "result_urls": list(record.result_urls),
        "origin_urls": list(record.origin_urls),
        "full_result_urls": list(record.full_result_urls),
        "resolution": record.resolution,
        "error_code": record.error_code,
        "error_message": record.error_message,
        "created_at": iso_utc(record.created_at),
        "completed_at": iso_utc(record.completed_at),
        "duration_s": round(duration, 3) if duration is not None else None,
        "prompt": record.prompt,
        "fetch_error": fetch_error,
    }


def json_line(task_id: str, result: FetchResult) -> str:
    """One line of JSON; non-ASCII is escaped so no raw control reaches a terminal."""
    return json.dumps(task_json(task_id, result), ensure_ascii=True)


def text_line(task_id: str, result: FetchResult, id_width: int) -> str:
    """One readable line: id, state, duration, then the URL or the reason."""
    if isinstance(result, FetchError):
        state = "unknown"
        duration = "-"
        detail = f"fetch error ({result.kind.value}): {result.message}"
    else:
        state = result.state.value
        duration = human_duration(result.duration_s)
        if result.state is State.GENERATING and result.created_at is not None:
            # Still running: how long so far, marked as still counting.
            running = (datetime.now(UTC) - result.created_at).total_seconds()
            duration = human_duration(running) + "…"
        detail = _detail(result)
    # Never cut: scripts take the first field as the id. Longer ids only
    # push their own line's columns out.
    shown_id = inert(task_id).ljust(id_width)
    return (
        f"{shown_id}  {state:<10}  {duration:>7}  {inert(detail, limit=400)}".rstrip()
    )


def _detail(record: TaskRecord) -> str:
    if record.state is State.SUCCESS:
        urls = record.result_urls or record.full_result_urls
        return urls[0] if urls else "(no result URL)"
    if record.state is State.FAILED:
        return record.failure_reason or "(no reason given)"
    if record.state is State.GENERATING:
        return ""
    if record.state is State.UNKNOWN and record.success_flag is not None:
        return f"undocumented successFlag {record.success_flag}"
    return record.message or ""
