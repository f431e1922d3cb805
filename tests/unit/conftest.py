"""A fresh store on a fake clock (cheap scrypt), for what depends on time: consent expiry, retention,
and the gallery `unveil watch` keeps current. A test module that needs another store defines its own
`store`."""
from __future__ import annotations

import pytest

from tests.support import privacy_harness as h
from tests.support.store import FakeClock


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def store(tmp_path, clock):
    with h.new_store(tmp_path, clock=clock) as opened:
        yield opened
