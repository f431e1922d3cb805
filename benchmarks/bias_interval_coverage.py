"""How often the bias audit's 95% intervals hold the true value, on simulated groups of known rates.

Each simulated audit draws every group's rows from a binomial of known rate (an accuracy of 0.8 or 0.95, an
error rate of 0.02 as a false match rate is), builds the count tables the audit builds, and asks the audit's
interval code whether its interval holds the truth: a group's own rate, its gap to the rest of its column,
and the difference (max - min) between groups. The bootstrap percentile interval the audit used before
(rows resampled with replacement, 1000 resamples) is measured beside it on the same draws.

It computes the intervals with the functions the audit uses for a share of rows (clopper_pearson,
newcombe_difference; tests/unit/governance/test_bias_intervals.py checks the audit's numbers are theirs)
rather than running the audit, whose fairlearn MetricFrame takes 0.3 s an audit and adds no interval.

    python benchmarks/bias_interval_coverage.py [--sims 1000]
"""
from __future__ import annotations

import argparse

import numpy as np

from governance.bias_audit import clopper_pearson, newcombe_difference

CONFIDENCE = 0.95
N_BOOT = 1000


def covers(low: float, high: float, truth: float) -> bool:
    return bool(low <= truth + 1e-12 and truth - 1e-12 <= high)


def percentile(samples: np.ndarray) -> tuple[float, float]:
    """The bootstrap percentile interval as the audit took it before: NaN resamples (a group drawn empty) left out."""
    tail = (1.0 - CONFIDENCE) / 2.0
    return tuple(np.nanquantile(samples, [tail, 1.0 - tail]))


def between_groups(hits: np.ndarray, sizes: np.ndarray) -> tuple[float, float]:
    """The audit's interval of max - min: every group's Clopper-Pearson interval at the Bonferroni level."""
    low, high = clopper_pearson(hits, sizes, confidence=1.0 - (1.0 - CONFIDENCE) / len(sizes))
    return max(0.0, low.max() - high.min()), high.max() - low.min()


def coverage(sizes: tuple[int, ...], rates: tuple[float, ...], sims: int, seed: int) -> dict[str, tuple[float, float]]:
    """(old, new) share of simulated audits whose interval holds the truth, per interval kind."""
    rng = np.random.default_rng(seed)
    weights = np.asarray(sizes[1:], dtype=np.float64)
    truths = {"own": rates[0], "gap": rates[0] - float(np.average(rates[1:], weights=weights)),
              "difference": max(rates) - min(rates)}
    hits = {kind: [0, 0] for kind in truths}
    sizes_ = np.asarray(sizes)
    for _ in range(sims):
        hits_ = rng.binomial(sizes_, rates)
        # The audit's row bootstrap: every row of the column drawn with replacement, so group sizes vary too.
        cells = np.stack([hits_, sizes_ - hits_], axis=1).reshape(-1)
        boot = rng.multinomial(cells.sum(), cells / cells.sum(), size=N_BOOT).reshape(N_BOOT, len(sizes), 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            values = boot[..., 0] / boot.sum(axis=-1)  # (N_BOOT, groups)
            rest = boot[:, 1:, 0].sum(axis=1) / boot[:, 1:].sum(axis=(1, 2))
        old = {"own": percentile(values[:, 0]), "gap": percentile(values[:, 0] - rest),
               "difference": percentile(np.nanmax(values, axis=1) - np.nanmin(values, axis=1))}
        new = {"own": clopper_pearson(hits_[0], sizes_[0], confidence=CONFIDENCE),
               "gap": newcombe_difference(hits_[0], sizes_[0], hits_[1:].sum(), sizes_[1:].sum(),
                                          confidence=CONFIDENCE),
               "difference": between_groups(hits_, sizes_)}
        for kind, truth in truths.items():
            hits[kind][0] += covers(*old[kind], truth)
            hits[kind][1] += covers(*new[kind], truth)
    return {kind: (old_hits / sims, new_hits / sims) for kind, (old_hits, new_hits) in hits.items()}


CASES = (
    # (group sizes: the group first, then the rest of its column), (their true rates)
    ((10, 500), (0.8, 0.8)),
    ((30, 500), (0.8, 0.8)),
    ((100, 500), (0.8, 0.8)),
    ((10, 500), (0.95, 0.95)),
    ((30, 500), (0.95, 0.95)),
    ((100, 500), (0.95, 0.95)),
    ((10, 500), (0.02, 0.02)),
    ((30, 500), (0.02, 0.02)),
    ((100, 500), (0.02, 0.02)),
    ((30, 500), (0.7, 0.8)),
    ((100, 100, 100), (0.8, 0.8, 0.8)),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"{args.sims} simulated audits per row, nominal {CONFIDENCE:.0%}; each cell: bootstrap percentile "
          f"(before) -> the audit's interval now\n")
    print("| group sizes | true rates | group's own rate | gap to the rest | difference between groups |")
    print("|---|---|---|---|---|")
    for sizes, rates in CASES:
        result = coverage(sizes, rates, args.sims, args.seed)
        cells = " | ".join(f"{old:.3f} -> {new:.3f}" for old, new in result.values())
        print(f"| {', '.join(map(str, sizes))} | {', '.join(map(str, rates))} | {cells} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
