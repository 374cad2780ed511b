"""``veo-tui status``: fetch tasks once and print where each stands.

Each distinct id is fetched once, concurrently within ``poll.concurrency``,
and printed in the order given, as soon as it and every id before it are in.
Exit status 0 means every record was fetched, whatever its state; 4 means at
least one could not be.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from typing import Any

from veo_tui.api import ApiOptions, mask_key
from veo_tui.cli.common import (
    EXIT_FETCH,
    EXIT_OK,
    UsageError,
    client_options,
    ids_from_arguments,
)
from veo_tui.cli.logs import setup_logging
from veo_tui.cli.output import json_line, text_line
from veo_tui.domain import (
    FetchError,
    FetchErrorKind,
    FetchResult,
)
from veo_tui.store.config import ENV_KEY, Config, load_config


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``status`` subcommand."""
    parser = subparsers.add_parser(
        "status",
        parents=[common],
        help="fetch tasks once and print their state",
        description=(
            "Fetch each task's record once and print one line per task, in the "
            "order given. Exit status: 0 every record fetched, 4 some could not "
            "be fetched, 2 usage or config error."
        ),
    )
    parser.add_argument(
        "task_ids",
        nargs="+",
        metavar="TASK_ID",
        help="task ids, or - to read them from standard input",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per line instead of text",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="the API's base URL (default: $KIE_BASE_URL, api.base_url, "
        "https://api.kie.ai)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help="requests in flight at once (default: poll.concurrency, 8)",
    )
    parser.set_defaults(run=run)


def api_options(config: Config) -> ApiOptions:
    """The client's options, or a usage error saying how to set a key."""
    if not config.api_key:
        raise UsageError(
            f"no API key: set {ENV_KEY} (export {ENV_KEY}=your-key), or api.key in "
            "the config file; get a key at https://kie.ai/api-key"
        )
    return client_options(config)


def run(args: argparse.Namespace) -> int:
    """Carry out ``veo-tui status``."""
    # One line per id given, repeats included, so scripts can pair them.
    task_ids = ids_from_arguments(args.task_ids, distinct=False)
    config = load_config(
        args.config, base_url=args.base_url, concurrency=args.concurrency, log=args.log
    )
    setup_logging(config)
    options = api_options(config)
    id_width = min(max(len(task_id) for task_id in task_ids), 40)

    def emit(task_id: str, result: FetchResult) -> None:
        line = (
            json_line(task_id, result)
            if args.json
            else text_line(task_id, result, id_width)
        )
        print(line, flush=True)

    results = asyncio.run(fetch_all(options, task_ids, config.concurrency, emit))
    failed = sum(isinstance(result, FetchError) for result in results)
    if failed:
        key_note = f" (key {mask_key(config.api_key)})" if _any_auth(results) else ""
        print(
            f"veo-tui: {failed} of {len(results)} records could not be "
            f"fetched{key_note}",
            file=sys.stderr,
        )
        return EXIT_FETCH
    return EXIT_OK


def _any_auth(results: Sequence[FetchResult]) -> bool:
    return any(
        isinstance(r, FetchError) and r.kind is FetchErrorKind.AUTH for r in results
    )


async def fetch_all(
    options: ApiOptions,
    task_ids: Sequence[str],
    concurrency: int,
    emit: Callable[[str, FetchResult], None],
) -> list[FetchResult]:
    """Fetch every id with at most ``concurrency`` in flight; emit in order.

    An id given twice is fetched once and emitted at each of its places.
    """
    from veo_tui.api import KieClient  # httpx: not for every `veo-tui` start

    gate = asyncio.Semaphore(concurrency)

    async def fetch(client: KieClient, task_id: str) -> FetchResult:
        async with gate:
            return await client.record_info(task_id)

    async with KieClient(options) as client:
        pending = {
            task_id: asyncio.create_task(fetch(client, task_id))
            for task_id in dict.fromkeys(task_ids)
        }
        results: list[FetchResult] = []
        try:
            for task_id in task_ids:
                result = await pending[task_id]
                emit(task_id, result)
                results.append(result)
        finally:
            for future in pending.values():
                future.cancel()
        return results
