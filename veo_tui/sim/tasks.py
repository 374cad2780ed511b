"""The stand-in's world: a clock, the tasks on it, the credit balance.

A task is a schedule, not a state machine: it knows when it was created, when
it becomes visible, when it reaches its outcome, and its state at any moment is
read off the clock. That keeps the stand-in free of background timers, makes
``--speed`` a plain division of the remaining schedule, and lets tests move
time with :meth:`SimClock.advance` instead of sleeping.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from enum import StrEnum

from veo_tui.sim.faults import FaultPlan
from veo_tui.sim.scenario import (
    FAILURES,
    BodyShape,
    Failure,
    Outcome,
    Scenario,
    TaskSpec,
    TimeStyle,
)

RETENTION_SECONDS = 14 * 86400.0
"""kie.ai keeps records this long, then answers the retention message."""

HD_SECONDS = 30.0
"""Nominal seconds after success before ``get-1080p-video`` has a URL."""

UHD_SECONDS = 60.0
"""Nominal seconds after a 4K request before it has a URL."""

CREDIT_COSTS = {
    "veo3": 250.0,
    "veo3_fast": 60.0,
    "veo3_lite": 30.0,
    "quality": 250.0,
    "fast": 60.0,
    "lite": 30.0,
}
"""Credits a new task costs, by model. Close to kie.ai's list, not exact."""

UHD_COST = 120.0
"""Credits a first ``get-4k-video`` request costs."""

RATE_WINDOW_SECONDS = 10.0
"""The window of kie.ai's limit on new tasks (20 per 10 seconds)."""


class SimClock:
    """Wall-clock time that tests can move forward.

    The stand-in never reads :func:`time.time` directly: every schedule is
    measured against this clock, so ``advance(60)`` finishes a one-minute task
    at once.
    """

    def __init__(self, start: float | None = None) -> None:
        """Start at the real time, or frozen at ``start`` (epoch seconds)."""
        self._frozen = start
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """The simulated time, in epoch seconds."""
        with self._lock:
            base = time.time() if self._frozen is None else self._frozen
            return base + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward (never back)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds


class TaskState(StrEnum):
    """What record-info tells about a task at a given moment."""

    INVISIBLE = "invisible"
    GENERATING = "generating"
    SUCCESS = "success"
    FAILED = "failed"
    EXPIRED = "expired"


@dataclass(slots=True)
class SimTask:
    """One task on the stand-in's clock.

    Attributes:
        task_id: Its id.
        prompt: The prompt echoed in ``paramJson``.
        model: The model echoed in ``paramJson``.
        aspect_ratio: 16:9, 9:16 or Auto.
        created_at: Epoch seconds.
        visible_at: Before this, record-info answers "record is null.".
        finishes_at: When the outcome is reached.
        outcome: Success or failure.
        failure: The failure's flag, code and text, when it fails.
        shape: Where a success puts its URLs.
        times: How times are written.
        resolution: ``response.resolution`` of a success.
        extends: The task this one extends, if any.
        flag_as_string: Write ``successFlag`` as a string.
        seed: The generation seed echoed in ``response.seeds``.
        hd_ready_at: When ``get-1080p-video`` starts answering with a URL.
        uhd_ready_at: When a requested 4K video is ready; ``None`` until asked.
    """

    task_id: str
    prompt: str
    model: str
    aspect_ratio: str
    created_at: float
    visible_at: float
    finishes_at: float
    outcome: Outcome
    failure: Failure | None
    shape: BodyShape
    times: TimeStyle
    resolution: str
    extends: str | None
    flag_as_string: bool
    seed: int
    hd_ready_at: float
    uhd_ready_at: float | None = None

    def state(self, now: float) -> TaskState:
        """The task's state at ``now`` (epoch seconds)."""
        if now - self.created_at > RETENTION_SECONDS:
            return TaskState.EXPIRED
        if now < self.visible_at:
            return TaskState.INVISIBLE
        if now < self.finishes_at:
            return TaskState.GENERATING
        return (
            TaskState.SUCCESS if self.outcome is Outcome.SUCCESS else TaskState.FAILED
        )


class SimState:
    """Everything the stand-in knows, shared by its request handlers.

    Attributes:
        scenario: The scenario it started from.
        key: The only API key it accepts.
        clock: Its clock.
        speed: How much faster than real time schedules run.
        tasks: Every task by id, seeded and created.
        seeded_ids: Ids of the scenario's tasks, in scenario order.
        faults: The fault plan.
        requests: How many requests each path received.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        key: str,
        clock: SimClock | None = None,
        speed: float | None = None,
    ) -> None:
        self.scenario = scenario
        self.key = key
        self.clock = clock or SimClock()
        self.speed = speed if speed is not None else scenario.speed
        if self.speed <= 0:
            raise ValueError("speed must be above 0")
        self.credits = scenario.credits
        self.rng = random.Random(scenario.seed)
        self.faults = FaultPlan(scenario.faults, random.Random(scenario.seed + 1))
        self.requests: Counter[str] = Counter()
        self.tasks: dict[str, SimTask] = {}
        self._creations: deque[float] = deque()

        start = self.clock.now()
        seeded: list[str] = []
        for spec in scenario.tasks:
            for _ in range(1 if spec.repeat is None else spec.repeat):
                task = self._seed_task(spec, start)
                self.tasks[task.task_id] = task
                seeded.append(task.task_id)
        self.seeded_ids = tuple(seeded)

    def now(self) -> float:
        """The simulated time, in epoch seconds."""
        return self.clock.now()

    def new_id(self) -> str:
        """A fresh task id shaped like kie.ai's: 32 lower-case hex digits."""
        while True:
            task_id = f"{self.rng.getrandbits(128):032x}"
            if task_id not in self.tasks:
                return task_id

    def compress(self, seconds: float) -> float:
        """Real seconds a nominal span of the schedule takes at this speed."""
        return seconds / self.speed

    def _seed_task(self, spec: TaskSpec, start: float) -> SimTask:
        # The age is history and stays as written; only what remains of the
        # schedule is compressed by the speed.
        created = start - spec.age
        span = spec.duration or self.scenario.generate.duration
        duration = self.rng.uniform(*span)
        visible = created + spec.visible_after
        if spec.age < spec.visible_after:
            visible = start + self.compress(spec.visible_after - spec.age)
        finishes = created + duration
        if spec.age < duration:
            finishes = start + self.compress(duration - spec.age)
        return SimTask(
            task_id=spec.task_id or self.new_id(),
            prompt=spec.prompt,
            model=spec.model,
            aspect_ratio=spec.aspect_ratio,
            created_at=created,
            visible_at=visible,
            finishes_at=finishes,
            outcome=spec.outcome,
            failure=spec.failure,
            shape=spec.shape,
            times=spec.times,
            resolution=spec.resolution,
            extends=spec.extends,
            flag_as_string=spec.flag_as_string,
            seed=self.rng.randrange(10_000, 99_999),
            hd_ready_at=finishes + self.compress(HD_SECONDS),
        )

    def admit_creation(self) -> bool:
        """Count a new-task request against the rate limit; ``False`` if over it."""
        now = self.now()
        while self._creations and now - self._creations[0] >= RATE_WINDOW_SECONDS:
            self._creations.popleft()
        if len(self._creations) >= self.scenario.generate.rate_limit:
            return False
        self._creations.append(now)
        return True

    def create_task(
        self,
        *,
        prompt: str,
        model: str,
        aspect_ratio: str,
        extends: str | None = None,
    ) -> SimTask:
        """A task created over HTTP, progressing from now on the clock."""
        spec = self.scenario.generate
        now = self.now()
        failure: Failure | None = None
        if self.rng.random() < spec.failure_rate:
            failure = FAILURES[self.rng.choice(sorted(FAILURES))]
        duration = self.compress(self.rng.uniform(*spec.duration))
        task = SimTask(
            task_id=self.new_id(),
            prompt=prompt,
            model=model,
            aspect_ratio=aspect_ratio,
            created_at=now,
            visible_at=now + self.compress(spec.visible_after),
            finishes_at=now + duration,
            outcome=Outcome.SUCCESS if failure is None else Outcome.FAILURE,
            failure=failure,
            shape=spec.shape,
            times=spec.times,
            resolution=spec.resolution,
            extends=extends,
            flag_as_string=False,
            seed=self.rng.randrange(10_000, 99_999),
            hd_ready_at=now + duration + self.compress(HD_SECONDS),
        )
        self.tasks[task.task_id] = task
        return task
