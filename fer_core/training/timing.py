"""Latency of a model call in milliseconds per image, shared by `quantize.compare` and the benchmarks."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np


def median_ms_per_image(run: Callable[[np.ndarray], object], batch: np.ndarray, repeats: int) -> float:
    """Median wall time of `repeats` calls of run(batch), after one warm-up call (graph tracing, session
    allocations), in milliseconds per image."""
    run(batch)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run(batch)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000 / len(batch)
