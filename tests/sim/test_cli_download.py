"""``veo-tui download`` and ``veo-tui credits`` against the stand-in, end to end."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import platformdirs
import pytest

from tests.sim.conftest import SIM_KEY
from veo_tui.api import Downloader, DownloadProgress
from veo_tui.cli import main
from veo_tui.cli.download import _Printer
from veo_tui.sim import FaultKind, RunningSim
from veo_tui.sim.app import SAMPLE_VIDEO
from veo_tui.store.config import load_config

DONE = "success-current-naive"

Cli = Callable[..., tuple[int, str, str]]
"""Runs ``veo-tui COMMAND --base-url SIM ARGS...``: status, stdout, stderr."""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "videos"


@pytest.fixture
def cli(
    sim: RunningSim,
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> Cli:
    """Run ``veo-tui`` on the stand-in; returns (status, stdout, stderr)."""
    config = tmp_path / "config.toml"
    config.write_text(f'[api]\nmax_retries = 0\n\n[downloads]\ndir = "{folder}"\n')
    monkeypatch.setenv("VEO_TUI_CONFIG", str(config))
    monkeypatch.setenv("KIE_API_KEY", SIM_KEY)

    def run(*argv: str) -> tuple[int, str, str]:
        command, *rest = argv
        status = main([command, "--base-url", sim.base_url, *rest])
        out, err = capsys.readouterr()
        return status, out, err

    return run


def test_a_finished_task_is_saved_and_exits_zero(cli: Cli, folder: Path) -> None:
    status, out, err = cli("download", DONE)

    assert status == 0
    assert (folder / f"{DONE}.mp4").read_bytes() == SAMPLE_VIDEO
    assert f"saved  {folder / DONE}.mp4" in out
    assert err == ""


def test_a_second_run_says_already_downloaded(cli: Cli, folder: Path) -> None:
    cli("download", DONE)

    status, out, _ = cli("download", DONE)

    assert status == 0
    assert "already downloaded" in out


def test_dir_overrides_the_config(cli: Cli, tmp_path: Path) -> None:
    status, _, _ = cli("download", "--dir", str(tmp_path / "elsewhere"), DONE)

    assert status == 0
    assert (tmp_path / "elsewhere" / f"{DONE}.mp4").exists()


def test_dir_that_is_a_file_is_refused_before_any_request(
    cli: Cli, tmp_path: Path
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")

    status, _, err = cli("download", "--dir", str(afile), DONE)

    assert status == 2
    assert "is not a folder" in err


def test_a_task_without_results_exits_one(cli: Cli) -> None:
    status, out, _ = cli("download", DONE, "generating")

    assert status == 1
    assert out.splitlines()[1].split() == [
        "generating",
        "no",
        "results:",
        "the",
        "task",
        "is",
        "generating",
    ]


def test_a_failed_task_names_its_reason(cli: Cli) -> None:
    _, out, _ = cli("download", "failed-content-policy")

    assert "no results: the task is failed (" in out


def test_a_failed_download_exits_four(cli: Cli, sim: RunningSim) -> None:
    sim.force_file_fault(FaultKind.CDN_REFUSAL)

    status, out, _ = cli("download", DONE, "generating")

    assert status == 4
    assert "failed (http): HTTP 403" in out


def test_a_fetch_error_exits_four(cli: Cli, sim: RunningSim) -> None:
    sim.force_fault(FaultKind.BAD_GATEWAY)

    status, out, _ = cli("download", DONE)

    assert status == 4
    assert "fetch error (server)" in out


def test_json_has_one_object_per_video_or_task(cli: Cli, folder: Path) -> None:
    status, out, _ = cli("download", "--json", DONE, "generating")

    saved, missing = (json.loads(line) for line in out.splitlines())
    assert status == 1
    assert saved["status"] == "saved"
    assert saved["path"] == str(folder / f"{DONE}.mp4")
    assert saved["size"] == len(SAMPLE_VIDEO)
    assert missing["status"] == "no_results"
    assert set(saved) == set(missing)


def test_bad_ids_are_a_usage_error_before_any_request(
    cli: Cli, sim: RunningSim
) -> None:
    status, _, err = cli("download", "ok", "bad\x07id")

    assert status == 2
    assert "refusing bad task ids" in err
    assert sum(sim.state.requests.values()) == 0


def test_an_interrupt_exits_130_and_leaves_no_video(
    cli: Cli, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Downloader, "download", interrupted)

    status, _, err = cli("download", DONE)

    assert status == 130
    assert "interrupted" in err
    assert not (folder / f"{DONE}.mp4").exists()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_progress_redraws_one_line() -> None:
    err = _Terminal()
    printer = _Printer(io.StringIO(), err, json=False)

    printer.progress(DownloadProgress("t1", 1, 500_000, 1_000_000, 250_000.0, 2.0), 2)
    printer.progress(DownloadProgress("t1", 1, 1_000_000, 1_000_000, 250_000.0, 0), 2)
    printer.end_bar()

    drawn = err.getvalue()
    assert "\n" not in drawn
    assert drawn.count("\r") == 3
    assert "t1 1/2  [##########----------]  50%  500.0 KB of 1.0 MB" in drawn
    assert "250.0 KB/s  2s left" in drawn


def test_off_a_terminal_there_is_no_progress_bar() -> None:
    err = io.StringIO()
    printer = _Printer(io.StringIO(), err, json=False)

    printer.progress(DownloadProgress("t1", 1, 5, 10, None, None), 1)

    assert err.getvalue() == ""


def test_credits_prints_the_balance_as_given(cli: Cli, sim: RunningSim) -> None:
    sim.state.credits = 35.95

    status, out, _ = cli("credits")

    assert (status, out) == (0, "35.95\n")


def test_credits_json(cli: Cli) -> None:
    status, out, _ = cli("credits", "--json")

    assert status == 0
    assert json.loads(out) == {"credits": 500}


def test_credits_with_a_refused_key_exit_four(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIE_API_KEY", "sk-wrong-0000000000000")

    status, out, err = cli("credits")

    assert status == 4
    assert out == ""
    assert "could not fetch the balance (auth)" in err


def test_the_download_folder_defaults_to_the_users(tmp_path: Path) -> None:
    config = load_config(None, environ={})

    assert config.download_dir == Path(platformdirs.user_downloads_dir())
    assert config.downloads_auto is False


def test_the_download_folder_from_the_config_expands_home(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[downloads]\ndir = "~/Videos/veo"\nauto = true\n')

    config = load_config(str(path), environ={})

    assert config.download_dir == Path.home() / "Videos" / "veo"
    assert config.downloads_auto is True
