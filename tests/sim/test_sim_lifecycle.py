"""Tasks created over HTTP become visible, progress and finish; what they cost.

Time moves with ``sim.advance``: the clock is frozen, so nothing here waits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from veo_tui.api import KieClient
from veo_tui.domain import State, TaskRecord
from veo_tui.sim import RunningSim
from veo_tui.sim.app import SAMPLE_VIDEO

RECORD_INFO = "/api/v1/veo/record-info"


async def generate(http: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    payload = {"prompt": "A kite over the dunes.", "model": "veo3_fast", **fields}
    response = await http.post("/api/v1/veo/generate", json=payload)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def record(http: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (
        await http.get(RECORD_INFO, params={"taskId": task_id})
    ).json()
    return body


async def balance(http: httpx.AsyncClient) -> float:
    data: float = (await http.get("/api/v1/chat/credit")).json()["data"]
    return data


async def test_generate_answers_a_new_task_id(http: httpx.AsyncClient) -> None:
    body = await generate(http)

    assert body["code"] == 200
    assert len(body["data"]["taskId"]) == 32


async def test_a_generated_task_is_null_at_first_then_generating_then_done(
    http: httpx.AsyncClient, sim: RunningSim
) -> None:
    task_id = (await generate(http))["data"]["taskId"]

    at_once = await record(http, task_id)
    sim.advance(2)
    visible = await record(http, task_id)
    sim.advance(38)
    finished = await record(http, task_id)

    assert at_once == {"code": 422, "msg": "record is null.", "data": None}
    assert visible["data"]["successFlag"] == 0
    assert visible["data"]["response"] is None
    assert finished["data"]["successFlag"] == 1
    assert finished["data"]["response"]["resultUrls"]


async def test_the_client_sees_a_generated_task_appear_progress_and_finish(
    http: httpx.AsyncClient, sim: RunningSim, make_client: Callable[..., KieClient]
) -> None:
    client = make_client()
    task_id = (await generate(http))["data"]["taskId"]

    states = []
    for step in (0, 2, 20, 18):
        sim.advance(step)
        result = await client.record_info(task_id)
        assert isinstance(result, TaskRecord)
        states.append(result.state)

    assert states == [
        State.NOT_FOUND,
        State.GENERATING,
        State.GENERATING,
        State.SUCCESS,
    ]


async def test_a_generated_task_echoes_its_prompt_and_ratio(
    http: httpx.AsyncClient, sim: RunningSim
) -> None:
    task_id = (await generate(http, aspect_ratio="9:16"))["data"]["taskId"]
    sim.advance(60)

    data = (await record(http, task_id))["data"]

    assert '"prompt":"A kite over the dunes."' in data["paramJson"]
    assert data["response"]["originUrls"]


async def test_creating_a_task_lowers_the_balance(
    http: httpx.AsyncClient,
) -> None:
    before = await balance(http)

    await generate(http, model="veo3_fast")

    assert await balance(http) == before - 60


async def test_without_enough_credits_generate_answers_402(
    http: httpx.AsyncClient, sim: RunningSim
) -> None:
    sim.state.credits = 10

    body = await generate(http, model="veo3")

    assert body["code"] == 402
    assert await balance(http) == 10


async def test_more_creations_than_the_rate_limit_answer_body_429(
    http: httpx.AsyncClient, sim: RunningSim
) -> None:
    codes = [(await generate(http))["code"] for _ in range(4)]
    sim.advance(10)
    after_window = (await generate(http))["code"]

    assert codes == [200, 200, 200, 429]
    assert after_window == 200


async def test_generate_without_a_prompt_answers_a_validation_text(
    http: httpx.AsyncClient,
) -> None:
    body = await generate(http, prompt="")

    assert body["code"] == 500
    assert "required" in body["msg"]


async def test_extend_makes_a_task_whose_success_has_full_result_urls(
    http: httpx.AsyncClient, sim: RunningSim
) -> None:
    response = await http.post(
        "/api/v1/veo/extend",
        json={"taskId": "success-current-naive", "prompt": "Then night falls."},
    )
    task_id = response.json()["data"]["taskId"]
    sim.advance(60)

    data = (await record(http, task_id))["data"]

    assert data["response"]["fullResultUrls"]
    assert '"taskId":"success-current-naive"' in data["paramJson"]


async def test_extend_refuses_a_task_that_has_not_succeeded(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        "/api/v1/veo/extend", json={"taskId": "generating", "prompt": "More."}
    )

    assert response.json()["code"] == 422
    assert response.json()["msg"] == "record status is not success"


async def test_1080p_is_processing_at_first_then_answers_a_url(
    http: httpx.AsyncClient, sim: RunningSim
) -> None:
    task_id = (await generate(http))["data"]["taskId"]
    sim.advance(40)
    params = {"taskId": task_id, "index": "0"}

    processing = (await http.get("/api/v1/veo/get-1080p-video", params=params)).json()
    sim.advance(30)
    ready = (await http.get("/api/v1/veo/get-1080p-video", params=params)).json()

    assert processing["code"] == 400
    assert processing["msg"].startswith("1080P is processing")
    assert ready["data"]["resultUrl"].endswith(f"/files/{task_id}/1080p-0.mp4")


async def test_4k_costs_credits_once_and_is_processing_until_ready(
    http: httpx.AsyncClient, sim: RunningSim
) -> None:
    payload = {"taskId": "success-current-naive", "index": 0}
    before = await balance(http)

    first = (await http.post("/api/v1/veo/get-4k-video", json=payload)).json()
    repeat = (await http.post("/api/v1/veo/get-4k-video", json=payload)).json()
    sim.advance(60)
    ready = (await http.post("/api/v1/veo/get-4k-video", json=payload)).json()

    assert first["code"] == 200
    assert repeat == {"code": 422, "msg": "4k is processing...", "data": None}
    assert ready["data"]["resultUrls"][0].endswith("/4k-0.mp4")
    assert await balance(http) == before - 120


async def test_a_task_passes_into_retention_after_fourteen_days(
    http: httpx.AsyncClient, sim: RunningSim
) -> None:
    sim.advance(14 * 86400)

    body = await record(http, "success-current-naive")

    assert body == {
        "code": 422,
        "msg": "Temporarily supports records within 14 days.",
        "data": None,
    }


async def test_a_result_url_serves_the_whole_mp4_with_its_length(
    http: httpx.AsyncClient,
) -> None:
    url = (await record(http, "success-current-naive"))["data"]["response"][
        "resultUrls"
    ][0]

    response = await http.get(url, headers={"Authorization": ""})

    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["content-length"] == str(len(SAMPLE_VIDEO))
    assert response.content == SAMPLE_VIDEO


async def test_a_result_url_serves_a_requested_range(
    http: httpx.AsyncClient,
) -> None:
    url = "/files/success-current-naive/result-0.mp4"

    response = await http.get(url, headers={"Range": "bytes=4-11"})

    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes 4-11/{len(SAMPLE_VIDEO)}"
    assert response.content == b"ftypisom"


async def test_a_suffix_range_serves_the_last_bytes(http: httpx.AsyncClient) -> None:
    url = "/files/success-current-naive/result-0.mp4"

    response = await http.get(url, headers={"Range": "bytes=-100"})

    assert response.status_code == 206
    assert response.content == SAMPLE_VIDEO[-100:]


async def test_a_range_past_the_end_answers_416(http: httpx.AsyncClient) -> None:
    url = "/files/success-current-naive/result-0.mp4"

    response = await http.get(url, headers={"Range": "bytes=999999-"})

    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(SAMPLE_VIDEO)}"


async def test_videos_of_unfinished_or_unknown_tasks_are_not_found(
    http: httpx.AsyncClient,
) -> None:
    generating = await http.get("/files/generating/result-0.mp4")
    unknown = await http.get("/files/nope/result-0.mp4")

    assert (generating.status_code, unknown.status_code) == (404, 404)


def test_the_shipped_video_is_a_small_real_mp4() -> None:
    assert 1_000 < len(SAMPLE_VIDEO) < 20_000
    assert SAMPLE_VIDEO[4:8] == b"ftyp"
    assert b"moov" in SAMPLE_VIDEO
    assert b"avc1" in SAMPLE_VIDEO
