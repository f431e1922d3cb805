"""Shared helpers of the privacy tests (tests/test_store_*.py, test_consent.py, ...): the fault-injection
harness in scripts/_privacy_harness.py, and a clock tests can move."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def load_harness() -> ModuleType:
    """scripts/_privacy_harness.py as a module (scripts/ is not a package); imported once."""
    if "_privacy_harness" in sys.modules:
        return sys.modules["_privacy_harness"]
    spec = importlib.util.spec_from_file_location("_privacy_harness", REPO / "scripts" / "_privacy_harness.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["_privacy_harness"] = module
    spec.loader.exec_module(module)
    return module


class FakeClock:
    """POSIX seconds that only move when told to, so retention and expiry can be tested in days."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, *, days: float) -> None:
        self.now += days * 86400.0
