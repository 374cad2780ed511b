"""``veo-tui add``, ``rm`` and ``ls``: the dashboard's watchlist, from scripts.

They read and change the very file the dashboard uses, under its lock, so they
are safe while a dashboard runs (it picks the change up within seconds).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from veo_tui.cli.common import EXIT_OK, UsageError, ids_from_arguments
from veo_tui.cli.output import task_json, text_line
from veo_tui.domain import FetchResult, State, TaskRecord, inert, iso_utc
from veo_tui.store.config import load_config
from veo_tui.store.watchlist import (
    WatchEntry,
    WatchlistError,
    WatchlistStore,
    default_watchlist_path,
)


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``add``, ``rm`` and ``ls`` subcommands."""
    add = subparsers.add_parser(
        "add",
        parents=[common],
        help="add task ids to the watchlist",
        description=(
            "Add task ids to the watchlist the dashboard shows. Give them as "
            "arguments, or '-' to read them from standard input; ids are "
            "separated by whitespace, commas, semicolons, brackets or quotes. "
            "Ids already watched are skipped."
        ),
    )
    add.add_argument("task_ids", nargs="+", metavar="TASK_ID", help="ids, or -")
    add.set_defaults(run=run_add)

    rm = subparsers.add_parser(
        "rm",
        parents=[common],
        help="remove task ids from the watchlist",
        description=(
            "Remove task ids from the watchlist the dashboard shows; '-' reads "
            "them from standard input."
        ),
    )
    rm.add_argument("task_ids", nargs="+", metavar="TASK_ID", help="ids, or -")
    rm.set_defaults(run=run_rm)

    ls = subparsers.add_parser(
        "ls",
        parents=[common],
        help="list the watchlist with each task's last-known state",
        description=(
            "List the watched tasks with their last-known state, without asking "
            "kie.ai (use `veo-tui status` or the dashboard for fresh states)."
        ),
    )
    shape = ls.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="one JSON object per line")
    shape.add_argument(
        "--ids",
        action="store_true",
        help="the task ids alone, one per line (e.g. | veo-tui rm -)",
    )
    ls.set_defaults(run=run_ls)


def watchlist_store(args: argparse.Namespace) -> WatchlistStore:
    """The user's watchlist (the config is read too, so a bad one is reported)."""
    load_config(args.config, log=args.log)
    return WatchlistStore(default_watchlist_path())


def run_add(args: argparse.Namespace) -> int:
    """Carry out ``veo-tui add``."""
    ids = ids_from_arguments(args.task_ids)
    store = watchlist_store(args)
    try:
        added = store.add(ids, datetime.now(UTC))
    except WatchlistError as error:
        raise UsageError(str(error)) from None
    _report_warnings(store)
    skipped = len(ids) - len(added)
    note = f", {skipped} already watched" if skipped else ""
    print(f"added {len(added)} task(s) to {store.path}{note}")
    return EXIT_OK


def run_rm(args: argparse.Namespace) -> int:
    """Carry out ``veo-tui rm``."""
    ids = ids_from_arguments(args.task_ids)
    store = watchlist_store(args)
    try:
        removed = store.remove(ids)
    except WatchlistError as error:
        raise UsageError(str(error)) from None
    _report_warnings(store)
    gone = {entry.task_id for entry in removed}
    missing = [task_id for task_id in ids if task_id not in gone]
    print(f"removed {len(gone)} task(s) from {store.path}")
    if missing:
        shown = ", ".join(inert(task_id, limit=60) for task_id in missing[:10])
        print(f"veo-tui: not in the watchlist: {shown}", file=sys.stderr)
    return EXIT_OK


def run_ls(args: argparse.Namespace) -> int:
    """Carry out ``veo-tui ls``."""
    config = load_config(args.config, log=args.log)
    store = WatchlistStore(default_watchlist_path())
    try:
        entries = store.load()
    except WatchlistError as error:
        raise UsageError(str(error)) from None
    _report_warnings(store)
    now = datetime.now(UTC)
    width = min(max((len(e.task_id) for e in entries), default=10), 40)
    for entry in entries:
        pending = entry.is_pending(now, timedelta(seconds=config.poll_grace))
        if args.ids:
            print(inert(entry.task_id))
        elif args.json:
            body = entry_json(entry)
            body["pending"] = pending
            print(json.dumps(body, ensure_ascii=True))
        elif pending:
            print(
                f"{inert(entry.task_id).ljust(width)}  {'pending':<10}  {'-':>7}  "
                "record is null. (added a moment ago: kie.ai may not show it yet)"
            )
        else:
            print(text_line(entry.task_id, _last_known(entry), width))
    if not entries and not args.json and not args.ids:
        print(f"the watchlist is empty ({store.path}); add ids with: veo-tui add ID...")
    return EXIT_OK


def _last_known(entry: WatchEntry) -> FetchResult:
    if entry.record is not None:
        return entry.record
    if entry.fetch_error is not None:
        return entry.fetch_error
    return TaskRecord(entry.task_id, State.UNKNOWN, message="not checked yet")


def entry_json(entry: WatchEntry) -> dict[str, Any]:
    """The ``status --json`` object of the last-known record, with watch times."""
    body = task_json(entry.task_id, _last_known(entry))
    if entry.record is not None and entry.fetch_error is not None:
        body["fetch_error"] = entry.fetch_error.to_json()
    body["added_at"] = iso_utc(entry.added_at)
    body["checked_at"] = iso_utc(entry.checked_at)
    return body


def _report_warnings(store: WatchlistStore) -> None:
    for warning in store.warnings:
        print(f"veo-tui: warning: {inert(warning, limit=400)}", file=sys.stderr)
    store.warnings.clear()
