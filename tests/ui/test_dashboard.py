"""The dashboard, driven with Pilot against kie.ai mocked by respx."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import Button, DataTable, Static

from tests.conftest import FAKE_KEY
from tests.ui.conftest import (
    BASE,
    NOW,
    AppFactory,
    FakeClock,
    FakeKie,
    build_app,
    done,
    entry,
    failed_body,
    generating_body,
    seed,
    settle,
    success_body,
)
from veo_tui.api import ApiOptions
from veo_tui.domain import State, TaskRecord
from veo_tui.polling.scheduler import PollSettings
from veo_tui.store.prefs import Prefs
from veo_tui.store.watchlist import WatchlistError, WatchlistStore
from veo_tui.ui import Engine, VeoTuiApp
from veo_tui.ui.app import DISK_CHECK_TICKS, KEY_CHECK_TICKS
from veo_tui.ui.dialogs import AddDialog, HelpScreen, IdsArea


def table_ids(app: VeoTuiApp) -> list[str]:
    table: DataTable[Any] = app.query_one("#tasks", DataTable)
    return [
        table.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value or ""
        for row in range(table.row_count)
    ]


def cell(app: VeoTuiApp, task_id: str, column: str) -> str:
    value = app.query_one("#tasks", DataTable).get_cell(task_id, column)
    return value.plain if isinstance(value, Text) else str(value)


def shown(app: VeoTuiApp, selector: str) -> str:
    widget = app.query_one(selector, Static)
    content = widget.render()
    return str(content.plain if hasattr(content, "plain") else content)


def notifications(app: VeoTuiApp) -> list[str]:
    return [n.message for n in app._notifications]


async def add_ids(pilot: Any, text: str) -> None:
    await pilot.press("a")
    await pilot.pause()
    area = pilot.app.screen.query_one(IdsArea)
    area.insert(text)
    await pilot.press("enter")
    await pilot.pause()


# Opening


async def test_empty_watchlist_welcomes_and_says_how_to_add(
    make_app: AppFactory,
) -> None:
    app = make_app()

    async with app.run_test() as pilot:
        await pilot.pause()

        assert "Your watchlist is empty. Press a" in shown(app, "#empty")
        assert table_ids(app) == []


async def test_restart_shows_saved_records_at_once(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie
) -> None:
    seed(store, entry("done1", done("done1")))
    app = make_app()

    async with app.run_test() as pilot:
        await pilot.pause()

        assert table_ids(app) == ["done1"]
        assert "success" in cell(app, "done1", "state")
        assert kie.calls == []  # a finished task is not polled again


async def test_a_long_watchlist_shows_a_screenful_first_then_every_row(
    make_app: AppFactory, store: WatchlistStore
) -> None:
    ids = [f"done{n:03d}" for n in range(250)]
    seed(store, *(entry(task_id, done(task_id)) for task_id in ids))
    app = make_app()
    first_frame: list[int] = []

    async with app.run_test(size=(120, 30)) as pilot:
        app.call_after_refresh(lambda: first_frame.append(app.table.row_count))
        for _ in range(20):
            await pilot.pause()

        assert 30 <= first_frame[0] < 250  # the screen was full at once
        assert table_ids(app) == ids
        assert app.selected_id() == "done000"


@pytest.mark.parametrize(("width", "details_beside"), [(120, False), (160, True)])
async def test_the_first_frame_already_has_the_layout_for_the_terminals_width(
    make_app: AppFactory, store: WatchlistStore, width: int, details_beside: bool
) -> None:
    seed(store, entry("done1", done("done1")))
    app = make_app()
    first: list[tuple[Any, Any]] = []
    display = app._display

    def hooked(screen: Any, renderable: Any) -> None:
        if renderable is not None and not first:
            first.append((app.table.region, app.details.region))
        display(screen, renderable)

    app._display = hooked  # type: ignore[method-assign]
    async with app.run_test(size=(width, 30)) as pilot:
        await pilot.pause()

    table, details = first[0]
    if details_beside:  # wide: the details sit right of a table
        assert details.x >= table.right
        assert details.y == table.y
    else:  # narrow: the table is full width, the details under it
        assert table.width == width
        assert details.y >= table.bottom


async def test_the_dashboards_own_process_gets_its_garbage_collector_back(
    make_app: AppFactory, store: WatchlistStore
) -> None:
    """Paused while starting (see DashboardOptions.own_process), never left off."""
    import gc

    seed(store, entry("done1", done("done1")))
    app = make_app(own_process=True)
    try:
        async with app.run_test() as pilot:
            assert not gc.isenabled()  # starting
            for _ in range(100):  # the first frame, then polling starts
                await pilot.pause()
                if gc.isenabled():
                    break

            assert gc.isenabled()
            assert table_ids(app) == ["done1"]
    finally:
        gc.enable()
        gc.unfreeze()


async def test_unfinished_tasks_are_fetched_on_start(
    make_app: AppFactory, kie: FakeKie
) -> None:
    kie.bodies["gen1"] = generating_body("gen1")
    app = make_app()

    async with app.run_test() as pilot:
        app.add_ids_text("gen1")
        await settle(pilot, app, 1, kie)

        assert "generating" in cell(app, "gen1", "state")
        assert cell(app, "gen1", "duration") == "2m 0s…"


# Adding


async def test_add_dialog_adds_ids_separated_by_spaces_commas_and_newlines(
    make_app: AppFactory, kie: FakeKie, store: WatchlistStore
) -> None:
    app = make_app()

    async with app.run_test() as pilot:
        await add_ids(pilot, "t1 t2,t3\nt4")
        await settle(pilot, app, 4, kie)

        assert table_ids(app) == ["t1", "t2", "t3", "t4"]
        assert [e.task_id for e in store.load()] == ["t1", "t2", "t3", "t4"]
        assert "Added 4 task(s)." in notifications(app)


async def test_five_hundred_pasted_ids_are_added(
    make_app: AppFactory, kie: FakeKie
) -> None:
    ids = [f"veo_task_{n:04d}" for n in range(500)]
    app = make_app()

    async with app.run_test() as pilot:
        await add_ids(pilot, "\n".join(ids))

        assert len(table_ids(app)) == 500
        assert not isinstance(app.screen, AddDialog)


async def test_invalid_ids_are_named_and_kept_in_the_dialog(
    make_app: AppFactory, kie: FakeKie
) -> None:
    app = make_app()

    async with app.run_test() as pilot:
        await add_ids(pilot, "good1 " + "x" * 200)

        assert isinstance(app.screen, AddDialog)
        problems = str(app.screen.query_one("#add-problems", Static).render())
        assert "200 characters long" in problems
        assert app.screen.query_one(IdsArea).text == "x" * 200
        assert "good1" in app.entries


async def test_the_dialog_counts_only_the_ids_it_really_added(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie
) -> None:
    seed(store, entry("done1", done("done1")))
    app = make_app()

    async with app.run_test() as pilot:
        await add_ids(pilot, "done1 new1 " + "y" * 130)

        problems = str(app.screen.query_one("#add-problems", Static).render())
        assert "(1 valid id(s) were added)" in problems


async def test_ids_stay_in_the_dialog_when_the_watchlist_cannot_be_saved(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie
) -> None:
    def refuse(*_: object) -> list[str]:
        raise WatchlistError("Cannot write watchlist.toml: Read-only file system")

    app = make_app()
    async with app.run_test() as pilot:
        store.add = refuse  # type: ignore[method-assign,assignment]
        await add_ids(pilot, "new1 new2")

        assert isinstance(app.screen, AddDialog)
        assert app.screen.query_one(IdsArea).text == "new1 new2"
        problems = str(app.screen.query_one("#add-problems", Static).render())
        assert "could not be saved, so nothing was added" in problems
        assert any("Read-only file system" in n for n in notifications(app))
        assert app.entries == {}


async def test_duplicates_are_skipped_with_a_note(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie
) -> None:
    seed(store, entry("done1", done("done1")))
    app = make_app()

    async with app.run_test() as pilot:
        await add_ids(pilot, "done1 new1 new1")

        assert table_ids(app) == ["done1", "new1"]
        assert "Added 1 task(s). Skipped 2 duplicate(s)." in notifications(app)


# Removing and undoing


async def test_remove_then_undo_restores_the_task(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie
) -> None:
    seed(store, entry("a1", done("a1")), entry("b2", done("b2")))
    app = make_app()

    async with app.run_test() as pilot:
        await pilot.press("d")
        await pilot.pause()
        assert table_ids(app) == ["b2"]
        assert [e.task_id for e in store.load()] == ["b2"]
        assert "Removed a1. Press u to undo." in notifications(app)

        await pilot.press("u")
        await pilot.pause()

        assert table_ids(app) == ["a1", "b2"]
        assert [e.task_id for e in store.load()] == ["a1", "b2"]
        assert app.entries["a1"].record == done("a1")


async def test_space_marks_several_and_delete_removes_them(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie
) -> None:
    seed(store, *(entry(t, done(t)) for t in ("a1", "b2", "c3")))
    app = make_app()

    async with app.run_test() as pilot:
        await pilot.press("space", "down", "space")
        await pilot.pause()
        assert cell(app, "a1", "state").startswith("●")

        await pilot.press("delete")
        await pilot.pause()

        assert table_ids(app) == ["b2"]
        assert "Removed 2 tasks. Press u to undo." in notifications(app)


# Copying and opening


async def test_c_copies_the_first_result_url(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie
) -> None:
    seed(store, entry("a1", done("a1")))
    app = make_app()

    async with app.run_test() as pilot:
        await pilot.press("c")
        await pilot.pause()

        assert app.clipboard == "https://cdn.example.com/a1.mp4"
        assert any(
            "Copied the first result URL (OSC 52" in n for n in notifications(app)
        )


async def test_y_copies_the_task_id(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie
) -> None:
    seed(store, entry("a1", done("a1")))
    app = make_app()

    async with app.run_test() as pilot:
        await pilot.press("y")
        await pilot.pause()

        assert app.clipboard == "a1"


def urls_opened(app: VeoTuiApp, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs ``app`` asks the browser to open, recorded instead."""
    opened: list[str] = []
    monkeypatch.setattr(app, "open_url", lambda url, **_: opened.append(url))
    return opened


async def test_o_opens_the_first_result_url(
    make_app: AppFactory,
    store: WatchlistStore,
    kie: FakeKie,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(store, entry("a1", done("a1")))
    app = make_app()
    opened = urls_opened(app, monkeypatch)

    async with app.run_test() as pilot:
        await pilot.press("o")
        await pilot.pause()

        assert opened == ["https://cdn.example.com/a1.mp4"]


async def test_o_without_a_browser_says_so_and_opens_nothing(
    make_app: AppFactory,
    store: WatchlistStore,
    kie: FakeKie,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("veo_tui.ui.app.graphical_browser_available", lambda: False)
    seed(store, entry("a1", done("a1")))
    app = make_app()
    opened = urls_opened(app, monkeypatch)

    async with app.run_test() as pilot:
        await pilot.press("o")
        await pilot.pause()

        assert opened == []
        assert any("press c to copy it instead" in n for n in notifications(app))


def test_a_terminal_browser_does_not_count_as_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import webbrowser

    from veo_tui.ui.clipboard import graphical_browser_available

    monkeypatch.setattr(webbrowser, "get", lambda: webbrowser.GenericBrowser("w3m"))
    assert not graphical_browser_available()
    monkeypatch.setattr(
        webbrowser, "get", lambda: webbrowser.BackgroundBrowser("xdg-open")
    )
    assert graphical_browser_available()


async def test_copy_without_a_result_says_so(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie
) -> None:
    seed(store, entry("f1", TaskRecord("f1", State.FAILED, success_flag=2)))
    app = make_app()

    async with app.run_test() as pilot:
        await pilot.press("c")
        await pilot.pause()

        assert app.clipboard == ""
        assert "This task has no result URL yet." in notifications(app)


async def test_videos_panel_has_copy_and_open_for_each_url(
    make_app: AppFactory,
    store: WatchlistStore,
    kie: FakeKie,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    record = TaskRecord(
        "v1",
        State.SUCCESS,
        success_flag=1,
        result_urls=("https://cdn.example.com/r.mp4",),
        origin_urls=("https://cdn.example.com/o.mp4",),
        resolution="720p",
    )
    seed(store, entry("v1", record))
    app = make_app()
    opened = urls_opened(app, monkeypatch)

    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        rows = list(app.query(".url-row"))
        assert len(rows) == 2

        await pilot.click(".url-row .url-copy")
        await pilot.pause()
        assert app.clipboard == "https://cdn.example.com/r.mp4"

        rows[1].query_one(".url-open", Button).press()
        await pilot.pause()
        assert opened == ["https://cdn.example.com/o.mp4"]


# Refreshing and pausing


async def test_r_refreshes_a_finished_task_and_R_refreshes_all(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie
) -> None:
    seed(store, entry("a1", done("a1")), entry("b2", done("b2")))
    kie.bodies["a1"] = success_body("a1")
    kie.bodies["b2"] = success_body("b2")
    app = make_app()

    async with app.run_test() as pilot:
        await pilot.press("r")
        await settle(pilot, app, 1, kie)
        assert kie.calls == ["a1"]

        await pilot.press("R")
        await settle(pilot, app, 3, kie)
        assert sorted(kie.calls[1:]) == ["a1", "b2"]


async def test_p_pauses_and_resumes_auto_refresh(
    make_app: AppFactory, kie: FakeKie
) -> None:
    app = make_app()

    async with app.run_test() as pilot:
        await pilot.press("p")
        await pilot.pause()
        assert "⏸ paused" in shown(app, "#topbar")

        await pilot.press("p")
        await pilot.pause()
        assert "⟳ auto" in shown(app, "#topbar")


async def test_generating_task_is_polled_again_after_its_interval(
    make_app: AppFactory, kie: FakeKie, clock: FakeClock
) -> None:
    kie.bodies["g1"] = generating_body("g1")
    app = make_app()

    async with app.run_test() as pilot:
        app.add_ids_text("g1")
        await settle(pilot, app, 1, kie)

        clock.advance(12)
        app.engine.wake()
        await settle(pilot, app, 2, kie)

        assert kie.calls == ["g1", "g1"]


async def test_finishing_task_notifies_and_rings_the_bell(
    make_app: AppFactory,
    kie: FakeKie,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kie.bodies["g1"] = generating_body("g1")
    app = make_app()
    bells: list[None] = []
    monkeypatch.setattr(app, "bell", lambda: bells.append(None))

    async with app.run_test() as pilot:
        app.add_ids_text("g1")
        await settle(pilot, app, 1, kie)
        kie.bodies["g1"] = failed_body(
            "g1", "Your prompt was flagged by Website as violating content policies."
        )

        await pilot.press("r")
        await settle(pilot, app, 2, kie)

        assert "failed" in cell(app, "g1", "state")
        assert any("flagged by Website" in n for n in notifications(app))
        assert bells == [None]


async def test_many_tasks_finishing_at_once_get_one_notification_and_one_bell(
    make_app: AppFactory, kie: FakeKie, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [f"g{n}" for n in range(8)]
    for task_id in ids:
        kie.bodies[task_id] = generating_body(task_id)
    app = make_app()
    bells: list[None] = []
    monkeypatch.setattr(app, "bell", lambda: bells.append(None))

    async with app.run_test() as pilot:
        app.add_ids_text(" ".join(ids))
        await settle(pilot, app, 8, kie)
        for task_id in ids:
            kie.bodies[task_id] = success_body(task_id)
        kie.bodies["g7"] = failed_body("g7", "boom")

        await pilot.press("R")
        await settle(pilot, app, 16, kie)

        finished = [n for n in notifications(app) if "finished" in n]
        assert finished == ["8 tasks finished: 7 succeeded, 1 failed or expired."]
        assert bells == [None]


async def test_bell_and_notification_can_be_turned_off(
    make_app: AppFactory, kie: FakeKie, monkeypatch: pytest.MonkeyPatch
) -> None:
    kie.bodies["g1"] = generating_body("g1")
    app = make_app(notify=False, bell=False)
    bells: list[None] = []
    monkeypatch.setattr(app, "bell", lambda: bells.append(None))

    async with app.run_test() as pilot:
        app.add_ids_text("g1")
        await settle(pilot, app, 1, kie)
        kie.bodies["g1"] = success_body("g1")
        await pilot.press("r")
        await settle(pilot, app, 2, kie)

        assert "success" in cell(app, "g1", "state")
        assert not any("finished" in n for n in notifications(app))
        assert bells == []


# Filtering and sorting


async def test_filter_by_prompt_state_or_id(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie
) -> None:
    failed = TaskRecord("f1", State.FAILED, success_flag=2, prompt="stormy sea")
    seed(store, entry("a1", done("a1")), entry("f1", failed))
    app = make_app()

    async with app.run_test() as pilot:
        await pilot.press("slash", *"failed")
        await pilot.pause()
        assert table_ids(app) == ["f1"]

        await pilot.press("escape")
        await pilot.pause()
        assert table_ids(app) == ["a1", "f1"]

        await pilot.press("slash", *"lighthouse", "enter")
        await pilot.pause()
        assert table_ids(app) == ["a1"]
        assert app.focused is app.query_one("#tasks")


async def test_sort_cycles_and_the_cursor_stays_on_its_task(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie
) -> None:
    failed = TaskRecord("f1", State.FAILED, success_flag=2)
    seed(store, entry("a1", done("a1")), entry("b2", done("b2")), entry("f1", failed))
    app = make_app()

    async with app.run_test() as pilot:
        await pilot.press("down")  # cursor on b2
        await pilot.press("s", "s")  # added -> created -> state
        await pilot.pause()

        assert app.sort_by == "state"
        assert table_ids(app)[0] == "f1"
        assert app.selected_id() == "b2"
        table = app.query_one("#tasks", DataTable)
        assert table_ids(app)[table.cursor_row] == "b2"


async def test_cursor_stays_on_its_task_when_a_refresh_reorders_rows(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie
) -> None:
    seed(store, entry("g1"), entry("g2"), entry("g3"))
    for task_id in ("g1", "g2", "g3"):
        kie.bodies[task_id] = generating_body(task_id)
    app = make_app()

    async with app.run_test() as pilot:
        await settle(pilot, app, 3, kie)
        await pilot.press("s", "s")  # sort by state
        await pilot.press("down", "down")  # cursor on g3
        kie.bodies["g3"] = failed_body("g3", "boom")

        await pilot.press("R")
        await settle(pilot, app, 6, kie)

        assert table_ids(app)[0] == "g3"  # failed sorts first
        assert app.selected_id() == "g3"
        table = app.query_one("#tasks", DataTable)
        assert table.cursor_row == 0


async def test_the_view_follows_the_cursors_task_when_it_moves_out_of_sight(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie
) -> None:
    ids = [f"g{n:02d}" for n in range(60)]
    seed(store, *(entry(task_id) for task_id in ids))
    for task_id in ids:
        kie.bodies[task_id] = generating_body(task_id)
    app = make_app()

    async with app.run_test(size=(100, 24)) as pilot:
        await settle(pilot, app, 60, kie)
        await pilot.press("s", "s")  # sort by state
        await pilot.press("end")  # the last task, not a sideways scroll
        await pilot.pause()
        table = app.table
        assert app.selected_id() == "g59"
        assert table.scroll_x == 0
        assert table.scroll_y > 0
        kie.bodies["g59"] = failed_body("g59", "boom")

        await pilot.press("r")
        await settle(pilot, app, 61, kie)

        assert table_ids(app)[0] == "g59"  # failed sorts first
        assert app.selected_id() == "g59"
        assert table.scroll_y == 0  # and the view went with it
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_row == 59
        await pilot.press("home")
        await pilot.pause()
        assert table.cursor_row == 0


# Help and the command palette


async def test_question_mark_opens_help_with_every_key(make_app: AppFactory) -> None:
    app = make_app()

    async with app.run_test() as pilot:
        await pilot.press("question_mark")
        await pilot.pause()

        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one(Static).render())
        for key, _ in VeoTuiApp.KEYS_HELP:
            assert key in text

        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_offers_every_action(make_app: AppFactory) -> None:
    app = make_app()

    async with app.run_test():
        titles = [command.title for command in app.get_system_commands(app.screen)]

    for title in (
        "Add tasks",
        "Remove tasks",
        "Undo removal",
        "Copy result URL",
        "Copy task id",
        "Open result URL",
        "Refresh task",
        "Refresh all",
        "Pause or resume",
        "Filter",
        "Change sort",
        "Help",
        "Theme",
    ):
        assert title in titles


# Trouble


async def test_without_a_key_the_dashboard_opens_and_says_how_to_set_it(
    make_app: AppFactory, kie: FakeKie
) -> None:
    app = make_app(key=None)

    async with app.run_test() as pilot:
        app.add_ids_text("t1")
        await pilot.pause()

        assert "KIE_API_KEY" in shown(app, "#banner")
        assert "no key" in shown(app, "#topbar")
        assert table_ids(app) == ["t1"]
        assert kie.calls == []


async def test_refused_key_shows_a_banner_and_stops_polling(
    make_app: AppFactory, kie: FakeKie, clock: FakeClock
) -> None:
    kie.bodies["t1"] = {"code": 401, "msg": "You do not have access permissions"}
    kie.bodies["t2"] = {"code": 401, "msg": "You do not have access permissions"}
    app = make_app()

    async with app.run_test() as pilot:
        app.add_ids_text("t1")
        await settle(pilot, app, 1, kie)
        app.add_ids_text("t2")
        clock.advance(600)
        app.engine.wake()
        await pilot.pause(0.05)

        assert "refused the API key" in shown(app, "#banner")
        assert "key refused" in shown(app, "#topbar")
        assert kie.calls == ["t1"]


def limited_app(store: WatchlistStore, clock: FakeClock) -> VeoTuiApp:
    """A dashboard limited to 2 requests at a time and 2 a second, against a
    kie.ai that never answers: whatever is due stays queued."""

    async def never_answers(task_id: str) -> TaskRecord:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    engine = Engine(
        None,
        PollSettings(concurrency=2, max_requests_per_second=2),
        fetch=never_answers,
        clock=clock.monotonic,
        wall_clock=clock.wall,
    )
    return VeoTuiApp(store, engine, clock=clock.wall)


async def test_checks_queued_behind_the_rate_limit_say_so_and_for_how_long(
    store: WatchlistStore, clock: FakeClock
) -> None:
    app = limited_app(store, clock)

    async with app.run_test() as pilot:
        app.add_ids_text(" ".join(f"q{number:02}" for number in range(40)))
        await pilot.pause(0.1)
        await pilot.press("end")
        app.tick()
        await pilot.pause()

        banner = shown(app, "#banner")
        assert "38 task(s) queued for a first check" in banner
        assert "at most 2 a second" in banner
        assert "poll.max_requests_per_second" in banner
        assert "about 19s to go" in banner
        status = shown(app, "#status-panel")
        assert "q39" in status
        assert "queued behind 37 others" in status


async def test_more_unfinished_tasks_than_the_limits_keep_up_with_say_how_often(
    store: WatchlistStore, clock: FakeClock
) -> None:
    """Every task answered before, too many to re-check within the 60 s cap at
    2 a second: the banner gives the real interval, not an endless queue."""
    seed(
        store,
        *(
            entry(f"g{n:03}", TaskRecord(f"g{n:03}", State.GENERATING))
            for n in range(300)
        ),
    )

    app = limited_app(store, clock)

    async with app.run_test() as pilot:
        await pilot.pause(0.1)
        app.tick()
        await pilot.pause()

        banner = shown(app, "#banner")
        assert "too many tasks for at most 2 a second" in banner
        assert "(poll.max_requests_per_second)" in banner
        assert "each is checked only about every 2m 30s" in banner


async def test_a_refused_key_from_the_environment_says_to_restart(
    make_app: AppFactory, kie: FakeKie, tmp_path: Path
) -> None:
    from veo_tui.cli.dashboard import _key_refused_message
    from veo_tui.store.config import load_config

    config = load_config(environ={"KIE_API_KEY": FAKE_KEY})
    kie.bodies["t1"] = {"code": 401, "msg": "You do not have access permissions"}
    app = make_app(key_refused_message=_key_refused_message(config))

    async with app.run_test() as pilot:
        app.add_ids_text("t1")
        await settle(pilot, app, 1, kie)
        app.update_topbar()

        banner = shown(app, "#banner")
        assert "refused the API key in KIE_API_KEY" in banner
        assert "start again" in banner
        assert "api.key" not in banner


def test_a_refused_key_from_the_config_file_names_the_file(tmp_path: Path) -> None:
    from veo_tui.cli.dashboard import _key_refused_message
    from veo_tui.store.config import load_config

    path = tmp_path / "config.toml"
    path.write_text(f'[api]\nkey = "{FAKE_KEY}"\n', encoding="utf-8")
    config = load_config(str(path), environ={})

    message = _key_refused_message(config)

    assert f"refused the api.key in {path}" in message
    assert "picked up within seconds" in message
    assert "KIE_API_KEY" not in message


async def test_network_down_keeps_last_state_marked_stale_then_recovers(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie
) -> None:
    seed(store, entry("g1", TaskRecord("g1", State.GENERATING, success_flag=0)))
    kie.bodies["g1"] = httpx.Response(502, text="<html><h1>502 Bad Gateway</h1></html>")
    app = make_app()

    async with app.run_test() as pilot:
        await settle(pilot, app, 1, kie)
        assert "generating !" in cell(app, "g1", "state")
        assert "server error" in cell(app, "g1", "checked")
        # On screen too: the State column once cut the mark off a generating row.
        drawn = [app.table.render_line(y).text for y in range(app.table.size.height)]
        assert any("generating !" in line for line in drawn)

        kie.bodies["g1"] = success_body("g1")
        await pilot.press("r")
        await settle(pilot, app, 2, kie)

        assert "success" in cell(app, "g1", "state")
        assert "!" not in cell(app, "g1", "state")
        assert "● ok" in shown(app, "#topbar")


async def test_hostile_text_is_shown_inert_in_table_and_panels(
    make_app: AppFactory, kie: FakeKie
) -> None:
    hostile = "[bold red]boom[/] \x1b]52;c;aGk=\x07 \u202eevil"
    kie.bodies["h1"] = failed_body("h1", hostile)
    app = make_app()

    async with app.run_test(size=(120, 40)) as pilot:
        app.add_ids_text("h1")
        await settle(pilot, app, 1, kie)

        error = shown(app, "#error-panel")
        assert "[bold red]boom[/]" in error
        assert "\\x1b]52;c;aGk=\\x07" in error
        assert "\x1b" not in error
        assert "\u202e" not in error


async def test_every_change_is_saved_to_the_watchlist(
    make_app: AppFactory, kie: FakeKie, store: WatchlistStore
) -> None:
    kie.bodies["s1"] = success_body("s1")
    app = make_app()

    async with app.run_test() as pilot:
        app.add_ids_text("s1")
        await settle(pilot, app, 1, kie)
        await app.wait_saved()

    saved = store.load()
    assert saved[0].record is not None
    assert saved[0].record.state is State.SUCCESS
    assert saved[0].record.result_urls == ("https://cdn.example.com/s1.mp4",)


async def test_theme_choice_is_remembered(
    make_app: AppFactory, tmp_path: Path, store: WatchlistStore, clock: FakeClock
) -> None:
    app = make_app(prefs=Prefs(tmp_path / "prefs.toml"))

    async with app.run_test() as pilot:
        app.theme = "nord"
        await pilot.pause()

    again = build_app(store, clock, prefs=Prefs.load(tmp_path / "prefs.toml"))
    async with again.run_test():
        assert again.theme == "nord"


async def test_quitting_saves_what_came_in_since_the_last_save(
    make_app: AppFactory, kie: FakeKie, store: WatchlistStore
) -> None:
    kie.bodies["s1"] = success_body("s1")
    app = make_app()

    async with app.run_test() as pilot:
        app.add_ids_text("s1")
        await settle(pilot, app, 1, kie)
        await pilot.press("q")

    record = store.load()[0].record
    assert record is not None
    assert record.state is State.SUCCESS


async def test_a_key_fixed_in_the_config_is_picked_up_without_a_restart(
    store: WatchlistStore, kie: FakeKie, clock: FakeClock
) -> None:
    good = "sk-test-1111fake2222key3333good"
    current = {"key": FAKE_KEY}
    kie.bodies["t1"] = success_body("t1")
    kie.refused_keys.add(FAKE_KEY)
    engine = Engine(
        ApiOptions(base_url=BASE, key=FAKE_KEY, max_retries=0),
        PollSettings(max_requests_per_second=0),
        key_source=lambda: ApiOptions(base_url=BASE, key=current["key"], max_retries=0),
        clock=clock.monotonic,
        wall_clock=clock.wall,
    )
    app = VeoTuiApp(store, engine, clock=clock.wall)

    async with app.run_test() as pilot:
        app.add_ids_text("t1")
        await settle(pilot, app, 1, kie)
        assert "refused the API key" in shown(app, "#banner")

        current["key"] = good
        for _ in range(KEY_CHECK_TICKS):
            app.tick()
        await settle(pilot, app, 2, kie)

        assert "success" in cell(app, "t1", "state")
        assert not app.query_one("#banner").display


async def test_ids_added_and_removed_by_another_process_appear(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie, tmp_path: Path
) -> None:
    seed(store, entry("a1", done("a1")))
    other = WatchlistStore(store.path)  # as `veo-tui add` / `rm` would
    app = make_app()

    async with app.run_test() as pilot:
        await pilot.pause()
        other.add(["cli1"], NOW)
        other.remove(["a1"])
        for _ in range(DISK_CHECK_TICKS):
            app.tick()
        await pilot.pause()

        assert table_ids(app) == ["cli1"]
        assert "cli1" in shown(app, "#status-panel")  # the panels follow


async def test_ids_added_by_another_process_appear_while_checks_are_saved(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie
) -> None:
    """Our own save reads the other process's change in passing; it must
    still reach the screen (it did not, while a dashboard was busy)."""
    kie.bodies["gen1"] = generating_body("gen1")
    seed(store, entry("gen1"))
    other = WatchlistStore(store.path)
    app = make_app()

    async with app.run_test() as pilot:
        await settle(pilot, app, 1, kie)
        await app.wait_saved()
        other.add(["cli1"], NOW)
        app.action_refresh()  # gen1 is checked again and saved
        await settle(pilot, app, 2, kie)
        await app.wait_saved()  # that save read cli1 in passing, and kept it
        assert "cli1" in store.path.read_text("utf-8")
        for _ in range(DISK_CHECK_TICKS):
            app.tick()
        await pilot.pause()

        assert table_ids(app) == ["gen1", "cli1"]


async def test_an_unknown_remembered_theme_is_ignored(
    make_app: AppFactory, tmp_path: Path
) -> None:
    prefs = Prefs(tmp_path / "prefs.toml", theme="no-such-theme")
    app = make_app(prefs=prefs)

    async with app.run_test():
        assert app.theme == "textual-dark"


async def test_a_batch_arriving_right_after_a_key_press_keeps_the_new_cursor(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie
) -> None:
    seed(store, *(entry(t, done(t)) for t in ("a1", "b2", "c3")))
    app = make_app()

    async with app.run_test() as pilot:
        await pilot.pause()
        app.table.move_cursor(row=2)  # the key press; its message is not handled yet
        app.apply_entries([app.entries["a1"]])  # a batch lands in between
        await pilot.pause()

        assert app.selected_id() == "c3"
        assert app.table.cursor_row == 2


async def test_marks_land_on_each_row_when_space_is_held_down(
    make_app: AppFactory, store: WatchlistStore, kie: FakeKie
) -> None:
    seed(store, *(entry(t, done(t)) for t in ("a1", "b2", "c3", "d4")))
    app = make_app()

    async with app.run_test() as pilot:
        await pilot.pause()
        for _ in range(3):  # faster than the highlight messages are handled
            app.action_mark()

        assert app.marks == {"a1", "b2", "c3"}
