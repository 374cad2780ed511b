"""The ``veo-tui`` command: argument parsing and the headless subcommands.

Each subcommand lives in a module of this package with a ``register`` function
that adds its parser and sets ``run`` to the function that carries it out.
Expected failures (bad arguments, bad config, refused ids) become one line on
stderr and exit status 2; nothing here lets a traceback reach the user.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from veo_tui import __version__
from veo_tui.cli.common import EXIT_INTERRUPTED, EXIT_USAGE, UsageError, common_options
from veo_tui.store.config import ConfigError

COMMANDS = ("status", "watch", "lists", "download", "credits", "sim")
"""Modules of this package that add subcommands (``lists``: add, rm, ls)."""


def subcommand_names() -> list[str]:
    """Every subcommand, as typed after ``veo-tui``."""
    parser = build_parser()
    for action in parser._subparsers._group_actions if parser._subparsers else ():
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []


def build_parser() -> argparse.ArgumentParser:
    """The whole argument parser, subcommands included."""
    parser = argparse.ArgumentParser(
        prog="veo-tui",
        description=(
            "Watch kie.ai Veo 3.1 video tasks: their state, timings, errors and "
            "result URLs."
        ),
        parents=[common_options(suppress=False)],
        epilog=(
            "Without a command, veo-tui opens the dashboard on your watchlist "
            "(--demo: on the built-in stand-in). `veo-tui COMMAND --help` tells "
            "more about each command."
        ),
    )
    parser.add_argument("--version", action="version", version=f"veo-tui {__version__}")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open the dashboard on the built-in stand-in for kie.ai, with a "
        "temporary watchlist (your own watchlist and config are not touched)",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    common = common_options(suppress=True)
    for name in COMMANDS:
        module = importlib.import_module(f"veo_tui.cli.{name}")
        module.register(subparsers, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``veo-tui`` with ``argv`` (default: the process arguments)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "run", None)
    if run is None:
        from veo_tui.cli.dashboard import run_dashboard

        run = run_dashboard
    try:
        status: int = run(args)
    except (ConfigError, UsageError) as error:
        print(f"veo-tui: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("veo-tui: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return status
