"""The record-info parser: every shape of tests/corpus, read as a user expects."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import CORPUS, corpus
from veo_tui.domain import (
    FetchError,
    FetchErrorKind,
    State,
    TaskRecord,
    parse_record_info,
)


def record(name: str, http_status: int = 200, **kwargs: object) -> TaskRecord:
    result = parse_record_info("task-1", http_status, corpus(name), **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, TaskRecord), result
    return result


def error(name: str, http_status: int = 200) -> FetchError:
    result = parse_record_info("task-1", http_status, corpus(name))
    assert isinstance(result, FetchError), result
    return result


# Every body of the corpus, with the HTTP status it arrives with and what a
# user must see: a state for records, a fetch error kind otherwise.
CORPUS_OUTCOMES = {
    "success_documented.json": (200, State.SUCCESS),
    "success_old_data_string.json": (200, State.SUCCESS),
    "success_callback_bracket_string.json": (200, State.SUCCESS),
    "success_extended_full_urls.json": (200, State.SUCCESS),
    "success_vertical_origin_urls.json": (200, State.SUCCESS),
    "generating.json": (200, State.GENERATING),
    "generating_minimal.json": (200, State.GENERATING),
    "failed_content_policy.json": (200, State.FAILED),
    "failed_flag_three.json": (200, State.FAILED),
    "failed_code_only.json": (200, State.FAILED),
    "undocumented_flag.json": (200, State.UNKNOWN),
    "message_instead_of_msg.json": (200, State.NOT_FOUND),
    "record_is_null.json": (200, State.NOT_FOUND),
    "expired.json": (200, State.EXPIRED),
    "not_success_yet.json": (200, State.UNKNOWN),
    "result_data_blank.json": (200, State.UNKNOWN),
    "result_data_empty.json": (200, State.UNKNOWN),
    "result_data_not_exist.json": (200, State.UNKNOWN),
    "not_found_404.json": (200, State.NOT_FOUND),
    "hostile_text.json": (200, State.FAILED),
    "non_utf8.json": (200, State.FAILED),
    "key_refused.json": (200, FetchErrorKind.AUTH),
    "rate_limited.json": (200, FetchErrorKind.RATE_LIMITED),
    "key_cap_reached.json": (200, FetchErrorKind.RATE_LIMITED),
    "maintenance.json": (200, FetchErrorKind.MAINTENANCE),
    "server_error.json": (200, FetchErrorKind.SERVER),
    "server_validation_error.json": (200, FetchErrorKind.SERVER),
    "gateway_502.html": (502, FetchErrorKind.SERVER),
    "cdn_refusal.txt": (403, FetchErrorKind.SERVER),
    "plain_401.txt": (401, FetchErrorKind.AUTH),
    "wrong_endpoint_404.html": (404, FetchErrorKind.SERVER),
    "truncated.json": (200, FetchErrorKind.MALFORMED),
    "empty.txt": (200, FetchErrorKind.MALFORMED),
    "json_array.json": (200, FetchErrorKind.MALFORMED),
    "success_without_record.json": (200, FetchErrorKind.MALFORMED),
}


def test_every_corpus_body_has_an_expected_outcome() -> None:
    assert sorted(p.name for p in CORPUS.iterdir()) == sorted(CORPUS_OUTCOMES)


@pytest.mark.parametrize(("name", "outcome"), CORPUS_OUTCOMES.items())
def test_corpus_body_reads_as_expected(name: str, outcome: tuple[int, object]) -> None:
    http_status, expected = outcome

    result = parse_record_info("task-1", http_status, corpus(name))

    if isinstance(expected, State):
        assert isinstance(result, TaskRecord), result
        assert result.state is expected
    else:
        assert isinstance(result, FetchError), result
        assert result.kind is expected
        assert result.message


def test_documented_success_reads_every_field() -> None:
    result = record("success_documented.json")

    assert result.task_id == "task-1"
    assert result.success_flag == 1
    assert result.result_urls == ("http://example.com/video1.mp4",)
    assert result.origin_urls == ("http://example.com/original_video1.mp4",)
    assert result.resolution == "1080p"
    assert result.error_message is None
    assert result.error_code is None
    assert result.prompt == "A futuristic city with flying cars at sunset."
    assert result.params["waterMark"] == "KieAI"


def test_naive_times_are_utc() -> None:
    result = record("success_documented.json")

    assert result.created_at == datetime(2025, 6, 6, 10, 25, tzinfo=UTC)
    assert result.completed_at == datetime(2025, 6, 6, 10, 30, tzinfo=UTC)
    assert result.duration_s == 300


def test_naive_times_follow_the_configured_zone() -> None:
    result = record("success_documented.json", naive_zone=ZoneInfo("Asia/Shanghai"))

    assert result.created_at == datetime(2025, 6, 6, 2, 25, tzinfo=UTC)


def test_old_format_reads_urls_from_a_json_string_under_data() -> None:
    result = record("success_old_data_string.json")

    assert result.result_urls == (
        "https://tempfile.example.net/a.mp4",
        "https://tempfile.example.net/b.mp4",
    )


def test_epoch_millisecond_times_as_number_or_string() -> None:
    result = record("success_old_data_string.json")

    assert result.created_at == datetime(2025, 6, 6, 10, 25, tzinfo=UTC)
    assert result.duration_s == 120


def test_string_success_flag_is_read_as_int() -> None:
    assert record("success_old_data_string.json").success_flag == 1


def test_bracketed_non_json_url_string_is_split() -> None:
    result = record("success_callback_bracket_string.json")

    assert result.result_urls == (
        "https://cdn.example.org/v1.mp4",
        "https://cdn.example.org/v2.mp4",
    )


def test_iso_times_with_offsets_are_converted_to_utc() -> None:
    result = record("success_callback_bracket_string.json")

    assert result.created_at == datetime(2025, 6, 6, 8, 25, tzinfo=UTC)
    assert result.duration_s == 150


def test_extended_task_keeps_full_result_urls() -> None:
    result = record("success_extended_full_urls.json")

    assert result.full_result_urls == ("https://cdn.example.org/ext-full.mp4",)
    assert result.result_urls == ("https://cdn.example.org/ext.mp4",)


def test_only_http_urls_are_kept() -> None:
    result = record("success_vertical_origin_urls.json")

    assert result.result_urls == ("https://cdn.example.org/tall.mp4",)
    assert result.origin_urls == ("https://cdn.example.org/tall-origin.mp4",)
    assert result.params["aspect_ratio"] == "9:16"


def test_flag_three_is_a_failure_with_its_reason() -> None:
    result = record("failed_flag_three.json")

    assert result.state is State.FAILED
    assert result.error_code == 501
    assert result.failure_reason == "The Google model was unable to generate audio"


def test_failure_without_message_falls_back_to_the_code() -> None:
    result = record("failed_code_only.json")

    assert result.error_message is None
    assert result.failure_reason == "error code 500"


def test_content_policy_message_is_kept_verbatim() -> None:
    result = record("failed_content_policy.json")

    assert result.error_message == (
        "Your prompt was flagged by Website as violating content policies."
    )
    assert result.error_code == 400


def test_undocumented_flag_is_unknown_not_success() -> None:
    result = record("undocumented_flag.json")

    assert result.state is State.UNKNOWN
    assert result.success_flag == 7


def test_generating_has_no_urls_and_no_error() -> None:
    result = record("generating.json")

    assert result.result_urls == ()
    assert result.error_message is None
    assert result.completed_at is None
    assert result.duration_s is None


def test_retention_message_means_expired() -> None:
    result = record("expired.json")

    assert result.state is State.EXPIRED
    assert result.message == "Temporarily supports records within 14 days."


def test_record_without_result_yet_keeps_kie_message() -> None:
    assert record("not_success_yet.json").message == "record status is not success"


def test_key_refused_is_an_auth_error_that_is_not_retried() -> None:
    result = error("key_refused.json")

    assert result.code == 401
    assert not result.retryable
    assert "You do not have access permissions" in result.message


@pytest.mark.parametrize(
    ("name", "http_status"),
    [
        ("rate_limited.json", 200),
        ("maintenance.json", 200),
        ("server_error.json", 200),
        ("gateway_502.html", 502),
        ("truncated.json", 200),
    ],
)
def test_passing_failures_are_retryable(name: str, http_status: int) -> None:
    assert error(name, http_status).retryable


@pytest.mark.parametrize(
    ("name", "http_status"),
    [
        ("server_validation_error.json", 200),
        ("key_cap_reached.json", 200),
        ("cdn_refusal.txt", 403),
    ],
)
def test_lasting_failures_are_not_retried(name: str, http_status: int) -> None:
    assert not error(name, http_status).retryable


def test_html_error_page_is_summarised_without_tags() -> None:
    result = error("gateway_502.html", 502)

    assert result.code == 502
    assert "502 Bad Gateway" in result.message
    assert "<" not in result.message


def test_cdn_refusal_names_the_cdn() -> None:
    assert "CDN" in error("cdn_refusal.txt", 403).message


def test_non_utf8_body_is_still_read() -> None:
    result = record("non_utf8.json")

    assert result.error_message is not None
    assert result.error_message.startswith("Caf")
    assert result.error_message.endswith("refused")


def test_hostile_text_is_kept_as_data_for_the_display_to_neutralise() -> None:
    result = record("hostile_text.json")

    assert result.error_message is not None
    assert "\x1b]52" in result.error_message
    assert result.prompt == "\x1b[2J clear"


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe\x00", b"{" * 100_000, b'{"code": 200, "data": {"successFlag": []}}'],
)
def test_pathological_bodies_never_raise(body: bytes) -> None:
    result = parse_record_info("t", 200, body)

    assert isinstance(result, TaskRecord | FetchError)
