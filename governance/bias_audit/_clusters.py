"""Shares of rows that are not independent: effective counts from a cluster-robust variance.

An identity audit's trials share people: each probe photo is compared with every enrolled person, so a probe
(and its person) appears in 16 trials and each enrolled person in 114 of the development set's. A hard probe
face or an enrolled person who looks like many others makes several trials wrong together, and an interval
that counts 1824 independent trials is too narrow.

The variance of a share p = k / n over rows clustered along one or two crossed dimensions (probe person,
enrolled person) is the two-way cluster-robust one (Cameron, Gelbach & Miller 2011): the sum over each
dimension of G / (G - 1) sum_c (k_c - p n_c)^2 / n^2 (G clusters, the usual small-sample correction), less
that over the intersections (pairs of clusters). Where it is not positive (a two-way sum can fall below zero)
the larger one-way variance is used. Its design effect deff = variance / (p (1 - p) / n) turns k of n into
k / deff of n / deff (an effective sample size), and the exact Clopper-Pearson and Newcombe intervals are taken
on those counts (Korn & Graubard 1998). deff is never taken below 1, and where p is 0 or 1 (no spread to
measure how clustered the errors are) it is 1: such an interval is the independent-trials one, which is then
a lower bound on the width.

A group's gap to the rest of its column takes Newcombe's interval on both sides' effective counts, as if the
sides were independent. In an identity audit they share the enrolled people, whose effect moves both sides the
same way, so the gap varies less than that and its interval errs wide.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from governance.bias_audit._bootstrap import safe_divide
from governance.bias_audit._errors import AuditError

CLUSTERS_NEED_ONE_OR_TWO = "trials are clustered along one or two columns (e.g. probe_person, enrolled_person), got {n}"


@dataclass(frozen=True)
class Clustering:
    """Each row's cluster code along each dimension, and along their intersection when there are two.

    `codes[d]` is an int array (one code per row) and `signs[d]` +1 for a dimension, -1 for the intersection.
    """

    codes: tuple[np.ndarray, ...]
    signs: tuple[int, ...]

    @classmethod
    def of(cls, columns: Sequence[np.ndarray]) -> Clustering:
        """The clustering given by one or two columns of cluster names, one name per row."""
        if not 1 <= len(columns) <= 2:
            raise AuditError(CLUSTERS_NEED_ONE_OR_TWO.format(n=len(columns)))
        codes = [np.unique(np.asarray(c, dtype=str), return_inverse=True)[1].astype(np.int64) for c in columns]
        signs = [1] * len(codes)
        if len(codes) == 2:
            width = int(codes[1].max()) + 1
            codes.append(np.unique(codes[0] * width + codes[1], return_inverse=True)[1].astype(np.int64))
            signs.append(-1)
        return cls(tuple(codes), tuple(signs))

    def subset(self, rows: np.ndarray) -> Clustering:
        return Clustering(tuple(c[rows] for c in self.codes), self.signs)

    def tables(self, groups: np.ndarray, n_groups: int, y_true: np.ndarray, y_pred: np.ndarray,
               table_shape: tuple[int, int]) -> list[np.ndarray]:
        """Per dimension, the count tables of each (group, cluster): shape (n_groups, clusters, T, P)."""
        n_true, n_pred = table_shape
        out = []
        for codes in self.codes:
            n_clusters = int(codes.max()) + 1 if len(codes) else 0
            cells = ((groups * n_clusters + codes) * n_true + y_true) * n_pred + y_pred
            out.append(np.bincount(cells, minlength=n_groups * n_clusters * n_true * n_pred)
                       .reshape(n_groups, n_clusters, n_true, n_pred))
        return out


def effective_counts(shares: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], cluster_tables: Sequence[np.ndarray],
                     signs: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(k / deff, n / deff) of a share whose rows are clustered; `cluster_tables[d]` holds one count table per
    cluster of dimension d on its second-to-last-but-one axis (..., clusters, T, P)."""
    k, n = (np.asarray(a, dtype=np.float64) for a in shares(cluster_tables[0].sum(axis=-3)))
    p = safe_divide(k, n)
    variances = []
    for tables in cluster_tables:
        k_c, n_c = (np.asarray(a, dtype=np.float64) for a in shares(tables))
        # G: the clusters that hold rows of this share (impostor trials for FMR).
        g = (n_c > 0).sum(axis=-1)
        correction = np.where(g > 1, g / np.maximum(g - 1, 1), 1.0)
        variances.append(correction * safe_divide(((k_c - p[..., None] * n_c) ** 2).sum(axis=-1), n**2))
    variance = sum(sign * v for sign, v in zip(signs, variances))
    one_way = np.max([v for sign, v in zip(signs, variances) if sign > 0], axis=0)
    variance = np.where(variance > 0, variance, one_way)
    naive = safe_divide(p * (1.0 - p), n)
    with np.errstate(invalid="ignore"):
        deff = np.where(naive > 0, np.maximum(1.0, safe_divide(variance, naive)), 1.0)
    return k / deff, n / deff
