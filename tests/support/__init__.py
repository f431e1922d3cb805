"""Test support that benchmarks share: the store's fault-injection harness (privacy_harness) and the
composited group photos (group_photos). Tests import from here, never from tools/, benchmarks/ or experiments/."""
