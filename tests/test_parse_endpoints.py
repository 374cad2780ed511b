"""Reading the answers of the credit, 1080p and 4K endpoints, in every shape seen."""

from __future__ import annotations

import json

import pytest

from veo_tui.domain import (
    FetchError,
    FetchErrorKind,
    format_credits,
    parse_4k,
    parse_1080p,
    parse_credits,
)


def envelope(code: int, msg: str, data: object = None) -> bytes:
    return json.dumps({"code": code, "msg": msg, "data": data}).encode()


@pytest.mark.parametrize(
    ("data", "balance"), [(35.95, 35.95), (500, 500.0), ("12.5", 12.5), (0, 0.0)]
)
def test_the_balance_is_the_bare_number_as_given(data: object, balance: float) -> None:
    assert parse_credits(200, envelope(200, "success", data)) == balance


@pytest.mark.parametrize("data", [None, True, "lots", {"credits": 3}, [1]])
def test_a_success_without_a_number_is_malformed(data: object) -> None:
    result = parse_credits(200, envelope(200, "success", data))

    assert isinstance(result, FetchError)
    assert result.kind is FetchErrorKind.MALFORMED


def test_a_refused_key_for_credits_is_an_auth_error() -> None:
    body = b'{"code":401,"msg":"You do not have access permissions"}'

    result = parse_credits(200, body)

    assert isinstance(result, FetchError)
    assert result.kind is FetchErrorKind.AUTH


def test_a_cdn_refusal_is_not_blamed_on_the_key() -> None:
    result = parse_credits(403, b"error code: 1010")

    assert isinstance(result, FetchError)
    assert result.kind is FetchErrorKind.SERVER


@pytest.mark.parametrize(
    ("code", "msg"),
    [
        (400, "1080P is processing. It should be ready in 1-2 minutes."),
        (500, "1080P is processing..."),
        (200, "success"),
    ],
)
def test_1080p_without_a_url_is_still_processing(code: int, msg: str) -> None:
    assert parse_1080p(200, envelope(code, msg, None)) is None


def test_1080p_with_a_url_is_ready_whatever_the_code() -> None:
    body = envelope(400, "odd", {"resultUrl": "https://cdn.example/hd.mp4"})

    assert parse_1080p(200, body) == "https://cdn.example/hd.mp4"


def test_1080p_of_an_unknown_task_is_an_error_not_processing() -> None:
    result = parse_1080p(200, envelope(422, "record is null."))

    assert isinstance(result, FetchError)
    assert result.kind is FetchErrorKind.SERVER
    assert not result.retryable
    assert "record is null." in result.message


def test_1080p_never_offers_a_non_web_url() -> None:
    body = envelope(200, "success", {"resultUrl": "javascript:alert(1)"})

    assert parse_1080p(200, body) is None


def test_4k_just_requested_is_processing() -> None:
    body = envelope(200, "success", {"taskId": "t", "resultUrls": []})

    assert parse_4k(200, body) is None


def test_4k_repeat_while_processing_is_processing() -> None:
    assert parse_4k(200, envelope(422, "4k is processing...")) is None


def test_4k_urls_count_even_with_422() -> None:
    data = {"resultUrls": ["https://cdn.example/a.mp4", "https://cdn.example/b.mp4"]}

    result = parse_4k(200, envelope(422, "4k is processing...", data))

    assert result == ("https://cdn.example/a.mp4", "https://cdn.example/b.mp4")


def test_4k_without_credits_is_an_error() -> None:
    result = parse_4k(200, envelope(402, "Credits insufficient."))

    assert isinstance(result, FetchError)
    assert "402" in result.message


@pytest.mark.parametrize(
    "body", [b"", b"<html>502</html>", b'{"code": 200, "msg"', b"\xff\xfe", b"[]"]
)
def test_any_bytes_give_a_value(body: bytes) -> None:
    for parse in (parse_credits, parse_1080p, parse_4k):
        result = parse(200, body)
        assert isinstance(result, FetchError)


@pytest.mark.parametrize(
    ("balance", "shown"),
    [(35.95, "35.95"), (500.0, "500"), (1_000_000.0, "1000000"), (0.5, "0.5")],
)
def test_a_balance_is_shown_as_kie_ai_gave_it(balance: float, shown: str) -> None:
    assert format_credits(balance) == shown
