"""Keeping results safe from the dashboard: downloads, 1080p, 4K and credits.

The transfers themselves live in ``veo_tui.api`` (``Downloader``,
``follow_1080p``, ``follow_4k``); this module keeps, per task, what the
Videos panel shows about them, and the account balance for the header.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from veo_tui.domain import human_duration

if TYPE_CHECKING:
    from veo_tui.api.download import DownloadProgress


@dataclass
class TaskExtras:
    """What the dashboard did for one task beyond watching it.

    Attributes:
        download: A line on the download under way, or how the last one ended.
        saved: Files saved for this task.
        hd_url: The 1080p video, once kie.ai made it.
        hd_note: Where the 1080p request stands.
        uhd_urls: The 4K videos, once kie.ai made them.
        uhd_note: Where the 4K request stands.
        uhd_requested_at: When the (paid) 4K video was first asked for, in
            this run or an earlier one.
    """

    download: str | None = None
    saved: list[Path] = field(default_factory=list)
    hd_url: str | None = None
    hd_note: str | None = None
    uhd_urls: tuple[str, ...] = ()
    uhd_note: str | None = None
    uhd_requested_at: datetime | None = None


def progress_line(progress: DownloadProgress) -> str:
    """``video 1: 1.2 of 3.4 MB (35%) · 2.1 MB/s · 1s left``."""
    done = _megabytes(progress.done)
    if progress.total:
        percent = 100 * progress.done // progress.total
        total = _megabytes(progress.total)
        text = f"video {progress.position}: {done} of {total} MB ({percent}%)"
    else:
        text = f"video {progress.position}: {done} MB"
    if progress.speed:
        text += f" · {_megabytes(int(progress.speed))} MB/s"
    if progress.eta is not None:
        text += f" · {human_duration(progress.eta)} left"
    return text


def _megabytes(count: int) -> str:
    return f"{count / 1_000_000:.1f}"


def saved_file(directory: Path, task_id: str) -> Path | None:
    """The task's first video in ``directory``, if it was downloaded before."""
    # Brings httpx: not at start-up.
    from veo_tui.api.download import download_name, is_complete_video

    path = directory / download_name(task_id)
    return path if is_complete_video(path) else None
