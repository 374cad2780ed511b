"""Starting and stopping the stand-in in-process, and where it may listen."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from veo_tui.sim import (
    RunningSim,
    SimStartError,
    is_loopback,
    running_sim,
    running_sim_in_thread,
)
from veo_tui.sim.server import _listen


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port some other socket is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


async def test_running_sim_serves_inside_the_event_loop_and_stops_after() -> None:
    async with (
        running_sim(scenario="demo", port=0) as sim,
        httpx.AsyncClient(base_url=sim.base_url, trust_env=False) as http,
    ):
        response = await http.get(
            "/api/v1/chat/credit", headers={"Authorization": f"Bearer {sim.key}"}
        )

    assert response.json()["data"] == 1840.5
    async with httpx.AsyncClient(base_url=sim.base_url, trust_env=False) as after:
        with pytest.raises(httpx.ConnectError):
            await after.get("/")


async def test_running_sim_exposes_the_scenarios_task_ids_in_order() -> None:
    async with running_sim(scenario="demo") as sim:
        ids = sim.task_ids

    assert len(ids) == 13
    assert ids[0] == "7c1e9b24d0a84f53b6e2c8a91f3d5e07"


async def test_running_sim_binds_loopback_by_default() -> None:
    async with running_sim() as sim:
        host = sim.host

    assert host == "127.0.0.1"


async def test_running_sim_refuses_a_host_others_can_reach() -> None:
    with pytest.raises(SimStartError, match=r"refusing to listen on 0\.0\.0\.0"):
        async with running_sim(host="0.0.0.0"):
            pass


async def test_running_sim_reports_a_taken_port(taken_port: int) -> None:
    with pytest.raises(SimStartError, match="already in use"):
        async with running_sim(port=taken_port):
            pass


def test_the_thread_variant_serves_synchronous_callers() -> None:
    with running_sim_in_thread(scenario="load", count=3) as sim:
        response = httpx.get(
            f"{sim.base_url}/api/v1/veo/record-info",
            params={"taskId": sim.task_ids[0]},
            headers={"Authorization": f"Bearer {sim.key}"},
            trust_env=False,
        )

    assert len(sim.task_ids) == 3
    assert response.json()["data"]["successFlag"] == 0


def test_the_thread_variant_reports_a_taken_port(taken_port: int) -> None:
    with (
        pytest.raises(SimStartError, match="already in use"),
        running_sim_in_thread(port=taken_port),
    ):
        pass


def test_reset_gives_a_fresh_world(sim: RunningSim) -> None:
    sim.state.credits = 0
    sim.advance(3600)

    sim.reset()

    assert sim.state.credits == 500
    assert sim.requests_to("/api/v1/veo/record-info") == 0


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.10", False),
        ("example.com", False),
    ],
)
def test_only_loopback_addresses_count_as_local(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


async def test_connections_accepted_by_the_stand_in_send_without_nagle() -> None:
    """With Nagle's algorithm on, an answer on a reused connection waited for
    the client's delayed ACK (~40 ms each: bench 1 took 1.9x its bound)."""
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_connection(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("socket")
        accepted.set_result(peer.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(on_connection, sock=_listen("127.0.0.1", 0))
    async with server:
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(accepted, 5) != 0
        writer.close()


@pytest.mark.parametrize("task_id", ["a/b", "../../escape", "x y%z"])
async def test_a_result_url_of_an_odd_id_serves_that_tasks_video(
    tmp_path: Path, task_id: str
) -> None:
    scenario = tmp_path / "odd.toml"
    scenario.write_text(
        f'[[task]]\nid = "{task_id}"\nprompt = "A cat."\nage = "1h"\nduration = "60s"\n'
    )
    async with (
        running_sim(scenario=str(scenario), port=0) as sim,
        httpx.AsyncClient(base_url=sim.base_url, trust_env=False) as http,
    ):
        record = await http.get(
            "/api/v1/veo/record-info",
            params={"taskId": task_id},
            headers={"Authorization": f"Bearer {sim.key}"},
        )
        url = record.json()["data"]["response"]["resultUrls"][0]
        video = await http.get(url)

    assert url.startswith(f"{sim.base_url}/files/")
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
