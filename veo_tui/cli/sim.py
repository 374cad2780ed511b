"""``veo-tui sim``: run the local stand-in for kie.ai in the foreground.

It prints where it listens, the key it accepts and a few task ids to try, then
serves until Ctrl-C. Everything it does is in :mod:`veo_tui.sim`; this module
only turns the command line into :class:`~veo_tui.sim.SimOptions` and its
errors into one-line messages.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
from typing import Any, TextIO

from veo_tui.cli.common import EXIT_FAILED, EXIT_OK, UsageError
from veo_tui.sim import (
    BUILTIN_SCENARIOS,
    DEFAULT_KEY,
    DEFAULT_PORT,
    FaultKind,
    RunningSim,
    ScenarioError,
    SimOptions,
    SimStartError,
    TaskState,
    is_loopback,
    parse_fault_option,
)
from veo_tui.sim.server import bound_port, build_state, make_server, start_server

_SHOWN_TASKS = 15


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``sim`` subcommand."""
    kinds = ", ".join(kind.value for kind in FaultKind)
    parser = subparsers.add_parser(
        "sim",
        parents=[common],
        help="run a local stand-in for the kie.ai API (no account needed)",
        description=(
            "Serve a local stand-in for the kie.ai Veo 3.1 API: it answers like "
            "the real service, moves tasks from generating to done, serves a "
            "small real MP4 behind every result URL and misbehaves on demand. "
            "Point veo-tui at it with KIE_BASE_URL and KIE_API_KEY."
        ),
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1; others need --allow-remote)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port to listen on; 0 picks a free one (default: {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--key",
        default=DEFAULT_KEY,
        help=f"the API key to accept (default: the local test key {DEFAULT_KEY})",
    )
    parser.add_argument(
        "--scenario",
        default="demo",
        metavar="NAME|FILE",
        help=f"a built-in scenario ({', '.join(BUILTIN_SCENARIOS)}) or a TOML file "
        "(default: demo)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        metavar="X",
        help="run the schedule X times faster than real time (default: the "
        "scenario's, usually 1)",
    )
    parser.add_argument(
        "--latency",
        type=float,
        metavar="MS",
        help="answer every API request after MS milliseconds",
    )
    parser.add_argument(
        "--jitter",
        type=float,
        metavar="MS",
        help="add a random 0 to MS milliseconds to each answer",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND=RATE",
        help=f"inject a fault into that share of API requests (RATE from 0 to "
        f"1; KIND alone: every request; repeatable, one per kind); kinds: {kinds}",
    )
    parser.add_argument(
        "--count",
        type=int,
        metavar="N",
        help="how many tasks each repeated scenario entry stands for "
        "(the load scenario's N)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="permit a --host that other machines can reach",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="do not print a line per request",
    )
    parser.add_argument(
        "--print-ids",
        action="store_true",
        help="print the id of every task the scenario holds, one a line, and "
        "exit without serving (e.g. | veo-tui add -)",
    )
    parser.set_defaults(run=run)


def options_from_args(args: argparse.Namespace) -> SimOptions:
    """Check the command line and turn it into :class:`SimOptions`.

    Raises:
        UsageError: A value is out of range or unknown.
    """
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be from 0 to 65535, not {args.port}")
    if args.speed is not None and not args.speed > 0:
        raise UsageError(f"--speed must be above 0, not {args.speed:g}")
    for flag, value in (("--latency", args.latency), ("--jitter", args.jitter)):
        if value is not None and not 0 <= value <= 600_000:
            raise UsageError(f"{flag} must be from 0 to 600000 ms, not {value:g}")
    if args.count is not None and not 0 <= args.count <= 1_000_000:
        raise UsageError(f"--count must be from 0 to 1000000, not {args.count}")
    if not args.key or any(c.isspace() for c in args.key):
        raise UsageError("--key cannot be empty or contain whitespace")

    faults: dict[FaultKind, float] = {}
    for text in args.fault:
        try:
            kind, rate = parse_fault_option(text)
        except ValueError as error:
            raise UsageError(str(error)) from None
        if kind in faults:
            raise UsageError(
                f"--fault {kind.value} is given twice; give each kind once"
            )
        faults[kind] = rate
    return SimOptions(
        scenario=args.scenario,
        host=args.host,
        port=args.port,
        key=args.key,
        speed=args.speed,
        latency_ms=args.latency,
        jitter_ms=args.jitter,
        faults=faults or None,
        count=args.count,
        allow_remote=args.allow_remote,
    )


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; 0 after a clean stop, 1 when it cannot listen."""
    options = options_from_args(args)
    if args.print_ids:
        return print_ids(options, sys.stdout)
    if not is_loopback(options.host):
        if not options.allow_remote:
            raise UsageError(
                f"--host {options.host} is not a loopback address (127.0.0.1, "
                "::1, localhost), so other machines may reach the stand-in; add "
                "--allow-remote if that is really what you want"
            )
        print(
            f"veo-tui sim: warning: listening on {options.host}, reachable from "
            "other machines; anyone who can reach it can use the key",
            file=sys.stderr,
        )
    try:
        state = build_state(options)
    except ScenarioError as error:
        raise UsageError(str(error)) from None
    except ValueError as error:
        raise UsageError(f"--fault: {error}") from None

    from veo_tui.sim.app import create_app  # Starlette: only when serving

    app = create_app(state)
    server = make_server(
        app, options.host, options.port, embedded=False, access_log=not args.quiet
    )

    async def serve() -> int:
        try:
            task = await start_server(server)
        except SimStartError as error:
            print(f"veo-tui: {error}", file=sys.stderr)
            return EXIT_FAILED
        print_banner(RunningSim(app, options, bound_port(server)), sys.stdout)
        await task
        return EXIT_OK

    return asyncio.run(serve())


def print_ids(options: SimOptions, out: TextIO) -> int:
    """Print the scenario's task ids, one a line; the same ids it serves."""
    try:
        state = build_state(options)
    except ScenarioError as error:
        raise UsageError(str(error)) from None
    except ValueError as error:
        raise UsageError(f"--fault: {error}") from None
    out.write("".join(f"{task_id}\n" for task_id in state.seeded_ids))
    out.flush()
    return EXIT_OK


def print_banner(sim: RunningSim, out: TextIO) -> None:
    """Say where the stand-in listens, which key it takes and what to try."""
    scenario = sim.state.scenario
    speed = f", speed {sim.state.speed:g}x" if sim.state.speed != 1 else ""
    local = " (a local test key, accepted only here)" if sim.key == DEFAULT_KEY else ""
    print(
        f"veo-tui sim: a local stand-in for kie.ai, scenario {scenario.name!r}{speed}",
        file=out,
    )
    print(f"  base URL  {sim.base_url}", file=out)
    print(f"  API key   {sim.key}{local}", file=out)

    ids = sim.task_ids
    if ids:
        print("  tasks:", file=out)
        now = sim.state.now()
        for task_id in ids[:_SHOWN_TASKS]:
            task = sim.tasks[task_id]
            state = task.state(now)
            ending = (
                ""
                if state.value == task.outcome.value
                else (
                    f"  (will end in {task.outcome.value})"
                    if state in (TaskState.GENERATING, TaskState.INVISIBLE)
                    else ""
                )
            )
            print(f"    {task_id}  {state.value}{ending}", file=out)
        if len(ids) > _SHOWN_TASKS:
            print(f"    ... and {len(ids) - _SHOWN_TASKS} more", file=out)
        env = f"KIE_BASE_URL={sim.base_url} KIE_API_KEY={shlex.quote(sim.key)}"
        # One task of each state makes the best first command.
        by_state = {sim.tasks[task_id].state(now): task_id for task_id in ids[::-1]}
        shown = " ".join(list(by_state.values())[::-1][:4])
        print(f"  try       {env} veo-tui status {shown}", file=out)
    print("Press Ctrl-C to stop.", file=out, flush=True)
