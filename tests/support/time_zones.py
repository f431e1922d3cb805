"""This machine's time zone, set for one test: the suite must pass on any CI machine's zone, and a household far
from UTC (Auckland, Pago Pago, Newfoundland) must see its own calendar days."""
from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator


@contextlib.contextmanager
def machine_time_zone(name: str) -> Iterator[None]:
    """TZ set to `name` (an IANA zone) and applied (time.tzset), then put back as it was, unset included."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()
