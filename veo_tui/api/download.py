"""Download result videos to disk: streamed, resumable, never half-written.

kie.ai deletes media 14 days after a task completes, and result links can die
sooner, so veo-tui keeps a copy. A video streams in chunks to ``<name>.part``,
resumes with ``Range`` when a ``.part`` is already there and the server answers
206, is checked against the size the server announced, and only then gets its
final name (a hard link, which refuses to replace anything). A cancelled or
broken transfer leaves the ``.part`` and nothing that looks complete.

File names come from the task id alone, made safe for any file system; nothing
of the URL or of any remote text reaches the disk. Result URLs live on a CDN,
so the API key is never sent with them. Expected failures (network, HTTP,
size, disk) are values, not exceptions: see :class:`DownloadResult`.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import IO, Self
from urllib.parse import urlsplit

import httpx

from veo_tui.api.client import USER_AGENT
from veo_tui.domain import inert, is_web_url

log = logging.getLogger(__name__)

PART_SUFFIX = ".part"
"""What a file being downloaded is called until it is complete."""

_SAFE = re.compile(r"[^A-Za-z0-9._-]")
_MAX_STEM = 100
# Names Windows reserves whatever the extension; harmless elsewhere, but a
# download folder may be shared with such a system.
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"COM{n}" for n in range(1, 10)]
    + [f"LPT{n}" for n in range(1, 10)]
)
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)")
_GONE_STATUSES = (403, 404, 410)
_PROGRESS_EVERY = 0.1


class DownloadStatus(StrEnum):
    """How one download ended."""

    SAVED = "saved"
    """The file was fetched and renamed into place."""
    ALREADY_DOWNLOADED = "already_downloaded"
    """The file was already there; nothing was fetched."""
    FAILED = "failed"
    """It could not be had; see :class:`DownloadErrorKind`."""


class DownloadErrorKind(StrEnum):
    """Why a download failed."""

    URL = "url"
    """Not an http(s) URL: nothing was requested."""
    HTTP = "http"
    """The server answered with an error status (expired links: 403, 404)."""
    NETWORK = "network"
    """The connection failed or dropped; the ``.part`` is kept for a resume."""
    TIMEOUT = "timeout"
    """The server went silent; the ``.part`` is kept for a resume."""
    SIZE = "size"
    """The bytes received do not match the announced size."""
    DISK = "disk"
    """The folder or file could not be written (permission, disk full, ...)."""
    EXISTS = "exists"
    """Something that is not a complete download holds the final name."""


@dataclass(frozen=True, slots=True)
class DownloadProgress:
    """Where one download stands, as given to a progress callback.

    Attributes:
        task_id: The task the video belongs to.
        position: 1 for the task's first URL, 2 for the second, ...
        done: Bytes on disk so far, a resumed ``.part`` included.
        total: The whole file's size, when the server said it.
        speed: Bytes per second over this transfer, once measurable.
        eta: Seconds left at that speed, when both it and ``total`` are known.
    """

    task_id: str
    position: int
    done: int
    total: int | None
    speed: float | None
    eta: float | None


ProgressCallback = Callable[[DownloadProgress], None]
"""Called often while bytes arrive (at most every 0.1 s, and at the end)."""


@dataclass(frozen=True, slots=True)
class DownloadResult:
    """How one download ended.

    Attributes:
        task_id: The task the video belongs to.
        url: The URL asked for.
        position: Its place among the task's URLs, from 1.
        path: The final file (complete or not, it is where the video belongs).
        status: Saved, already downloaded, or failed.
        size: Bytes of the final file, or of the ``.part`` after a failure.
        error_kind: Why it failed, when it did.
        message: A sentence for the user when it failed, safe to print.
    """

    task_id: str
    url: str
    position: int
    path: Path
    status: DownloadStatus
    size: int = 0
    error_kind: DownloadErrorKind | None = None
    message: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the video is on disk, now or from before."""
        return self.status is not DownloadStatus.FAILED

    def to_json(self) -> dict[str, object]:
        """The object of ``veo-tui download --json``."""
        return {
            "task_id": self.task_id,
            "position": self.position,
            "url": self.url,
            "status": self.status.value,
            "path": str(self.path),
            "size": self.size,
            "error": None
            if self.error_kind is None
            else {"kind": self.error_kind.value, "message": self.message},
        }


_SUFFIX_LIKE = re.compile(
    r"-(\d{1,3}|1080p|4k|[0-9a-f]{10})(-(\d{1,3}|1080p|4k))*$", re.IGNORECASE
)
"""The endings :func:`download_name` gives a task's further videos, and the
hash :func:`safe_stem` appends."""


def safe_stem(task_id: str) -> str:
    """The task id as a file name stem that is safe on every file system.

    Letters, digits, ``.``, ``_`` and ``-`` are kept; anything else (``/``,
    ``:``, control characters, ...) becomes ``_``, a leading ``.`` or ``-`` too.
    Whenever that changed the id, or it was too long, a reserved device name,
    holds a capital letter (file systems that ignore case) or ends like a
    suffix of ours (``-2``, ``-4k``, a hash), a short hash of the whole id is
    appended, so two different ids never share a name, even where names
    ignore case, and the same id always gets the same one.
    """
    stem = _SAFE.sub("_", task_id)
    if stem[:1] in (".", "-"):
        stem = "_" + stem[1:]
    changed = (
        stem != task_id
        or not stem
        or len(stem) > _MAX_STEM
        or stem.split(".")[0].upper() in _RESERVED
        # An id ending like a suffix we add ("x-2", "x-4k") would share a name
        # with another task's second or 4K video: hash it apart too.
        or _SUFFIX_LIKE.search(stem) is not None
        # "ABC" and "abc" are one file where names ignore case (macOS, Windows).
        or stem != stem.lower()
    )
    if changed:
        digest = hashlib.sha256(task_id.encode("utf-8", "surrogatepass")).hexdigest()
        stem = f"{stem[:_MAX_STEM]}-{digest[:10]}"
    return stem


def download_name(task_id: str, position: int = 1, *, label: str = "") -> str:
    """The file name of a task's video: ``ID.mp4``, ``ID-2.mp4``, ``ID-4k.mp4``.

    Args:
        task_id: The task's id, possibly hostile; see :func:`safe_stem`.
        position: 1 for the task's first URL, 2 for the second, ...
        label: A variant such as ``1080p`` or ``4k`` (letters and digits only).
    """
    parts = [safe_stem(task_id)]
    clean_label = re.sub(r"[^A-Za-z0-9]", "", label)
    if clean_label:
        parts.append(clean_label)
    if position > 1:
        parts.append(str(position))
    return "-".join(parts) + ".mp4"


def default_http(
    *,
    timeout: float = 30.0,
    connect_timeout: float = 10.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An httpx client fit for result URLs: no key, veo-tui's User-Agent."""
    return httpx.AsyncClient(
        headers={"User-Agent": USER_AGENT},
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        follow_redirects=True,
        max_redirects=5,
        transport=transport,
        trust_env=False,
    )


class _Failed(Exception):
    """A download failed in an expected way; carried up to one ``except``."""

    def __init__(
        self, kind: DownloadErrorKind, message: str, *, retryable: bool = False
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retryable = retryable or kind in (
            DownloadErrorKind.NETWORK,
            DownloadErrorKind.TIMEOUT,
        )


class _Restart(Exception):
    """The server ignored or refused the range: fetch from the first byte."""


class _AlreadyComplete(Exception):
    """The ``.part`` already holds the whole file (the server said 416)."""


class Downloader:
    """Downloads result videos into one folder; use as ``async with``.

    Args:
        directory: Where videos go (created if missing).
        http: An httpx client to share; it must not carry an ``Authorization``
            header. By default the downloader makes (and closes) its own.
        transport: A transport for the downloader's own client (tests).
        retries: Automatic resumes after a dropped connection, a timeout or
            an HTTP 5xx or 429.
        retry_delay: Seconds before the first automatic resume; doubles after.
        sleep: Awaitable sleep, replaceable so tests need not wait.
        clock: Monotonic seconds, for speed and time left.

    Raises:
        ValueError: ``http`` would send the API key to the CDN.
    """

    def __init__(
        self,
        directory: Path,
        *,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retries: int = 2,
        retry_delay: float = 1.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if http is not None and "authorization" in http.headers:
            raise ValueError("result URLs are on a CDN: do not send them the API key")
        self.directory = directory
        self._own_http = http is None
        self._http = http if http is not None else default_http(transport=transport)
        self._retries = retries
        self._retry_delay = retry_delay
        self._sleep = sleep
        self._clock = clock
        self._running: dict[Path, asyncio.Future[DownloadResult]] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the downloader's own client (a shared one is left open)."""
        if self._own_http:
            await self._http.aclose()

    async def download_task(
        self,
        task_id: str,
        urls: Sequence[str],
        *,
        on_progress: ProgressCallback | None = None,
        label: str = "",
    ) -> list[DownloadResult]:
        """Download each of a task's URLs in turn, as ``ID.mp4``, ``ID-2.mp4``, ..."""
        return [
            await self.download(
                task_id, url, position=position, label=label, on_progress=on_progress
            )
            for position, url in enumerate(urls, start=1)
        ]

    async def download(
        self,
        task_id: str,
        url: str,
        *,
        position: int = 1,
        label: str = "",
        on_progress: ProgressCallback | None = None,
    ) -> DownloadResult:
        """Download one video, resuming a ``.part`` left by an earlier try.

        Cancelling the awaiting task stops the transfer and leaves the
        ``.part`` (to resume later) and no final file. While a file is being
        downloaded, a second call for it waits for the first and returns the
        same result (within this downloader: keep one per process).

        Args:
            task_id: The task; the file name is built from it only.
            url: The result URL (http or https only).
            position: The URL's place among the task's, from 1.
            label: A variant for the name, e.g. ``1080p`` or ``4k``.
            on_progress: Called with a :class:`DownloadProgress` as bytes arrive.
        """
        final = self.directory / download_name(task_id, position, label=label)
        running = self._running.get(final)
        if running is not None:
            # The same file asked for twice (a key pressed again, auto and by
            # hand): one transfer, two answers, never two writers of a .part.
            return await asyncio.shield(running)

        flight: asyncio.Future[DownloadResult] = (
            asyncio.get_running_loop().create_future()
        )
        self._running[final] = flight
        try:
            outcome = await self._download(task_id, url, position, final, on_progress)
        except BaseException:
            flight.set_result(
                DownloadResult(
                    task_id,
                    url,
                    position,
                    final,
                    DownloadStatus.FAILED,
                    _size(final.with_name(final.name + PART_SUFFIX)),
                    DownloadErrorKind.NETWORK,
                    "the download was stopped; run again to resume",
                )
            )
            raise
        finally:
            del self._running[final]
        flight.set_result(outcome)
        return outcome

    async def _download(
        self,
        task_id: str,
        url: str,
        position: int,
        final: Path,
        on_progress: ProgressCallback | None,
    ) -> DownloadResult:
        part = final.with_name(final.name + PART_SUFFIX)

        def result(status: DownloadStatus, size: int = 0) -> DownloadResult:
            return DownloadResult(task_id, url, position, final, status, size)

        def failure(kind: DownloadErrorKind, message: str) -> DownloadResult:
            size = _size(part)
            return DownloadResult(
                task_id,
                url,
                position,
                final,
                DownloadStatus.FAILED,
                size,
                kind,
                message,
            )

        if not is_web_url(url):
            return failure(
                DownloadErrorKind.URL,
                f"not an http(s) URL, not fetched: {inert(url, limit=80)}",
            )
        existing = _existing(final, task_id, url, position)
        if existing is not None:
            return existing

        try:
            await asyncio.to_thread(self.directory.mkdir, parents=True, exist_ok=True)
            size = await self._fetch_with_resumes(
                task_id, position, url, part, on_progress
            )
            _publish(part, final)
        except _Failed as error:
            return failure(error.kind, error.message)
        except FileExistsError:
            existing = _existing(final, task_id, url, position)
            if existing is not None:
                return existing
            return failure(DownloadErrorKind.EXISTS, f"{final} appeared meanwhile")
        except OSError as error:
            return failure(DownloadErrorKind.DISK, _disk_message(error))
        log.info("saved %s (%d bytes)", final, size)
        return result(DownloadStatus.SAVED, size)

    async def _fetch_with_resumes(
        self,
        task_id: str,
        position: int,
        url: str,
        part: Path,
        on_progress: ProgressCallback | None,
    ) -> int:
        """Fill ``part`` completely, resuming after drops; return its size."""
        tries = 0
        while True:
            try:
                return await self._fetch(task_id, position, url, part, on_progress)
            except _Failed as error:
                if not error.retryable or tries >= self._retries:
                    raise
                delay = self._retry_delay * 2.0**tries
                tries += 1
                log.info("resume %d of %s in %.1fs: %s", tries, url, delay, error)
                await self._sleep(delay)

    async def _fetch(
        self,
        task_id: str,
        position: int,
        url: str,
        part: Path,
        on_progress: ProgressCallback | None,
    ) -> int:
        """One transfer into ``part``: from its end if the server allows, else anew."""
        offset = await asyncio.to_thread(_part_size, part)
        try:
            size = await self._transfer(
                task_id, position, url, part, offset, on_progress
            )
        except _Restart:
            return await self._transfer(task_id, position, url, part, 0, on_progress)
        except _AlreadyComplete:
            size = offset
        if offset > 0 and await asyncio.to_thread(_not_a_whole_mp4, part):
            # A .part left by something else, or a file that changed on the
            # server since: the pieces do not join into one video.
            log.warning("%s did not join into a whole MP4; fetching it anew", part)
            return await self._transfer(task_id, position, url, part, 0, on_progress)
        return size

    async def _transfer(
        self,
        task_id: str,
        position: int,
        url: str,
        part: Path,
        offset: int,
        on_progress: ProgressCallback | None,
    ) -> int:
        # Raw bytes, so what is written is what Content-Length counted. Chunks
        # come as the connection delivers them (httpcore reads at most 64 KiB
        # at a time), not re-buffered: a drop loses nothing already received.
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if offset > 0:
            headers["Range"] = f"bytes={offset}-"
        host = urlsplit(url).hostname or "the server"
        done = offset
        try:
            async with self._http.stream("GET", url, headers=headers) as response:
                start, total = _plan(response, offset)
                progress = _Meter(task_id, position, start, total, self._clock)
                done = start
                with _open_part(part, start) as sink:
                    async for chunk in response.aiter_raw():
                        done += len(chunk)
                        if total is not None and done > total:
                            raise _Failed(
                                DownloadErrorKind.SIZE,
                                f"the server sent more than the {total:,} bytes it "
                                "announced",
                            )
                        # A chunk goes to the page cache at once; only the
                        # final fsync is worth a thread.
                        sink.write(chunk)
                        progress.tick(done, on_progress)
                    await asyncio.to_thread(_flush, sink)
                progress.tick(done, on_progress, final=True)
        except httpx.TimeoutException:
            raise _Failed(
                DownloadErrorKind.TIMEOUT,
                f"{host} went silent after {done:,} bytes; run again to resume",
            ) from None
        except httpx.HTTPError as error:
            reason = inert(str(error), limit=120) or type(error).__name__
            raise _Failed(
                DownloadErrorKind.NETWORK,
                f"the connection to {host} failed after {done:,} bytes ({reason}); "
                "run again to resume",
            ) from None

        if total is not None and done != total:
            raise _Failed(
                DownloadErrorKind.SIZE,
                f"got {done:,} of the {total:,} bytes the server announced; "
                f"the partial file {part.name} is kept",
            )
        if done == 0:
            raise _Failed(DownloadErrorKind.SIZE, "the server sent an empty file")
        if total is None and await asyncio.to_thread(_mp4_cut_short, part):
            # Without a size to check against, a connection closed early looks
            # like the end of the file; an MP4's boxes say whether it was.
            raise _Failed(
                DownloadErrorKind.SIZE,
                f"the server did not say how big the file is, and the {done:,} "
                "bytes that came end inside the video's last MP4 box: it was cut "
                f"short; the partial file {part.name} is kept, run again to resume",
            )
        return done


class _Meter:
    """Speed and time left of one transfer, reported at a bounded rate."""

    def __init__(
        self,
        task_id: str,
        position: int,
        start: int,
        total: int | None,
        clock: Callable[[], float],
    ) -> None:
        self._task_id = task_id
        self._position = position
        self._start = start
        self._total = total
        self._clock = clock
        self._began = clock()
        self._last = float("-inf")

    def tick(
        self, done: int, callback: ProgressCallback | None, *, final: bool = False
    ) -> None:
        if callback is None:
            return
        now = self._clock()
        if not final and now - self._last < _PROGRESS_EVERY:
            return
        self._last = now
        elapsed = now - self._began
        speed = (done - self._start) / elapsed if elapsed > 0 else None
        eta: float | None = None
        if speed and self._total is not None:
            eta = max(self._total - done, 0) / speed
        callback(
            DownloadProgress(
                self._task_id, self._position, done, self._total, speed, eta
            )
        )


def _plan(response: httpx.Response, offset: int) -> tuple[int, int | None]:
    """Where the body starts in the file and the file's whole size, if known.

    Raises:
        _Restart: The server ignored or misread the range; start from zero.
        _AlreadyComplete: The ``.part`` already holds every byte.
        _Failed: The server answered with an error status.
    """
    status = response.status_code
    if status == 206 and offset > 0:
        match = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", ""))
        if match is None or int(match.group(1)) != offset:
            raise _Restart
        whole = match.group(3)
        return offset, int(whole) if whole.isdigit() else None
    if status == 416 and offset > 0:
        match = _UNSATISFIED_RANGE.fullmatch(response.headers.get("content-range", ""))
        if match is not None and int(match.group(1)) == offset:
            raise _AlreadyComplete
        raise _Restart
    if status == 200:
        declared = response.headers.get("content-length", "")
        return 0, int(declared) if declared.isdigit() else None

    host = response.url.host or "the server"
    if status in _GONE_STATUSES:
        raise _Failed(
            DownloadErrorKind.HTTP,
            f"HTTP {status} from {host}: the link no longer works (kie.ai keeps "
            "results 14 days, links may die sooner)",
        )
    # A CDN's 5xx and 429 usually pass; the .part is kept either way.
    raise _Failed(
        DownloadErrorKind.HTTP,
        f"HTTP {status} from {host}",
        retryable=status >= 500 or status == 429,
    )


def _existing(
    final: Path, task_id: str, url: str, position: int
) -> DownloadResult | None:
    """What to report when the final name is taken, or ``None`` when it is free.

    veo-tui only ever puts complete files under that name, so a whole MP4
    there is a finished download; anything else (a file put there by hand,
    a folder) is left alone and reported.
    """
    if not os.path.lexists(final):
        return None
    size = _size(final)
    if is_complete_video(final):
        return DownloadResult(
            task_id, url, position, final, DownloadStatus.ALREADY_DOWNLOADED, size
        )
    return DownloadResult(
        task_id,
        url,
        position,
        final,
        DownloadStatus.FAILED,
        size,
        DownloadErrorKind.EXISTS,
        f"{final} already exists and is not a complete video; it was left alone "
        "(move it away to download again)",
    )


def _size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:
        return 0


def _part_size(part: Path) -> int:
    """The size of a resumable ``.part``; 0 when there is none."""
    try:
        info = part.lstat()
    except FileNotFoundError:
        return 0
    if not part.is_file() or part.is_symlink():
        raise _Failed(
            DownloadErrorKind.EXISTS,
            f"{part} is not a regular file; it was left alone",
        )
    return info.st_size


_MP4_FIRST_BOXES = frozenset({b"ftyp", b"styp"})


def is_complete_video(path: Path) -> bool:
    """Whether ``path`` is a regular file (not a link) holding a whole MP4."""
    try:
        return (
            path.is_file()
            and not path.is_symlink()
            and _size(path) > 0
            and not _not_a_whole_mp4(path)
        )
    except OSError:
        return False


def _not_a_whole_mp4(path: Path) -> bool:
    """Whether ``path`` does not start like an MP4, or its boxes do not add up."""
    with path.open("rb") as file:
        if file.read(8)[4:8] not in _MP4_FIRST_BOXES:
            return True
    return _mp4_cut_short(path)


def _mp4_cut_short(path: Path) -> bool:
    """Whether ``path`` is an MP4 whose boxes run past its end.

    An MP4 is a chain of boxes, each starting with its size (4 bytes, or 1 and
    then 8 bytes; 0 means "to the end of the file") and its type: the sizes
    of a whole file add up to its length, and it holds the movie's index
    (``moov``) and its media (``mdat``, or ``moof`` fragments), so a cut at a
    box boundary shows too. A file that does not start like an MP4 is not
    judged (``False``).
    """
    kinds: set[bytes] = set()
    with path.open("rb") as file:
        end = os.fstat(file.fileno()).st_size
        offset = 0
        while offset < end:
            file.seek(offset)
            header = file.read(16)
            if len(header) < 8:
                return True
            size, kind = int.from_bytes(header[:4], "big"), header[4:8]
            if offset == 0 and kind not in _MP4_FIRST_BOXES:
                return False
            kinds.add(kind)
            if size == 1:
                if len(header) < 16:
                    return True
                size = int.from_bytes(header[8:16], "big")
            elif size == 0:
                break  # the last box, to the end of the file
            if size < 8:
                return True  # nonsense after a good start: damaged
            offset += size
        else:
            if offset != end:
                return True
    return b"moov" not in kinds or not kinds & {b"mdat", b"moof"}


def _open_part(part: Path, start: int) -> IO[bytes]:
    """``part`` open for writing at ``start``, cut there; symlinks refused."""
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(part, flags, 0o644)
    try:
        os.ftruncate(descriptor, start)
        os.lseek(descriptor, start, os.SEEK_SET)
    except OSError:
        os.close(descriptor)
        raise
    return os.fdopen(descriptor, "wb")


def _flush(sink: IO[bytes]) -> None:
    sink.flush()
    os.fsync(sink.fileno())


def _publish(part: Path, final: Path) -> None:
    """Give the complete ``part`` its final name without replacing anything.

    Raises:
        FileExistsError: Something took the final name meanwhile.
    """
    try:
        os.link(part, final)
    except FileExistsError:
        raise
    except OSError:
        # No hard links here (some network or FAT file systems): check, then
        # rename; the gap between the two is as small as it gets.
        if os.path.lexists(final):
            raise FileExistsError(errno.EEXIST, "exists", str(final)) from None
        os.rename(part, final)
        return
    part.unlink()


def _disk_message(error: OSError) -> str:
    where = f" {error.filename}" if error.filename else ""
    if error.errno == errno.ENOSPC:
        return f"the disk is full; could not write{where}"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"no permission to write{where}"
    reason = error.strerror or type(error).__name__
    return f"could not write{where}: {reason}"
