"""Issue 5, HTTP/2: does it make the 1,000-task refresh faster than HTTP/1.1?

The same refresh as ``bench_refresh.py`` (Poller and Scheduler, 1,000
generating tasks, 50 ms added to every answer, no request-rate limit, the
default concurrency 8; then concurrency 32), once with the client on HTTP/1.1
and once on HTTP/2, alternating, for several rounds. uvicorn speaks only
HTTP/1.1, so here the stand-in's ASGI app is served by hypercorn, which speaks
both, from a child process on 127.0.0.1 (its own core, as kie.ai is another
machine); one server for every run, so both protocols meet the same server.
There is no TLS on loopback, so the HTTP/2 client speaks it by prior knowledge
(h2c: httpx ``http2=True, http1=False``, what ``KieClient(http2=True)`` does
over plain http). Each run has a fresh client, so connecting counts, and a pool
as large as the concurrency (as ``veo-tui`` sets it); one untimed warm-up per
protocol comes first (lazy imports). The server counts every request by the
protocol it arrived on and the connection it came over, so the table says what
the server actually saw, not what the client asked for. The CPU time of the
client (this process) and of the server is reported per run, to tell waiting
from computing.

HTTP/2 "helps" only if its median time is at least 10% below HTTP/1.1's and it
is faster in every round. One run per concurrency on bench 1's uvicorn
stand-in (HTTP/1.1) is shown as a reference for the server itself.

Needs the optional ``bench`` extra (hypercorn, h2):
``.venv/bin/pip install -e '.[dev,bench]'``.

Run: ``.venv/bin/python benchmarks/bench_http2.py [--rounds N] [--no-32]``
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import multiprocessing
import multiprocessing.connection
import socket
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from _common import (
    Row,
    poller_refresh,
    print_table,
    server_process,
    stand_in_process,
    verdict,
)

from veo_tui.api import ApiOptions, KieClient
from veo_tui.api.client import RECORD_INFO_PATH
from veo_tui.polling import PollSettings

TASKS = 1000
LATENCY_MS = 50.0
DEFAULT_ROUNDS = 3
WARM_UP = 16
"""Tasks fetched once per protocol, untimed, before the runs."""
MIN_GAIN = 0.10
"""HTTP/2 must take at least this much less time (median) to count as a help."""

PROTOCOLS = {False: "HTTP/1.1", True: "HTTP/2"}
SERVER_NAMES = {"1.1": "HTTP/1.1", "2": "HTTP/2"}
EXTRA_MISSING = (
    "bench_http2.py needs the optional 'bench' extra (hypercorn, h2); "
    "install it with: .venv/bin/pip install -e '.[dev,bench]'"
)


# --- the server: the stand-in's ASGI app on hypercorn, in a child process ---


class _Counting:
    """Wraps the stand-in: counts requests by protocol and by connection."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: Counter[str] = Counter()
        self.connections: set[tuple[str, Any]] = set()
        self.cpu = time.process_time()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            version = scope.get("http_version", "?")
            self.requests[version] += 1
            self.connections.add((version, tuple(scope.get("client") or ())))
        await self.app(scope, receive, send)

    def take(self) -> tuple[dict[str, int], dict[str, int], float]:
        """Requests and connections by protocol, and CPU seconds, since the last."""
        requests = dict(self.requests)
        connections = Counter(version for version, _ in self.connections)
        cpu, self.cpu = time.process_time() - self.cpu, time.process_time()
        self.requests = Counter()
        self.connections = set()
        return requests, dict(connections), cpu


def _serve_hypercorn(
    connection: multiprocessing.connection.Connection, count: int, latency_ms: float
) -> None:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    from veo_tui.sim import SimOptions, create_app
    from veo_tui.sim.server import build_state

    options = SimOptions(scenario="load", count=count, latency_ms=latency_ms)
    state = build_state(options)
    app = _Counting(create_app(state))

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    port = listener.getsockname()[1]

    config = Config()
    config.bind = [f"fd://{listener.detach()}"]
    config.accesslog = None
    config.loglevel = "WARNING"
    # Hypercorn closes a connection after 1,000 requests by default; one
    # HTTP/2 connection carries the whole refresh, so do not measure that.
    config.keep_alive_max_requests = 1_000_000

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()

        def on_message() -> None:
            message = connection.recv()
            if message[0] == "take":
                connection.send(app.take())
            else:
                stop.set()

        loop.add_reader(connection.fileno(), on_message)
        server = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
        connection.send((f"http://127.0.0.1:{port}", state.key, state.seeded_ids))
        await server
        loop.remove_reader(connection.fileno())

    asyncio.run(main())


@dataclass(frozen=True, slots=True)
class Seen:
    """What the server saw in one run.

    Attributes:
        requests: Requests by the protocol they came on ("1.1", "2").
        connections: Distinct client addresses by protocol.
        cpu: The server process's CPU seconds (user + system).
    """

    requests: dict[str, int]
    connections: dict[str, int]
    cpu: float

    def describe(self) -> str:
        """E.g. "1,000 HTTP/2 on 1 conn"."""
        parts = [
            f"{count:,} {SERVER_NAMES.get(version, version)} on "
            f"{self.connections.get(version, 0)} conn"
            for version, count in sorted(self.requests.items())
        ]
        return " + ".join(parts) or "nothing"

    def only(self, http2: bool) -> bool:
        """Whether the whole run came on the protocol asked for."""
        return (
            set(self.requests) == {"2" if http2 else "1.1"}
            and sum(self.requests.values()) >= TASKS
        )


@dataclass(frozen=True, slots=True)
class HypercornStandIn:
    """The stand-in on hypercorn in a child process."""

    base_url: str
    key: str
    task_ids: tuple[str, ...]
    connection: multiprocessing.connection.Connection

    def take(self) -> Seen:
        """What the server saw since the last take."""
        self.connection.send(("take",))
        requests, connections, cpu = self.connection.recv()
        return Seen(requests, connections, cpu)


@contextmanager
def hypercorn_process(count: int, latency_ms: float) -> Iterator[HypercornStandIn]:
    with server_process(
        _serve_hypercorn, (count, latency_ms), "the hypercorn stand-in"
    ) as (connection, (base_url, key, ids)):
        yield HypercornStandIn(base_url, key, tuple(ids), connection)


# --- the client side: bench 1's refresh, with a concurrency and a protocol ---


@dataclass(slots=True)
class Runs:
    """The runs of one protocol at one concurrency."""

    times: list[float] = field(default_factory=list)
    client_cpu: list[float] = field(default_factory=list)
    errors: int = 0
    seen: list[Seen] = field(default_factory=list)


async def one_run(
    base_url: str, key: str, ids: tuple[str, ...], concurrency: int, http2: bool
) -> tuple[float, int, float]:
    """One refresh with a fresh client: seconds, fetch errors, client CPU seconds."""
    options = ApiOptions(base_url=base_url, key=key, max_connections=concurrency)
    cpu = time.process_time()
    async with KieClient(options, http2=http2) as client:
        elapsed, errors = await poller_refresh(client, ids, concurrency)
    return elapsed, errors, time.process_time() - cpu


async def compare(
    sim: HypercornStandIn, concurrency: int, rounds: int, log: list[str]
) -> dict[bool, Runs]:
    """Alternate the protocols for ``rounds`` rounds, swapping who goes first."""
    runs = {False: Runs(), True: Runs()}
    sim.take()
    for round_ in range(rounds):
        order = (False, True) if round_ % 2 == 0 else (True, False)
        for http2 in order:
            elapsed, errors, cpu = await one_run(
                sim.base_url, sim.key, sim.task_ids, concurrency, http2
            )
            seen = sim.take()
            runs[http2].times.append(elapsed)
            runs[http2].client_cpu.append(cpu)
            runs[http2].errors += errors
            runs[http2].seen.append(seen)
            log.append(
                f"c={concurrency} round {round_ + 1} {PROTOCOLS[http2]}: "
                f"{elapsed:.2f} s, CPU client {cpu:.2f} s / server {seen.cpu:.2f} s,"
                f" server saw {seen.describe()}, {errors} errors"
            )
            print(log[-1], file=sys.stderr, flush=True)
    return runs


def rows_for(concurrency: int, runs: dict[bool, Runs]) -> tuple[list[Row], bool]:
    """The table's lines for one concurrency; and whether HTTP/2 helped."""
    bound = TASKS * LATENCY_MS / 1000 / concurrency
    tag = f"[c={concurrency}]"
    rows = [
        Row(
            f"{tag} bound: {TASKS:,} x {LATENCY_MS:g} ms / {concurrency}",
            f"{bound:.2f} s",
        )
    ]
    medians: dict[bool, float] = {}
    for http2 in (False, True):
        times = runs[http2].times
        medians[http2] = median = statistics.median(times)
        name = PROTOCOLS[http2]
        rows.append(
            Row(
                f"{tag} {name}, median of {len(times)} (min-max)",
                f"{median:.2f} s ({min(times):.2f}-{max(times):.2f})",
            )
        )
        rows.append(Row("  as a multiple of the bound", f"{median / bound:.3f}x"))
        client_cpu = statistics.median(runs[http2].client_cpu)
        server_cpu = statistics.median(seen.cpu for seen in runs[http2].seen)
        rows.append(
            Row(
                "  CPU per run, client / server (medians)",
                f"{client_cpu:.2f} s / {server_cpu:.2f} s",
            )
        )
        sizes = sorted({sum(seen.connections.values()) for seen in runs[http2].seen})
        ok = all(seen.only(http2) for seen in runs[http2].seen)
        rows.append(
            Row(
                "  what the server saw, per run",
                runs[http2].seen[0].describe()
                + ("" if len(sizes) == 1 else f" (conns {sizes[0]}-{sizes[-1]})"),
                f"{name} only",
                verdict(ok),
            )
        )
        rows.append(
            Row(
                "  fetch errors, all runs",
                f"{runs[http2].errors}",
                "0",
                verdict(runs[http2].errors == 0),
            )
        )
    gain = 1 - medians[True] / medians[False]
    per_round = [
        1 - h2 / h1 for h1, h2 in zip(runs[False].times, runs[True].times, strict=True)
    ]
    every = all(g > 0 for g in per_round)
    verified = all(
        seen.only(http2) for http2 in (False, True) for seen in runs[http2].seen
    )
    helps = gain >= MIN_GAIN and every and verified
    rows.append(
        Row(
            f"{tag} HTTP/2 time saved vs HTTP/1.1 (median)",
            f"{gain:+.1%} (rounds: {', '.join(f'{g:+.1%}' for g in per_round)})",
            f">= {MIN_GAIN:.0%}, every round",
            verdict(helps),
        )
    )
    return rows, helps


async def uvicorn_reference(concurrencies: list[int]) -> list[Row]:
    """Bench 1's set-up, HTTP/1.1 on the uvicorn stand-in: one run each."""
    rows = []
    with stand_in_process(count=TASKS, latency_ms=LATENCY_MS) as sim:
        for concurrency in concurrencies:
            before = sim.requests_to(RECORD_INFO_PATH)
            elapsed, errors, cpu = await one_run(
                sim.base_url, sim.key, sim.task_ids, concurrency, False
            )
            served = sim.requests_to(RECORD_INFO_PATH) - before
            bound = TASKS * LATENCY_MS / 1000 / concurrency
            rows.append(
                Row(
                    f"reference: bench 1's uvicorn stand-in, HTTP/1.1, "
                    f"c={concurrency}, 1 run",
                    f"{elapsed:.2f} s ({elapsed / bound:.3f}x the bound; client CPU"
                    f" {cpu:.2f} s; {served:,} served, {errors} errors)",
                )
            )
    return rows


async def measure(rounds: int, with_32: bool) -> None:
    log: list[str] = []
    concurrencies = [PollSettings().concurrency] + ([32] if with_32 else [])
    results: dict[int, dict[bool, Runs]] = {}
    with hypercorn_process(TASKS, LATENCY_MS) as sim:
        assert len(sim.task_ids) == TASKS, len(sim.task_ids)
        # Warm-up, not timed: httpx imports h11 and h2 on first use, and
        # hypercorn its HTTP/2 side on the first h2c connection.
        for http2 in (False, True):
            await one_run(sim.base_url, sim.key, sim.task_ids[:WARM_UP], 8, http2)
        for concurrency in concurrencies:
            results[concurrency] = await compare(sim, concurrency, rounds, log)
    references = await uvicorn_reference(concurrencies)

    rows: list[Row] = []
    helped: list[bool] = []
    for concurrency in concurrencies:
        more, helps = rows_for(concurrency, results[concurrency])
        rows.extend(more)
        helped.append(helps)
    rows.extend(references)
    default = concurrencies[0]
    if helped[0]:
        conclusion = f"HTTP/2 helps at the default concurrency {default}"
    else:
        conclusion = (
            f"HTTP/2 does not help at the default concurrency {default}: keep HTTP/1.1"
        )
    if len(helped) > 1:
        conclusion += f"; at {concurrencies[1]} it " + (
            "helps" if helped[1] else "does not help"
        )
    print_table(
        f"HTTP/2 vs HTTP/1.1: full refresh, {TASKS:,} generating tasks, "
        f"{LATENCY_MS:g} ms latency, no rate limit, {rounds} alternating rounds",
        rows,
        [
            "stand-in's ASGI app on hypercorn in a child process (its own core), "
            "one server for all runs; HTTP/2 is h2c by prior knowledge",
            "fresh KieClient per run, pool size = concurrency; the server counts "
            "requests by scope['http_version'] and connections by client address",
            *log,
            f"conclusion: {conclusion}",
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help=f"alternating rounds per concurrency (default {DEFAULT_ROUNDS})",
    )
    parser.add_argument(
        "--no-32", action="store_true", help="skip the comparison at concurrency 32"
    )
    args = parser.parse_args()
    if any(importlib.util.find_spec(name) is None for name in ("hypercorn", "h2")):
        print(EXTRA_MISSING, file=sys.stderr)
        sys.exit(2)
    asyncio.run(measure(max(1, args.rounds), not args.no_32))


if __name__ == "__main__":
    main()
