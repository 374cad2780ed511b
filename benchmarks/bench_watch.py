"""Target 2: watching 100 tasks that finish after 3 minutes, for 10 minutes.

Ten minutes are simulated, not waited for: the :class:`Scheduler` (pure, no
I/O, no clock of its own) is driven with a fake clock, exactly as the poller
drives it, with the default policy (10 s, x1.5 per unchanged answer, up to
60 s, +-10% jitter). Each answer is instant and says "generating" until the
task's finish time, then "success". The reference is a fixed 3-second poll
that, to be fair, stops polling a task once it has seen it finished.

Two cases: every task finishing at exactly 180 s, and finishes spread evenly
over 150-210 s (tasks rarely end together).

Run: ``.venv/bin/python benchmarks/bench_watch.py``
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from _common import (
    Row,
    generating_record,
    print_table,
    success_record,
    task_id,
    verdict,
)

from veo_tui.polling import PollSettings, Scheduler

TASKS = 100
WATCH_S = 600.0
FIXED_INTERVAL_S = 3.0
MIN_FEWER = 5.0


@dataclass(slots=True)
class Watch:
    """What one watch of the tasks came to."""

    requests: int = 0
    polls: dict[str, list[float]] = field(default_factory=dict)
    seen_at: dict[str, float] = field(default_factory=dict)


def adaptive(finish: dict[str, float], seed: int) -> Watch:
    """Drive the scheduler over the watch with a fake clock."""
    scheduler = Scheduler(PollSettings(), random=random.Random(seed).random)
    watch = Watch(polls={task: [] for task in finish})
    now = 0.0
    for task in finish:
        scheduler.track(task, now)

    while now <= WATCH_S:
        for task in scheduler.due(now):
            scheduler.started(task, now)
            watch.requests += 1
            watch.polls[task].append(now)
            done = now >= finish[task]
            record = success_record(task) if done else generating_record(task)
            scheduler.on_result(task, record, now)
            if done:
                watch.seen_at[task] = now
        wait = scheduler.next_wake(now)
        if wait is None:
            break
        now += wait
    return watch


def fixed(finish: dict[str, float]) -> Watch:
    """A loop that polls every task every 3 s until it has seen it finished."""
    watch = Watch(polls={task: [] for task in finish})
    now = 0.0
    while now <= WATCH_S and len(watch.seen_at) < len(finish):
        for task, moment in finish.items():
            if task in watch.seen_at:
                continue
            watch.requests += 1
            watch.polls[task].append(now)
            if now >= moment:
                watch.seen_at[task] = now
        now += FIXED_INTERVAL_S
    return watch


def delays(watch: Watch, finish: dict[str, float]) -> tuple[float, float, float]:
    """Worst delay from finish to the poll that saw it; worst ratio to the
    interval in force (the gap between that poll and the one before); and
    the largest such interval."""
    worst_delay = worst_ratio = largest_gap = 0.0
    for task, seen in watch.seen_at.items():
        polls = watch.polls[task]
        gap = seen - polls[-2] if len(polls) > 1 else 0.0
        delay = seen - finish[task]
        worst_delay = max(worst_delay, delay)
        largest_gap = max(largest_gap, gap)
        if gap > 0:
            worst_ratio = max(worst_ratio, delay / gap)
    return worst_delay, worst_ratio, largest_gap


def case(name: str, finish: dict[str, float]) -> list[Row]:
    ours = adaptive(finish, seed=1)
    reference = fixed(finish)
    fewer = reference.requests / ours.requests
    worst, ratio, gap = delays(ours, finish)
    ref_worst, _, _ = delays(reference, finish)
    all_seen = len(ours.seen_at) == len(finish)
    return [
        Row(f"[{name}] requests, scheduler", f"{ours.requests:,}"),
        Row(
            f"[{name}]   fewer than the fixed 3 s poll",
            f"{fewer:.1f}x",
            f">= {MIN_FEWER:g}x",
            verdict(fewer >= MIN_FEWER),
        ),
        Row(
            f"[{name}]   every finish seen",
            f"{len(ours.seen_at)}/{len(finish)}",
            f"{len(finish)}/{len(finish)}",
            verdict(all_seen),
        ),
        Row(
            f"[{name}]   worst delay finish -> shown",
            f"{worst:.1f} s ({ratio:.2f} of interval)",
            "<= 1 interval",
            verdict(ratio <= 1.0 and all_seen),
        ),
        Row(f"[{name}]   largest interval in force at a finish", f"{gap:.1f} s"),
        Row(f"[{name}] reference: fixed 3 s poll, requests", f"{reference.requests:,}"),
        Row(f"[{name}] reference: worst delay", f"{ref_worst:.1f} s"),
    ]


def main() -> None:
    ids = [task_id(n) for n in range(TASKS)]
    together = dict.fromkeys(ids, 180.0)
    spread = {task: 150.0 + 60.0 * n / (TASKS - 1) for n, task in enumerate(ids)}
    rows = case("all at 180 s", together) + case("150-210 s", spread)
    print_table(
        f"Target 2: watching {TASKS} tasks for {WATCH_S / 60:g} minutes "
        "(simulated on a fake clock)",
        rows,
        [
            "default policy: interval 10 s, x1.5 per unchanged answer, max 60 s, "
            "jitter +-10%",
            "interval in force = the gap between the poll that saw the finish and "
            "the poll before it",
        ],
    )


if __name__ == "__main__":
    main()
