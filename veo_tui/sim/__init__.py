"""A faithful local stand-in for the kie.ai Veo 3.1 API.

``veo-tui sim`` serves it in the foreground; tests and the dashboard's demo
mode start it in-process with :func:`running_sim` (inside an event loop) or
:func:`running_sim_in_thread` (outside one). It answers like kie.ai, body codes
and quirks included, moves tasks along a schedule that ``speed`` compresses,
serves a small real MP4 behind every result URL, and misbehaves on demand.
This package never imports the project's client: it speaks HTTP, as kie.ai does.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from veo_tui.sim.faults import FaultKind, FaultSettings, parse_fault_option
from veo_tui.sim.scenario import (
    BUILTIN_SCENARIOS,
    FAILURES,
    BodyShape,
    Outcome,
    Scenario,
    ScenarioError,
    TaskSpec,
    TimeStyle,
    load_scenario,
    parse_scenario,
)
from veo_tui.sim.server import (
    DEFAULT_KEY,
    DEFAULT_PORT,
    RunningSim,
    SimOptions,
    SimStartError,
    is_loopback,
    running_sim,
    running_sim_in_thread,
)
from veo_tui.sim.tasks import SimClock, SimState, SimTask, TaskState

if TYPE_CHECKING:
    from veo_tui.sim.app import SimApp, create_app

# The Starlette app is imported on first use: every `veo-tui` start builds
# the `sim` command's parser, and the dashboard's first frame should not wait.
_LAZY = {"SimApp": "app", "create_app": "app"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"veo_tui.sim.{module}"), name)


__all__ = [
    "BUILTIN_SCENARIOS",
    "DEFAULT_KEY",
    "DEFAULT_PORT",
    "FAILURES",
    "BodyShape",
    "FaultKind",
    "FaultSettings",
    "Outcome",
    "RunningSim",
    "Scenario",
    "ScenarioError",
    "SimApp",
    "SimClock",
    "SimOptions",
    "SimStartError",
    "SimState",
    "SimTask",
    "TaskSpec",
    "TaskState",
    "TimeStyle",
    "create_app",
    "is_loopback",
    "load_scenario",
    "parse_fault_option",
    "parse_scenario",
    "running_sim",
    "running_sim_in_thread",
]
