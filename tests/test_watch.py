"""``veo-tui watch`` against the stand-in: JSON lines, the end, the exit codes."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FAKE_KEY
from veo_tui.api import ApiOptions
from veo_tui.cli import main
from veo_tui.cli.output import JSON_KEYS
from veo_tui.cli.watch import Watch
from veo_tui.domain import State
from veo_tui.polling.scheduler import PollSettings
from veo_tui.sim import RunningSim, parse_scenario, running_sim_in_thread
from veo_tui.store.watchlist import WatchlistStore, default_watchlist_path

SIM_KEY = "sk-sim-test-0000watch0000"

# Tasks that settle within a second or two of simulated time at this speed.
SCENARIO = """
[sim]
name = "watch"
seed = 7

[[task]]
id = "done-ok"
prompt = "finished already"
age = "10m"
duration = "60s"

[[task]]
id = "soon-ok"
prompt = "finishes soon"
age = "0s"
duration = "2s"

[[task]]
id = "soon-bad"
prompt = "fails soon"
age = "0s"
duration = "2s"
outcome = "failure"
failure = "content_policy"

[[task]]
id = "slow"
prompt = "takes an hour"
age = "0s"
duration = "3600s"
"""

FAST = PollSettings(
    interval=0.1,
    max_interval=0.2,
    grace=0.0,
    error_backoff_base=0.05,
    error_backoff_cap=0.1,
    max_requests_per_second=0,
)


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    scenario = parse_scenario(SCENARIO, source="watch test")
    with running_sim_in_thread(scenario=scenario, key=SIM_KEY, port=0) as running:
        yield running


def options(sim: RunningSim, key: str = SIM_KEY) -> ApiOptions:
    return ApiOptions(base_url=sim.base_url, key=key, max_retries=0, backoff_base=0.01)


def watch(
    sim: RunningSim,
    *ids: str,
    key: str = SIM_KEY,
    fail_fast: bool = False,
    give_up_after: float = 20.0,
) -> tuple[int, list[dict[str, Any]]]:
    out = io.StringIO()
    runner = Watch(list(ids), json=True, out=out, fail_fast=fail_fast)

    status = asyncio.run(
        runner.run(options(sim, key), FAST, give_up_after=give_up_after)
    )

    return status, [json.loads(line) for line in out.getvalue().splitlines()]


def test_all_succeeded_exits_0_with_a_line_per_change(sim: RunningSim) -> None:
    sim.reset(speed=5)

    status, lines = watch(sim, "done-ok", "soon-ok")

    assert status == 0
    assert all(tuple(line) == JSON_KEYS for line in lines)
    states = [(line["task_id"], line["state"]) for line in lines]
    assert ("done-ok", "success") in states
    assert ("soon-ok", "generating") in states
    assert states[-1] == ("soon-ok", "success")


def test_a_failure_exits_1_after_all_finish(sim: RunningSim) -> None:
    sim.reset(speed=5)

    status, lines = watch(sim, "soon-ok", "soon-bad")

    assert status == 1
    final = {line["task_id"]: line["state"] for line in lines}
    assert final == {"soon-ok": "success", "soon-bad": "failed"}


def test_fail_fast_stops_at_the_first_failure(sim: RunningSim) -> None:
    sim.reset(speed=5)

    status, lines = watch(sim, "soon-bad", "slow", fail_fast=True)

    assert status == 1
    assert {line["task_id"]: line["state"] for line in lines}["slow"] == "generating"


def test_timeout_exits_3(sim: RunningSim) -> None:
    sim.reset(speed=1)

    status, _ = watch(sim, "slow", give_up_after=0.5)

    assert status == 3


def test_unknown_id_past_the_grace_is_not_found_and_exits_1(sim: RunningSim) -> None:
    sim.reset(speed=1)

    status, lines = watch(sim, "no-such-task")

    assert status == 1
    assert lines[-1]["state"] == "not_found"


def test_refused_key_exits_4(sim: RunningSim) -> None:
    sim.reset(speed=1)

    status, lines = watch(sim, "done-ok", key="sk-test-wrong-key-0000")

    assert status == 4
    assert lines[0]["fetch_error"]["kind"] == "auth"


def test_unreachable_server_exits_4_after_repeated_failures() -> None:
    out = io.StringIO()
    runner = Watch(["t1"], json=True, out=out)
    dead = ApiOptions(base_url="http://127.0.0.1:9", key=FAKE_KEY, max_retries=0)

    status = asyncio.run(runner.run(dead, FAST, give_up_after=20))

    assert status == 4
    assert (
        json.loads(out.getvalue().splitlines()[0])["fetch_error"]["kind"] == "network"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["watch"], "give task ids to watch, or --watchlist"),
        (["watch", "--watchlist", "a1"], "not both"),
        (["watch", "--timeout", "-1", "a1"], "--timeout must be a positive"),
        (["watch", "bad\x07id"], "control character"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KIE_API_KEY", FAKE_KEY)

    status = main(argv)

    assert status == 2
    assert message in capsys.readouterr().err


def test_an_empty_watchlist_exits_0_and_says_it_is_empty_and_where(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIE_API_KEY", FAKE_KEY)

    status = main(["watch", "--watchlist"])

    err = capsys.readouterr().err
    assert status == 0
    assert "nothing to watch: the watchlist is empty" in err
    assert str(default_watchlist_path()) in err
    assert "has finished" not in err


def test_a_watchlist_with_every_task_finished_exits_0_and_says_so(
    sim: RunningSim,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim.reset(speed=5)
    monkeypatch.setenv("KIE_BASE_URL", sim.base_url)
    monkeypatch.setenv("KIE_API_KEY", SIM_KEY)
    main(["add", "done-ok"])
    main(["watch", "--watchlist", "--json", "--timeout", "20"])
    capsys.readouterr()

    status = main(["watch", "--watchlist"])

    err = capsys.readouterr().err
    assert status == 0
    assert "nothing to watch: every task in the watchlist has finished" in err


def test_record_is_null_within_the_grace_is_not_reported_as_not_found(
    sim: RunningSim, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.reset(speed=1)
    out = io.StringIO()
    runner = Watch(["no-such-task"], json=True, out=out)
    patient = replace(FAST, grace=60.0)

    status = asyncio.run(runner.run(options(sim), patient, give_up_after=0.5))

    assert status == 3
    assert out.getvalue() == ""
    assert "timed out with 1 of 1 task(s) unfinished" in capsys.readouterr().err


def use_the_stand_in(
    sim: RunningSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, poll: str = ""
) -> None:
    """Commands run here talk to ``sim`` and check every second."""
    config = tmp_path / "config.toml"
    config.write_text(f"[poll]\ninterval = 1\nmax_interval = 1\n{poll}")
    monkeypatch.setenv("VEO_TUI_CONFIG", str(config))
    monkeypatch.setenv("KIE_BASE_URL", sim.base_url)
    monkeypatch.setenv("KIE_API_KEY", SIM_KEY)


def test_watching_the_watchlist_writes_what_it_saw_back_to_it(
    sim: RunningSim,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim.reset(speed=5)
    use_the_stand_in(sim, tmp_path, monkeypatch, "grace = 0\n")
    main(["add", "done-ok", "soon-ok"])
    capsys.readouterr()

    status = main(["watch", "--watchlist", "--json", "--timeout", "20"])

    assert status == 0
    saved = {e.task_id: e for e in WatchlistStore(default_watchlist_path()).load()}
    assert {task_id: e.record and e.record.state for task_id, e in saved.items()} == {
        "done-ok": State.SUCCESS,
        "soon-ok": State.SUCCESS,
    }
    assert all(e.checked_at is not None for e in saved.values())
    main(["ls"])
    assert "success" in capsys.readouterr().out


def test_watching_the_watchlist_saves_record_is_null_so_ls_shows_pending(
    sim: RunningSim,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim.reset(speed=1)
    use_the_stand_in(sim, tmp_path, monkeypatch)  # the grace stays 120 s
    main(["add", "no-such-task"])

    status = main(["watch", "--watchlist", "--json", "--timeout", "2"])
    capsys.readouterr()
    main(["ls"])

    assert status == 3
    assert capsys.readouterr().out.split()[:2] == ["no-such-task", "pending"]


class _GoneReader(io.StringIO):
    """An output whose reader has gone away, as after ``| head -1``."""

    attempts = 0

    def write(self, text: str) -> int:
        self.attempts += 1
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize(
    ("json_lines", "live"),
    [(True, False), (False, False), (False, True)],
    ids=["json", "text", "terminal"],
)
def test_a_reader_gone_away_stops_the_watch_at_its_first_write(
    sim: RunningSim,
    json_lines: bool,
    live: bool,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim.reset(speed=1)
    out = _GoneReader()
    runner = Watch(["done-ok", "slow"], json=json_lines, live=live, out=out)

    with pytest.raises(BrokenPipeError):
        asyncio.run(runner.run(options(sim), FAST, give_up_after=20))

    assert out.attempts == 1
    assert capsys.readouterr().err == ""


def test_watch_into_a_closed_pipe_exits_141_without_a_traceback(
    sim: RunningSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim.reset(speed=1)
    monkeypatch.setenv("KIE_BASE_URL", sim.base_url)
    monkeypatch.setenv("KIE_API_KEY", SIM_KEY)
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `veo-tui watch ID | true`

    try:
        done = subprocess.run(
            [sys.executable, "-m", "veo_tui", "watch", "--timeout", "30", "slow"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)

    assert done.returncode == 141  # as a shell reports a reader gone (SIGPIPE)
    assert done.stderr == b""


def test_a_closed_standard_output_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIE_API_KEY", FAKE_KEY)
    monkeypatch.setattr(sys, "stdout", None)  # what Python makes of `>&-`

    status = main(["watch", "a1"])

    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("veo-tui: standard output is closed")
    assert err.count("\n") == 1


def test_watch_with_standard_output_closed_exits_2_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KIE_API_KEY", FAKE_KEY)

    done = subprocess.run(
        ["sh", "-c", 'exec "$0" -m veo_tui watch a1 >&-', sys.executable],
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    assert done.stderr.startswith("veo-tui: standard output is closed")
    assert "Traceback" not in done.stderr
