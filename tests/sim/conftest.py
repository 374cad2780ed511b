"""Fixtures that start the stand-in in-process on a free loopback port.

The ``contract`` scenario below holds one task per body shape and state, on a
frozen clock, so every answer is known in advance; tests move time with
``sim.advance`` instead of sleeping.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from veo_tui.api import ApiOptions, KieClient
from veo_tui.sim import (
    RunningSim,
    Scenario,
    SimClock,
    SimOptions,
    parse_scenario,
    running_sim_in_thread,
)

SIM_KEY = "sk-sim-test-0000not0000real"
"""The key the stand-in accepts in these tests; no kie.ai key looks like it."""

FROZEN_AT = 1_780_000_000.0
"""2026-05-28 20:26:40 UTC: the frozen clock's start, so times are exact."""

CONTRACT_SCENARIO = """
[sim]
name = "contract"
seed = 42
credits = 500

[generate]
duration = "40s"
visible_after = "2s"
failure_rate = 0.0
rate_limit = 3

[faults]
retry_after = 1
maintenance_window = "3s"
hang_for = "5s"

[[task]]
id = "success-current-naive"
prompt = "A futuristic city with flying cars at sunset."
age = "10m"
duration = "60s"

[[task]]
id = "success-portrait-epoch"
prompt = "Vertical: a barista pours latte art."
aspect_ratio = "9:16"
age = "10m"
duration = "60s"
times = "epoch_ms"
resolution = "1080p"

[[task]]
id = "success-legacy"
prompt = "Fog over the bridge."
age = "1d"
duration = "70s"
shape = "legacy"

[[task]]
id = "success-extended-iso"
prompt = "The city at night."
extends = "success-current-naive"
age = "5m"
duration = "50s"
times = "iso"

[[task]]
id = "success-flag-string"
prompt = "Paper boats."
age = "5m"
duration = "50s"
flag_as_string = true

[[task]]
id = "failed-content-policy"
prompt = "A boxing match."
age = "5m"
duration = "9s"
failure = "content_policy"

[[task]]
id = "failed-no-audio"
prompt = "A jazz trio."
age = "5m"
duration = "2m"
failure = "no_audio"

[[task]]
id = "expired"
prompt = "Paper boats racing."
age = "15d"
duration = "70s"

[[task]]
id = "generating"
prompt = "Northern lights."
age = "10s"
duration = "40s"

[[task]]
id = "invisible"
prompt = "A red fox in snow."
visible_after = "5s"
duration = "40s"
"""
"""A scenario with one task per shape the client must read, by readable id."""


@pytest.fixture
def contract_scenario() -> Scenario:
    """The :data:`CONTRACT_SCENARIO`, parsed."""
    return parse_scenario(CONTRACT_SCENARIO, source="contract.toml")


@pytest.fixture(scope="session")
def sim_server() -> Iterator[RunningSim]:
    """One stand-in for the whole session, serving from its own thread.

    Starting a server per test would cost a few tenths of a second each; the
    ``sim`` fixture gives every test a fresh world on this one instead.
    """
    scenario = parse_scenario(CONTRACT_SCENARIO, source="contract.toml")
    with running_sim_in_thread(scenario=scenario, port=0, key=SIM_KEY) as running:
        yield running


@pytest.fixture(scope="session")
def sim_options(sim_server: RunningSim) -> SimOptions:
    """The options the session's stand-in started with."""
    return sim_server.options


@pytest.fixture
def sim(sim_server: RunningSim, sim_options: SimOptions) -> RunningSim:
    """The stand-in with a fresh contract world on a clock frozen at FROZEN_AT.

    Whatever an earlier test changed (key, faults, credits, time) is gone.
    """
    sim_server.reset(sim_options, clock=SimClock(start=FROZEN_AT))
    return sim_server


@pytest.fixture
async def http(sim: RunningSim) -> AsyncIterator[httpx.AsyncClient]:
    """A plain httpx client with the stand-in's key, for raw bodies."""
    async with httpx.AsyncClient(
        base_url=sim.base_url,
        headers={"Authorization": f"Bearer {SIM_KEY}"},
        timeout=5.0,
        trust_env=False,
    ) as client:
        yield client


class SleepRecorder:
    """An instant replacement for the client's sleep that notes each delay."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
async def make_client(
    sim: RunningSim,
) -> AsyncIterator[Callable[..., KieClient]]:
    """Build the project's own client against the stand-in; closed afterwards.

    Keyword arguments override :class:`ApiOptions` fields; ``sleep`` replaces
    the client's sleep (a :class:`SleepRecorder` keeps retries instant).
    """
    clients: list[KieClient] = []

    def build(*, sleep: SleepRecorder | None = None, **fields: Any) -> KieClient:
        options = ApiOptions(
            **{
                "base_url": sim.base_url,
                "key": SIM_KEY,
                "timeout": 5.0,
                "connect_timeout": 2.0,
                "max_retries": 3,
                "backoff_base": 0.01,
                **fields,
            }
        )
        client = KieClient(options, sleep=sleep or SleepRecorder())
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.aclose()
