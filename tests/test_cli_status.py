"""``veo-tui status``: the JSON contract, the text lines and the exit codes."""

from __future__ import annotations

import gc
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

from tests.conftest import FAKE_KEY, corpus
from veo_tui import __version__
from veo_tui.cli import main
from veo_tui.cli.output import JSON_KEYS

RECORD_INFO = "https://api.kie.ai/api/v1/veo/record-info"

BODIES = {
    "ok1": "success_documented.json",
    "gen1": "generating.json",
    "fail1": "failed_content_policy.json",
    "gone1": "expired.json",
    "nope1": "record_is_null.json",
    "old1": "success_old_data_string.json",
}


def serve(request: httpx.Request) -> httpx.Response:
    task_id = request.url.params["taskId"]
    if task_id == "boom1":
        return httpx.Response(502, content=corpus("gateway_502.html"))
    return httpx.Response(200, content=corpus(BODIES[task_id]))


@pytest.fixture
def kie(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[respx.Route]:
    # No retries, so failures are reported at once; the client tests cover them.
    config = tmp_path / "no-retries.toml"
    config.write_text("[api]\nmax_retries = 0\n")
    monkeypatch.setenv("VEO_TUI_CONFIG", str(config))
    monkeypatch.setenv("KIE_API_KEY", FAKE_KEY)
    with respx.mock(assert_all_called=False) as router:
        yield router.get(RECORD_INFO).mock(side_effect=serve)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def json_lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


def test_json_lines_have_exactly_the_contract_keys(
    kie: respx.Route, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "status", "--json", *BODIES)

    lines = json_lines(out)
    assert status == 0
    assert [line["task_id"] for line in lines] == list(BODIES)
    for line in lines:
        assert tuple(line) == JSON_KEYS


def test_json_success_line_values(
    kie: respx.Route, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(capsys, "status", "--json", "ok1")

    assert json_lines(out)[0] == {
        "task_id": "ok1",
        "state": "success",
        "success_flag": 1,
        "result_urls": ["http://example.com/video1.mp4"],
        "origin_urls": ["http://example.com/original_video1.mp4"],
        "full_result_urls": [],
        "resolution": "1080p",
        "error_code": None,
        "error_message": None,
        "created_at": "2025-06-06T10:25:00Z",
        "completed_at": "2025-06-06T10:30:00Z",
        "duration_s": 300.0,
        "prompt": "A futuristic city with flying cars at sunset.",
        "fetch_error": None,
    }


def test_json_states_of_each_kind(
    kie: respx.Route, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(capsys, "status", "--json", "gen1", "fail1", "gone1", "nope1")

    states = {line["task_id"]: line["state"] for line in json_lines(out)}
    assert states == {
        "gen1": "generating",
        "fail1": "failed",
        "gone1": "expired",
        "nope1": "not_found",
    }


def test_failed_task_carries_code_and_message(
    kie: respx.Route, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(capsys, "status", "--json", "fail1")

    line = json_lines(out)[0]
    assert line["error_code"] == 400
    assert (
        line["error_message"]
        == "Your prompt was flagged by Website as violating content policies."
    )
    assert line["success_flag"] == 2


def test_fetch_error_is_unknown_with_its_kind_and_exit_4(
    kie: respx.Route,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    status, out, err = run(capsys, "status", "--json", "ok1", "boom1")

    lines = json_lines(out)
    assert status == 4
    assert lines[1]["state"] == "unknown"
    assert lines[1]["fetch_error"]["kind"] == "server"  # type: ignore[index]
    assert lines[1]["fetch_error"]["code"] == 502  # type: ignore[index]
    assert "1 of 2 records could not be fetched" in err


def test_each_distinct_id_is_fetched_once_and_printed_at_each_place_given(
    kie: respx.Route, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(capsys, "status", "--json", "gen1", " ok1 ", "gen1", "fail1", "ok1")

    # One line per argument, so a script can pair them; one request per id.
    assert [line["task_id"] for line in json_lines(out)] == [
        "gen1",
        "ok1",
        "gen1",
        "fail1",
        "ok1",
    ]
    assert kie.call_count == 3


def test_an_argument_holding_several_ids_is_split_like_a_paste(
    kie: respx.Route, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(capsys, "status", "--json", "ok1,gen1", "fail1 gone1", '["nope1"]')

    assert [line["task_id"] for line in json_lines(out)] == [
        "ok1",
        "gen1",
        "fail1",
        "gone1",
        "nope1",
    ]


def test_text_lines_show_id_state_duration_and_detail(
    kie: respx.Route, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "status", "ok1", "fail1", "gen1", "nope1")

    lines = out.splitlines()
    assert status == 0
    assert lines[0].split() == [
        "ok1",
        "success",
        "5m",
        "0s",
        "http://example.com/video1.mp4",
    ]
    assert "failed" in lines[1]
    assert lines[1].endswith(
        "Your prompt was flagged by Website as violating content policies."
    )
    assert lines[2].split()[:2] == ["gen1", "generating"]
    assert lines[2].endswith("…")  # still counting: time generating so far
    assert lines[3].endswith("record is null.")


def test_text_lines_never_cut_long_ids(
    kie: respx.Route, capsys: pytest.CaptureFixture[str]
) -> None:
    long_id = "t" * 100
    BODIES[long_id] = "record_is_null.json"
    try:
        _, out, _ = run(capsys, "status", long_id)
    finally:
        del BODIES[long_id]

    assert out.split()[0] == long_id


def test_text_line_of_a_fetch_error_names_it(
    kie: respx.Route,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    status, out, _ = run(capsys, "status", "boom1")

    assert status == 4
    assert "fetch error (server): HTTP 502" in out


def test_refused_key_exits_4_and_shows_only_a_masked_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KIE_API_KEY", FAKE_KEY)
    with respx.mock:
        respx.get(RECORD_INFO).mock(
            return_value=httpx.Response(200, content=corpus("key_refused.json"))
        )
        status, out, err = run(capsys, "status", "t1")

    assert status == 4
    assert "the key was refused" in out
    assert FAKE_KEY not in out + err
    assert "…abcd" in err


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("", "holds no task id"),
        (",,,", "holds no task id"),
        ("[]", "holds no task id"),
        ("a\x1bb", "control character"),
        ("a\u200bb", "U+200B"),
        ("x" * 129, "129 characters"),
    ],
)
def test_bad_ids_are_refused_before_any_request(
    kie: respx.Route, capsys: pytest.CaptureFixture[str], bad: str, reason: str
) -> None:
    status, out, err = run(capsys, "status", "ok1", bad)

    assert status == 2
    assert reason in err
    assert "argument 2" in err
    assert out == ""
    assert kie.call_count == 0


def test_missing_key_exits_2_and_says_how_to_set_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, _, err = run(capsys, "status", "t1")

    assert status == 2
    assert "KIE_API_KEY" in err


def test_key_is_refused_over_plain_http_to_another_host(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KIE_API_KEY", FAKE_KEY)

    status, _, err = run(capsys, "status", "--base-url", "http://api.kie.ai", "t1")

    assert status == 2
    assert "refusing to send the API key" in err


def test_bad_config_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[api]\nmax_retries = 'x'\n")
    monkeypatch.setenv("KIE_API_KEY", FAKE_KEY)

    status, _, err = run(capsys, "--config", str(path), "status", "t1")

    assert status == 2
    assert err.strip().count("\n") == 0
    assert "api.max_retries" in err


def test_config_flag_after_the_subcommand_works_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, _, err = run(
        capsys, "status", "--config", str(tmp_path / "nope.toml"), "t1"
    )

    assert status == 2
    assert "nope.toml: no such file" in err


def test_key_readable_by_others_warns(
    kie: respx.Route,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.delenv("KIE_API_KEY")
    path = tmp_path / "config.toml"
    path.write_text(f'[api]\nkey = "{FAKE_KEY}"\n')
    path.chmod(0o644)

    status, out, err = run(capsys, "--config", str(path), "status", "ok1")

    assert status == 0
    assert "chmod 600" in err
    assert FAKE_KEY not in out + err


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["status"])

    assert caught.value.code == 2


def run_module(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "veo_tui", *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_python_m_prints_the_version() -> None:
    result = run_module("--version")

    assert result.returncode == 0
    assert result.stdout.strip() == f"veo-tui {__version__}"


def test_every_subcommand_has_help() -> None:
    from veo_tui.cli import subcommand_names

    assert {"status", "watch", "add", "rm", "ls", "sim"} <= set(subcommand_names())
    for command in subcommand_names():
        result = run_module(command, "--help")
        assert result.returncode == 0, command
        assert "usage: veo-tui" in result.stdout


def test_parsing_the_command_line_leaves_the_http_stack_and_the_stand_in_unloaded() -> (
    None
):
    # Every `veo-tui` start, the dashboard's included, builds every command's
    # parser: importing httpx, uvicorn and Starlette there cost ~100 ms.
    probe = (
        "import sys, veo_tui.cli; veo_tui.cli.build_parser().parse_args([]); "
        "print(sorted({'httpx', 'uvicorn', 'starlette'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_opening_the_dashboard_builds_no_command_parser() -> None:
    # `veo-tui` and `veo-tui --demo` name no command: building every command's
    # parser imported their modules (the stand-in's among them), ~15 ms before
    # the first frame.
    probe = (
        "import sys, veo_tui.cli, veo_tui.cli.dashboard as d\n"
        "d.run_dashboard = lambda args: print(args.demo, sorted(m for m in "
        "sys.modules if m.startswith(('veo_tui.sim', 'veo_tui.cli.status', "
        "'veo_tui.cli.watch')))) or 0\n"
        "sys.exit(veo_tui.cli.main(sys.argv[1:]))"
    )
    for argv, demo in (([], "False"), (["--demo"], "True")):
        result = subprocess.run(
            [sys.executable, "-c", probe, *argv],
            capture_output=True,
            text=True,
            timeout=60,
        )

        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"{demo} []"


def test_an_unknown_option_is_judged_by_the_whole_parser(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--bogus"])

    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --bogus" in err
    assert "COMMAND" in err  # the usage line lists the commands


def test_unreachable_server_exits_4_without_traceback(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[api]\nmax_retries = 0\nconnect_timeout = 1.0\n")
    env = {
        "KIE_API_KEY": FAKE_KEY,
        "KIE_BASE_URL": "http://127.0.0.1:9",
        "VEO_TUI_CONFIG": str(config),
        "PATH": "",
    }

    result = subprocess.run(
        [sys.executable, "-m", "veo_tui", "status", "t1"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )

    assert result.returncode == 4
    assert "fetch error (network)" in result.stdout
    assert "Traceback" not in result.stderr
    assert FAKE_KEY not in result.stdout + result.stderr


def test_dashboard_without_a_terminal_says_to_use_status() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "veo_tui"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )

    assert result.returncode == 2
    assert "needs a terminal" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_with_a_command_is_refused_not_run_on_the_real_watchlist(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # It used to be ignored: `veo-tui --demo ls` listed the user's own
    # watchlist, `--demo status` asked the real kie.ai.
    status = main(["--demo", "ls"])

    err = capsys.readouterr().err
    assert status == 2
    assert "--demo opens the dashboard" in err
    assert "veo-tui sim" in err


def run_in_shell(command: str, home: Path) -> subprocess.CompletedProcess[str]:
    """``veo-tui COMMAND`` through a shell (for its redirections), at ``home``."""
    return subprocess.run(
        ["sh", "-c", f'exec "$0" -m veo_tui {command}', sys.executable],
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "HOME": str(home), "KIE_API_KEY": FAKE_KEY},
    )


@pytest.mark.parametrize(
    "command", ["status a1", "ls --json", "sim --print-ids", "credits", "add a1"]
)
def test_every_command_with_standard_output_closed_says_so_and_exits_2(
    command: str, tmp_path: Path
) -> None:
    # It printed nothing and exited 0 (sim --print-ids: a traceback), so a
    # script took an empty answer for success.
    done = run_in_shell(f"{command} >&-", tmp_path)

    assert done.returncode == 2
    assert done.stderr.startswith("veo-tui: standard output is closed")
    assert "Traceback" not in done.stderr


def test_a_dash_reads_the_ids_from_standard_input(
    kie: respx.Route,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # It asked kie.ai for a task called "-".
    monkeypatch.setattr("sys.stdin", io.StringIO("ok1, gen1\nfail1\n"))

    status, out, _ = run(capsys, "status", "--json", "gone1", "-")

    assert status == 0
    assert [line["task_id"] for line in json_lines(out)] == [
        "gone1",
        "ok1",
        "gen1",
        "fail1",
    ]


def test_the_demo_says_where_its_downloads_go(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from veo_tui.cli.dashboard import _run_demo  # main() wants a terminal
    from veo_tui.ui import VeoTuiApp

    notes: list[str] = []

    def run(app: VeoTuiApp) -> int:
        notes.append(app.options.note or "")
        return 0

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(VeoTuiApp, "run", run)

    try:
        assert _run_demo() == 0
    finally:
        gc.enable()  # the demo's app pauses it until a first frame never drawn here
    assert "began with 13 tasks" in notes[0]
    assert "downloads go to a temporary folder, deleted on quit" in notes[0]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("command", ["ls", "sim --print-ids"])
def test_output_on_a_full_disk_is_one_line_and_status_74(
    command: str, tmp_path: Path
) -> None:
    done = run_in_shell(f"{command} >/dev/full", tmp_path)

    assert done.returncode == 74, done.stderr
    assert done.stderr == "veo-tui: cannot write the output: No space left on device\n"
