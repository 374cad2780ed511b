"""The JSON bodies the stand-in answers with, built as kie.ai builds them.

These functions are deliberately independent of :mod:`veo_tui.domain`: the
stand-in writes what the real service writes (both URL shapes, three time
styles, a flag that is sometimes a string), and the project's parser has to
read it back, exactly as it must with kie.ai.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from veo_tui.sim.scenario import BodyShape, TimeStyle
from veo_tui.sim.tasks import SimTask, TaskState

RECORD_IS_NULL = "record is null."
RETENTION_MESSAGE = "Temporarily supports records within 14 days."
NOT_SUCCESS = "record status is not success"
ACCESS_DENIED = "You do not have access permissions"

Body = dict[str, Any]


def envelope(code: int, msg: str, data: Any = None) -> Body:
    """kie.ai's ``{"code", "msg", "data"}``: the body ``code`` is the real status."""
    return {"code": code, "msg": msg, "data": data}


def refused_key() -> Body:
    """The answer to a missing or wrong key (sent with HTTP 200, like kie.ai)."""
    return {"code": 401, "msg": ACCESS_DENIED}


def format_time(moment: float, style: TimeStyle) -> int | str:
    """Write an epoch time the way a record of this style does."""
    if style is TimeStyle.EPOCH_MS:
        return round(moment * 1000)
    when = datetime.fromtimestamp(moment, tz=UTC)
    if style is TimeStyle.NAIVE:
        return when.strftime("%Y-%m-%d %H:%M:%S")
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def file_url(base_url: str, task_id: str, name: str) -> str:
    """The URL under which the stand-in serves one of a task's videos (the id
    percent-encoded whole, so one holding ``/`` or ``..`` stays one segment)."""
    return f"{base_url.rstrip('/')}/files/{quote(task_id, safe='')}/{name}.mp4"


def record_info(task: SimTask, now: float, base_url: str) -> Body:
    """The record-info answer for ``task`` at ``now``."""
    state = task.state(now)
    if state is TaskState.EXPIRED:
        return envelope(422, RETENTION_MESSAGE)
    if state is TaskState.INVISIBLE:
        return envelope(422, RECORD_IS_NULL)

    data: Body = {
        "taskId": task.task_id,
        "paramJson": _param_json(task),
        "completeTime": None,
        "response": None,
        "successFlag": 0,
        "errorCode": None,
        "errorMessage": None,
        "createTime": format_time(task.created_at, task.times),
        "fallbackFlag": False,
    }
    if state is TaskState.SUCCESS:
        data["completeTime"] = format_time(task.finishes_at, task.times)
        data["successFlag"] = 1
        data["errorMessage"] = ""
        _add_results(data, task, base_url)
    elif state is TaskState.FAILED and task.failure is not None:
        data["completeTime"] = format_time(task.finishes_at, task.times)
        data["successFlag"] = task.failure.flag
        data["errorCode"] = task.failure.code
        data["errorMessage"] = task.failure.message
    if task.flag_as_string:
        data["successFlag"] = str(data["successFlag"])
    return envelope(200, "success", data)


def _param_json(task: SimTask) -> str:
    """The request echoed as a JSON string; the old shape spells keys the old way."""
    if task.shape is BodyShape.LEGACY:
        params: Body = {
            "prompt": task.prompt,
            "model": task.model,
            "aspectRatio": task.aspect_ratio,
            "waterMark": "",
        }
    else:
        params = {
            "prompt": task.prompt,
            "model": task.model,
            "aspect_ratio": task.aspect_ratio,
            "watermark": "",
            "enableTranslation": True,
        }
    if task.extends is not None:
        params["taskId"] = task.extends
    return json.dumps(params, separators=(",", ":"), ensure_ascii=False)


def _add_results(data: Body, task: SimTask, base_url: str) -> None:
    result_urls = [file_url(base_url, task.task_id, "result-0")]
    # kie.ai only sends originals when it cropped, i.e. when the ratio is not 16:9.
    origin_urls = (
        [file_url(base_url, task.task_id, "origin-0")]
        if task.aspect_ratio != "16:9"
        else None
    )
    full_urls = [file_url(base_url, task.task_id, "full-0")] if task.extends else None

    if task.shape is BodyShape.LEGACY:
        del data["response"]
        data["resultUrls"] = json.dumps(result_urls)
        if origin_urls:
            data["originUrls"] = json.dumps(origin_urls)
        return

    response: Body = {
        "taskId": task.task_id,
        "resultUrls": result_urls,
        "resolution": task.resolution,
        "hasAudioList": [True],
        "seeds": [task.seed],
    }
    if origin_urls:
        response["originUrls"] = origin_urls
    if full_urls:
        response["fullResultUrls"] = full_urls
    data["response"] = response
