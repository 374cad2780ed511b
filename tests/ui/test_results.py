"""Keeping results from the dashboard: downloads, 1080p, 4K and credits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.widgets import Button

from tests.ui.conftest import (
    BASE,
    AppFactory,
    FakeKie,
    done,
    entry,
    generating_body,
    seed,
    settle,
    success_body,
)
from veo_tui.sim.app import SAMPLE_VIDEO
from veo_tui.store.watchlist import WatchlistStore
from veo_tui.ui.details import UrlRow
from veo_tui.ui.dialogs import ConfirmScreen

VIDEO = SAMPLE_VIDEO  # a whole MP4, as a finished download is


def cdn(kie: FakeKie, task_id: str) -> None:
    assert kie.router is not None
    kie.router.get(f"https://cdn.example.com/{task_id}.mp4").mock(
        return_value=httpx.Response(200, content=VIDEO)
    )


def topbar(app: Any) -> str:
    return str(app.query_one("#topbar").render())


def videos(app: Any) -> str:
    return str(app.query_one("#videos-summary").render())


async def test_header_shows_the_credit_balance(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie
) -> None:
    seed(store, entry("a1", done("a1")))
    app = make_app()

    async with app.run_test() as pilot:
        await settle(pilot, app, 0, kie)

        assert "credits 35.95" in topbar(app)


async def test_D_downloads_the_videos_and_the_row_says_saved(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie, tmp_path: Path
) -> None:
    seed(store, entry("a1", done("a1")))
    cdn(kie, "a1")
    app = make_app(download_dir=tmp_path / "videos")

    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app, 0, kie)
        await pilot.press("D")
        for _ in range(100):
            await pilot.pause(0.02)
            if "a1" in app.saved_ids:
                break

        assert (tmp_path / "videos" / "a1.mp4").read_bytes() == VIDEO
        assert "saved" in app.table.get_cell("a1", "expires").plain
        assert "downloaded: safe" in videos(app)


async def test_videos_downloaded_before_show_as_saved_on_start(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie, tmp_path: Path
) -> None:
    seed(store, entry("a1", done("a1")))
    (tmp_path / "a1.mp4").write_bytes(VIDEO)
    app = make_app(download_dir=tmp_path)

    async with app.run_test() as pilot:
        await settle(pilot, app, 0, kie)

        assert app.saved_ids == {"a1"}


async def test_open_folder_shows_for_a_saved_task_only_and_opens_its_folder(
    make_app: AppFactory,
    store: WatchlistStore,
    kie: FakeKie,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(store, entry("a1", done("a1")), entry("b2", done("b2")))
    (tmp_path / "a1.mp4").write_bytes(VIDEO)
    app = make_app(download_dir=tmp_path)
    opened: list[str] = []
    monkeypatch.setattr(app, "open_url", lambda url, **_: opened.append(url))

    async with app.run_test(size=(120, 50)) as pilot:
        await settle(pilot, app, 0, kie)
        assert "downloaded: safe" in videos(app)
        folder = app.query_one("#open-folder", Button)
        assert folder.display

        await pilot.press("down")  # b2: nothing saved
        await pilot.pause()
        assert not folder.display

        await pilot.press("up")
        await pilot.pause()
        assert folder.display
        folder.press()
        await pilot.pause()
        assert opened == [tmp_path.as_uri()]


async def test_h_asks_for_1080p_and_adds_its_url(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie
) -> None:
    seed(store, entry("a1", done("a1")))
    assert kie.router is not None
    hd = kie.router.get(f"{BASE}/api/v1/veo/get-1080p-video").mock(
        return_value=httpx.Response(
            200,
            json={
                "code": 200,
                "msg": "success",
                "data": {"resultUrl": "https://cdn.example.com/a1-1080p.mp4"},
            },
        )
    )
    app = make_app()

    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app, 0, kie)
        await pilot.press("h")
        for _ in range(100):
            await pilot.pause(0.02)
            if app.extras.get("a1") and app.extras["a1"].hd_url:
                break

        assert hd.called
        assert app.extras["a1"].hd_url == "https://cdn.example.com/a1-1080p.mp4"
        kinds = [row.kind for row in app.query(UrlRow)]
        assert "1080p" in kinds


async def test_K_asks_first_and_a_repeat_does_not_charge_twice(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie
) -> None:
    seed(store, entry("a1", done("a1")))
    assert kie.router is not None
    uhd = kie.router.post(f"{BASE}/api/v1/veo/get-4k-video").mock(
        return_value=httpx.Response(
            200,
            json={
                "code": 200,
                "msg": "success",
                "data": {"resultUrls": ["https://cdn.example.com/a1-4k.mp4"]},
            },
        )
    )
    app = make_app()

    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app, 0, kie)
        await pilot.press("K")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "charges credits" in str(app.screen.query_one("Static").render())

        await pilot.press("n")
        await pilot.pause()
        assert not uhd.called

        await pilot.press("K", "y")
        for _ in range(100):
            await pilot.pause(0.02)
            if app.extras.get("a1") and app.extras["a1"].uhd_urls:
                break
        assert app.extras["a1"].uhd_urls == ("https://cdn.example.com/a1-4k.mp4",)
        assert kie.credit_calls >= 2  # read again once the 4K was charged

        await pilot.press("K")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, ConfirmScreen)
        assert uhd.call_count == 1


async def test_downloads_auto_saves_a_task_that_succeeds_while_watched(
    make_app: AppFactory, kie: FakeKie, tmp_path: Path
) -> None:
    kie.bodies["g1"] = generating_body("g1")
    cdn(kie, "g1")
    app = make_app(download_dir=tmp_path, downloads_auto=True)

    async with app.run_test() as pilot:
        app.add_ids_text("g1")
        await settle(pilot, app, 1, kie)
        kie.bodies["g1"] = success_body("g1")
        await pilot.press("r")
        await settle(pilot, app, 2, kie)
        for _ in range(100):
            await pilot.pause(0.02)
            if "g1" in app.saved_ids:
                break

        assert (tmp_path / "g1.mp4").read_bytes() == VIDEO


def uhd_route(kie: FakeKie, task_id: str) -> Any:
    assert kie.router is not None
    return kie.router.post(f"{BASE}/api/v1/veo/get-4k-video").mock(
        return_value=httpx.Response(
            200,
            json={
                "code": 200,
                "msg": "success",
                "data": {"resultUrls": [f"https://cdn.example.com/{task_id}-4k.mp4"]},
            },
        )
    )


async def saved(app: Any) -> None:
    """Wait for the upscales being written in threads."""
    for worker in [w for w in app.workers if w.group == "upscales"]:
        await worker.wait()


async def until(pilot: Any, ready: Any) -> None:
    for _ in range(100):
        await pilot.pause(0.02)
        if ready():
            return
    raise AssertionError("never happened")


async def test_a_4k_video_from_an_earlier_run_shows_at_once_and_is_not_asked_again(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie
) -> None:
    seed(store, entry("a1", done("a1")))
    uhd = uhd_route(kie, "a1")
    first = make_app()
    async with first.run_test(size=(120, 40)) as pilot:
        await settle(pilot, first, 0, kie)
        await pilot.press("K", "y")
        await until(pilot, lambda: first.extras["a1"].uhd_urls)
        await saved(first)

    later = make_app()
    async with later.run_test(size=(120, 40)) as pilot:
        await settle(pilot, later, 0, kie)
        await pilot.pause()
        urls = [row.url for row in later.query(UrlRow) if row.kind == "4k"]
        assert urls == ["https://cdn.example.com/a1-4k.mp4"]

        await pilot.press("K")
        await pilot.pause(0.1)
        assert not isinstance(later.screen, ConfirmScreen)
        assert uhd.call_count == 1


async def test_a_4k_request_sent_in_an_earlier_run_is_followed_without_asking(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie, tmp_path: Path
) -> None:
    seed(store, entry("a1", done("a1")))
    (tmp_path / "upscales.json").write_text(
        '{"version": 1, "tasks": {"a1": '
        '{"uhd_requested_at": "2026-12-03T11:00:00+00:00"}}}'
    )
    uhd = uhd_route(kie, "a1")
    app = make_app()

    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app, 0, kie)
        assert "K checks again (not charged twice)" in str(
            app.query_one("#videos-summary").render()
        )

        await pilot.press("K")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        await until(pilot, lambda: app.extras["a1"].uhd_urls)
        assert uhd.call_count == 1


async def test_a_1080p_video_from_an_earlier_run_shows_at_once(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie, tmp_path: Path
) -> None:
    seed(store, entry("a1", done("a1")))
    (tmp_path / "upscales.json").write_text(
        '{"version": 1, "tasks": {"a1": '
        '{"hd_url": "https://cdn.example.com/a1-1080p.mp4"}, '
        '"gone": {"hd_url": "https://cdn.example.com/gone.mp4"}}}'
    )
    app = make_app()

    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app, 0, kie)
        await pilot.pause()

        kinds = {row.kind: row.url for row in app.query(UrlRow)}
        assert kinds["1080p"] == "https://cdn.example.com/a1-1080p.mp4"
        assert "gone" not in app.extras


async def test_an_unreadable_upscales_file_is_reported_and_kept(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie, tmp_path: Path
) -> None:
    seed(store, entry("a1", done("a1")))
    (tmp_path / "upscales.json").write_text("{not json")
    uhd_route(kie, "a1")
    app = make_app()

    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app, 0, kie)
        assert any("upscales.json" in n.message for n in app._notifications)

        await pilot.press("K", "y")
        await until(pilot, lambda: app.extras["a1"].uhd_urls)
        await saved(app)

    assert set_aside(tmp_path) == ["{not json"]
    assert "a1-4k.mp4" in (tmp_path / "upscales.json").read_text()


def set_aside(folder: Path) -> list[str]:
    return [path.read_text() for path in folder.glob("upscales.json.corrupt-*")]
