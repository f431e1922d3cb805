"""A background thread that repeats one piece of work until a block ends: the daily retention sweeps
(governance.scheduled_sweeps) and the recognition counts written once a period (governance.recognition_tally) of
the front ends that run for days."""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def repeating(work: Callable[[], object], *, every_s: float, name: str) -> Iterator[None]:
    """`work()` in a daemon thread named `name`, every `every_s` seconds until the block ends; a call under way when
    it ends is let finish before the block is left."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every_s):
            work()

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
