"""``veo-tui download``: save tasks' result videos before kie.ai deletes them.

Each task's record is fetched, then each of its result URLs is streamed to the
download folder as ``<task id>.mp4``, ``<task id>-2.mp4``, ... with the very
code the dashboard uses (:class:`~veo_tui.api.download.Downloader`). On a
terminal a progress bar redraws in place on stderr; otherwise only the outcome
lines are printed. Exit status: 0 every video saved or already there, 1 some
task has no results, 4 a fetch or a download failed, 2 usage or config.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from veo_tui.api import ApiOptions
from veo_tui.cli.common import (
    EXIT_FAILED,
    EXIT_FETCH,
    EXIT_OK,
    UsageError,
    ids_from_arguments,
)
from veo_tui.cli.logs import setup_logging
from veo_tui.cli.status import api_options
from veo_tui.domain import FetchError, State, TaskRecord, human_duration, inert
from veo_tui.store.config import load_config

if TYPE_CHECKING:
    from veo_tui.api import DownloadProgress, DownloadResult


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``download`` subcommand."""
    parser = subparsers.add_parser(
        "download",
        parents=[common],
        help="save tasks' result videos to the download folder",
        description=(
            "Fetch each task's record and save its result videos as "
            "<task id>.mp4, <task id>-2.mp4, ... in the download folder "
            "(downloads.dir, default the user's download folder). An interrupted "
            "download resumes from its .part file; an existing file is never "
            "overwritten. Exit status: 0 every video saved or already there, 1 "
            "some task has no results, 4 a fetch or download failed, 2 usage or "
            "config error, 130 interrupted."
        ),
    )
    parser.add_argument(
        "task_ids",
        nargs="+",
        metavar="TASK_ID",
        help="task ids, or - to read them from standard input",
    )
    parser.add_argument(
        "--dir",
        metavar="DIR",
        help="save into this folder (default: downloads.dir in the config)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per video (or per task without one)",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="the API's base URL (default: $KIE_BASE_URL, api.base_url, "
        "https://api.kie.ai)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Carry out ``veo-tui download``."""
    task_ids = ids_from_arguments(args.task_ids)
    config = load_config(args.config, base_url=args.base_url, log=args.log)
    setup_logging(config)
    options = api_options(config)
    directory = Path(args.dir).expanduser() if args.dir else config.download_dir
    if directory.exists() and not directory.is_dir():
        where = "--dir" if args.dir else "downloads.dir"
        raise UsageError(f"{where}: {directory} is not a folder")
    printer = _Printer(sys.stdout, sys.stderr, json=args.json)
    try:
        return asyncio.run(download_tasks(options, task_ids, directory, printer))
    finally:
        printer.end_bar()


class _Printer:
    """Outcome lines on stdout; on a terminal, a progress bar on stderr."""

    def __init__(self, out: TextIO, err: TextIO, *, json: bool) -> None:
        self.out = out
        self.err = err
        self.json = json
        self.live = err.isatty()
        self._bar_shown = False
        self._id_width = 0

    def start(self, task_ids: Sequence[str]) -> None:
        self._id_width = min(max(len(task_id) for task_id in task_ids), 40)

    def progress(self, progress: DownloadProgress, of: int) -> None:
        if not self.live:
            return
        width = shutil.get_terminal_size(fallback=(100, 24)).columns
        name = inert(progress.task_id, limit=24)
        if of > 1:
            name += f" {progress.position}/{of}"
        line = f"{name}  {_bar(progress)}"
        self.err.write("\r\x1b[2K" + line[: width - 1])
        self.err.flush()
        self._bar_shown = True

    def end_bar(self) -> None:
        if self._bar_shown:
            self.err.write("\r\x1b[2K")
            self.err.flush()
            self._bar_shown = False

    def result(self, result: DownloadResult) -> None:
        self.end_bar()
        if self.json:
            self._json(result.to_json())
            return
        from veo_tui.api import DownloadStatus

        if result.status is DownloadStatus.FAILED:
            kind = result.error_kind.value if result.error_kind else "error"
            detail = f"failed ({kind}): {result.message}"
        elif result.status is DownloadStatus.SAVED:
            detail = f"saved  {result.path}  ({_size(result.size)})"
        else:
            detail = f"already downloaded  {result.path}"
        self._line(result.task_id, detail)

    def no_results(self, record: TaskRecord) -> None:
        reason = record.failure_reason if record.state is State.FAILED else None
        detail = f"no results: the task is {record.state.value}"
        if reason:
            detail += f" ({reason})"
        if self.json:
            self._json(_task_json(record.task_id, "no_results", detail))
        else:
            self._line(record.task_id, detail)

    def fetch_error(self, task_id: str, error: FetchError) -> None:
        detail = f"fetch error ({error.kind.value}): {error.message}"
        if self.json:
            self._json(_task_json(task_id, "fetch_error", error.message, error))
        else:
            self._line(task_id, detail)

    def _line(self, task_id: str, detail: str) -> None:
        shown = inert(task_id).ljust(self._id_width)
        print(f"{shown}  {inert(detail, limit=400)}", file=self.out, flush=True)

    def _json(self, obj: dict[str, object]) -> None:
        print(json.dumps(obj, ensure_ascii=True), file=self.out, flush=True)


def _task_json(
    task_id: str, status: str, message: str, error: FetchError | None = None
) -> dict[str, object]:
    """The JSON of a task that gave no video, keyed like a video's."""
    kind = error.kind.value if error is not None else status
    return {
        "task_id": task_id,
        "position": None,
        "url": None,
        "status": status,
        "path": None,
        "size": 0,
        "error": {"kind": kind, "message": message},
    }


async def download_tasks(
    options: ApiOptions,
    task_ids: Sequence[str],
    directory: Path,
    printer: _Printer,
) -> int:
    """Fetch each task's record and download its videos; return the exit status."""
    printer.start(task_ids)
    failed = no_results = False
    # httpx: imported here, not for every `veo-tui` start.
    from veo_tui.api import Downloader, KieClient

    async with KieClient(options) as client, Downloader(directory) as downloader:
        for task_id in task_ids:
            record = await client.record_info(task_id)
            if isinstance(record, FetchError):
                printer.fetch_error(task_id, record)
                failed = True
                continue
            urls = record.result_urls or record.full_result_urls
            if not urls:
                printer.no_results(record)
                no_results = True
                continue
            count = len(urls)

            def show(progress: DownloadProgress, count: int = count) -> None:
                printer.progress(progress, count)

            for position, url in enumerate(urls, start=1):
                result = await downloader.download(
                    task_id, url, position=position, on_progress=show
                )
                printer.result(result)
                failed = failed or not result.ok
    if failed:
        return EXIT_FETCH
    return EXIT_FAILED if no_results else EXIT_OK


def _bar(progress: DownloadProgress) -> str:
    """``[#####-----]  45%  1.2 of 2.6 MB  3.4 MB/s  2s left``, as much as is known."""
    parts: list[str] = []
    if progress.total:
        share = min(progress.done / progress.total, 1.0)
        filled = round(share * 20)
        parts.append(f"[{'#' * filled}{'-' * (20 - filled)}] {share:4.0%}")
        parts.append(f"{_size(progress.done)} of {_size(progress.total)}")
    else:
        parts.append(_size(progress.done))
    if progress.speed:
        parts.append(f"{_size(round(progress.speed))}/s")
    if progress.eta is not None:
        parts.append(f"{human_duration(progress.eta)} left")
    return "  ".join(parts)


def _size(count: int) -> str:
    """Bytes for people: ``980 B``, ``12.3 KB``, ``4.5 MB``, ``1.2 GB``."""
    size = float(count)
    for unit in ("B", "KB", "MB"):
        if size < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"
