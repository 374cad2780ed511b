"""The API key never shows: not in output, logs, screenshots or tracebacks.

Every test runs something that could leak the key with a recognisable fake
one and greps what came out for it. Its last four characters may show (that
is how the user tells keys apart); its distinctive middle never.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

from tests.ui.conftest import (
    CREDIT,
    RECORD_INFO,
    FakeClock,
    FakeKie,
    build_app,
    settle,
)
from veo_tui.api import ApiOptions, KieClient
from veo_tui.cli import main
from veo_tui.cli.logs import setup_logging
from veo_tui.store.config import load_config, log_path
from veo_tui.store.watchlist import WatchlistStore

KEY = "sk-test-SECRET-0000-1111-2222"
SECRET_PART = "SECRET"


def assert_no_key(*outputs: str) -> None:
    for output in outputs:
        assert KEY not in output
        assert SECRET_PART not in output


@pytest.fixture
def refusing_kie(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKie]:
    """kie.ai refusing :data:`KEY`, which is set in the environment."""
    monkeypatch.setenv("KIE_API_KEY", KEY)
    fake = FakeKie()
    fake.refused_keys.add(KEY)
    with respx.mock(assert_all_called=False) as router:
        router.get(RECORD_INFO).mock(side_effect=fake.answer)
        router.get(CREDIT).mock(side_effect=fake.credit)
        yield fake


def no_retries(tmp_path: Path, extra: str = "") -> str:
    config = tmp_path / "config.toml"
    config.write_text(f"[api]\nmax_retries = 0\n{extra}")
    config.chmod(0o600)
    return str(config)


# Headless commands


def test_status_with_a_refused_key_never_shows_it(
    refusing_kie: FakeKie, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status = main(["--config", no_retries(tmp_path), "status", "t1"])

    out, err = capsys.readouterr()
    assert status == 4
    assert_no_key(out, err)
    assert "…2222" in err


def test_status_with_a_network_error_never_shows_the_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("KIE_API_KEY", KEY)

    status = main(
        [
            "--config",
            no_retries(tmp_path),
            "status",
            "--base-url",
            "http://127.0.0.1:9",
            "t1",
        ]
    )

    out, err = capsys.readouterr()
    assert status == 4
    assert_no_key(out, err)


def test_a_config_error_on_the_key_line_never_shows_the_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[api]\nkey = "{KEY}\nmax_retries = "x"\n')
    config.chmod(0o600)

    status = main(["--config", str(config), "status", "t1"])

    out, err = capsys.readouterr()
    assert status == 2
    assert_no_key(out, err)


def test_a_config_with_a_bad_value_beside_the_key_never_shows_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[api]\nkey = "{KEY}"\nmax_retries = "x"\n')
    config.chmod(0o600)

    status = main(["--config", str(config), "status", "t1"])

    out, err = capsys.readouterr()
    assert status == 2
    assert "api.max_retries" in err
    assert_no_key(out, err)


def test_watch_with_a_refused_key_never_shows_it(
    refusing_kie: FakeKie, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status = main(["--config", no_retries(tmp_path), "watch", "t1"])

    out, err = capsys.readouterr()
    assert status == 4
    assert_no_key(out, err)


def test_the_log_file_never_holds_the_key(
    refusing_kie: FakeKie, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    main(["--config", no_retries(tmp_path), "status", "--log", "t1", "t2"])
    capsys.readouterr()

    log = log_path().read_text(encoding="utf-8")
    assert log_path().is_relative_to(tmp_path)
    assert_no_key(log)


def test_a_key_that_cannot_be_sent_is_refused_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # An en dash pasted from a web page: not a character a header can carry.
    monkeypatch.setenv("KIE_API_KEY", KEY.replace("-1111", "\u20131111"))

    status = main(["--config", no_retries(tmp_path), "status", "t1"])

    out, err = capsys.readouterr()
    assert status == 2
    assert "API key" in err
    assert "Traceback" not in err
    assert_no_key(out, err)


def test_plain_http_to_another_host_exits_2_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KIE_API_KEY", KEY)

    status = main(["status", "--base-url", "http://192.0.2.1", "t1"])

    out, err = capsys.readouterr()
    assert status == 2
    assert "refusing to send the API key" in err
    assert "https" in err
    assert_no_key(out, err)


def test_a_group_readable_config_holding_the_key_warns(
    refusing_kie: FakeKie,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.delenv("KIE_API_KEY")
    config = tmp_path / "config.toml"
    config.write_text(f'[api]\nkey = "{KEY}"\nmax_retries = 0\n')
    config.chmod(0o640)

    main(["--config", str(config), "status", "t1"])

    out, err = capsys.readouterr()
    assert "readable by others" in err
    assert "chmod 600" in err
    assert_no_key(out, err)


# The client


def test_a_failing_client_call_leaves_no_key_in_its_traceback() -> None:
    def explode(request: httpx.Request) -> httpx.Response:
        raise RuntimeError(f"transport broke on {request.url}")

    async def call() -> None:
        options = ApiOptions(base_url="https://api.kie.ai", key=KEY, max_retries=0)
        async with KieClient(options) as client:
            await client.record_info("t1")

    with respx.mock:
        respx.get(RECORD_INFO).mock(side_effect=explode)
        with pytest.raises(RuntimeError) as caught:
            asyncio.run(call())

    shown = "".join(traceback.format_exception(caught.value))
    assert_no_key(shown, repr(caught.value), str(caught.value))


def test_api_options_never_print_the_key() -> None:
    options = ApiOptions(base_url="https://api.kie.ai", key=KEY)

    assert_no_key(repr(options), str(options))
    assert "…2222" in repr(options)


# The dashboard


async def test_the_dashboard_never_shows_a_refused_key(
    refusing_kie: FakeKie, tmp_path: Path
) -> None:
    app = build_app(WatchlistStore(tmp_path / "watchlist.toml"), FakeClock(), key=KEY)

    async with app.run_test(size=(160, 40)) as pilot:
        app.add_ids_text("t1")
        await settle(pilot, app, 1, refusing_kie)
        await pilot.press("question_mark")
        await pilot.pause()
        help_screenshot = app.export_screenshot()
        await pilot.press("escape")
        await pilot.pause()

        screenshot = app.export_screenshot()
        notes = [str(n.message) for n in app._notifications]

    assert "refused" in screenshot
    assert_no_key(screenshot, help_screenshot, *notes)


def test_a_logged_traceback_never_holds_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIE_API_KEY", KEY)
    config = load_config(environ={"KIE_API_KEY": KEY, "VEO_TUI_LOG": "1"})
    root = logging.getLogger()
    handlers = list(root.handlers)
    setup_logging(config)
    try:
        try:
            raise RuntimeError(f"something echoed {KEY}")
        except RuntimeError:
            logging.getLogger("veo_tui.test").exception("a failure")
    finally:
        for handler in root.handlers[len(handlers) :]:
            handler.close()
            root.removeHandler(handler)

    text = log_path().read_text(encoding="utf-8")
    assert "something echoed [key]" in text
    assert_no_key(text)
