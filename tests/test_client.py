"""The kie.ai client against respx: retries, Retry-After, limits, the key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import respx

from tests.conftest import FAKE_KEY, corpus
from veo_tui.api import USER_AGENT, ApiOptions, InsecureKeyError, KieClient
from veo_tui.domain import FetchError, FetchErrorKind, State, TaskRecord

BASE = "https://api.kie.ai"
RECORD_INFO = f"{BASE}/api/v1/veo/record-info"
NOW = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)


class Sleeps:
    """A fake sleep that records how long the client asked to wait."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def client(sleeps: Sleeps) -> AsyncIterator[KieClient]:
    options = ApiOptions(base_url=BASE, key=FAKE_KEY, max_retries=3)
    async with KieClient(
        options, sleep=sleeps, jitter=lambda: 0.5, now=lambda: NOW
    ) as c:
        yield c


def ok() -> httpx.Response:
    return httpx.Response(200, content=corpus("success_documented.json"))


def kie(name: str, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, content=corpus(name), headers=headers)


@respx.mock
async def test_record_is_fetched_with_key_user_agent_and_task_id(
    client: KieClient,
) -> None:
    route = respx.get(RECORD_INFO).mock(return_value=ok())

    result = await client.record_info("veo_task_abcdef123456")

    assert isinstance(result, TaskRecord)
    assert result.state is State.SUCCESS
    request = route.calls.last.request
    assert request.url.params["taskId"] == "veo_task_abcdef123456"
    assert request.headers["Authorization"] == f"Bearer {FAKE_KEY}"
    assert request.headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("veo-tui/")


@respx.mock
async def test_server_errors_are_retried_then_succeed(
    client: KieClient, sleeps: Sleeps
) -> None:
    route = respx.get(RECORD_INFO).mock(
        side_effect=[kie("gateway_502.html", 502), kie("server_error.json"), ok()]
    )

    result = await client.record_info("t")

    assert isinstance(result, TaskRecord)
    assert route.call_count == 3
    assert len(sleeps.calls) == 2


@respx.mock
async def test_a_truncated_body_is_asked_for_again(
    client: KieClient, sleeps: Sleeps
) -> None:
    route = respx.get(RECORD_INFO).mock(side_effect=[kie("truncated.json"), ok()])

    result = await client.record_info("t")

    assert isinstance(result, TaskRecord)
    assert route.call_count == 2


@respx.mock
async def test_backoff_grows_exponentially_with_jitter(
    client: KieClient, sleeps: Sleeps
) -> None:
    respx.get(RECORD_INFO).mock(return_value=kie("maintenance.json"))

    await client.record_info("t")

    # base 0.5 s doubling, times a jitter factor of 0.75 (jitter() == 0.5)
    assert sleeps.calls == [0.375, 0.75, 1.5]


async def test_jitter_spreads_delays_between_half_and_full() -> None:
    options = ApiOptions(base_url=BASE, key=FAKE_KEY)
    low = KieClient(options, jitter=lambda: 0.0)
    high = KieClient(options, jitter=lambda: 0.999)

    assert low._delay(2, None) == 1.0
    assert 1.99 < (high._delay(2, None) or 0) < 2.0
    await low.aclose()
    await high.aclose()


@respx.mock
async def test_retries_give_up_after_max_retries(
    client: KieClient, sleeps: Sleeps
) -> None:
    route = respx.get(RECORD_INFO).mock(return_value=kie("server_error.json"))

    result = await client.record_info("t")

    assert isinstance(result, FetchError)
    assert result.kind is FetchErrorKind.SERVER
    assert result.message.endswith("(4 tries)")
    assert route.call_count == 4
    assert len(sleeps.calls) == 3


@respx.mock
async def test_retry_after_in_seconds_is_honoured(
    client: KieClient, sleeps: Sleeps
) -> None:
    respx.get(RECORD_INFO).mock(
        side_effect=[kie("rate_limited.json", 429, **{"Retry-After": "7"}), ok()]
    )

    result = await client.record_info("t")

    assert isinstance(result, TaskRecord)
    assert sleeps.calls == [7.0]


@respx.mock
async def test_retry_after_as_http_date_is_honoured(
    client: KieClient, sleeps: Sleeps
) -> None:
    respx.get(RECORD_INFO).mock(
        side_effect=[
            kie(
                "rate_limited.json",
                429,
                **{"Retry-After": "Thu, 03 Dec 2026 12:00:12 GMT"},
            ),
            ok(),
        ]
    )

    await client.record_info("t")

    assert sleeps.calls == [12.0]


@respx.mock
async def test_long_retry_after_is_returned_not_slept(
    client: KieClient, sleeps: Sleeps
) -> None:
    respx.get(RECORD_INFO).mock(
        return_value=kie("rate_limited.json", 429, **{"Retry-After": "600"})
    )

    result = await client.record_info("t")

    assert isinstance(result, FetchError)
    assert result.kind is FetchErrorKind.RATE_LIMITED
    assert result.retry_after == 600
    assert sleeps.calls == []


@respx.mock
async def test_refused_key_is_not_retried(client: KieClient) -> None:
    route = respx.get(RECORD_INFO).mock(return_value=kie("key_refused.json"))

    result = await client.record_info("t")

    assert isinstance(result, FetchError)
    assert result.kind is FetchErrorKind.AUTH
    assert route.call_count == 1


@respx.mock
async def test_connection_errors_are_retried_then_reported(client: KieClient) -> None:
    route = respx.get(RECORD_INFO).mock(
        side_effect=httpx.ConnectError("connection refused")
    )

    result = await client.record_info("t")

    assert isinstance(result, FetchError)
    assert result.kind is FetchErrorKind.NETWORK
    assert "connection refused" in result.message
    assert route.call_count == 4


@respx.mock
async def test_read_timeouts_are_reported_as_timeouts(client: KieClient) -> None:
    respx.get(RECORD_INFO).mock(side_effect=httpx.ReadTimeout("slow"))

    result = await client.record_info("t")

    assert isinstance(result, FetchError)
    assert result.kind is FetchErrorKind.TIMEOUT


@respx.mock
async def test_whole_request_timeout_ends_a_hanging_request() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return ok()

    respx.get(RECORD_INFO).mock(side_effect=hang)
    options = ApiOptions(base_url=BASE, key=FAKE_KEY, timeout=0.05, max_retries=0)

    async with KieClient(options) as client:
        result = await client.record_info("t")

    assert isinstance(result, FetchError)
    assert result.kind is FetchErrorKind.TIMEOUT
    assert result.retryable


@respx.mock
async def test_responses_over_the_size_cap_are_refused(client: KieClient) -> None:
    huge = b'{"code":200,"msg":"' + b"x" * 1_100_000 + b'"}'
    respx.get(RECORD_INFO).mock(return_value=httpx.Response(200, content=huge))

    result = await client.record_info("t")

    assert isinstance(result, FetchError)
    assert result.kind is FetchErrorKind.MALFORMED
    assert "larger than" in result.message


@respx.mock
async def test_streamed_responses_over_the_cap_are_refused_without_length() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 100_000

    respx.get(RECORD_INFO).mock(return_value=httpx.Response(200, content=chunks()))
    async with KieClient(ApiOptions(base_url=BASE, key=FAKE_KEY)) as client:
        result = await client.record_info("t")

    assert isinstance(result, FetchError)
    assert "larger than" in result.message


async def test_without_a_key_no_request_is_sent() -> None:
    with respx.mock(assert_all_called=False) as router:
        route = router.get(RECORD_INFO)
        async with KieClient(ApiOptions(base_url=BASE, key=None)) as client:
            result = await client.record_info("t")

    assert isinstance(result, FetchError)
    assert result.kind is FetchErrorKind.AUTH
    assert "KIE_API_KEY" in result.message
    assert not route.called


@pytest.mark.parametrize(
    "base_url", ["http://api.kie.ai", "http://10.0.0.5:8777", "http://example.com"]
)
def test_key_is_never_sent_over_plain_http_to_other_hosts(base_url: str) -> None:
    with pytest.raises(InsecureKeyError, match="https"):
        ApiOptions(base_url=base_url, key=FAKE_KEY)


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:8777",
        "http://localhost:8777",
        "http://[::1]:8777",
        "http://127.3.4.5",
    ],
)
def test_key_may_go_over_http_to_loopback(base_url: str) -> None:
    assert ApiOptions(base_url=base_url, key=FAKE_KEY).base_url == base_url


def test_options_repr_masks_the_key() -> None:
    shown = repr(ApiOptions(base_url=BASE, key=FAKE_KEY))

    assert FAKE_KEY not in shown
    assert shown.endswith("…abcd')")
