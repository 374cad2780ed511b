"""What every subcommand shares: exit codes, the common options, usage errors."""

from __future__ import annotations

import argparse
import sys

from veo_tui.api import ApiOptions, InsecureKeyError
from veo_tui.store.config import Config, key_file_is_exposed

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 3
EXIT_FETCH = 4
EXIT_INTERRUPTED = 130


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
