"""This machine's time zone, set for one test: the suite must pass on any CI machine's zone, and a household far
from UTC (Auckland, Pago Pago, Newfoundland) must see its own calendar days."""
from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib.resources import files
from zoneinfo import ZoneInfo


def _tz_value(name: str) -> str:
    """TZ for the IANA zone `name`: the file of the tzdata package (pinned in requirements/) where it is installed, so
    that the zone applies on a machine without a system time zone database (a slim container image), where the C
    library would read an unknown TZ as UTC without a word; else the name."""
    try:
        path = files("tzdata.zoneinfo").joinpath(*name.split("/"))
    except ModuleNotFoundError:
        return name
    return f":{path}" if path.is_file() else name


@contextlib.contextmanager
def machine_time_zone(name: str) -> Iterator[None]:
    """TZ set to `name` (an IANA zone) and applied (time.tzset), then put back as it was, unset included. Fails at
    once if the zone did not take (the test would otherwise run in UTC and prove nothing)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = _tz_value(name)
    time.tzset()
    try:
        probe = datetime(2026, 1, 15, 12, tzinfo=UTC)
        took = probe.astimezone().utcoffset() == probe.astimezone(ZoneInfo(name)).utcoffset()
        assert took, f"TZ={os.environ['TZ']} did not set this machine's time zone to {name}"
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


def zone_set_under_a_running_process(name: str) -> None:
    """Within machine_time_zone: this machine's zone set to `name` (an IANA zone) while a process runs on (a laptop
    taken to another zone), which sees it only once it reads the zone again (time.tzset). machine_time_zone's end
    puts it back."""
    os.environ["TZ"] = _tz_value(name)
