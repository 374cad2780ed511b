"""The ``veo-tui`` command: argument parsing and the headless subcommands.

Each subcommand lives in a module of this package with a ``register`` function
that adds its parser and sets ``run`` to the function that carries it out.
Expected failures (bad arguments, bad config, refused ids) become one line on
stderr and exit status 2; nothing here lets a traceback reach the user.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from veo_tui import __version__
from veo_tui.cli.common import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_OUTPUT,
    EXIT_USAGE,
    UsageError,
    common_options,
)
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


class _Unclear(Exception):
    """The dashboard's parser met something only the whole parser can judge."""


class _DashboardParser(argparse.ArgumentParser):
    """The top level alone, for a command line that names no command."""

    def error(self, message: str) -> NoReturn:
        raise _Unclear(message)


def _may_name_a_command(argv: Sequence[str]) -> bool:
    """Whether ``argv`` holds a word that may be a command, or asks for help."""
    return any(not arg.startswith("-") or arg in ("-h", "--help") for arg in argv)


def build_parser(*, commands: bool = True) -> argparse.ArgumentParser:
    """The argument parser, with every subcommand unless ``commands`` is false."""
    parser = (argparse.ArgumentParser if commands else _DashboardParser)(
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
    if not commands:
        return parser
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    common = common_options(suppress=True)
    for name in COMMANDS:
        module = importlib.import_module(f"veo_tui.cli.{name}")
        module.register(subparsers, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``veo-tui`` with ``argv`` (default: the process arguments)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    # Opening the dashboard is the common case: its command line names no
    # command, and building every command's parser imports their modules
    # (the stand-in's among them), ~15 ms before the first frame.
    try:
        if _may_name_a_command(argv):
            raise _Unclear("a command, or help")
        args = build_parser(commands=False).parse_args(argv)
    except _Unclear:
        args = build_parser().parse_args(argv)  # says what is wrong, and exits
    run = getattr(args, "run", None)
    if sys.stdout is None:
        # Python leaves it None when the shell closed it (`veo-tui ls >&-`):
        # every print would vanish and the command still say it succeeded.
        print(
            "veo-tui: standard output is closed, so there is nowhere to show "
            "the results; to discard them, redirect it to /dev/null instead",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if run is not None and getattr(args, "demo", False):
        print(
            "veo-tui: --demo opens the dashboard and goes without a command; "
            "for commands on the stand-in, run `veo-tui sim` and set "
            "KIE_BASE_URL and KIE_API_KEY as it says",
            file=sys.stderr,
        )
        return EXIT_USAGE
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
    except BrokenPipeError:
        return _reader_went_away()
    except OSError as error:
        if error.errno not in _OUTPUT_FULL:
            raise
        # Standard output on a full disk (`> /dev/full`): say so, not a
        # traceback (a download's own disk errors are reported as such).
        print(f"veo-tui: cannot write the output: {error.strerror}", file=sys.stderr)
        _silence_stdout()
        return EXIT_OUTPUT
    return status


_OUTPUT_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


def _reader_went_away() -> int:
    """The output's reader closed the pipe (``veo-tui ls | head``): stop quietly.

    Standard output is pointed at the null device so that flushing it at exit
    raises nothing; the status is the shell's for a process ended by SIGPIPE.
    """
    _silence_stdout()
    return EXIT_BROKEN_PIPE


def _silence_stdout() -> None:
    """Point standard output at the null device, so that flushing it at exit
    raises nothing more."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
