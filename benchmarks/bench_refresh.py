"""Target 1: one full refresh of 1,000 generating tasks at 50 ms latency.

The stand-in (scenario ``load``, 1,000 tasks, 50 ms added to every answer)
serves from a child process. The refresh runs through :class:`Poller` and
:class:`Scheduler`, the code path of the dashboard and ``veo-tui watch``, with
the default concurrency (8) and no request-rate limit. The reference is
kie.ai's sample-code shape with the same client: ``await record_info`` for one
id after another, timed on a sample and extrapolated to 1,000.

Run: ``.venv/bin/python benchmarks/bench_refresh.py [--profile]``
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time

from _common import Row, poller_refresh, print_table, stand_in_process, verdict

from veo_tui.api import ApiOptions, KieClient
from veo_tui.api.client import RECORD_INFO_PATH
from veo_tui.polling import PollSettings

TASKS = 1000
LATENCY_MS = 50.0
SAMPLE = 100
MAX_RATIO_TO_BOUND = 1.3
MIN_SPEEDUP = 6.0


async def sequential(client: KieClient, ids: tuple[str, ...]) -> float:
    """Seconds for kie.ai's sample-code loop: one id after another."""
    started = time.perf_counter()
    for task_id in ids:
        await client.record_info(task_id)
    return time.perf_counter() - started


async def measure(profile: bool) -> None:
    with stand_in_process(count=TASKS, latency_ms=LATENCY_MS) as sim:
        ids = sim.task_ids
        assert len(ids) == TASKS, len(ids)
        options = ApiOptions(base_url=sim.base_url, key=sim.key)
        async with KieClient(options) as client:
            profiler = cProfile.Profile() if profile else None
            if profiler is not None:
                profiler.enable()
            elapsed, errors = await poller_refresh(client, ids)
            if profiler is not None:
                profiler.disable()
            served = sim.requests_to(RECORD_INFO_PATH)
            sample = await sequential(client, ids[:SAMPLE])

    settings = PollSettings()
    bound = TASKS * LATENCY_MS / 1000 / settings.concurrency
    sequential_full = sample * TASKS / SAMPLE
    ratio = elapsed / bound
    speedup = sequential_full / elapsed
    rows = [
        Row(
            f"refresh of {TASKS:,} tasks, Poller+Scheduler",
            f"{elapsed:.2f} s",
            f"<= {MAX_RATIO_TO_BOUND * bound:.2f} s",
            verdict(ratio <= MAX_RATIO_TO_BOUND),
        ),
        Row(
            "  as a multiple of the bound",
            f"{ratio:.3f}x",
            f"<= {MAX_RATIO_TO_BOUND}x",
            verdict(ratio <= MAX_RATIO_TO_BOUND),
        ),
        Row(
            "  speed-up over the sequential loop",
            f"{speedup:.1f}x",
            f">= {MIN_SPEEDUP:g}x",
            verdict(speedup >= MIN_SPEEDUP),
        ),
        Row(
            "bound: tasks x latency / concurrency",
            f"{bound:.2f} s",
        ),
        Row(
            f"reference: sequential loop, {SAMPLE} tasks measured",
            f"{sample:.2f} s ({sample / SAMPLE * 1000:.1f} ms/task)",
        ),
        Row(
            f"reference: sequential loop, extrapolated to {TASKS:,}",
            f"{sequential_full:.1f} s",
        ),
        Row("requests the stand-in served / fetch errors", f"{served:,} / {errors}"),
    ]
    print_table(
        f"Target 1: full refresh, {TASKS:,} generating tasks, "
        f"{LATENCY_MS:g} ms latency, concurrency {settings.concurrency}, no rate limit",
        rows,
        [
            "stand-in in a child process (its own core); same KieClient for both runs",
            f"sequential reference timed on {SAMPLE} tasks, scaled x{TASKS // SAMPLE}",
        ],
    )
    if profiler is not None:
        print("\nprofile of the refresh (cumulative, top 25):")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="store_true", help="cProfile the refresh")
    args = parser.parse_args()
    asyncio.run(measure(args.profile))


if __name__ == "__main__":
    main()
