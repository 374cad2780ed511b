"""Start and stop the stand-in: in the foreground, in an event loop, in a thread.

The stand-in is a real HTTP server (uvicorn) on a real socket, so whoever talks
to it goes through the same bytes as with kie.ai. :func:`running_sim` runs it
inside the caller's event loop (tests, the dashboard's demo mode) and
:func:`running_sim_in_thread` from synchronous code. Both bind to loopback unless
told otherwise, and both accept port 0 to let the system choose a free port.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import os
import socket
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from veo_tui.sim.faults import FaultKind
from veo_tui.sim.scenario import Scenario, load_scenario
from veo_tui.sim.tasks import SimClock, SimState, SimTask

if TYPE_CHECKING:
    import uvicorn

    from veo_tui.sim.app import SimApp

# uvicorn and the Starlette app are imported when a stand-in starts: every
# `veo-tui` start builds the `sim` command's parser, which needs this module.

DEFAULT_KEY = "sk-sim-local-test-key"
"""The key the stand-in accepts unless told otherwise. Not a kie.ai key."""

DEFAULT_PORT = 8777
"""The port ``veo-tui sim`` listens on unless told otherwise."""

_START_TIMEOUT = 10.0
_DROP_MESSAGE = "ASGI callable returned without completing response."


class SimStartError(RuntimeError):
    """The stand-in could not start (port taken, host refused)."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (``localhost``, 127.x, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class SimOptions:
    """How to run a stand-in, beyond what its scenario says.

    Attributes:
        scenario: A scenario, a built-in name or the path of a TOML file.
        host: Where to listen; loopback unless ``allow_remote``.
        port: Where to listen; 0 lets the system choose.
        key: The one API key accepted.
        speed: Overrides the scenario's speed.
        latency_ms: Overrides the scenario's fixed latency.
        jitter_ms: Overrides the scenario's jitter.
        faults: Fault rates that override the scenario's, by kind.
        count: Sets how many tasks each ``repeat`` entry stands for.
        clock: The clock to run on; a fresh real-time one if ``None``.
        allow_remote: Permit a host other than loopback.
    """

    scenario: Scenario | str | Path = "demo"
    host: str = "127.0.0.1"
    port: int = 0
    key: str = DEFAULT_KEY
    speed: float | None = None
    latency_ms: float | None = None
    jitter_ms: float | None = None
    faults: Mapping[FaultKind, float] | None = None
    count: int | None = None
    clock: SimClock | None = None
    allow_remote: bool = False


def build_state(options: SimOptions) -> SimState:
    """The stand-in's world for ``options``: scenario read, overrides applied.

    Raises:
        ScenarioError: The scenario cannot be read.
        ValueError: An override is out of range (a sentence for the user).
    """
    scenario = options.scenario
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if options.count is not None:
        scenario = scenario.with_count(options.count)

    settings = scenario.faults
    if options.faults:
        settings = replace(settings, rates={**settings.rates, **options.faults})
    if options.latency_ms is not None:
        settings = replace(settings, latency_ms=options.latency_ms)
    if options.jitter_ms is not None:
        settings = replace(settings, jitter_ms=options.jitter_ms)
    scenario = replace(scenario, faults=settings)
    if not options.key or any(c.isspace() for c in options.key):
        raise ValueError("the key cannot be empty or contain whitespace")
    return SimState(scenario, key=options.key, clock=options.clock, speed=options.speed)


class RunningSim:
    """A stand-in that is serving: where to reach it, and handles to steer it."""

    def __init__(self, app: SimApp, options: SimOptions, port: int) -> None:
        self._app = app
        self.options = options
        self.host = options.host
        self.port = port

    @property
    def state(self) -> SimState:
        """Its world: tasks, clock, credits, fault plan, request counts."""
        return self._app.state

    def reset(self, options: SimOptions | None = None, /, **overrides: Any) -> None:
        """Start its world afresh from ``options`` (default: its current ones).

        ``overrides`` replace fields of those options. Only the fields that
        shape the world apply (``scenario``, ``key``, ``speed``, ``faults``,
        ``clock``, ...), not ``host`` or ``port``; the clock is kept unless a
        new one is given. Call it between requests, e.g. between tests sharing
        one server.
        """
        self.options = replace(options or self.options, **overrides)
        self._app.state = build_state(self.options)

    @property
    def base_url(self) -> str:
        """``http://host:port`` to give a client as its base URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def key(self) -> str:
        """The API key it accepts."""
        return self.state.key

    @property
    def task_ids(self) -> tuple[str, ...]:
        """Ids of the tasks its scenario seeded, in scenario order."""
        return self.state.seeded_ids

    @property
    def tasks(self) -> Mapping[str, SimTask]:
        """Every task it knows, seeded or created, by id."""
        return self.state.tasks

    @property
    def clock(self) -> SimClock:
        """Its clock; :meth:`SimClock.advance` moves every schedule forward."""
        return self.state.clock

    def advance(self, seconds: float) -> None:
        """Move the stand-in's time ``seconds`` forward."""
        self.state.clock.advance(seconds)

    def force_fault(self, kind: FaultKind, times: int = 1) -> None:
        """Make the next ``times`` API requests meet ``kind``."""
        self.state.faults.force(kind, times)

    def force_file_fault(self, kind: FaultKind, times: int = 1) -> None:
        """Make the next ``times`` video downloads meet ``kind``.

        ``dropped_connection`` sends the headers and half the body, then closes.
        """
        self.state.faults.force_file(kind, times)

    def requests_to(self, path: str) -> int:
        """How many requests ``path`` (e.g. ``/api/v1/veo/record-info``) received."""
        return self.state.requests[path]


class _QuietDrops(logging.Filter):
    """Hide uvicorn's complaint about the connections the stand-in drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _DROP_MESSAGE


def make_server(
    app: SimApp,
    host: str,
    port: int,
    *,
    embedded: bool = True,
    access_log: bool = False,
) -> uvicorn.Server:
    """A uvicorn server for ``app``, not yet started.

    Args:
        app: The stand-in.
        host: Where to listen.
        port: Where to listen; 0 lets the system choose.
        embedded: Leave signal handling and logging set-up to the host
            program (a dashboard must not get uvicorn's stderr handlers).
        access_log: Log one line per request to ``uvicorn.access``.
    """
    import uvicorn

    class _EmbeddedServer(uvicorn.Server):
        """A uvicorn server that leaves the host program's signal handlers alone."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    extra: dict[str, Any] = {"log_config": None} if embedded else {}
    config = uvicorn.Config(
        app,
        **extra,
        host=host,
        port=port,
        http="h11",
        loop="asyncio",
        lifespan="off",
        log_level="warning",
        access_log=access_log,
        # A hanging request must not hold the shutdown for long.
        timeout_graceful_shutdown=1,
    )
    if access_log:
        logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    error_logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in error_logger.filters):
        error_logger.addFilter(_QuietDrops())
    return _EmbeddedServer(config) if embedded else uvicorn.Server(config)


def bound_port(server: uvicorn.Server) -> int:
    """The port a started server listens on (the real one when asked for 0)."""
    for listener in server.servers:
        for sock in listener.sockets:
            port: int = sock.getsockname()[1]
            return port
    raise SimStartError("the server has no listening socket")


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse a non-loopback host unless it was explicitly allowed.

    Raises:
        SimStartError: The host is not loopback and ``allow_remote`` is false.
    """
    if not allow_remote and not is_loopback(host):
        raise SimStartError(
            f"refusing to listen on {host}, which other machines can reach; "
            "the stand-in accepts a well-known key, so only loopback is the default"
        )


async def start_server(server: uvicorn.Server) -> asyncio.Task[None]:
    """Start ``server`` in the running loop; return once it accepts connections.

    Raises:
        SimStartError: It stopped before starting (e.g. the port is taken) or
            did not start within ten seconds.
    """
    config = server.config
    # Bound here rather than by uvicorn, which prints its own error line
    # (and exits) when the port is taken: the caller reports it in one line.
    listener = _listen(config.host, config.port)
    task = asyncio.create_task(_serve(server, listener))
    async with asyncio.timeout(_START_TIMEOUT):
        while not server.started:
            if task.done():
                break
            await asyncio.sleep(0.005)
    if not server.started:
        server.should_exit = True
        with contextlib.suppress(BaseException):
            await task
        listener.close()
        raise SimStartError(f"could not start serving on {config.host}:{config.port}")
    return task


def _listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port``, as uvicorn would bind it.

    Raises:
        SimStartError: The address cannot be had, with the system's reason.
    """
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        bound = socket.create_server((host, port), family=family, backlog=2048)
    except OSError as error:
        raise _listen_error(where, error) from None
    # create_server leaves the protocol number 0, and the connections accepted
    # inherit it; asyncio turns Nagle's algorithm off only on sockets that say
    # IPPROTO_TCP. Left on, a reused connection waited ~40 ms per answer for
    # the client's delayed ACK (the body written after the headers).
    return socket.socket(
        bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach()
    )


def _listen_error(where: str, error: OSError) -> SimStartError:
    """The message for an address that cannot be had, with the system's reason."""
    # create_server words its own message around the system's: keep that.
    code = error.errno
    system = isinstance(code, int) and code > 0
    reason = os.strerror(code) if code and system else error.strerror or str(error)
    hint = " (is another veo-tui sim running? --port 0 picks a free port)"
    taken = error.errno == errno.EADDRINUSE
    return SimStartError(
        f"could not listen on {where}: {reason}{hint if taken else ''}"
    )


async def _serve(server: uvicorn.Server, listener: socket.socket) -> None:
    try:
        await server.serve(sockets=[listener])
    except SystemExit:
        # uvicorn exits the process when it cannot listen; for an embedded
        # server that is the caller's error to report (see start_server).
        server.should_exit = True


@contextlib.asynccontextmanager
async def running_sim(
    options: SimOptions | None = None, /, **overrides: Any
) -> AsyncIterator[RunningSim]:
    """Run a stand-in in the current event loop for the body of the ``async with``.

    Example::

        async with running_sim(scenario="demo", port=0) as sim:
            client_base_url, key = sim.base_url, sim.key

    Args:
        options: How to run it; keyword ``overrides`` replace its fields.
        **overrides: Fields of :class:`SimOptions`, e.g. ``scenario="faults"``.

    Raises:
        ScenarioError: The scenario cannot be read.
        SimStartError: It could not listen where asked.
    """
    options = replace(options or SimOptions(), **overrides)
    check_host(options.host, options.allow_remote)
    state = build_state(options)
    from veo_tui.sim.app import create_app

    app = create_app(state)
    server = make_server(app, options.host, options.port)
    task = await start_server(server)
    try:
        yield RunningSim(app, options, bound_port(server))
    finally:
        server.should_exit = True
        await task


@contextlib.contextmanager
def running_sim_in_thread(
    options: SimOptions | None = None, /, **overrides: Any
) -> Iterator[RunningSim]:
    """Like :func:`running_sim`, for code without an event loop: serves from a thread.

    The thread has its own event loop and is joined on exit, so nothing is left
    running after the ``with`` block.
    """
    options = replace(options or SimOptions(), **overrides)
    check_host(options.host, options.allow_remote)
    state = build_state(options)
    from veo_tui.sim.app import create_app

    app = create_app(state)
    server = make_server(app, options.host, options.port)
    ready = threading.Event()
    failure: list[BaseException] = []

    async def serve() -> None:
        try:
            task = await start_server(server)
        except BaseException as error:
            failure.append(error)
            ready.set()
            return
        ready.set()
        await task

    thread = threading.Thread(
        target=asyncio.run, args=(serve(),), name="veo-tui-sim", daemon=True
    )
    thread.start()
    ready.wait(_START_TIMEOUT + 1)
    if failure or not server.started:
        thread.join(_START_TIMEOUT)
        raise failure[0] if failure else SimStartError("the stand-in did not start")
    try:
        yield RunningSim(app, options, bound_port(server))
    finally:
        server.should_exit = True
        thread.join(_START_TIMEOUT)
