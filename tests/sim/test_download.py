"""Downloading result videos: complete, resumed, restarted, checked, cancelled.

Most tests fetch the stand-in's real MP4 over a real socket; the servers the
stand-in cannot play (one that ignores ``Range``, one that lies about the
size, one that stalls) are httpx mock transports, so nothing leaves this
machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from veo_tui.api import USER_AGENT
from veo_tui.api.download import (
    Downloader,
    DownloadErrorKind,
    DownloadProgress,
    DownloadStatus,
    download_name,
    safe_stem,
)
from veo_tui.sim import FaultKind, RunningSim
from veo_tui.sim.app import SAMPLE_VIDEO

TASK = "success-current-naive"


class Chunks(httpx.AsyncByteStream):
    """A response body sent in pieces, as a network delivers it."""

    def __init__(self, data: bytes, size: int = 1000) -> None:
        self._pieces = [data[i : i + size] for i in range(0, len(data), size)]

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self._pieces:
            yield piece


def body(data: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    """A streamed 200 response; Content-Length is the true one unless given."""
    sent = {"Content-Length": str(len(data)), **(headers or {})}
    return httpx.Response(200, headers=sent, stream=Chunks(data))


def names(folder: Path) -> list[str]:
    """Every file and folder under ``folder``, as sorted relative paths."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


class Instant:
    """A sleep that returns at once and notes each delay."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class Seen:
    """The requests an httpx client sent, noted by an event hook."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> None:
        self.requests.append(request)


def result_url(sim: RunningSim, name: str = "result-0", task_id: str = TASK) -> str:
    return f"{sim.base_url}/files/{task_id}/{name}.mp4"


@pytest.fixture
async def seen() -> AsyncIterator[tuple[Seen, httpx.AsyncClient]]:
    """A plain client (no key) whose requests are noted."""
    hook = Seen()
    async with httpx.AsyncClient(
        headers={"User-Agent": USER_AGENT},
        event_hooks={"request": [hook]},
        trust_env=False,
        timeout=5.0,
    ) as client:
        yield hook, client


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """An empty folder for the videos (``tmp_path`` also holds the XDG dirs)."""
    path = tmp_path / "downloads"
    path.mkdir()
    return path


def mock_downloader(
    folder: Path, handler: Callable[[httpx.Request], httpx.Response], **kwargs: object
) -> Downloader:
    return Downloader(
        folder,
        transport=httpx.MockTransport(handler),
        sleep=Instant(),
        **kwargs,  # type: ignore[arg-type]
    )


async def test_a_complete_download_is_saved_under_the_task_id(
    sim: RunningSim, folder: Path
) -> None:
    progress: list[DownloadProgress] = []

    async with Downloader(folder) as downloader:
        result = await downloader.download(
            TASK, result_url(sim), on_progress=progress.append
        )

    assert result.status is DownloadStatus.SAVED
    assert result.path == folder / f"{TASK}.mp4"
    assert result.path.read_bytes() == SAMPLE_VIDEO
    assert result.size == len(SAMPLE_VIDEO)
    assert names(folder) == [result.path.name]
    assert progress[-1].done == progress[-1].total == len(SAMPLE_VIDEO)


async def test_result_urls_get_the_user_agent_and_never_the_key(
    sim: RunningSim, folder: Path, seen: tuple[Seen, httpx.AsyncClient]
) -> None:
    hook, client = seen

    async with Downloader(folder, http=client) as downloader:
        await downloader.download(TASK, result_url(sim))

    (request,) = hook.requests
    assert request.headers["user-agent"] == USER_AGENT
    assert "authorization" not in request.headers


def test_a_shared_client_carrying_the_key_is_refused(folder: Path) -> None:
    client = httpx.AsyncClient(headers={"Authorization": "Bearer sk-x"})

    with pytest.raises(ValueError, match="API key"):
        Downloader(folder, http=client)


async def test_a_dropped_connection_is_resumed_with_a_range(
    sim: RunningSim, folder: Path, seen: tuple[Seen, httpx.AsyncClient]
) -> None:
    hook, client = seen
    sim.force_file_fault(FaultKind.DROPPED_CONNECTION)

    async with Downloader(folder, http=client, sleep=Instant()) as downloader:
        result = await downloader.download(TASK, result_url(sim))

    assert result.status is DownloadStatus.SAVED
    assert result.path.read_bytes() == SAMPLE_VIDEO
    assert "range" not in hook.requests[0].headers
    assert hook.requests[1].headers["range"] == f"bytes={len(SAMPLE_VIDEO) // 2}-"


async def test_a_part_that_does_not_join_into_a_video_is_fetched_anew(
    sim: RunningSim, folder: Path, seen: tuple[Seen, httpx.AsyncClient]
) -> None:
    hook, client = seen
    (folder / f"{TASK}.mp4.part").write_bytes(bytes(1000))  # not our download

    async with Downloader(folder, http=client, sleep=Instant()) as downloader:
        result = await downloader.download(TASK, result_url(sim))

    assert result.status is DownloadStatus.SAVED
    assert result.path.read_bytes() == SAMPLE_VIDEO
    assert hook.requests[0].headers["range"] == "bytes=1000-"
    assert "range" not in hook.requests[1].headers


async def test_a_drop_without_retries_leaves_only_the_part_for_next_time(
    sim: RunningSim, folder: Path
) -> None:
    sim.force_file_fault(FaultKind.DROPPED_CONNECTION)

    async with Downloader(folder, retries=0) as downloader:
        failed = await downloader.download(TASK, result_url(sim))
        part = folder / f"{TASK}.mp4.part"
        kept = part.stat().st_size
        resumed = await downloader.download(TASK, result_url(sim))

    assert failed.status is DownloadStatus.FAILED
    assert failed.error_kind is DownloadErrorKind.NETWORK
    assert "run again to resume" in (failed.message or "")
    assert kept == len(SAMPLE_VIDEO) // 2
    assert resumed.status is DownloadStatus.SAVED
    assert resumed.path.read_bytes() == SAMPLE_VIDEO
    assert not part.exists()


async def test_a_passing_server_error_is_retried(sim: RunningSim, folder: Path) -> None:
    sim.force_file_fault(FaultKind.BAD_GATEWAY)
    sleep = Instant()

    async with Downloader(folder, sleep=sleep, retry_delay=2) as downloader:
        result = await downloader.download(TASK, result_url(sim))

    assert result.status is DownloadStatus.SAVED
    assert sleep.delays == [2]


async def test_a_server_without_range_support_restarts_from_zero(
    folder: Path,
) -> None:
    (folder / "t1.mp4.part").write_bytes(b"stale bytes from an older try")
    ranges: list[str | None] = []

    def ignore_range(request: httpx.Request) -> httpx.Response:
        ranges.append(request.headers.get("range"))
        return body(SAMPLE_VIDEO)

    async with mock_downloader(folder, ignore_range) as downloader:
        result = await downloader.download("t1", "https://cdn.example/v.mp4")

    assert ranges == ["bytes=29-"]
    assert result.status is DownloadStatus.SAVED
    assert result.path.read_bytes() == SAMPLE_VIDEO


async def test_a_body_shorter_than_its_content_length_keeps_the_part(
    folder: Path,
) -> None:
    def short(request: httpx.Request) -> httpx.Response:
        return body(SAMPLE_VIDEO[:1000], {"Content-Length": "5000"})

    async with mock_downloader(folder, short) as downloader:
        result = await downloader.download("t1", "https://cdn.example/v.mp4")

    assert result.status is DownloadStatus.FAILED
    assert result.error_kind is DownloadErrorKind.SIZE
    assert "1,000 of the 5,000 bytes" in (result.message or "")
    assert not (folder / "t1.mp4").exists()
    assert (folder / "t1.mp4.part").stat().st_size == 1000


def unsized(data: bytes) -> httpx.Response:
    """A 200 response that does not say how long it is (read until close)."""
    return httpx.Response(200, stream=Chunks(data))


@pytest.mark.parametrize(
    "cut",
    [5000, 1559, 20],  # inside the media, at a box boundary, inside the header
)
async def test_an_unsized_mp4_that_ends_early_keeps_the_part(
    folder: Path, cut: int
) -> None:
    async with mock_downloader(
        folder, lambda request: unsized(SAMPLE_VIDEO[:cut])
    ) as downloader:
        result = await downloader.download("t1", "https://cdn.example/v.mp4")

    assert result.status is DownloadStatus.FAILED
    assert result.error_kind is DownloadErrorKind.SIZE
    assert "did not say how big the file is" in (result.message or "")
    assert not (folder / "t1.mp4").exists()
    assert (folder / "t1.mp4.part").stat().st_size == cut


async def test_a_whole_unsized_mp4_is_saved(folder: Path) -> None:
    async with mock_downloader(
        folder, lambda request: unsized(SAMPLE_VIDEO)
    ) as downloader:
        result = await downloader.download("t1", "https://cdn.example/v.mp4")

    assert result.status is DownloadStatus.SAVED
    assert result.path.read_bytes() == SAMPLE_VIDEO


async def test_an_unsized_file_that_is_not_an_mp4_is_saved_as_it_came(
    folder: Path,
) -> None:
    async with mock_downloader(
        folder, lambda request: unsized(b"not a video" * 100)
    ) as downloader:
        result = await downloader.download("t1", "https://cdn.example/v.mp4")

    assert result.status is DownloadStatus.SAVED


async def test_a_body_longer_than_its_content_length_is_refused(
    folder: Path,
) -> None:
    def long(request: httpx.Request) -> httpx.Response:
        return body(b"x" * 99, {"Content-Length": "10"})

    async with mock_downloader(folder, long) as downloader:
        result = await downloader.download("t1", "https://cdn.example/v.mp4")

    assert result.error_kind is DownloadErrorKind.SIZE
    assert not (folder / "t1.mp4").exists()


class _Stall(httpx.AsyncByteStream):
    """A body that sends one chunk, says so, then never sends another."""

    def __init__(self, started: asyncio.Event) -> None:
        self._started = started

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield SAMPLE_VIDEO[:1000]
        self._started.set()
        await asyncio.Event().wait()


async def test_a_cancelled_download_leaves_only_the_part(folder: Path) -> None:
    started = asyncio.Event()

    def stall(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"Content-Length": str(len(SAMPLE_VIDEO))},
            stream=_Stall(started),
        )

    async with mock_downloader(folder, stall) as downloader:
        job = asyncio.create_task(downloader.download("t1", "https://cdn.example/v"))
        await started.wait()
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job

    assert names(folder) == ["t1.mp4.part"]


async def test_the_same_file_asked_twice_at_once_is_fetched_once(
    sim: RunningSim, folder: Path
) -> None:
    url = result_url(sim)

    async with Downloader(folder) as downloader:
        first, second = await asyncio.gather(
            downloader.download(TASK, url), downloader.download(TASK, url)
        )

    assert first == second
    assert first.status is DownloadStatus.SAVED
    assert sim.requests_to(f"/files/{TASK}/result-0.mp4") == 1


async def test_two_urls_of_one_task_are_numbered(sim: RunningSim, folder: Path) -> None:
    urls = [result_url(sim, "result-0"), result_url(sim, "result-1")]

    async with Downloader(folder) as downloader:
        results = await downloader.download_task(TASK, urls)

    assert [r.path.name for r in results] == [f"{TASK}.mp4", f"{TASK}-2.mp4"]
    assert all(r.status is DownloadStatus.SAVED for r in results)


async def test_an_existing_file_is_already_downloaded_and_not_fetched(
    sim: RunningSim, folder: Path
) -> None:
    (folder / f"{TASK}.mp4").write_bytes(SAMPLE_VIDEO)

    async with Downloader(folder) as downloader:
        result = await downloader.download(TASK, result_url(sim))

    assert result.status is DownloadStatus.ALREADY_DOWNLOADED
    assert sim.requests_to(f"/files/{TASK}/result-0.mp4") == 0


async def test_a_file_under_the_name_that_is_no_whole_video_is_reported_and_kept(
    sim: RunningSim, folder: Path
) -> None:
    # Not "already downloaded": the dashboard would call it safe from
    # kie.ai's deletion.
    (folder / f"{TASK}.mp4").write_bytes(b"mine")

    async with Downloader(folder) as downloader:
        result = await downloader.download(TASK, result_url(sim))

    assert result.status is DownloadStatus.FAILED
    assert "is not a complete video" in (result.message or "")
    assert (folder / f"{TASK}.mp4").read_bytes() == b"mine"
    assert sim.requests_to(f"/files/{TASK}/result-0.mp4") == 0


async def test_an_empty_file_under_the_name_is_left_alone(
    sim: RunningSim, folder: Path
) -> None:
    (folder / f"{TASK}.mp4").write_bytes(b"")

    async with Downloader(folder) as downloader:
        result = await downloader.download(TASK, result_url(sim))

    assert result.error_kind is DownloadErrorKind.EXISTS
    assert (folder / f"{TASK}.mp4").read_bytes() == b""


async def test_an_expired_link_is_an_http_error_with_a_reason(
    sim: RunningSim, folder: Path
) -> None:
    async with Downloader(folder) as downloader:
        result = await downloader.download("gone", result_url(sim, task_id="nope"))

    assert result.error_kind is DownloadErrorKind.HTTP
    assert "HTTP 404" in (result.message or "")
    assert names(folder) == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://cdn.example/v.mp4",
        "javascript:alert(1)",
        "https://cdn.example/v.mp4\x1b]52;c;aGk=\x07",
        "",
    ],
)
async def test_only_http_urls_are_fetched(folder: Path, url: str) -> None:
    def never(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing may be requested")

    async with mock_downloader(folder, never) as downloader:
        result = await downloader.download("t1", url)

    assert result.error_kind is DownloadErrorKind.URL
    assert "\x1b" not in (result.message or "")


async def test_the_url_never_names_the_file(folder: Path) -> None:
    def serve(request: httpx.Request) -> httpx.Response:
        disposition = 'attachment; filename="../../evil.sh"'
        return body(SAMPLE_VIDEO, {"Content-Disposition": disposition})

    async with mock_downloader(folder / "videos", serve) as downloader:
        result = await downloader.download(
            "t1", "https://cdn.example/..%2F..%2Fevil.sh?name=/etc/passwd"
        )

    assert result.path == folder / "videos" / "t1.mp4"
    assert names(folder) == ["videos", "videos/t1.mp4"]


@pytest.mark.parametrize(
    "task_id",
    ["../../etc/passwd", "..", ".", "a/b", "a\\b", "c:d", "x\x00y", "\x1b[31m", "CON"],
)
def test_hostile_task_ids_make_plain_names_in_the_folder(task_id: str) -> None:
    name = download_name(task_id, 2)

    assert "/" not in name
    assert "\\" not in name
    assert name.isprintable()
    assert not name.startswith(".")
    assert (Path("/d") / name).parent == Path("/d")
    assert name.endswith("-2.mp4")


def test_safe_names_are_stable_and_distinct() -> None:
    assert safe_stem("a/b") == safe_stem("a/b")
    assert safe_stem("a/b") != safe_stem("a:b")
    assert safe_stem("0123abcdef") == "0123abcdef"
    assert len(safe_stem("x" * 500)) < 120


@pytest.mark.parametrize(
    ("one", "other"),
    [
        # A file system that ignores case (macOS, Windows) sees one file.
        ("ABC", "abc"),
        ("AbC", "aBc"),
        # An id made to look like another's hashed name.
        (".hidden", "_hidden-" + safe_stem(".hidden").rsplit("-", 1)[1]),
    ],
)
def test_two_ids_never_share_a_name_even_ignoring_case(one: str, other: str) -> None:
    assert download_name(one).lower() != download_name(other).lower()


def test_a_usual_kie_id_is_its_own_name() -> None:
    assert download_name("7c1e9b24d0a84f53b6e2c8a91f3d5e07") == (
        "7c1e9b24d0a84f53b6e2c8a91f3d5e07.mp4"
    )


def test_a_variant_label_goes_before_the_position() -> None:
    assert download_name("t1", 1, label="4k") == "t1-4k.mp4"
    assert download_name("t1", 2, label="1080p") == "t1-1080p-2.mp4"


async def test_hostile_ids_download_inside_the_folder(
    folder: Path,
) -> None:
    inner = folder / "videos"

    def serve(request: httpx.Request) -> httpx.Response:
        return body(SAMPLE_VIDEO)

    async with mock_downloader(inner, serve) as downloader:
        result = await downloader.download("../escape", "https://cdn.example/v.mp4")

    assert result.status is DownloadStatus.SAVED
    assert result.path.parent == inner
    assert names(folder) == ["videos", f"videos/{result.path.name}"]


async def test_an_unwritable_folder_is_a_disk_error(folder: Path) -> None:
    blocker = folder / "file-not-folder"
    blocker.write_text("x")

    def serve(request: httpx.Request) -> httpx.Response:
        return body(SAMPLE_VIDEO)

    async with mock_downloader(blocker / "sub", serve) as downloader:
        result = await downloader.download("t1", "https://cdn.example/v.mp4")

    assert result.status is DownloadStatus.FAILED
    assert result.error_kind is DownloadErrorKind.DISK


async def test_progress_reports_speed_and_time_left(folder: Path) -> None:
    ticks = iter(float(n) for n in range(1000))
    progress: list[DownloadProgress] = []

    def serve(request: httpx.Request) -> httpx.Response:
        return body(b"x" * 4000)

    async with mock_downloader(folder, serve, clock=lambda: next(ticks)) as downloader:
        await downloader.download(
            "t1", "https://cdn.example/v", on_progress=progress.append
        )

    first = progress[0]
    assert (first.done, first.total) == (1000, 4000)
    assert first.speed == 1000.0
    assert first.eta == 3.0


def test_an_id_that_looks_like_another_tasks_second_video_gets_its_own_name() -> None:
    second_of_x = download_name("x", position=2)
    own = download_name("x-2")

    assert second_of_x == "x-2.mp4"
    assert own != second_of_x
    assert own.startswith("x-2-")


def test_an_id_that_looks_like_another_tasks_4k_video_gets_its_own_name() -> None:
    assert download_name("x-4k") != download_name("x", label="4k")
    assert download_name("a1b2c3d4-e5f6-7890-abcd-ef1234567890") == (
        "a1b2c3d4-e5f6-7890-abcd-ef1234567890.mp4"
    )
