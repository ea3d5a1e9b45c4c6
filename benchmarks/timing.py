"""Timing one workload inside its process: warm-up runs, then timed runs, then the median."""

from __future__ import annotations

import resource
import statistics
import sys
import time


def time_runs(run, warmup: int, runs: int, repeat: int = 1, sync=None) -> list[float]:
    """Seconds per call of ``run()`` for each of ``runs`` timed runs, after ``warmup`` runs.

    Each timed run calls ``run`` ``repeat`` times and reports the mean (tiny
    workloads need many calls to rise above the clock's resolution). ``sync``,
    when given, is called before the clock stops (a GPU finishes its queue).
    """
    for _ in range(warmup):
        run()
    if sync:
        sync()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(repeat):
            run()
        if sync:
            sync()
        times.append((time.perf_counter() - start) / repeat)
    return times


def median(values) -> float:
    return float(statistics.median(values))


def peak_rss_mb() -> float:
    """The largest resident set size this process has had, in MiB (the OS's accounting)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
