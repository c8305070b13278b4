"""Timing shared by the benchmarks: medians of repeated runs after warm-up."""
from __future__ import annotations

import statistics
import time


def median_time(fn, runs: int, warmup: int = 1) -> float:
    """Median wall time of fn() in seconds, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)
