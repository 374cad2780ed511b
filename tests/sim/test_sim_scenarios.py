"""Scenario files: the shipped ones, and one-line errors for broken ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from veo_tui.sim import (
    BUILTIN_SCENARIOS,
    FaultKind,
    Outcome,
    ScenarioError,
    SimClock,
    SimState,
    TaskState,
    load_scenario,
    parse_fault_option,
    parse_scenario,
)
from veo_tui.sim.scenario import parse_duration

NOW = 1_780_000_000.0


def demo_state(speed: float = 1.0) -> SimState:
    return SimState(
        load_scenario("demo"), key="k", clock=SimClock(start=NOW), speed=speed
    )


@pytest.mark.parametrize("name", BUILTIN_SCENARIOS)
def test_every_builtin_scenario_loads(name: str) -> None:
    scenario = load_scenario(name)

    assert scenario.name == name
    assert scenario.description


def test_the_demo_holds_about_a_dozen_tasks_in_every_state() -> None:
    state = demo_state()

    states = {task.state(NOW) for task in state.tasks.values()}

    assert 10 <= len(state.seeded_ids) <= 15
    assert states == set(TaskState)


def test_every_demo_task_settles_within_about_a_minute() -> None:
    state = demo_state()

    later = {task.state(NOW + 90) for task in state.tasks.values()}

    assert later <= {TaskState.SUCCESS, TaskState.FAILED, TaskState.EXPIRED}


def test_speed_compresses_what_remains_of_the_schedule() -> None:
    state = demo_state(speed=10)

    later = {task.state(NOW + 9) for task in state.tasks.values()}

    assert TaskState.GENERATING not in later


def test_demo_failures_carry_kies_real_texts() -> None:
    state = demo_state()

    reasons = {
        task.failure.message
        for task in state.tasks.values()
        if task.outcome is Outcome.FAILURE and task.failure is not None
    }

    assert "Your prompt was flagged by Website as violating content policies." in (
        reasons
    )
    assert "public error unsafe image upload" in reasons
    assert "The Google model was unable to generate audio" in reasons


def test_the_faults_scenario_sets_every_fault_kind() -> None:
    scenario = load_scenario("faults")

    assert set(scenario.faults.rates) == set(FaultKind)
    assert scenario.faults.latency_ms > 0
    assert scenario.faults.jitter_ms > 0


def test_the_load_scenario_takes_its_count_from_the_caller() -> None:
    scenario = load_scenario("load").with_count(250)

    state = SimState(scenario, key="k", clock=SimClock(start=NOW))

    assert len(state.seeded_ids) == 250
    assert {task.state(NOW) for task in state.tasks.values()} == {TaskState.GENERATING}


def test_seeded_ids_repeat_from_run_to_run() -> None:
    assert demo_state().seeded_ids == demo_state().seeded_ids


def test_a_scenario_file_is_read_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('[[task]]\nprompt = "A cat."\n', "utf-8")

    scenario = load_scenario(str(path))

    assert scenario.name == "mine"
    assert scenario.tasks[0].prompt == "A cat."


def test_an_unknown_scenario_name_lists_the_builtin_ones() -> None:
    with pytest.raises(ScenarioError, match="demo, faults, load"):
        load_scenario("nope")


def test_a_missing_scenario_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"cannot read scenario .*gone\.toml"):
        load_scenario(str(tmp_path / "gone.toml"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sim\nname=1", r"^bad\.toml: not valid TOML: .*line 1"),
        ("[sim]\ncolour = 1", r"^bad\.toml: sim\.colour: unknown key; expected one of"),
        ("[faults]\nrate_limit = 2", r"^bad\.toml: faults\.rate_limit: expected a "),
        ('[faults]\nhang_for = "soon"', r"^bad\.toml: faults\.hang_for: expected a "),
        (
            "[faults]\nhang = 0.6\nserver_error = 0.6",
            r"^bad\.toml: faults: the fault rates add up to more than 1$",
        ),
        ("[sim]\nseed = 1.5", r"^bad\.toml: sim\.seed: expected an integer, got 1\.5"),
        ("[[task]]\nmodel = 'veo3'", r"^bad\.toml: task\[1\]\.prompt: missing"),
        (
            "[[task]]\nprompt = 'x'\nfailure = 'bad luck'",
            r"^bad\.toml: task\[1\]\.failure: expected one of content_policy",
        ),
        (
            "[[task]]\nprompt = 'x'\naspect_ratio = '4:3'",
            r"^bad\.toml: task\[1\]\.aspect_ratio: expected one of 16:9, 9:16, Auto",
        ),
        (
            "[[task]]\nprompt = 'x'\nextends = 'nobody'",
            r"^bad\.toml: task\[1\]\.extends: expected the id of an earlier task",
        ),
        (
            "[[task]]\nprompt = 'x'\nflag = 1",
            r"^bad\.toml: task\[1\]\.flag: expected 2 or 3",
        ),
        ("task = 3", r"^bad\.toml: task: expected \[\[task\]\] tables"),
    ],
)
def test_a_broken_scenario_is_one_line_naming_file_key_and_expectation(
    text: str, message: str
) -> None:
    with pytest.raises(ScenarioError, match=message) as caught:
        parse_scenario(text, source="bad.toml")

    assert "\n" not in str(caught.value)


def test_a_custom_failure_keeps_its_own_code_and_text() -> None:
    scenario = parse_scenario(
        "[[task]]\nprompt = 'x'\nflag = 3\nerror_code = 501\nerror_message = ''"
    )

    failure = scenario.tasks[0].failure

    assert failure is not None
    assert (failure.flag, failure.code, failure.message) == (3, 501, "")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(30, 30.0), ("90s", 90.0), ("2m", 120.0), ("1.5h", 5400.0), ("15d", 1296000.0)],
)
def test_durations_read_with_their_units(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["-1", "soon", True, "5 weeks"])
def test_nonsense_is_not_a_duration(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_a_fault_option_reads_kind_and_rate() -> None:
    assert parse_fault_option("rate-limit=0.25") == (FaultKind.RATE_LIMIT, 0.25)


@pytest.mark.parametrize(
    ("text", "message"),
    [("flood=0.1", "unknown fault kind"), ("hang=2", "a rate from 0 to 1")],
)
def test_a_bad_fault_option_says_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_fault_option(text)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_device_or_pipe_as_scenario_is_refused_not_read(tmp_path: Path) -> None:
    # /dev/zero was read until the memory ran out; a pipe waits for a writer.
    with pytest.raises(ScenarioError, match="/dev/zero: not a regular file"):
        load_scenario("/dev/zero")
    os.mkfifo(tmp_path / "pipe.toml")
    with pytest.raises(ScenarioError, match=r"pipe\.toml: not a regular file"):
        load_scenario(str(tmp_path / "pipe.toml"))


def test_a_huge_scenario_file_is_refused(tmp_path: Path) -> None:
    huge = tmp_path / "huge.toml"
    huge.write_bytes(b"#" * (2 << 20))
    with pytest.raises(ScenarioError, match="more than a scenario's 1,048,576"):
        load_scenario(str(huge))
