"""Hypothesis: the parser never raises, and its records keep their invariants."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from veo_tui.domain import FetchError, State, TaskRecord, is_web_url, parse_record_info

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=30,
)

# Bodies shaped like kie.ai's envelope, with any value in any known field,
# so the fuzzing reaches past the first "is it an envelope" check.
fields = st.fixed_dictionaries(
    {},
    optional={
        "taskId": json_values,
        "successFlag": st.one_of(st.integers(-5, 9), st.text(max_size=3), json_values),
        "response": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {},
                optional={
                    "resultUrls": json_values | st.lists(st.text(max_size=30)),
                    "originUrls": json_values,
                    "fullResultUrls": json_values,
                    "resolution": json_values,
                },
            ),
        ),
        "resultUrls": json_values | st.text(max_size=60),
        "paramJson": json_values | st.text(max_size=60),
        "createTime": json_values | st.integers() | st.text(max_size=25),
        "completeTime": json_values | st.integers() | st.text(max_size=25),
        "errorCode": json_values,
        "errorMessage": json_values,
    },
)
envelopes = st.fixed_dictionaries(
    {
        "code": st.one_of(
            st.sampled_from([200, 401, 404, 422, 429, 433, 455, 500]), json_values
        )
    },
    optional={
        "msg": json_values,
        "message": json_values,
        "data": st.one_of(fields, json_values),
    },
)


def check_invariants(result: Any) -> None:
    assert isinstance(result, TaskRecord | FetchError)
    if isinstance(result, FetchError):
        assert result.message
        return
    assert isinstance(result.state, State)
    for url in (*result.result_urls, *result.origin_urls, *result.full_result_urls):
        assert is_web_url(url)
    assert result.error_message is None or result.error_message.strip()
    for moment in (result.created_at, result.completed_at):
        assert moment is None or moment.utcoffset() is not None
    if result.state is State.SUCCESS:
        assert result.success_flag == 1


@settings(max_examples=300, deadline=None)
@given(value=json_values, http_status=st.integers(100, 599))
def test_parser_never_raises_on_any_json_value(value: Any, http_status: int) -> None:
    check_invariants(parse_record_info("t", http_status, json.dumps(value).encode()))


@settings(max_examples=400, deadline=None)
@given(body=envelopes)
def test_parser_never_raises_on_envelopes_with_any_fields(body: Any) -> None:
    check_invariants(parse_record_info("t", 200, json.dumps(body).encode()))


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=300), http_status=st.integers(100, 599))
def test_parser_never_raises_on_any_bytes(body: bytes, http_status: int) -> None:
    check_invariants(parse_record_info("t", http_status, body))
