"""Scenarios: TOML files that say which tasks the stand-in starts with and how it
misbehaves.

A scenario is read once, checked strictly (an unknown key is an error, not a
silent default, because a typo in a fault rate would otherwise make a test pass
for the wrong reason) and turned into frozen values. Every error is one line
naming the file, the key and what was expected.

Durations are seconds (a number) or a string such as ``"90s"``, ``"2m"``,
``"1.5h"`` or ``"15d"``; a two-element list ``["20s", "60s"]`` is a range from
which each task draws its own value with the scenario's seed.
"""

from __future__ import annotations

import math
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from veo_tui.sim.faults import FaultKind, FaultSettings

MAX_SCENARIO_BYTES = 1 << 20
"""The largest scenario file read (1 MB; the built-in ones are a few KB)."""

_T = TypeVar("_T", str, None)
_E = TypeVar("_E", bound=StrEnum)
_D = TypeVar("_D", bound=StrEnum | None)

BUILTIN_SCENARIOS = ("demo", "faults", "load")
"""The scenarios shipped inside the package, by name."""

MODELS = ("veo3", "veo3_fast", "veo3_lite")
"""Models ``generate`` accepts, as kie.ai spells them."""

ASPECT_RATIOS = ("16:9", "9:16", "Auto")
"""Aspect ratios kie.ai accepts; only 16:9 comes back without origin URLs."""


class ScenarioError(ValueError):
    """A scenario that cannot be used; ``str()`` is one line for the user."""


class BodyShape(StrEnum):
    """Where a successful record puts its result URLs."""

    CURRENT = "current"
    """An array under ``data.response.resultUrls`` (today's documented shape)."""
    LEGACY = "legacy"
    """A JSON-encoded string directly under ``data.resultUrls`` (the old shape)."""


class TimeStyle(StrEnum):
    """How a record writes ``createTime`` and ``completeTime``."""

    EPOCH_MS = "epoch_ms"
    NAIVE = "naive"
    ISO = "iso"


class Outcome(StrEnum):
    """How a task ends."""

    SUCCESS = "success"
    FAILURE = "failure"


@dataclass(frozen=True, slots=True)
class Failure:
    """kie.ai's description of a failed task.

    Attributes:
        flag: ``successFlag``: 2 (failed) or 3 (generation failed).
        code: ``errorCode``.
        message: ``errorMessage``, upstream prose shown verbatim.
    """

    flag: int
    code: int | None
    message: str


FAILURES: Mapping[str, Failure] = {
    "content_policy": Failure(
        2, 400, "Your prompt was flagged by Website as violating content policies."
    ),
    "english_only": Failure(2, 400, "Only English prompts are supported at this time."),
    "image_fetch": Failure(
        2,
        400,
        "Failed to fetch the image. Kindly verify any access limits set by you "
        "or your service provider.",
    ),
    "unsafe_image": Failure(2, 400, "public error unsafe image upload"),
    "no_audio": Failure(3, 500, "The Google model was unable to generate audio"),
    "internal": Failure(3, 500, "Internal Error, Please try again later."),
    "timeout": Failure(3, 500, "Internal Error - Timeout"),
    "generation_failed": Failure(3, 501, "Failed - Video generation task failed"),
}
"""Named failures with kie.ai's own codes and texts, for ``failure = "..."``."""


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """One task (or, with ``repeat``, a group of alike tasks) of a scenario.

    Attributes:
        prompt: The prompt echoed in ``paramJson``.
        task_id: A fixed id; drawn from the seed when ``None``.
        model: The model echoed in ``paramJson``.
        aspect_ratio: 16:9 answers without origin URLs, others with them.
        age: Seconds since creation when the stand-in starts.
        duration: Range of seconds from creation to the outcome.
        outcome: Success or failure.
        failure: How it fails, when it does.
        shape: Where a success puts its URLs.
        times: How times are written.
        resolution: ``response.resolution`` of a success.
        extends: Id of the task this one extends (its success carries
            ``fullResultUrls``).
        flag_as_string: Write ``successFlag`` as ``"1"`` rather than ``1``.
        visible_after: Seconds after creation during which record-info still
            answers "record is null.".
        repeat: How many alike tasks this entry stands for; ``--count`` sets it.
    """

    prompt: str
    task_id: str | None = None
    model: str = "veo3_fast"
    aspect_ratio: str = "16:9"
    age: float = 0.0
    duration: tuple[float, float] | None = None
    outcome: Outcome = Outcome.SUCCESS
    failure: Failure | None = None
    shape: BodyShape = BodyShape.CURRENT
    times: TimeStyle = TimeStyle.NAIVE
    resolution: str = "720p"
    extends: str | None = None
    flag_as_string: bool = False
    visible_after: float = 0.0
    repeat: int | None = None


@dataclass(frozen=True, slots=True)
class GenerateSpec:
    """How tasks created over HTTP (``generate``, ``extend``) behave.

    Attributes:
        duration: Range of seconds from creation to the outcome.
        visible_after: Seconds during which a new task is "record is null.".
        failure_rate: Share of new tasks that fail, 0 to 1.
        shape: Where their successes put URLs.
        times: How their times are written.
        resolution: Their ``response.resolution``.
        rate_limit: Creations allowed per 10 seconds (kie.ai documents 20).
    """

    duration: tuple[float, float] = (30.0, 50.0)
    visible_after: float = 2.0
    failure_rate: float = 0.0
    shape: BodyShape = BodyShape.CURRENT
    times: TimeStyle = TimeStyle.NAIVE
    resolution: str = "720p"
    rate_limit: int = 20


@dataclass(frozen=True, slots=True)
class Scenario:
    """A whole scenario: the starting tasks, the economy and the faults.

    Attributes:
        name: Shown in the banner.
        description: One sentence on what it is for.
        source: Where it was read from, for messages.
        seed: Seed of every random choice, so runs repeat.
        credits: Starting balance of ``/api/v1/chat/credit``.
        speed: How much faster than real time the schedule runs.
        generate: How tasks created over HTTP behave.
        faults: Which faults to inject, and how often.
        tasks: The tasks that exist when the stand-in starts.
    """

    name: str
    description: str = ""
    source: str = "<built-in>"
    seed: int = 1
    credits: float = 1000.0
    speed: float = 1.0
    generate: GenerateSpec = field(default_factory=GenerateSpec)
    faults: FaultSettings = field(default_factory=FaultSettings)
    tasks: tuple[TaskSpec, ...] = ()

    def with_count(self, count: int) -> Scenario:
        """This scenario with every ``repeat`` entry standing for ``count`` tasks."""
        if count < 0:
            raise ScenarioError(f"the task count must be 0 or more, not {count}")
        if not any(spec.repeat is not None for spec in self.tasks):
            raise ScenarioError(
                f"{self.source}: no task has 'repeat', so a count has nothing to set"
            )
        tasks = tuple(
            replace(spec, repeat=count) if spec.repeat is not None else spec
            for spec in self.tasks
        )
        return replace(self, tasks=tasks)


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Read a built-in scenario by name, or a scenario file by path.

    Raises:
        ScenarioError: The name is unknown, or the file is unreadable or invalid.
    """
    text_name = str(name_or_path)
    if isinstance(name_or_path, str) and text_name in BUILTIN_SCENARIOS:
        resource = resources.files("veo_tui.sim").joinpath(
            "scenarios", f"{text_name}.toml"
        )
        return parse_scenario(resource.read_text("utf-8"), source=f"{text_name}.toml")

    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        known = ", ".join(BUILTIN_SCENARIOS)
        raise ScenarioError(
            f"no scenario named {text_name!r}; built-in ones are {known}, "
            "or give the path of a .toml file"
        )
    try:
        # A device (/dev/zero) or a pipe would be read without end.
        mode, size = (info := path.stat()).st_mode, info.st_size
        if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
            raise ScenarioError(f"cannot read scenario {path}: not a regular file")
        if size > MAX_SCENARIO_BYTES:
            raise ScenarioError(
                f"cannot read scenario {path}: {size:,} bytes, more than a "
                f"scenario's {MAX_SCENARIO_BYTES:,}"
            )
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ScenarioError(f"cannot read scenario {path}: {reason}") from None
    return parse_scenario(text, source=str(path), default_name=path.stem)


def parse_scenario(
    text: str, *, source: str = "<scenario>", default_name: str | None = None
) -> Scenario:
    """Check and read the text of a scenario file.

    Args:
        text: TOML.
        source: The file name used in messages.
        default_name: The name when ``[sim] name`` is absent.

    Raises:
        ScenarioError: Naming the file, the key and what was expected.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{source}: not valid TOML: {error}") from None
    reader = _Reader(source)
    reader.keys(document, "", {"sim", "generate", "faults", "task"})

    sim = reader.table(document, "sim")
    reader.keys(sim, "sim", {"name", "description", "seed", "credits", "speed"})
    generate = _read_generate(reader, reader.table(document, "generate"))
    faults = _read_faults(reader, reader.table(document, "faults"))
    raw_tasks = document.get("task", [])
    if not isinstance(raw_tasks, list) or not all(
        isinstance(item, dict) for item in raw_tasks
    ):
        raise ScenarioError(f"{source}: task: expected [[task]] tables")
    tasks = tuple(
        _read_task(reader, item, f"task[{index}]")
        for index, item in enumerate(raw_tasks, start=1)
    )
    _check_ids(source, tasks)

    return Scenario(
        name=reader.string(sim, "sim.name", default_name or source),
        description=reader.string(sim, "sim.description", ""),
        source=source,
        seed=reader.integer(sim, "sim.seed", 1),
        credits=reader.number(sim, "sim.credits", 1000.0, low=0.0),
        speed=reader.positive(sim, "sim.speed", 1.0),
        generate=generate,
        faults=faults,
        tasks=tasks,
    )


def _read_generate(reader: _Reader, table: Mapping[str, Any]) -> GenerateSpec:
    reader.keys(
        table,
        "generate",
        {
            "duration",
            "visible_after",
            "failure_rate",
            "shape",
            "times",
            "resolution",
            "rate_limit",
        },
    )
    default = GenerateSpec()
    return GenerateSpec(
        duration=reader.span(table, "generate.duration", None) or default.duration,
        visible_after=reader.duration(
            table, "generate.visible_after", default.visible_after
        ),
        failure_rate=reader.number(
            table, "generate.failure_rate", 0.0, low=0.0, high=1.0
        ),
        shape=reader.choice(table, "generate.shape", BodyShape, default.shape),
        times=reader.choice(table, "generate.times", TimeStyle, default.times),
        resolution=reader.string(table, "generate.resolution", default.resolution),
        rate_limit=reader.integer(table, "generate.rate_limit", 20, low=1),
    )


def _read_faults(reader: _Reader, table: Mapping[str, Any]) -> FaultSettings:
    kinds = {kind.value for kind in FaultKind}
    settings = {
        "latency_ms",
        "jitter_ms",
        "retry_after",
        "maintenance_window",
        "hang_for",
    }
    reader.keys(table, "faults", kinds | settings)
    default = FaultSettings()
    rates = {
        kind: reader.number(table, f"faults.{kind.value}", 0.0, low=0.0, high=1.0)
        for kind in FaultKind
        if kind.value in table
    }
    latency_ms = reader.number(table, "faults.latency_ms", 0.0, low=0.0)
    jitter_ms = reader.number(table, "faults.jitter_ms", 0.0, low=0.0)
    retry_after = reader.integer(
        table, "faults.retry_after", default.retry_after, low=0
    )
    window = reader.duration(
        table, "faults.maintenance_window", default.maintenance_window
    )
    hang_for = reader.duration(table, "faults.hang_for", default.hang_for)
    try:
        return FaultSettings(
            rates=rates,
            latency_ms=latency_ms,
            jitter_ms=jitter_ms,
            retry_after=retry_after,
            maintenance_window=window,
            hang_for=hang_for,
        )
    except ValueError as error:
        raise ScenarioError(f"{reader.source}: faults: {error}") from None


_TASK_KEYS = {
    "id",
    "prompt",
    "model",
    "aspect_ratio",
    "age",
    "duration",
    "outcome",
    "failure",
    "flag",
    "error_code",
    "error_message",
    "shape",
    "times",
    "resolution",
    "extends",
    "flag_as_string",
    "visible_after",
    "repeat",
}


def _read_task(reader: _Reader, table: Mapping[str, Any], where: str) -> TaskSpec:
    reader.keys(table, where, _TASK_KEYS)
    if "prompt" not in table:
        raise ScenarioError(
            f"{reader.source}: {where}.prompt: missing; every task needs one"
        )
    failure = _read_failure(reader, table, where)
    outcome = reader.choice(table, f"{where}.outcome", Outcome, None)
    if outcome is None:
        outcome = Outcome.SUCCESS if failure is None else Outcome.FAILURE
    if outcome is Outcome.FAILURE and failure is None:
        failure = FAILURES["generation_failed"]
    if outcome is Outcome.SUCCESS and failure is not None:
        raise ScenarioError(
            f"{reader.source}: {where}.outcome: a task with a failure cannot "
            "succeed; drop 'failure' or set outcome = \"failure\""
        )
    task_id = reader.string(table, f"{where}.id", "") or None
    repeat = (
        reader.integer(table, f"{where}.repeat", 1, low=0)
        if "repeat" in table
        else None
    )
    if repeat is not None and task_id is not None:
        raise ScenarioError(
            f"{reader.source}: {where}.id: a repeated task cannot have a fixed id"
        )

    return TaskSpec(
        prompt=reader.string(table, f"{where}.prompt", ""),
        task_id=task_id,
        model=reader.string(table, f"{where}.model", "veo3_fast"),
        aspect_ratio=reader.one_of(
            table, f"{where}.aspect_ratio", ASPECT_RATIOS, "16:9"
        ),
        age=reader.duration(table, f"{where}.age", 0.0),
        duration=reader.span(table, f"{where}.duration", None),
        outcome=outcome,
        failure=failure if outcome is Outcome.FAILURE else None,
        shape=reader.choice(table, f"{where}.shape", BodyShape, BodyShape.CURRENT),
        times=reader.choice(table, f"{where}.times", TimeStyle, TimeStyle.NAIVE),
        resolution=reader.string(table, f"{where}.resolution", "720p"),
        extends=reader.string(table, f"{where}.extends", "") or None,
        flag_as_string=reader.boolean(table, f"{where}.flag_as_string", False),
        visible_after=reader.duration(table, f"{where}.visible_after", 0.0),
        repeat=repeat,
    )


def _read_failure(
    reader: _Reader, table: Mapping[str, Any], where: str
) -> Failure | None:
    """A named failure, adjusted by ``flag``, ``error_code`` and ``error_message``."""
    name = reader.one_of(table, f"{where}.failure", tuple(FAILURES), None)
    custom = {"flag", "error_code", "error_message"} & table.keys()
    if name is None and not custom:
        return None
    base = FAILURES[name] if name is not None else FAILURES["generation_failed"]
    flag = reader.integer(table, f"{where}.flag", base.flag)
    if flag not in (2, 3):
        raise ScenarioError(
            f"{reader.source}: {where}.flag: expected 2 or 3 (a failure), got {flag}"
        )
    code: int | None = base.code
    if "error_code" in table:
        code = reader.integer(table, f"{where}.error_code", 0)
    message = reader.string(table, f"{where}.error_message", base.message)
    return Failure(flag, code, message)


def _check_ids(source: str, tasks: tuple[TaskSpec, ...]) -> None:
    seen: set[str] = set()
    for index, spec in enumerate(tasks, start=1):
        if spec.extends is not None and spec.extends not in seen:
            raise ScenarioError(
                f"{source}: task[{index}].extends: expected the id of an earlier "
                f"task, got {spec.extends!r}"
            )
        if spec.task_id is not None:
            if spec.task_id in seen:
                raise ScenarioError(
                    f"{source}: task[{index}].id: {spec.task_id!r} is used twice"
                )
            seen.add(spec.task_id)


_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: object) -> float:
    """Seconds from a number or a string such as ``"90s"`` or ``"15d"``.

    Raises:
        ValueError: Not a duration, or negative.
    """
    if isinstance(value, bool):
        raise ValueError("expected a duration")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.fullmatch(value)):
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]
    else:
        raise ValueError("expected a duration")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError("expected a duration")
    return seconds


class _Reader:
    """Typed access to TOML tables that raises one-line :class:`ScenarioError`."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, expected: str, value: object) -> ScenarioError:
        return ScenarioError(
            f"{self.source}: {key}: expected {expected}, got {value!r}"
        )

    def keys(self, table: Mapping[str, Any], where: str, allowed: set[str]) -> None:
        for key in table:
            if key not in allowed:
                name = f"{where}.{key}" if where else key
                known = ", ".join(sorted(allowed))
                raise ScenarioError(
                    f"{self.source}: {name}: unknown key; expected one of {known}"
                )

    def table(self, document: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = document.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, "a table", value)
        return value

    def string(self, table: Mapping[str, Any], key: str, default: str) -> str:
        value = table.get(key.rsplit(".", 1)[-1], default)
        if not isinstance(value, str):
            raise self.fail(key, "a string", value)
        return value

    def boolean(self, table: Mapping[str, Any], key: str, default: bool) -> bool:
        value = table.get(key.rsplit(".", 1)[-1], default)
        if not isinstance(value, bool):
            raise self.fail(key, "true or false", value)
        return value

    def integer(
        self,
        table: Mapping[str, Any],
        key: str,
        default: int,
        *,
        low: int | None = None,
    ) -> int:
        value = table.get(key.rsplit(".", 1)[-1], default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, "an integer", value)
        if low is not None and value < low:
            raise self.fail(key, f"an integer of at least {low}", value)
        return value

    def number(
        self,
        table: Mapping[str, Any],
        key: str,
        default: float,
        *,
        low: float | None = None,
        high: float | None = None,
    ) -> float:
        value = table.get(key.rsplit(".", 1)[-1], default)
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(value)
        ok = ok and (low is None or value >= low) and (high is None or value <= high)
        if not ok:
            bounds = "a number"
            if low is not None and high is not None:
                bounds = f"a number from {low:g} to {high:g}"
            elif low is not None:
                bounds = f"a number of at least {low:g}"
            raise self.fail(key, bounds, value)
        return float(value)

    def positive(self, table: Mapping[str, Any], key: str, default: float) -> float:
        value = self.number(table, key, default, low=0.0)
        if value <= 0:
            raise self.fail(key, "a number above 0", value)
        return value

    def duration(self, table: Mapping[str, Any], key: str, default: float) -> float:
        value = table.get(key.rsplit(".", 1)[-1], default)
        try:
            return parse_duration(value)
        except ValueError:
            raise self.fail(
                key, 'a duration such as 30, "90s", "2m", "1h" or "15d"', value
            ) from None

    def span(
        self,
        table: Mapping[str, Any],
        key: str,
        default: tuple[float, float] | None,
    ) -> tuple[float, float] | None:
        short = key.rsplit(".", 1)[-1]
        if short not in table:
            return default
        value = table[short]
        try:
            if isinstance(value, list):
                if len(value) != 2:
                    raise ValueError("two durations")
                low, high = parse_duration(value[0]), parse_duration(value[1])
                if low > high:
                    raise ValueError("low before high")
                return (low, high)
            seconds = parse_duration(value)
            return (seconds, seconds)
        except ValueError:
            raise self.fail(
                key, 'a duration ("40s") or a range of two (["20s", "60s"])', value
            ) from None

    def one_of(
        self,
        table: Mapping[str, Any],
        key: str,
        allowed: tuple[str, ...],
        default: _T,
    ) -> str | _T:
        short = key.rsplit(".", 1)[-1]
        if short not in table:
            return default
        value = table[short]
        if value not in allowed:
            raise self.fail(key, "one of " + ", ".join(allowed), value)
        return str(value)

    def choice(
        self,
        table: Mapping[str, Any],
        key: str,
        enum: type[_E],
        default: _D,
    ) -> _E | _D:
        short = key.rsplit(".", 1)[-1]
        if short not in table:
            return default
        value = table[short]
        allowed = tuple(member.value for member in enum)
        if value not in allowed:
            raise self.fail(key, "one of " + ", ".join(allowed), value)
        return enum(value)
