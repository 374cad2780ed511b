"""``veo-tui sim``: its options, its one-line errors, its banner, a real run."""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from veo_tui.cli import main
from veo_tui.cli.sim import print_banner
from veo_tui.sim import DEFAULT_KEY, RunningSim, SimOptions
from veo_tui.sim.server import build_state


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(["sim", *args])
    return status, capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "0.0.0.0"], "not a loopback address"),
        (["--host", "nonsense.invalid"], "not a loopback address"),
        (["--speed", "0"], "--speed must be above 0"),
        (["--port", "70000"], "--port must be from 0 to 65535"),
        (["--latency", "-5"], "--latency must be from 0"),
        (["--fault", "flood=0.1"], "unknown fault kind"),
        (["--fault", "hang=0.7", "--fault", "bad_gateway=0.7"], "add up to more"),
        (
            ["--fault", "rate_limit=0.1", "--fault", "rate_limit=0.2"],
            "--fault rate_limit is given twice",
        ),
        (["--scenario", "nope"], "no scenario named 'nope'"),
        (["--scenario", "demo", "--count", "5"], "no task has 'repeat'"),
        (["--key", ""], "--key cannot be empty"),
    ],
)
def test_bad_options_are_one_line_and_exit_two(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = run_cli(args, capsys)

    assert status == 2
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_a_broken_scenario_file_is_one_line_naming_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "typo.toml"
    path.write_text("[faults]\nrate_limt = 0.1\n", "utf-8")

    status, err = run_cli(["--scenario", str(path)], capsys)

    assert status == 2
    assert err.startswith(f"veo-tui: {path}: faults.rate_limt: unknown key")
    assert err.count("\n") == 1


def test_print_ids_lists_every_task_the_stand_in_would_serve(
    capsys: pytest.CaptureFixture[str],
) -> None:
    served = build_state(SimOptions(scenario="load", count=40)).seeded_ids

    status = main(["sim", "--scenario", "load", "--count", "40", "--print-ids"])
    out = capsys.readouterr().out

    assert status == 0
    assert out.splitlines() == list(served)
    assert len(served) == 40


def test_print_ids_feeds_add(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    main(["sim", "--scenario", "demo", "--print-ids"])
    ids = capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO(ids))

    status = main(["add", "-"])

    assert status == 0
    assert f"added {len(ids.split())} task(s)" in capsys.readouterr().out


def test_the_banner_shows_the_url_the_key_and_ids_to_try(sim: RunningSim) -> None:
    out = io.StringIO()

    print_banner(sim, out)

    text = out.getvalue()
    assert f"base URL  {sim.base_url}" in text
    assert "success-current-naive  success" in text
    assert "invisible  invisible  (will end in success)" in text
    assert f"KIE_BASE_URL={sim.base_url} KIE_API_KEY={sim.key} veo-tui status" in text


def test_the_banner_marks_the_default_key_as_a_local_test_key(
    sim: RunningSim,
) -> None:
    sim.reset(key=DEFAULT_KEY)
    out = io.StringIO()

    print_banner(sim, out)

    assert f"{DEFAULT_KEY} (a local test key" in out.getvalue()


def test_veo_tui_sim_serves_until_interrupted() -> None:
    command = [sys.executable, "-m", "veo_tui", "sim", "--port", "0", "--quiet"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(4)]
        base_url = re.search(r"http://127\.0\.0\.1:\d+", "".join(banner))
        assert base_url is not None, banner
        response = httpx.get(
            f"{base_url.group()}/api/v1/chat/credit",
            headers={"Authorization": f"Bearer {DEFAULT_KEY}"},
            trust_env=False,
        )
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert response.json() == {"code": 200, "msg": "success", "data": 1840.5}
    assert process.returncode in (0, 130)


def test_a_taken_port_is_one_line_naming_the_address_and_what_to_do() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        done = subprocess.run(
            [sys.executable, "-m", "veo_tui", "sim", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"veo-tui: could not listen on 127.0.0.1:{port}: Address already in use "
        "(is another veo-tui sim running? --port 0 picks a free port)"
    ]
    assert done.stdout == ""
