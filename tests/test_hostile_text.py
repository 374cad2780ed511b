"""Hostile remote or pasted text is shown inert on every display path.

One hostile string carries Rich/Textual markup (one piece would quit the app
if clicked), an ANSI colour, an OSC 52 clipboard write, a C1 CSI and a bidi
override. Wherever kie.ai's text reaches the screen, the terminal or the
clipboard, none of those characters may arrive raw and markup must read as
the literal brackets it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from rich.text import Text
from textual.screen import Screen
from textual.widgets import DataTable, Label, Static

from tests.conftest import FAKE_KEY
from tests.ui.conftest import (
    CREDIT,
    RECORD_INFO,
    FakeClock,
    FakeKie,
    build_app,
    failed_body,
    generating_body,
    settle,
    success_body,
)
from veo_tui.cli import main
from veo_tui.store.watchlist import WatchlistStore
from veo_tui.ui import VeoTuiApp
from veo_tui.ui.dialogs import IdsArea

MARKUP = "[bold red]x[/]"
CLICK = "[@click=app.quit]q[/]"
HOSTILE = f"{MARKUP} {CLICK} \x1b[31mred \x1b]52;c;aGk=\x07 \x9b1m \u202eevil"
RAW = ("\x1b", "\x07", "\x9b", "\u202e")
MARKED_URL = f"https://cdn.example.com/{CLICK}.mp4"
HUGE = "A" * 100_000 + "\x1b]52;c;aGk=\x07"


def assert_inert(text: str) -> None:
    for char in RAW:
        assert char not in text, f"{char!r} reached the screen raw"


@pytest.fixture
def kie() -> Iterator[FakeKie]:
    fake = FakeKie()
    with respx.mock(assert_all_called=False) as router:
        router.get(RECORD_INFO).mock(side_effect=fake.answer)
        router.get(CREDIT).mock(side_effect=fake.credit)
        yield fake


@pytest.fixture
def app(tmp_path: Path) -> VeoTuiApp:
    return build_app(WatchlistStore(tmp_path / "watchlist.toml"), FakeClock())


def shown(where: VeoTuiApp | Screen[Any], selector: str) -> str:
    content = where.query_one(selector, Static).render()
    return str(content.plain if isinstance(content, Text) else content)


def row_text(app: VeoTuiApp, task_id: str) -> list[str]:
    table: DataTable[Any] = app.query_one("#tasks", DataTable)
    return [
        value.plain if isinstance(value, Text) else str(value)
        for value in table.get_row(task_id)
    ]


def notifications(app: VeoTuiApp) -> list[str]:
    return [n.message for n in app._notifications]


# The dashboard


async def test_table_cells_show_a_hostile_prompt_inert(
    app: VeoTuiApp, kie: FakeKie
) -> None:
    kie.bodies["h1"] = success_body("h1", prompt=HOSTILE)

    async with app.run_test(size=(160, 40)) as pilot:
        app.add_ids_text("h1")
        await settle(pilot, app, 1, kie)

        cells = row_text(app, "h1")
        for text in cells:
            assert_inert(text)
        assert any(text.startswith(MARKUP) for text in cells)


async def test_the_error_panel_shows_a_hostile_failure_reason_inert(
    app: VeoTuiApp, kie: FakeKie
) -> None:
    kie.bodies["h1"] = failed_body("h1", HOSTILE)

    async with app.run_test(size=(160, 40)) as pilot:
        app.add_ids_text("h1")
        await settle(pilot, app, 1, kie)

        error = shown(app, "#error-panel")
        assert_inert(error)
        assert MARKUP in error
        assert CLICK in error
        assert "\\x1b]52;c;aGk=\\x07" in error


async def test_the_request_panel_shows_a_hostile_prompt_inert(
    app: VeoTuiApp, kie: FakeKie
) -> None:
    kie.bodies["h1"] = success_body("h1", prompt=HOSTILE)

    async with app.run_test(size=(160, 40)) as pilot:
        app.add_ids_text("h1")
        await settle(pilot, app, 1, kie)

        request = shown(app, "#request-panel")
        assert_inert(request)
        assert MARKUP in request
        assert CLICK in request


async def test_status_timings_and_videos_panels_stay_inert(
    app: VeoTuiApp, kie: FakeKie
) -> None:
    body = success_body("h1", prompt=HOSTILE)
    body["data"]["response"]["resultUrls"] = [
        f"https://cdn.example.com/{HOSTILE}.mp4",
        "javascript:alert(1)",
        MARKED_URL,
    ]
    body["data"]["completeTime"] = HOSTILE
    kie.bodies["h1"] = body

    async with app.run_test(size=(160, 40)) as pilot:
        app.add_ids_text("h1")
        await settle(pilot, app, 1, kie)

        for selector in ("#status-panel", "#timings-panel", "#videos-summary"):
            assert_inert(shown(app, selector))
        urls = [str(label.render()) for label in app.query(".url").results(Label)]
        assert urls == [MARKED_URL]


async def test_a_100_kb_failure_reason_is_shown_cut_and_the_app_stays_usable(
    app: VeoTuiApp, kie: FakeKie
) -> None:
    kie.bodies["h1"] = failed_body("h1", HUGE)

    async with app.run_test(size=(160, 40)) as pilot:
        app.add_ids_text("h1")
        await settle(pilot, app, 1, kie)

        error = shown(app, "#error-panel")
        assert_inert(error)
        assert len(error) < 20_000
        await pilot.press("p")
        await pilot.pause()
        assert "⏸ paused" in shown(app, "#topbar")


async def test_a_body_that_is_not_utf8_is_shown_inert(
    app: VeoTuiApp, kie: FakeKie
) -> None:
    kie.bodies["h1"] = httpx.Response(
        200,
        content=b'{"code": 200, "msg": "success", "data": {"taskId": "h1", '
        b'"successFlag": 2, "errorCode": 400, '
        b'"errorMessage": "bad \xff\xfe \x1b[31m \xc2\x9b"}}',
    )

    async with app.run_test(size=(160, 40)) as pilot:
        app.add_ids_text("h1")
        await settle(pilot, app, 1, kie)

        for text in [*row_text(app, "h1"), shown(app, "#error-panel")]:
            assert_inert(text)


async def test_the_finish_notification_shows_a_hostile_reason_inert(
    app: VeoTuiApp, kie: FakeKie
) -> None:
    kie.bodies["h1"] = generating_body("h1")

    async with app.run_test(size=(160, 40)) as pilot:
        app.add_ids_text("h1")
        await settle(pilot, app, 1, kie)
        kie.bodies["h1"] = failed_body("h1", HOSTILE)
        await pilot.press("r")
        await settle(pilot, app, 2, kie)

        finished = [n for n in notifications(app) if "red" in n]
        assert finished
        for message in finished:
            assert_inert(message)
        assert any(MARKUP in message for message in finished)
        assert app.is_running


async def test_titles_never_carry_remote_text(app: VeoTuiApp, kie: FakeKie) -> None:
    kie.bodies["h1"] = generating_body("h1")

    async with app.run_test(size=(160, 40)) as pilot:
        app.add_ids_text("h1")
        await settle(pilot, app, 1, kie)
        kie.bodies["h1"] = failed_body("h1", HOSTILE)
        await pilot.press("r")
        await settle(pilot, app, 2, kie)

        # The terminal's window title, and every notification's title, are ours.
        assert (app.title, app.sub_title) == ("veo-tui", "")
        assert {n.title for n in app._notifications} <= {"", "✔ success", "✖ failed"}


async def test_the_add_dialog_lists_a_hostile_paste_inert(
    app: VeoTuiApp, kie: FakeKie
) -> None:
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        pilot.app.screen.query_one(IdsArea).insert(
            "ok1 bad\x1b]52;c;aGk=\x07id \u202eevil " + "x" * 300
        )
        await pilot.press("enter")
        await pilot.pause()

        problems = shown(pilot.app.screen, "#add-problems")
        assert_inert(problems)
        assert "\\x1b" in problems


async def test_c_copies_only_a_clean_http_url(app: VeoTuiApp, kie: FakeKie) -> None:
    body = success_body("h1")
    body["data"]["response"]["resultUrls"] = [
        "javascript:alert(1)",
        "https://cdn.example.com/a\x1b]52;c;aGk=\x07.mp4",
        MARKED_URL,
    ]
    kie.bodies["h1"] = body

    async with app.run_test(size=(160, 40)) as pilot:
        app.add_ids_text("h1")
        await settle(pilot, app, 1, kie)
        await pilot.press("c")
        await pilot.pause()

        assert app.clipboard == MARKED_URL
        for message in notifications(app):
            assert_inert(message)


async def test_y_copies_the_task_id_and_nothing_else(
    app: VeoTuiApp, kie: FakeKie
) -> None:
    kie.bodies["h1"] = failed_body("h1", HOSTILE)

    async with app.run_test(size=(160, 40)) as pilot:
        app.add_ids_text("h1")
        await settle(pilot, app, 1, kie)
        await pilot.press("y")
        await pilot.pause()

        assert app.clipboard == "h1"


# Headless output


@pytest.fixture
def status_kie(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[dict[str, httpx.Response]]:
    config = tmp_path / "no-retries.toml"
    config.write_text("[api]\nmax_retries = 0\n")
    monkeypatch.setenv("VEO_TUI_CONFIG", str(config))
    monkeypatch.setenv("KIE_API_KEY", FAKE_KEY)
    answers: dict[str, httpx.Response] = {}
    with respx.mock(assert_all_called=False) as router:
        router.get(RECORD_INFO).mock(
            side_effect=lambda request: answers[request.url.params["taskId"]]
        )
        yield answers


def hostile_answers() -> dict[str, httpx.Response]:
    return {
        "h1": httpx.Response(200, json=failed_body("h1", HOSTILE)),
        "h2": httpx.Response(200, json=success_body("h2", prompt=HOSTILE)),
        "h3": httpx.Response(
            200,
            content=b'{"code": 200, "msg": "ok", "data": {"taskId": "h3", '
            b'"successFlag": 2, "errorMessage": "\xff\xfe \x1b[31m"}}',
        ),
        "h4": httpx.Response(200, json=failed_body("h4", HUGE)),
    }


def test_status_text_output_is_inert(
    status_kie: dict[str, httpx.Response], capsys: pytest.CaptureFixture[str]
) -> None:
    status_kie.update(hostile_answers())

    main(["status", "h1", "h2", "h3", "h4"])

    out, err = capsys.readouterr()
    assert_inert(out)
    assert_inert(err)
    assert MARKUP in out
    assert len(out) < 50_000


def test_status_json_output_is_ascii_and_round_trips(
    status_kie: dict[str, httpx.Response], capsys: pytest.CaptureFixture[str]
) -> None:
    status_kie.update(hostile_answers())

    main(["status", "--json", "h1", "h2", "h3", "h4"])

    out, err = capsys.readouterr()
    assert out.isascii()
    assert_inert(err)
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0]["error_message"] == HOSTILE
