"""The stand-in's bodies have the keys, types and envelope of kie.ai's examples.

The examples are copied from ``shared/reference/kie-api.md`` and kie.ai's own
record-info page; a body may carry more keys than an example (kie.ai adds
undocumented ones), never fewer, and never a key of another type.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from tests.sim.conftest import FROZEN_AT

DOCUMENTED_SUCCESS = json.loads(
    '{"code":200,"msg":"success","data":{"taskId":"veo_task_abcdef123456",'
    '"paramJson":"{\\"prompt\\":\\"A futuristic city with flying cars at sunset.\\",'
    '\\"waterMark\\":\\"KieAI\\"}","completeTime":"2025-06-06 10:30:00",'
    '"response":{"taskId":"veo_task_abcdef123456",'
    '"resultUrls":["http://example.com/video1.mp4"],'
    '"originUrls":["http://example.com/original_video1.mp4"],"resolution":"1080p"},'
    '"successFlag":1,"errorCode":null,"errorMessage":"",'
    '"createTime":"2025-06-06 10:25:00","fallbackFlag":false}}'
)
DOCUMENTED_GENERATING = json.loads(
    '{"code":200,"msg":"success","data":{"taskId":"ID","successFlag":0,'
    '"response":null,"completeTime":null,"errorCode":null,"errorMessage":null}}'
)
DOCUMENTED_FAILED = json.loads(
    '{"code":200,"msg":"success","data":{"taskId":"ID","successFlag":2,'
    '"errorCode":400,"errorMessage":"Your prompt was flagged by Website as '
    'violating content policies.","response":null}}'
)
DOCUMENTED_UNKNOWN_ID = {"code": 422, "msg": "record is null.", "data": None}
DOCUMENTED_REFUSED_KEY = {"code": 401, "msg": "You do not have access permissions"}

NAIVE_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def assert_same_shape(actual: Any, example: Any, where: str = "body") -> None:
    """Every key of ``example`` is in ``actual``, holding a value of the same type.

    ``None`` in the example allows ``None``; ``None`` in the body is allowed
    where the example has a value only if kie.ai documents the field nullable,
    which these examples do not, so it is refused.
    """
    if isinstance(example, dict):
        assert isinstance(actual, dict), f"{where} should be an object"
        for key, value in example.items():
            assert key in actual, f"{where}.{key} is missing"
            assert_same_shape(actual[key], value, f"{where}.{key}")
    elif isinstance(example, list):
        assert isinstance(actual, list), f"{where} should be an array"
        for item in actual:
            assert_same_shape(item, example[0], f"{where}[]")
    elif example is None:
        assert actual is None, f"{where} should be null"
    else:
        assert type(actual) is type(example), f"{where} should be {type(example)}"


async def record_body(http: httpx.AsyncClient, task_id: str) -> Any:
    response = await http.get("/api/v1/veo/record-info", params={"taskId": task_id})
    assert response.status_code == 200
    return response.json()


async def test_a_portrait_success_has_every_key_of_the_documented_example(
    http: httpx.AsyncClient,
) -> None:
    body = await record_body(http, "success-portrait-epoch")

    example = json.loads(json.dumps(DOCUMENTED_SUCCESS))
    # This task writes epoch milliseconds where the example writes strings.
    example["data"]["createTime"] = example["data"]["completeTime"] = 0
    assert_same_shape(body, example)


async def test_a_landscape_success_has_the_documented_keys_but_no_origin_urls(
    http: httpx.AsyncClient,
) -> None:
    body = await record_body(http, "success-current-naive")

    example = json.loads(json.dumps(DOCUMENTED_SUCCESS))
    del example["data"]["response"]["originUrls"]
    assert_same_shape(body, example)
    assert "originUrls" not in body["data"]["response"]


async def test_param_json_is_a_json_string_of_the_request(
    http: httpx.AsyncClient,
) -> None:
    body = await record_body(http, "success-current-naive")

    params = json.loads(body["data"]["paramJson"])
    assert params["prompt"] == "A futuristic city with flying cars at sunset."


async def test_a_generating_record_matches_the_documented_example(
    http: httpx.AsyncClient,
) -> None:
    body = await record_body(http, "generating")

    assert_same_shape(body, DOCUMENTED_GENERATING)
    assert body["data"]["taskId"] == "generating"


async def test_a_failed_record_matches_the_documented_example(
    http: httpx.AsyncClient,
) -> None:
    body = await record_body(http, "failed-content-policy")

    assert_same_shape(body, DOCUMENTED_FAILED)
    assert body["data"]["errorMessage"] == DOCUMENTED_FAILED["data"]["errorMessage"]


async def test_an_unknown_id_answers_exactly_the_documented_body(
    http: httpx.AsyncClient,
) -> None:
    body = await record_body(http, "no-such-task")

    assert body == DOCUMENTED_UNKNOWN_ID


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/veo/record-info?taskId=generating"),
        ("POST", "/api/v1/veo/generate"),
        ("POST", "/api/v1/veo/extend"),
        ("GET", "/api/v1/veo/get-1080p-video?taskId=success-current-naive"),
        ("POST", "/api/v1/veo/get-4k-video"),
        ("GET", "/api/v1/chat/credit"),
    ],
)
@pytest.mark.parametrize("authorization", [None, "Bearer sk-wrong", "sk-sim-no-scheme"])
async def test_every_endpoint_refuses_a_missing_or_wrong_key_with_body_401(
    http: httpx.AsyncClient, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization or ""}

    response = await http.request(method, path, headers=headers, json={})

    assert response.status_code == 200
    assert response.json() == DOCUMENTED_REFUSED_KEY


async def test_naive_times_are_utc_strings_without_a_zone(
    http: httpx.AsyncClient,
) -> None:
    data = (await record_body(http, "success-current-naive"))["data"]

    assert NAIVE_TIME.fullmatch(data["createTime"])
    assert data["createTime"] == "2026-05-28 20:16:40"  # ten minutes before FROZEN_AT


async def test_epoch_times_are_integer_milliseconds(http: httpx.AsyncClient) -> None:
    data = (await record_body(http, "success-portrait-epoch"))["data"]

    assert data["createTime"] == round((FROZEN_AT - 600) * 1000)
    assert data["completeTime"] == round((FROZEN_AT - 540) * 1000)


async def test_iso_times_end_in_z(http: httpx.AsyncClient) -> None:
    data = (await record_body(http, "success-extended-iso"))["data"]

    assert data["createTime"] == "2026-05-28T20:21:40Z"


async def test_the_legacy_shape_puts_a_json_string_of_urls_under_data(
    http: httpx.AsyncClient,
) -> None:
    data = (await record_body(http, "success-legacy"))["data"]

    assert "response" not in data
    assert isinstance(data["resultUrls"], str)
    assert json.loads(data["resultUrls"])[0].endswith("/result-0.mp4")
    assert "waterMark" in json.loads(data["paramJson"])


async def test_an_extended_success_carries_full_result_urls(
    http: httpx.AsyncClient,
) -> None:
    response = (await record_body(http, "success-extended-iso"))["data"]["response"]

    assert response["fullResultUrls"][0].endswith("/full-0.mp4")
    assert response["resultUrls"] != response["fullResultUrls"]


async def test_a_flag_may_be_written_as_a_string(http: httpx.AsyncClient) -> None:
    data = (await record_body(http, "success-flag-string"))["data"]

    assert data["successFlag"] == "1"


async def test_generation_failures_use_flag_three(http: httpx.AsyncClient) -> None:
    data = (await record_body(http, "failed-no-audio"))["data"]

    assert data["successFlag"] == 3
    assert data["errorMessage"] == "The Google model was unable to generate audio"


async def test_credit_is_a_bare_number(http: httpx.AsyncClient) -> None:
    body = (await http.get("/api/v1/chat/credit")).json()

    assert body == {"code": 200, "msg": "success", "data": 500}
