"""What every subcommand shares: exit codes, the common options, usage errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from veo_tui.api import ApiOptions, InsecureKeyError
from veo_tui.domain import InvalidTaskId, check_task_id, id_pieces, split_task_ids
from veo_tui.store.config import Config, key_file_is_exposed

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 3
EXIT_FETCH = 4
EXIT_OUTPUT = 74  # EX_IOERR of sysexits.h: the output could not be written
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports it


class UsageError(Exception):
    """Bad input on the command line; ``str()`` is the whole message."""


def common_options(*, suppress: bool) -> argparse.ArgumentParser:
    """A parent parser with the options every command accepts.

    Args:
        suppress: Leave an option out of the namespace when it is not given,
            so that a subcommand's copy does not overwrite the top level's.
    """
    default = argparse.SUPPRESS if suppress else None
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--config",
        metavar="PATH",
        default=default,
        help="read this config file (default: $VEO_TUI_CONFIG, else the user's "
        "config folder)",
    )
    parent.add_argument(
        "--log",
        action="store_true",
        default=default if suppress else False,
        help="write a log file (to the user's state folder) for a bug report",
    )
    return parent


def client_options(config: Config, *, warn: bool = True) -> ApiOptions:
    """The client's options from the settings in force.

    With ``warn``, says on stderr when the key sits in a config file others
    can read.

    Raises:
        UsageError: The key would go over plain http to another machine.
    """
    if warn and key_file_is_exposed(config):
        print(
            f"veo-tui: warning: {config.path} holds the API key and is readable by "
            f"others; run: chmod 600 {config.path}",
            file=sys.stderr,
        )
    try:
        return ApiOptions(
            base_url=config.base_url,
            key=config.api_key,
            timeout=config.timeout,
            connect_timeout=config.connect_timeout,
            max_retries=config.max_retries,
            max_connections=config.concurrency,
            naive_zone=config.timezone,
        )
    except InsecureKeyError as error:
        raise UsageError(str(error)) from None


def checked_ids(
    raw_ids: Sequence[str], *, label: str = "argument", distinct: bool = True
) -> list[str]:
    """The ids in order (each once, unless not ``distinct``), or a
    :class:`UsageError` naming the bad ones.

    Nothing is done with any id while one is bad: a paste accident costs no
    request and changes no file.
    """
    ids: list[str] = []
    problems: list[str] = []
    for position, raw in enumerate(raw_ids, start=1):
        # "id1,id2" is two ids, as in a paste.
        pieces = id_pieces(raw)
        if not pieces:  # "", " " or only separators such as ",,," or "[]"
            problems.append(f"{label} {position}: holds no task id")
            continue
        try:
            ids.extend(check_task_id(piece) for piece in pieces)
        except InvalidTaskId as error:
            problems.append(f"{label} {position}: {error}")
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise UsageError(f"refusing bad task ids, nothing was done:\n  {shown}{more}")
    if not ids:
        raise UsageError("no task ids given")
    return list(dict.fromkeys(ids)) if distinct else ids


def ids_from_arguments(raw: Sequence[str], *, distinct: bool = True) -> list[str]:
    """Ids from arguments, ``-`` standing for the ids on standard input
    (separated as in a paste); refuses bad ones, like :func:`checked_ids`."""
    if "-" not in raw:
        return checked_ids(raw, distinct=distinct)
    pieces: list[str] = []
    for argument in raw:
        pieces.extend(_stdin_ids() if argument == "-" else id_pieces(argument))
    return checked_ids(pieces, label="id", distinct=distinct)


def _stdin_ids() -> list[str]:
    if sys.stdin is None:
        raise UsageError("'-' reads ids from standard input, which is closed")
    try:
        text = sys.stdin.read()
    except UnicodeDecodeError:
        raise UsageError("standard input is not UTF-8 text") from None
    parsed = split_task_ids(text)
    if parsed.invalid:
        shown = "\n  ".join(reason for _, reason in parsed.invalid[:20])
        raise UsageError(f"refusing bad task ids, nothing was changed:\n  {shown}")
    return list(parsed.valid)
