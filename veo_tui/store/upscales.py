"""The 1080p and 4K videos kie.ai made for the user's tasks, kept across runs.

A 4K video costs credits and a 1080p one takes minutes to make, so their URLs
are worth more than one session: ``upscales.json`` beside the watchlist
keeps, per task, the 1080p URL, the 4K URLs and when a 4K video was first
asked for (so a later run knows it was paid for). Changes are made under a
lock and written atomically, like the watchlist's. A file that cannot be
read counts as empty and is moved aside on the next write, never overwritten.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from veo_tui.domain import is_web_url
from veo_tui.store.config import NotAFileError, read_regular_file
from veo_tui.store.watchlist import (
    LOCK_TIMEOUT,
    SIZE_LIMIT,
    FileGuard,
    WatchlistError,
    set_aside,
    write_file,
)

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
FILE_NAME = "upscales.json"


@dataclass(frozen=True, slots=True)
class Upscale:
    """What kie.ai made, or was asked to make, from one task's first video.

    Attributes:
        hd_url: The 1080p video, once made.
        uhd_urls: The 4K videos, once made.
        uhd_requested_at: When the (paid) 4K video was first asked for.
    """

    hd_url: str | None = None
    uhd_urls: tuple[str, ...] = ()
    uhd_requested_at: datetime | None = None


class UpscaleStore:
    """``upscales.json``: read at start, changed one task at a time.

    Args:
        path: The file; its folder is created when first written.
        lock_timeout: Seconds to wait for another veo-tui's change.

    Attributes:
        warnings: Sentences for the user about what was found on disk.
    """

    def __init__(self, path: Path, *, lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.path = path
        self.warnings: list[str] = []
        self._lock = FileGuard(path, lock_timeout)
        # Changes wait in _pending until a flush writes them; _writing keeps
        # flushes from threads one at a time, so the last one writes the
        # latest of every task and an older state never lands after it.
        self._pending: dict[str, Upscale] = {}
        self._pending_lock = threading.Lock()
        self._writing = threading.Lock()

    def load(self) -> dict[str, Upscale]:
        """Every task's upscales; an unreadable file counts as none (see warnings)."""
        return self._read()[0]

    def put(self, task_id: str, upscale: Upscale) -> None:
        """Note ``upscale`` for ``task_id``; :meth:`flush` writes it."""
        with self._pending_lock:
            self._pending[task_id] = upscale

    def save(self, task_id: str, upscale: Upscale) -> None:
        """Store ``upscale`` for ``task_id`` now, keeping every other task's.

        Raises:
            WatchlistError: The file cannot be locked or written.
        """
        self.put(task_id, upscale)
        self.flush()

    def flush(self) -> None:
        """Write what :meth:`put` noted (safe from several threads at once).

        Raises:
            WatchlistError: The file cannot be locked or written; what was
                noted stays noted for the next flush.
        """
        with self._writing:
            with self._pending_lock:
                changes, self._pending = self._pending, {}
            if not changes:
                return
            try:
                self._write(changes)
            except WatchlistError:
                with self._pending_lock:
                    self._pending = changes | self._pending
                raise

    def _write(self, changes: dict[str, Upscale]) -> None:
        with self._lock.hold():
            upscales, readable = self._read()
            if not readable:
                self._move_aside()
            upscales.update(changes)
            data = json.dumps(_dump(upscales), indent=1, sort_keys=True) + "\n"
            write_file(self.path, data.encode("utf-8"), ".upscales-", ".tmp")

    def _read(self) -> tuple[dict[str, Upscale], bool]:
        """The upscales, and whether the file was readable (or absent)."""
        try:
            text = read_regular_file(self.path, SIZE_LIMIT).decode("utf-8")
        except FileNotFoundError:
            return {}, True
        except (OSError, UnicodeDecodeError, NotAFileError) as error:
            if isinstance(error, OSError):
                reason = error.strerror or str(error)
            elif isinstance(error, NotAFileError):
                reason = str(error)
            else:
                reason = "not UTF-8 text"
            self._warn(f"Cannot read {self.path}: {reason}; 1080p/4K links not shown")
            return {}, False
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        tasks = document.get("tasks") if isinstance(document, dict) else None
        if not isinstance(tasks, dict) or document.get("version") != FORMAT_VERSION:
            self._warn(
                f"{self.path} is not a file of 1080p/4K links this version can read; "
                "it is set aside on the next change"
            )
            return {}, False
        upscales = {}
        for task_id, value in tasks.items():
            upscale = _upscale(value)
            if isinstance(task_id, str) and upscale is not None:
                upscales[task_id] = upscale
        return upscales, True

    def _move_aside(self) -> None:
        """Move the unreadable file out of the way of the next write.

        Raises:
            WatchlistError: It cannot be moved (then it is not overwritten).
        """
        try:
            aside = set_aside(self.path)
        except FileNotFoundError:
            return  # gone meanwhile: nothing to keep
        except OSError as error:
            raise WatchlistError(
                f"Cannot move the unreadable {self.path} aside: "
                f"{error.strerror or error}"
            ) from None
        self._warn(f"{self.path} could not be read; it was moved to {aside}")

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            log.warning("%s", message)
            self.warnings.append(message)


def _upscale(value: Any) -> Upscale | None:
    """One task's entry as written by :func:`_dump`, checked; ``None`` if unusable.

    Only http(s) URLs are kept: the file is on disk, where anything may have
    been written into it.
    """
    if not isinstance(value, dict):
        return None
    hd = value.get("hd_url")
    hd_url = hd if isinstance(hd, str) and is_web_url(hd) else None
    uhd = value.get("uhd_urls")
    uhd_urls = tuple(
        url
        for url in (uhd if isinstance(uhd, list) else [])
        if isinstance(url, str) and is_web_url(url)
    )
    requested = value.get("uhd_requested_at")
    requested_at = None
    if isinstance(requested, str):
        with contextlib.suppress(ValueError):
            moment = datetime.fromisoformat(requested)
            requested_at = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return Upscale(hd_url, uhd_urls, requested_at)


def _dump(upscales: dict[str, Upscale]) -> dict[str, Any]:
    tasks: dict[str, Any] = {}
    for task_id, upscale in upscales.items():
        entry: dict[str, Any] = {}
        if upscale.hd_url:
            entry["hd_url"] = upscale.hd_url
        if upscale.uhd_urls:
            entry["uhd_urls"] = list(upscale.uhd_urls)
        if upscale.uhd_requested_at is not None:
            entry["uhd_requested_at"] = upscale.uhd_requested_at.isoformat()
        if entry:
            tasks[task_id] = entry
    return {"version": FORMAT_VERSION, "tasks": tasks}


def upscales_path(watchlist: Path) -> Path:
    """Where the upscales of the watchlist at ``watchlist`` are kept: beside it."""
    return watchlist.with_name(FILE_NAME)
