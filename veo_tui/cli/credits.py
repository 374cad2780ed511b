"""``veo-tui credits``: print the account's credit balance.

The balance comes from ``GET /api/v1/chat/credit`` and is printed as kie.ai
gives it, fractions included. Exit status: 0 printed, 4 it could not be
fetched, 2 usage or config.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from veo_tui.api import ApiOptions, mask_key
from veo_tui.cli.common import EXIT_FETCH, EXIT_OK
from veo_tui.cli.logs import setup_logging
from veo_tui.cli.status import api_options
from veo_tui.domain import FetchError, FetchErrorKind, format_credits
from veo_tui.store.config import load_config


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``credits`` subcommand."""
    parser = subparsers.add_parser(
        "credits",
        parents=[common],
        help="print the account's credit balance",
        description=(
            "Print the kie.ai account's credit balance. Exit status: 0 printed, "
            "4 it could not be fetched, 2 usage or config error."
        ),
    )
    parser.add_argument(
        "--json", action="store_true", help='print {"credits": N} instead of N'
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="the API's base URL (default: $KIE_BASE_URL, api.base_url, "
        "https://api.kie.ai)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Carry out ``veo-tui credits``."""
    config = load_config(args.config, base_url=args.base_url, log=args.log)
    setup_logging(config)
    balance = asyncio.run(fetch_credits(api_options(config)))
    if isinstance(balance, FetchError):
        key_note = (
            f" (key {mask_key(config.api_key)})"
            if balance.kind is FetchErrorKind.AUTH
            else ""
        )
        print(
            f"veo-tui: could not fetch the balance ({balance.kind.value}): "
            f"{balance.message}{key_note}",
            file=sys.stderr,
        )
        return EXIT_FETCH
    if args.json:
        print(json.dumps({"credits": balance}))
    else:
        print(format_credits(balance))
    return EXIT_OK


async def fetch_credits(options: ApiOptions) -> float | FetchError:
    """The balance, or why it could not be had."""
    from veo_tui.api import KieClient  # httpx: not for every `veo-tui` start

    async with KieClient(options) as client:
        return await client.credits()
