"""Credits, 1080p and 4K through the project's client, against the stand-in.

Waits between checks are a sleep that moves the stand-in's clock, so a
one-minute 4K render takes no time at all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import pytest

from veo_tui.api import FourKRequests, KieClient, follow_4k, follow_1080p
from veo_tui.api.client import UHD_PATH
from veo_tui.domain import FetchError, FetchErrorKind
from veo_tui.sim import RunningSim

DONE = "success-current-naive"


class SimSleep:
    """A sleep that advances the stand-in's clock instead of waiting."""

    def __init__(self, sim: RunningSim) -> None:
        self._sim = sim
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self._sim.advance(seconds)


async def test_credits_are_the_balance_with_fractions(
    sim: RunningSim, make_client: Callable[..., KieClient]
) -> None:
    sim.state.credits = 35.95

    assert await make_client().credits() == 35.95


async def test_credits_with_a_refused_key_are_an_auth_error(
    make_client: Callable[..., KieClient],
) -> None:
    result = await make_client(key="sk-wrong-key-00000000").credits()

    assert isinstance(result, FetchError)
    assert result.kind is FetchErrorKind.AUTH


async def test_1080p_is_none_while_processing_then_a_url(
    sim: RunningSim, make_client: Callable[..., KieClient]
) -> None:
    client = make_client()
    sim.advance(30)

    processing = await client.get_1080p("generating")
    sim.advance(30)
    ready = await client.get_1080p("generating")

    assert processing is None
    assert ready == f"{sim.base_url}/files/generating/1080p-0.mp4"


async def test_following_1080p_checks_until_the_url_comes(
    sim: RunningSim, make_client: Callable[..., KieClient]
) -> None:
    sim.advance(30)
    sleep = SimSleep(sim)
    polls: list[object] = []

    url = await follow_1080p(
        make_client(),
        "generating",
        interval=20,
        sleep=sleep,
        on_poll=lambda n, r: polls.append(r),
    )

    assert url == f"{sim.base_url}/files/generating/1080p-0.mp4"
    assert polls == [None, None, url]
    assert sleep.delays == [20, 20]


async def test_following_1080p_gives_up_after_the_bound(
    sim: RunningSim, make_client: Callable[..., KieClient]
) -> None:
    sim.advance(30)

    result = await follow_1080p(
        make_client(), "generating", interval=1, max_polls=3, sleep=SimSleep(sim)
    )

    assert isinstance(result, FetchError)
    assert result.kind is FetchErrorKind.TIMEOUT
    assert "3 checks" in result.message


async def test_following_1080p_of_an_unfinished_task_stops_at_once(
    sim: RunningSim, make_client: Callable[..., KieClient]
) -> None:
    sleep = SimSleep(sim)

    result = await follow_1080p(make_client(), "failed-no-audio", sleep=sleep)

    assert isinstance(result, FetchError)
    assert "record status is not success" in result.message
    assert sleep.delays == []


async def test_4k_is_charged_once_and_followed_to_its_urls(
    sim: RunningSim, make_client: Callable[..., KieClient]
) -> None:
    before = sim.state.credits
    guard = FourKRequests()

    urls = await follow_4k(make_client(), guard, DONE, sleep=SimSleep(sim))

    assert urls == (f"{sim.base_url}/files/{DONE}/4k-0.mp4",)
    assert sim.state.credits == before - 120
    assert guard.was_requested(DONE)
    assert guard.urls(DONE) == urls


async def test_4k_asked_again_with_the_guard_sends_nothing(
    sim: RunningSim, make_client: Callable[..., KieClient]
) -> None:
    guard = FourKRequests()
    client = make_client()
    first = await follow_4k(client, guard, DONE, sleep=SimSleep(sim))
    requests = sim.requests_to(UHD_PATH)

    again = await follow_4k(client, guard, DONE, sleep=SimSleep(sim))

    assert again == first
    assert sim.requests_to(UHD_PATH) == requests


async def test_two_4k_follows_at_once_share_one_request(
    sim: RunningSim, make_client: Callable[..., KieClient]
) -> None:
    before = sim.state.credits
    guard = FourKRequests()
    client = make_client()
    asked = asyncio.Event()
    gate = asyncio.Event()

    async def slow_sleep(seconds: float) -> None:
        await gate.wait()
        sim.advance(seconds)

    first = asyncio.create_task(
        follow_4k(client, guard, DONE, sleep=slow_sleep, on_poll=lambda *_: asked.set())
    )
    await asked.wait()
    second = asyncio.create_task(follow_4k(client, guard, DONE, sleep=slow_sleep))
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(first, second)

    assert results[0] == results[1]
    assert guard.in_flight(DONE) is False
    assert sim.state.credits == before - 120
    assert sim.requests_to(UHD_PATH) == 3


async def test_4k_without_enough_credits_stops_and_charges_nothing(
    sim: RunningSim, make_client: Callable[..., KieClient]
) -> None:
    sim.state.credits = 10
    guard = FourKRequests()

    result = await follow_4k(make_client(), guard, DONE, sleep=SimSleep(sim))

    assert isinstance(result, FetchError)
    assert "402" in result.message
    assert sim.state.credits == 10
    assert guard.urls(DONE) is None
    assert not guard.in_flight(DONE)


@pytest.mark.parametrize("method", ["credits", "get_1080p", "get_4k"])
async def test_without_a_key_nothing_is_sent(
    sim: RunningSim, make_client: Callable[..., KieClient], method: str
) -> None:
    client = make_client(key=None)
    call = getattr(client, method)

    result = await (call() if method == "credits" else call(DONE))

    assert isinstance(result, FetchError)
    assert result.kind is FetchErrorKind.AUTH
    assert sum(sim.state.requests.values()) == 0


async def test_a_cancelled_4k_follow_leaves_a_value_for_whoever_joined(
    sim: RunningSim, make_client: Callable[..., KieClient]
) -> None:
    guard = FourKRequests()
    client = make_client()
    asked = asyncio.Event()

    async def forever(seconds: float) -> None:
        await asyncio.Event().wait()

    first = asyncio.create_task(
        follow_4k(client, guard, DONE, sleep=forever, on_poll=lambda *_: asked.set())
    )
    await asked.wait()
    joined = asyncio.create_task(follow_4k(client, guard, DONE))
    await asyncio.sleep(0)
    first.cancel()
    result = await joined
    with contextlib.suppress(asyncio.CancelledError):
        await first

    assert isinstance(result, FetchError)
    assert "not charged twice" in result.message
    assert guard.was_requested(DONE)
    assert not guard.in_flight(DONE)
