"""Do the real-photo intervals need to resample people rather than faces? How much wider they get, and whether it
changes a paired gap between two models.

The real-photo dev set shows one face per photo, but 60% of its faces belong to a person with several photos
(one IMFDB actor has 137), so faces are not independent. benchmarks/emotion_real_photos.py resamples people
within each source; the experiments before it resampled faces. Here the shipped model and 0.4.2 (git d55b75d)
are scored on the same detected faces as that benchmark, and the accuracy, macro-F1 and the paired accuracy
gap get 95% percentile bootstrap intervals three ways (governance.bias_audit.confusion_estimates,
paired_difference_estimates; 2000 resamples, seed 0): faces; people within their source (the benchmark's);
people in one pool (the mix of sources left to chance too).

    PYTHONPATH=. python experiments/real_photo_interval_clusters.py [--out experiments/reports/real_photo_interval_clusters.md]

About 5 minutes on the 2-core CPU (scoring 1,488 photos with two models).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from emotion_real_photos import CLASSES, REPO, Models, model_file, read_manifest, score_real_photos
from emotion_real_photos_data import DEFAULT_DATA

from governance.bias_audit import confusion_estimates, paired_difference_estimates, tables_by_cluster

BASELINE = "git:d55b75d:models/emotion_vgg16.onnx"  # 0.4.2
N_BOOT = 2000


def intervals(labels: np.ndarray, shipped: np.ndarray, baseline: np.ndarray,
              clusters: list[tuple[str, str]] | None) -> tuple[dict, dict]:
    table, strata = tables_by_cluster(clusters, (labels, shipped), classes=CLASSES)
    joint, _ = tables_by_cluster(clusters, (labels, shipped, baseline), classes=CLASSES)
    return (confusion_estimates(table, CLASSES, n_boot=N_BOOT, seed=0, strata=strata),
            paired_difference_estimates(joint, CLASSES, n_boot=N_BOOT, seed=0, strata=strata))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=REPO / "experiments" / "reports" / "real_photo_interval_clusters.md")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        models = Models([REPO / "models" / "emotion_vgg16.onnx", model_file(BASELINE, Path(folder))], [])
        scored = score_real_photos(models, read_manifest(args.data, None), args.data)
    shipped_name, baseline_name = models.all_names[:2]
    shipped, baseline = (np.array(scored.predictions[name]) for name in (shipped_name, baseline_name))
    faces = np.flatnonzero((shipped >= 0) & (baseline >= 0))
    labels = np.array(scored.labels)[faces]
    people = [(scored.sources[i], scored.subjects[i]) for i in faces]
    photos_of = Counter(people)
    ways = {
        "faces": None,
        "people within their source (benchmarks/emotion_real_photos.py)": people,
        "people in one pool": [("all", f"{source}/{person}") for source, person in people],
    }
    lines = [
        "# Real-photo intervals: faces or people?", "",
        f"`{' '.join(['PYTHONPATH=. python', *sys.argv])}`", "",
        f"{len(faces)} faces detected for both models, {len(photos_of)} people; "
        f"{sum(n for n in photos_of.values() if n > 1) / len(faces):.0%} of the faces belong to a person with "
        f"several photos (at most {max(photos_of.values())}). 95% percentile bootstrap, {N_BOOT} resamples, seed 0; "
        f"gap: {shipped_name} minus {baseline_name} ({BASELINE}), paired.", "",
        "| resampled | accuracy | width | macro-F1 width | paired accuracy gap | width |",
        "|---|---|---|---|---|---|",
    ]
    widths = {}
    for way, clusters in ways.items():
        own, gap = intervals(labels, shipped[faces], baseline[faces], clusters)
        acc, f1, diff = own["accuracy"], own["macro_f1"], gap["accuracy"]
        widths[way] = (acc.high - acc.low, diff.high - diff.low)
        lines.append(f"| {way} | {acc.value:.4f} [{acc.low:.4f}, {acc.high:.4f}] | {acc.high - acc.low:.4f} | "
                     f"{f1.high - f1.low:.4f} | {diff.value:+.4f} [{diff.low:+.4f}, {diff.high:+.4f}] | "
                     f"{diff.high - diff.low:.4f} |")
    base_accuracy, base_gap = widths["faces"]
    lines += ["", "Widths against resampling faces: " + "; ".join(
        f"{way}: accuracy x{accuracy / base_accuracy:.2f}, paired gap x{gap / base_gap:.2f}"
        for way, (accuracy, gap) in widths.items() if way != "faces") + "."]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
