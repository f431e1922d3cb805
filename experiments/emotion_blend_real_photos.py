"""Issue 20: would a model trained apart (a CPU run, another seed) help as one more member of the shipped
ensemble? Blends the shipped model's calibrated probabilities with each candidate ONNX model's, at a few
shares, and scores every blend on the deduplicated fer4 validation split and on the real-photo dev set end
to end (as benchmarks/emotion_real_photos.py reads it: the detector with its tight-crop retry, the central
face of each photo, each model's own aligned crop), with paired bootstrap gaps against the shipped model.

A blend of probabilities is a proxy for an ensemble (which averages its members' logits in one graph,
fer_core/training/ensemble.py): it says whether a member is worth merging, not what the merged model scores.
The share to read is chosen on validation; the real-photo rows of the other shares are shown, not chosen from.
With several candidates, their mean is blended too (a proxy for the candidates merged as one ensemble).

    PYTHONPATH=. python experiments/emotion_blend_real_photos.py CANDIDATE.onnx... [--shares 0.33 0.5 1] \
        [--out experiments/reports/emotion_blend_real_photos]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from emotion_head_refit import (
    DEFAULT_DATA,
    DEFAULT_MODEL,
    paired_gap,
    plain,
    real_photo_cells,
    real_photo_crops,
    scores,
)

from fer_core.emotion import EmotionModel
from fer_core.training.data import CLASSES, load_splits
from fer_core.training.ferplus import ferplus_majority_labels

DEFAULT_FER4 = Path("../shared/data/fer4")


def validation_faces(fer4: Path, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The deduplicated validation split as the uint8 RGB crops an ONNX model takes, its fer4 labels and its
    FER+ majority labels (-1: no majority among the four classes)."""
    splits, _ = load_splits(fer4, size=size, classes=CLASSES)
    validation = splits["validation"]
    return (np.repeat(validation.images[..., None], 3, axis=-1), validation.labels,
            ferplus_majority_labels(validation.paths, fer4))


def blends(base: dict, probs: dict, shares: list[float], name: str) -> list[tuple[str, float, dict]]:
    """The shipped model's probabilities blended with a candidate's at each share, as report rows."""
    return [(f"{name} at {share:g}", share, {k: (1 - share) * base[k] + share * probs[k] for k in base})
            for share in shares]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("candidates", type=Path, nargs="+", help="ONNX emotion models (exported runs)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="the shipped model")
    parser.add_argument("--shares", type=float, nargs="+", default=[0.33, 0.5, 1.0],
                        help="the candidate's share of each blend (1: the candidate alone)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the real-photo dev set")
    parser.add_argument("--fer4", type=Path, default=DEFAULT_FER4)
    parser.add_argument("--out", type=Path, default=Path("experiments/reports/emotion_blend_real_photos"))
    args = parser.parse_args(argv)

    shipped = EmotionModel(args.model)
    faces, labels, ferplus_labels = validation_faces(args.fer4, shipped.input_size[0])
    has_majority = ferplus_labels >= 0
    crops, real_labels, _, people = real_photo_crops(shipped, args.data)
    base = {"validation": shipped.predict(faces), "real": shipped.predict(crops)}
    rows = [("shipped " + shipped.version, 0.0, base)]
    candidate_probs = []
    for path in args.candidates:
        candidate = EmotionModel(path)
        if candidate.classes != shipped.classes or candidate.input_size != shipped.input_size:
            parser.error(f"{path}: classes or input size differ from the shipped model's")
        # Its own crop where its template differs (a template is measured on the training faces).
        own = crops if np.allclose(candidate.template, shipped.template) else real_photo_crops(candidate, args.data)[0]
        if len(own) != len(crops):
            parser.error(f"{path}: found {len(own)} real-photo faces, the shipped model's crops {len(crops)}")
        candidate_probs.append({"validation": candidate.predict(faces), "real": candidate.predict(own)})
        rows += blends(base, candidate_probs[-1], args.shares, candidate.version or path.name)
    if len(candidate_probs) > 1:
        together = {k: np.mean([probs[k] for probs in candidate_probs], axis=0) for k in base}
        rows += blends(base, together, args.shares, f"the {len(candidate_probs)} candidates' mean")

    results = []
    for name, share, probs in rows:
        # Probabilities already calibrated: their logs at temperature 1 give the same scores.
        valid_logs = np.log(probs["validation"] + 1e-12)
        valid = scores(valid_logs, labels, 1.0)
        real = scores(np.log(probs["real"] + 1e-12), real_labels, 1.0)
        ferplus = scores(valid_logs[has_majority], ferplus_labels[has_majority], 1.0)
        results.append({"model": name, "share": share, "validation": valid, "validation_ferplus": ferplus,
                        "real": real,
                        "real_gap": paired_gap(base["real"].argmax(axis=1), real["predicted"], real_labels,
                                               people=people)})

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(plain(results), indent=2))
    lines = [
        "# Blends of the shipped model with candidate members (validation and real photos)", "",
        f"`PYTHONPATH=. python experiments/emotion_blend_real_photos.py {' '.join(map(str, args.candidates))} "
        f"--shares {' '.join(f'{s:g}' for s in args.shares)}`", "",
        f"Validation: fer4's deduplicated split, n={len(labels)}; its FER+ reading: the {int(has_majority.sum())} "
        "of those faces with a FER+ majority among the four classes, scored against it. "
        f"Real photos: {len(real_labels)} detected faces. "
        "Gap: real-photo accuracy minus the shipped model's, paired percentile bootstrap 95% (2000 resamples of the "
        "people photographed, drawn within each source: photos of one person are not independent).", "",
        "| model (candidate share) | validation acc | validation macro-F1 | real acc | real macro-F1 | "
        "recall " + " / ".join(CLASSES) + " | gap vs shipped [95% CI] | validation, FER+ majority acc / macro-F1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {r['model']} | {real_photo_cells(r)} | {r['validation_ferplus']['accuracy']:.3f} / "
              f"{r['validation_ferplus']['macro_f1']:.3f} |" for r in results]
    (args.out / "README.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
