"""Issue 20 without a GPU: is the emotion crop framed as real photos need?

The model's template (its ONNX metadata, measured at export as the median MTCNN landmarks of 1,000 fer4
training faces: fer_core/training/template.py) frames FER2013's 48x48 faces. MTCNN places landmarks on a
sharp 200-px face otherwise than on a blurred 48-px one, so the same template may show a real-photo face a
little larger or smaller, higher or lower, than the training faces were. This scores the shipped model on
the same detections with the template zoomed about its centroid (zoom > 1: the face fills more of the crop)
or moved up and down, on fer4's deduplicated validation split end to end (the detector on the 48x48 image,
as benchmarks/emotion_real_photos.py reads fer4 test) and on the real-photo dev set end to end (the central
face of each photo, the detector's tight-crop retry on). Gaps are paired against the shipped framing.
A framing is worth shipping only if it helps every real-photo source, not the pooled score alone.

    PYTHONPATH=. python experiments/emotion_crop_framing.py [--out experiments/reports/emotion_crop_framing]

About 10 minutes on the 2-core CPU.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from emotion_head_refit import (
    DEFAULT_DATA,
    DEFAULT_MODEL,
    central_faces,
    paired_gap,
    plain,
    real_photo_cells,
    real_photo_rows,
    scores,
)

from fer_core.alignment import align_face
from fer_core.emotion import EmotionModel
from fer_core.images import load_image
from fer_core.training.data import CLASSES, load_splits

ZOOMS = (0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15)
SHIFTS = (-2.0, -1.0, 1.0, 2.0)  # crop pixels (of 48) at zoom 1; + moves the face down, showing more forehead
SHIPPED = "zoom 1, shift 0"


def framings(template: np.ndarray) -> dict[str, np.ndarray]:
    """The shipped template and its variants, by name."""
    centre = template.mean(axis=0)
    out = {f"zoom {z:g}, shift 0": centre + (template - centre) * z for z in ZOOMS}
    out.update({f"zoom 1, shift {dy:+g}": template + np.array([0.0, dy], dtype=np.float32) for dy in SHIFTS})
    return {name: points.astype(np.float32) for name, points in out.items()}


def framed_crops(model: EmotionModel, photos, templates: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], list[int]]:
    """Each framing's crops of the central detected face of every photo, and the indices of the photos with a
    face. `photos` yields uint8 RGB images."""
    crops: dict[str, list[np.ndarray]] = {name: [] for name in templates}
    kept = []
    for i, rgb, face in central_faces(model, photos):
        kept.append(i)
        for name, template in templates.items():
            crops[name].append(align_face(rgb, face.landmarks, template, model.input_size))
    return {name: np.stack(c) for name, c in crops.items()}, kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--fer4", type=Path, default=Path("../shared/data/fer4"))
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the real-photo dev set")
    parser.add_argument("--out", type=Path, default=Path("experiments/reports/emotion_crop_framing"))
    args = parser.parse_args(argv)

    model = EmotionModel(args.model)
    if model.classes != CLASSES:
        raise SystemExit(f"{args.model}: classes {model.classes}, expected {CLASSES}")
    templates = framings(model.template)

    validation = load_splits(args.fer4)[0]["validation"]
    val_crops, val_kept = framed_crops(model, (np.repeat(g[..., None], 3, axis=-1) for g in validation.images), templates)
    val_labels = validation.labels[val_kept]
    rows = real_photo_rows(args.data)
    real_crops, real_kept = framed_crops(model, (load_image(args.data / r["path"]) for r in rows), templates)
    real_labels = np.array([CLASSES.index(rows[i]["label"]) for i in real_kept])
    sources = np.array([rows[i]["source"] for i in real_kept])

    probs = {name: (model.predict(val_crops[name]), model.predict(real_crops[name])) for name in templates}
    shipped_real = probs[SHIPPED][1].argmax(axis=1)
    results = []
    for name, (val, real) in probs.items():
        real_scores = scores(np.log(real + 1e-12), real_labels, 1.0)
        predicted = real_scores["predicted"]
        results.append({
            "framing": name,
            "template": templates[name].round(2).tolist(),
            "validation": scores(np.log(val + 1e-12), val_labels, 1.0),
            "real": real_scores,
            "real_gap": paired_gap(shipped_real, predicted, real_labels),
            "real_by_source": {s: float((predicted[sources == s] == real_labels[sources == s]).mean())
                               for s in sorted(set(sources.tolist()))},
        })

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(plain(results), indent=2))
    source_names = sorted(set(sources.tolist()))
    lines = [
        f"# Framing of the emotion crop ({model.name} {model.version})", "",
        "`PYTHONPATH=. python experiments/emotion_crop_framing.py` on the 2-core CPU: the shipped template "
        "zoomed about its centroid or moved vertically (crop pixels of 48).", "",
        f"Validation: fer4's deduplicated split end to end, {len(val_labels)} of {len(validation.labels)} faces "
        f"detected. Real photos: {len(real_labels)} detected faces. Gap: real-photo accuracy minus the shipped "
        "framing's, paired percentile bootstrap 95% (2000 resamples).", "",
        "| framing | validation acc | validation macro-F1 | real acc | real macro-F1 | recall "
        + " / ".join(CLASSES) + " | gap vs shipped [95% CI] | " + " | ".join(source_names) + " |",
        "|---|---|---|---|---|---|---|" + "---|" * len(source_names),
    ]
    for r in results:
        by_source = " | ".join(f"{r['real_by_source'][s]:.3f}" for s in source_names)
        lines.append(f"| {r['framing']} | {real_photo_cells(r)} | {by_source} |")
    (args.out / "README.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
