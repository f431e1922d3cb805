"""Emotion benchmark on real photos, end to end through FaceAnalyzer, with the two released models side by side.

    PYTHONPATH=. python benchmarks/emotion_real_photos.py [--emotion-model models/emotion_vgg16.onnx ...]
    PYTHONPATH=. python benchmarks/emotion_real_photos.py --emotion-model models/emotion_vgg16.onnx \
        --emotion-model git:COMMIT:models/emotion_vgg16.onnx      # beside the release a commit shipped

Four evaluation sets, each scored for every model on exactly the same faces:
- real photos: the dev set of benchmarks/emotion_real_photos_data.py (--data; its manifest.csv). Each
  photo goes through FaceAnalyzer (MTCNN detection, alignment, Unveil's emotion model); the face scored is
  the detected face whose box centre is nearest the photo's centre (the sources centre their subject). A
  photo with no face is counted as not detected and left out of every model's metrics alike.
- fer4 test end to end: the deduplicated fer4 test split (fer_core.training.data.load_splits) through the
  same path. These are 48x48 face crops, not photos, cut at the forehead and chin: the detector misses
  many of them even with its tight-crop retry, which the detection count shows.
- fer4 test, whole image as the face: the protocol of the published fer4 numbers (model cards, README):
  Unveil's model reads the 48x48 image as its aligned crop; mini-Xception the image resized to 64x64; the
  face-api net the image as its face tensor (resized to 112x112 by face-api's own rule).
- fer4 test, whole image, FER+ majority labels: the same reading scored against the FER+ crowd's majority
  (fer_core.training.ferplus.ferplus_majority_labels) instead of fer4's single label, on the faces whose
  majority is one of the four classes: the issue's second reading of test.

Unveil models get FaceAnalyzer's aligned crop (the first --emotion-model runs inside FaceAnalyzer; any
further model gets `EmotionModel.align` on the same landmarks, which is what FaceAnalyzer does with it).
The released models (benchmarks/released_emotion_models.py) get the crop their own library cuts from
the same detection's box. Their 7 classes are read as Unveil's four by taking the most probable of
happy, neutral, sad and surprise(d).

Metrics: accuracy, macro-F1, per-class recall and the confusion matrix over the faces detected, with
percentile bootstrap 95% intervals (governance.bias_audit.confusion_estimates); the gap of each model to
the first Unveil model with a paired bootstrap interval (paired_difference_estimates). On real photos the
intervals resample the people photographed, within each source, not single faces: 1,488 photos show 689
people (IMFDB 555 photos of 8 actors, Yale 15 people in four expressions each), and photos of one person are
not independent. fer4 names nobody, so its intervals resample faces. The
real photos also by source and by group (GROUPS: how the face was found, its width); and the calibration of
each model's probabilities per set, source and group (governance.bias_audit.calibration_estimates: mean
confidence against accuracy, fer_core.calibration's ECE and its floor under perfect calibration, the ECE's
interval resampled as the other intervals are), with a reliability diagram (RELIABILITY_FIGURE). The released
models' probabilities are their four classes' divided by their sum (their other three classes left out).
Writes docs/reports/emotion_real_photos.{md,json} and the diagram (or --out) and per-face predictions and
probabilities (CSV) beside the data, outside the repository.
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fer_core.analyzer import Face, FaceAnalyzer, default_detector
from fer_core.calibration import ECE_BINS
from fer_core.emotion import EmotionModel
from fer_core.images import load_image
from governance.bias_audit import (
    calibration_estimates,
    confusion_estimates,
    paired_difference_estimates,
    tables_by_cluster,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from emotion_real_photos_data import DEFAULT_DATA, TERMS
from released_emotion_models import DEFAULT_CACHE, ReleasedModel, released_models

REPO = Path(__file__).resolve().parents[1]
CLASSES = ("happy", "neutral", "sad", "surprise")
COMMAND = "PYTHONPATH=. python benchmarks/emotion_real_photos.py"
GIT_SPEC = "git:"  # --emotion-model git:REVISION:PATH, a model as a commit holds it
DEFAULT_FER4 = REPO.parent / "shared" / "data" / "fer4"
DEFAULT_OUT = REPO / "docs" / "reports" / "emotion_real_photos"
# Real photos are also scored by group. "how the face was found": the detector's first search, or only its
# tight-crop retry (fer_core.detection.TIGHT_CROP_PAD), which reads photos cropped close around a face.
# "face width": the detected box's width, in bins (upper bounds, px), to tell small faces from hard sources.
FOUND_BY = "how the face was found"
FIRST_SEARCH = "first search"
TIGHT_CROP_RETRY = "tight-crop retry"
FACE_WIDTH = "face width"
FACE_WIDTH_BINS = ((48, "under 48 px"), (64, "48-63 px"), (96, "64-95 px"), (float("inf"), "96 px and over"))
# "source and face width": the two crossed, because the sources differ in face size (every face under 64 px is a
# film still): whether small faces read worse than large ones of the same source.
SOURCE_AND_WIDTH = "source and face width"
GROUPS = {FOUND_BY: (FIRST_SEARCH, TIGHT_CROP_RETRY), FACE_WIDTH: tuple(label for _, label in FACE_WIDTH_BINS),
          SOURCE_AND_WIDTH: tuple(f"{source}, {label}" for source in TERMS for _, label in FACE_WIDTH_BINS)}
GROUP_NOTES = {
    FOUND_BY: f"`{FIRST_SEARCH}`: the detector's own search; `{TIGHT_CROP_RETRY}`: photos where that found no face "
              "and the retry on the photo with a margin did (fer_core.detection.TIGHT_CROP_PAD).",
    FACE_WIDTH: "The width of the detected face box in the photo's pixels (the models read 48x48 crops).",
    SOURCE_AND_WIDTH: "Each source's faces by the width of their detected box: face size within one kind of photo.",
}
# The reliability diagram beside the report (--out with this suffix): real photos pooled for every model, and the
# first model by source beside its fer4 test reading.
RELIABILITY_FIGURE = "_reliability.png"
# Faces used for the released models' parity checks when they are first converted: every this-many-th photo.
PARITY_STRIDE = 50


@dataclass
class EvalSet:
    """One evaluation set's faces: true class index, source, each model's predicted class (-1: no face), each
    model's probabilities over CLASSES (NaN: no face), and each face's key in every group of GROUPS
    ("" when no face was found, or the set is not grouped)."""

    name: str
    labels: list[int] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    predictions: dict[str, list[int]] = field(default_factory=dict)
    probabilities: dict[str, list[np.ndarray]] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    subjects: list[str] = field(default_factory=list)  # the person photographed (real photos): the bootstrap's unit

    def add(self, path: str, label: int, source: str, predicted: dict[str, int],
            probabilities: dict[str, np.ndarray] | None = None, groups: dict[str, str] | None = None,
            subject: str | None = None) -> None:
        if subject is not None:
            self.subjects.append(subject)
        self.paths.append(path)
        self.labels.append(label)
        self.sources.append(source)
        for model, value in predicted.items():
            self.predictions.setdefault(model, []).append(value)
        for model, row in (probabilities or {}).items():
            self.probabilities.setdefault(model, []).append(row)
        for group, key in (groups or {}).items():
            self.groups.setdefault(group, []).append(key)

    def add_photo(self, path: str, label: int, source: str, read: Reading | None, models: Models,
                  groups: dict[str, str] | None = None, subject: str | None = None) -> None:
        """A photo as Models.photo read it (None: no face; every prediction -1, every probability NaN)."""
        if read is None:
            self.add(path, label, source, dict.fromkeys(models.all_names, -1),
                     dict.fromkeys(models.all_names, np.full(len(CLASSES), np.nan)), groups, subject)
        else:
            self.add(path, label, source, read.predicted, read.probabilities, groups, subject)


@dataclass(frozen=True)
class Reading:
    """What the models read in one photo's central face: each model's class index, each model's probabilities
    over CLASSES, and the face box's width in pixels."""

    predicted: dict[str, int]
    probabilities: dict[str, np.ndarray]
    face_width: float


def width_bin(width: float) -> str:
    return next(label for bound, label in FACE_WIDTH_BINS if width < bound)


class Models:
    """Unveil's model(s) through FaceAnalyzer, and the released ones on crops of the same detections."""

    def __init__(self, unveil_paths: list[Path], released: list[ReleasedModel]) -> None:
        self.unveil = [EmotionModel(path) for path in unveil_paths]
        self.names = [f"Unveil {m.version or m.name}" for m in self.unveil]
        if len(set(self.names)) < len(self.names):
            self.names = [f"Unveil {m.name} ({m.version}) #{i + 1}" for i, m in enumerate(self.unveil)]
        self.released = released
        # FaceAnalyzer's own default detector; only identity is off (it plays no part in emotion).
        self.analyzer = FaceAnalyzer(emotion_model=self.unveil[0], identity_model=False)
        self.first_search = default_detector()
        self.first_search.tight_crop_retry = False

    @property
    def all_names(self) -> list[str]:
        return self.names + [m.name for m in self.released]

    def photo(self, rgb: np.ndarray) -> Reading | None:
        """What every model reads in the central face of a photo, or None when no face is detected."""
        face = central_face(self.analyzer.analyze(rgb), rgb.shape)
        if face is None:
            return None
        # FaceAnalyzer reads no emotion of a face whose mouth is outside the photo (fer_core.emotion.mouth_outside):
        # the first model is then scored on the crop it would have read, so that all are compared on the same faces.
        first = 1 if face.emotion is not None else 0
        probabilities = {self.names[0]: np.array([face.emotion_probs[c] for c in CLASSES])} if first else {}
        for name, model in zip(self.names[first:], self.unveil[first:]):
            probabilities[name] = _in_class_order(model, model.predict(model.align(rgb, face.landmarks)[None]))[0]
        for model in self.released:
            probs = model.probabilities(model.crop(rgb, [face.box]))
            probabilities[model.name] = model.four_class_probabilities(probs, CLASSES)[0]
        out = {name: int(np.argmax(row)) for name, row in probabilities.items()}
        return Reading(out, probabilities, face.box[2])

    def found_by(self, rgb: np.ndarray) -> str:
        """How the analyzer found the faces of a photo it found faces in."""
        return FIRST_SEARCH if self.first_search.detect(rgb) else TIGHT_CROP_RETRY

    def whole_images(self, gray: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Each model's class indices and probabilities over CLASSES for 48x48 grey face images read whole (the
        fer4 protocol)."""
        import cv2

        rgb = np.repeat(gray[..., None], 3, axis=-1)
        out, probabilities = {}, {}
        for name, model in zip(self.names, self.unveil):
            h, w = model.input_size
            crops = rgb if (h, w) == rgb.shape[1:3] else np.stack([cv2.resize(i, (w, h)) for i in rgb])
            probabilities[name] = _in_class_order(model, model.predict(crops))
            out[name] = probabilities[name].argmax(axis=1)
        for model in self.released:
            probs = np.concatenate([model.probabilities(model.whole(gray[i:i + 256]))
                                    for i in range(0, len(gray), 256)])
            probabilities[model.name] = model.four_class_probabilities(probs, CLASSES)
            out[model.name] = probabilities[model.name].argmax(axis=1)
        return out, probabilities


def _in_class_order(model: EmotionModel, probs: np.ndarray) -> np.ndarray:
    """An Unveil model's probability rows with their columns in CLASSES order."""
    return probs[:, [model.classes.index(c) for c in CLASSES]]


def central_face(faces: list[Face], shape: tuple[int, ...]) -> Face | None:
    if not faces:
        return None
    cy, cx = shape[0] / 2, shape[1] / 2
    return min(faces, key=lambda f: (f.box[0] + f.box[2] / 2 - cx) ** 2 + (f.box[1] + f.box[3] / 2 - cy) ** 2)


# --- scoring ---------------------------------------------------------------------------------------


def read_manifest(data: Path, limit: int | None) -> list[dict[str, str]]:
    manifest = data / "manifest.csv"
    if not manifest.is_file():
        raise SystemExit(f"no {manifest}: build the set first (benchmarks/emotion_real_photos_data.py)")
    with open(manifest, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return rows[:: max(1, len(rows) // limit)][:limit] if limit else rows


def score_real_photos(models: Models, rows: list[dict[str, str]], data: Path) -> EvalSet:
    scored = EvalSet("real photos")
    for i, row in enumerate(rows):
        rgb = load_image(data / row["path"])
        read = models.photo(rgb)
        groups = dict.fromkeys(GROUPS, "")
        if read is not None:
            width = width_bin(read.face_width)
            groups = {FOUND_BY: models.found_by(rgb), FACE_WIDTH: width, SOURCE_AND_WIDTH: f"{row['source']}, {width}"}
        scored.add_photo(row["path"], CLASSES.index(row["label"]), row["source"], read, models, groups, row["subject"])
        if (i + 1) % 200 == 0:
            print(f"  real photos: {i + 1}/{len(rows)}", flush=True)
    return scored


def score_fer4(models: Models, fer4: Path, limit: int | None) -> tuple[EvalSet, EvalSet, EvalSet]:
    from fer_core.training.data import load_splits
    from fer_core.training.ferplus import ferplus_majority_labels

    splits, _ = load_splits(fer4)
    test = splits["test"]
    index = np.arange(len(test))
    if limit:
        index = index[:: max(1, len(index) // limit)][:limit]
    end_to_end, whole = EvalSet("fer4 test, end to end"), EvalSet("fer4 test, whole image as the face")
    for k, i in enumerate(index):
        gray = test.images[i]
        read = models.photo(np.repeat(gray[..., None], 3, axis=-1))
        end_to_end.add_photo(test.paths[i], int(test.labels[i]), "fer4", read, models)
        if (k + 1) % 500 == 0:
            print(f"  fer4 end to end: {k + 1}/{len(index)}", flush=True)
    predictions, probabilities = models.whole_images(test.images[index])
    by_crowd = EvalSet("fer4 test, whole image, FER+ majority labels")
    majority = ferplus_majority_labels([test.paths[i] for i in index], fer4)
    for row, i in enumerate(index):
        read = {m: int(p[row]) for m, p in predictions.items()}, {m: p[row] for m, p in probabilities.items()}
        whole.add(test.paths[i], int(test.labels[i]), "fer4", *read)
        if majority[row] >= 0:
            by_crowd.add(test.paths[i], int(majority[row]), "fer4", *read)
    return end_to_end, whole, by_crowd


# --- metrics ---------------------------------------------------------------------------------------


def summarise(scored: EvalSet, models: list[str], *, n_boot: int, seed: int, by_source: bool) -> dict:
    labels = np.asarray(scored.labels)
    detected = np.asarray(scored.predictions[models[0]]) >= 0
    result = {"faces": len(labels), "detected": int(detected.sum()),
              "per_class_faces": {c: int((labels == k).sum()) for k, c in enumerate(CLASSES)},
              "per_class_detected": {c: int(((labels == k) & detected).sum()) for k, c in enumerate(CLASSES)},
              "models": {}}
    reference = np.asarray(scored.predictions[models[0]])
    # Faces that no model reads as labelled: hard or ambiguous faces, or label errors (a ceiling on every model).
    result["every_model_wrong"] = int(np.all([np.asarray(scored.predictions[m])[detected] != labels[detected]
                                              for m in models], axis=0).sum())
    result["resampled"] = "people within each source" if scored.subjects else "faces"
    for model in models:
        predicted = np.asarray(scored.predictions[model])
        tables, strata = count_tables(scored, detected, labels, predicted)
        estimates = confusion_estimates(tables, CLASSES, n_boot=n_boot, seed=seed, strata=strata)
        table = tables.sum(axis=0) if strata else tables
        entry = {"confusion": table.tolist(), **{k: v.to_dict() for k, v in estimates.items()},
                 "accuracy_missed_faces_wrong": float(np.trace(table) / max(1, len(labels)))}
        if model != models[0]:
            joints, strata = count_tables(scored, detected, labels, predicted, reference)
            gaps = paired_difference_estimates(joints, CLASSES, n_boot=n_boot, seed=seed, strata=strata)
            entry["minus_" + models[0]] = {k: v.to_dict() for k, v in gaps.items()}
        if model in scored.probabilities and detected.any():
            faces = np.flatnonzero(detected)
            people = [(scored.sources[i], scored.subjects[i]) for i in faces] if scored.subjects else None
            entry["calibration"] = calibration_estimates(np.stack(scored.probabilities[model])[faces], labels[faces],
                                                         clusters=people, n_boot=n_boot, seed=seed)
        result["models"][model] = entry
    if by_source:
        result["by_source"] = {source: summarise(_part(scored, models, scored.sources, source), models,
                                                 n_boot=n_boot, seed=seed, by_source=False)
                               for source in sorted(set(scored.sources))}
        result["by_group"] = {group: {key: summarise(_part(scored, models, scored.groups[group], key), models,
                                                     n_boot=n_boot, seed=seed, by_source=False)
                                      for key in keys if key in scored.groups[group]}
                              for group, keys in GROUPS.items() if group in scored.groups}
    return result


def count_tables(scored: EvalSet, detected: np.ndarray, labels: np.ndarray,
                 *predictions: np.ndarray) -> tuple[np.ndarray, list[str] | None]:
    """The detected faces counted by true class and each of `predictions` (a confusion or joint table), and the
    strata for confusion_estimates: for a set that names the person in each photo, one table per person (axis
    0) with each person's source as their stratum; otherwise one table for all and None (faces resampled)."""
    faces = np.flatnonzero(detected)
    people = [(scored.sources[i], scored.subjects[i]) for i in faces] if scored.subjects and len(faces) else None
    return tables_by_cluster(people, (labels[faces], *(p[faces] for p in predictions)), classes=CLASSES)


def _part(scored: EvalSet, models: list[str], keys: list[str], key: str) -> EvalSet:
    """The faces of `scored` whose entry in `keys` (its sources or one of its groups) is `key`."""
    keep = [i for i, k in enumerate(keys) if k == key]
    return EvalSet(key, [scored.labels[i] for i in keep], [scored.sources[i] for i in keep],
                   [scored.paths[i] for i in keep], {m: [scored.predictions[m][i] for i in keep] for m in models},
                   {m: [rows[i] for i in keep] for m, rows in scored.probabilities.items()},
                   {g: [entries[i] for i in keep] for g, entries in scored.groups.items()},
                   [scored.subjects[i] for i in keep] if scored.subjects else [])


# --- report ----------------------------------------------------------------------------------------


def _est(entry: dict) -> str:
    low, high = entry["ci"]
    if entry["value"] is None:
        return "n/a"
    return f"{entry['value']:.3f} [{low:.3f}, {high:.3f}]" if low is not None else f"{entry['value']:.3f}"


def _gap(entry: dict) -> str:
    low, high = entry["ci"]
    return f"{entry['value']:+.3f} [{low:+.3f}, {high:+.3f}]"


# The fer4 test figures published for these models (README, models/emotion_vgg16.md), read with the
# whole image as the face: the third evaluation set must reproduce them, which checks crops and conversions.
PUBLISHED_FER4 = "Unveil 0.5.0 0.795 / 0.786 (the card's test figures), Unveil 0.4.2 0.806 / 0.797, Unveil 0.4.1 0.806 / 0.798, Unveil 0.4.0 0.805 / 0.795, Unveil 0.3.0 0.796 / 0.787, mini-Xception 0.722 / 0.704, face-api 0.714 / 0.703"


def calibration_parts(report: dict) -> list[tuple[str, dict]]:
    """Every set, then the real photos by source and by group, as the calibration table lists them."""
    real = report["sets"]["real photos"]
    parts = list(report["sets"].items())
    parts += [(f"real photos, {source}", part) for source, part in real["by_source"].items()]
    return parts + [(f"real photos, {key}", part) for group in real.get("by_group", {}).values()
                    for key, part in group.items()]


def calibration_cells(calibration: dict) -> str:
    gap = calibration["mean_confidence"] - calibration["accuracy"]
    return (f"{calibration['accuracy']:.3f} | {calibration['mean_confidence']:.3f} | {gap:+.3f} | "
            f"{_est(calibration['ece'])} | {calibration['floor_if_calibrated']['upper_95']:.3f}")


def calibration_reading(name: str, calibration: dict) -> str:
    """One clause: how far the mean confidence is from accuracy, and the ECE against its floor."""
    gap = calibration["mean_confidence"] - calibration["accuracy"]
    ece, floor = calibration["ece"], calibration["floor_if_calibrated"]["upper_95"]
    side = "over-confident" if gap > 0 else "under-confident"
    return (f"{name}: {side} by {abs(gap) * 100:.1f} points (mean confidence {calibration['mean_confidence']:.3f}, "
            f"accuracy {calibration['accuracy']:.3f}; ECE {_est(ece)}, "
            + ("above" if ece["value"] > floor else "within") + f" the {floor:.3f} a calibrated model shows)")


def reading(report: dict) -> list[str]:
    """A few sentences from the numbers: where the first Unveil model stands on real photos, and its worst confusion."""
    models = list(report["models"])
    real = report["sets"]["real photos"]
    lines = []
    for model in models[1:]:
        gap = real["models"][model]["minus_" + models[0]]["accuracy"]
        verdict = ("ahead" if gap["ci"][0] > 0 else "behind" if gap["ci"][1] < 0 else "no clear difference")
        lines.append(f"- Real photos, {model} minus {models[0]}: {gap['value']:+.3f} accuracy, paired 95% interval "
                     f"[{gap['ci'][0]:+.3f}, {gap['ci'][1]:+.3f}]: {verdict}.")
    table = np.asarray(real["models"][models[0]]["confusion"])
    off = table - np.diag(np.diag(table))
    t, p = np.unravel_index(np.argmax(off), off.shape)
    lines.append(f"- {models[0]}'s most frequent error on real photos: {CLASSES[t]} read as {CLASSES[p]} "
                 f"({off[t, p]} of {table[t].sum()} {CLASSES[t]} faces).")
    lines.append(f"- {real['faces'] - real['detected']} of {real['faces']} photos had no face detected "
                 "(left out of every model's accuracy alike).")
    lines.append(f"- {models[0]}'s probabilities, temperature fitted on fer4 validation: on real photos "
                 + calibration_reading("pooled", real["models"][models[0]]["calibration"]) + "; by source: "
                 + "; ".join(calibration_reading(source, part["models"][models[0]]["calibration"])
                             for source, part in real["by_source"].items())
                 + (f"; {calibration_reading('fer4 test, whole image', fer4['models'][models[0]]['calibration'])}"
                    if (fer4 := report["sets"].get("fer4 test, whole image as the face")) else "") + ".")
    wrong = {"all": real, **real["by_source"]}
    lines.append("- Faces that every model here reads otherwise than their label (hard or ambiguous faces, or label "
                 "errors): " + ", ".join(f"{name} {part['every_model_wrong']} of {part['detected']} "
                                           f"({part['every_model_wrong'] / max(1, part['detected']):.0%})"
                                           for name, part in wrong.items()) + ".")
    if "fer4 test, whole image as the face" in report["sets"]:
        lines.append(f"- Check: the fer4 whole-image rows should reproduce the published figures ({PUBLISHED_FER4}).")
    return lines


def markdown(report: dict) -> str:
    models = list(report["models"])
    lines = [
        "# Emotion models on real photos, end to end (Unveil vs the released mini-Xception and face-api nets)",
        "",
        "Reproduce (the dev set first, see `benchmarks/emotion_real_photos_data.py`; about "
        f"{report['seconds'] / 60:.0f} min on this 2-core CPU):",
        "",
        "```bash",
        report["command"],
        "```",
        "",
        f"Generated {report['generated']}. Every model is scored on the same detected faces (FaceAnalyzer's MTCNN); "
        "intervals are percentile bootstrap 95% "
        f"({report['n_boot']} resamples) over the people photographed, drawn within each source, on real photos "
        "(photos of one person are not independent) and over faces on fer4 (which names nobody); a gap is paired "
        "(the same resampled people or faces for both models). "
        "Accuracy and macro-F1 are over detected faces; \"missed = wrong\" counts undetected faces as errors.",
        "",
        "## Reading",
        "",
        *reading(report),
        "",
        "## Summary",
        "",
        "| evaluation set | model | faces (detected) | accuracy | macro-F1 | missed = wrong | "
        + " | ".join(f"recall {c}" for c in CLASSES) + " |",
        "|---|---|---|---|---|---|" + "---|" * len(CLASSES),
    ]
    for name, part in report["sets"].items():
        for model in models:
            m = part["models"][model]
            lines.append(f"| {name} | {model} | {part['faces']} ({part['detected']}) | {_est(m['accuracy'])} | "
                         f"{_est(m['macro_f1'])} | {m['accuracy_missed_faces_wrong']:.3f} | "
                         + " | ".join(_est(m[f'recall[{c}]']) for c in CLASSES) + " |")
    lines += ["", f"## Gap to {models[0]} (model minus Unveil, paired)", "",
              "| evaluation set | model | accuracy gap | macro-F1 gap |", "|---|---|---|---|"]
    for name, part in report["sets"].items():
        for model in models[1:]:
            gap = part["models"][model]["minus_" + models[0]]
            lines.append(f"| {name} | {model} | {_gap(gap['accuracy'])} | {_gap(gap['macro_f1'])} |")
    real = report["sets"]["real photos"]
    lines += ["", "## Real photos by source", "",
              "| source | faces (detected) | model | accuracy | macro-F1 | "
              + " | ".join(f"recall {c}" for c in CLASSES) + " |",
              "|---|---|---|---|---|" + "---|" * len(CLASSES)]
    for source, part in real["by_source"].items():
        for model in models:
            m = part["models"][model]
            lines.append(f"| {source} | {part['faces']} ({part['detected']}) | {model} | {_est(m['accuracy'])} | "
                         f"{_est(m['macro_f1'])} | " + " | ".join(_est(m[f'recall[{c}]']) for c in CLASSES) + " |")
    for group, parts in real.get("by_group", {}).items():
        lines += ["", f"## Real photos by {group}", "", GROUP_NOTES[group], "",
                  f"| {group} | faces | model | accuracy | macro-F1 | " + " | ".join(f"recall {c}" for c in CLASSES)
                  + " |", "|---|---|---|---|---|" + "---|" * len(CLASSES)]
        for key, part in parts.items():
            for model in models:
                m = part["models"][model]
                lines.append(f"| {key} | {part['faces']} | {model} | {_est(m['accuracy'])} | {_est(m['macro_f1'])} | "
                             + " | ".join(_est(m[f'recall[{c}]']) for c in CLASSES) + " |")
    lines += ["", "## Calibration of the probabilities", "",
              "Each Unveil model's temperature was fitted on fer4 validation faces; the released models' "
              "probabilities are their four classes' divided by their sum. Mean confidence is the mean probability "
              "of the class read; confidence minus accuracy is how over-confident (+) or under-confident (-) it "
              f"is on the whole; ECE (fer_core.calibration: {ECE_BINS} equal-width bins over (0, 1]) is the "
              "faces-weighted mean of that gap bin by bin, with its bootstrap interval (resampled as the other "
              "intervals; the ECE is biased upwards and a resample adds noise, so the interval often starts at the "
              "ECE itself). Even a perfectly calibrated model shows an ECE on a finite set: the last column is "
              "the 95th percentile of that floor for the same confidences (an ECE above it is calibration error). "
              "A pooled ECE can hide miscalibration of opposite signs in its parts: read the sources too. "
              f"Reliability diagram: `{report['reliability_figure']}`.", "",
              "| evaluation set | model | faces | accuracy | mean confidence | confidence minus accuracy | ECE | "
              "ECE of a calibrated model (95%) |", "|---|---|---|---|---|---|---|---|"]
    for name, part in calibration_parts(report):
        for model in models:
            if "calibration" in part["models"][model]:
                lines.append(f"| {name} | {model} | {part['detected']} | "
                             + calibration_cells(part["models"][model]["calibration"]) + " |")
    lines += ["", "## Confusion matrices, real photos (rows: true class; columns: predicted)", ""]
    for model in models:
        table = real["models"][model]["confusion"]
        lines += [f"{model}:", "", "| true \\ predicted | " + " | ".join(CLASSES) + " |",
                  "|---|" + "---:|" * len(CLASSES)]
        lines += [f"| {c} | " + " | ".join(str(v) for v in row) + " |" for c, row in zip(CLASSES, table)]
        lines.append("")
    lines += ["## Faces per class (detected)", "", "| evaluation set | " + " | ".join(CLASSES) + " |",
              "|---|" + "---|" * len(CLASSES)]
    for name, part in report["sets"].items():
        lines.append(f"| {name} | " + " | ".join(f"{part['per_class_faces'][c]} ({part['per_class_detected'][c]})"
                                                for c in CLASSES) + " |")
    lines += ["", "## The models", ""]
    for model, about in report["models"].items():
        lines.append(f"- **{model}**: {about}")
    lines += ["", "Conversion parity (checked when each released model was converted):", ""]
    for model, parity in report["parity"].items():
        lines.append(f"- {model}: {parity['faces']} real faces, largest probability difference "
                     f"{parity['max_abs_prob_diff']:.2g}, same top class on {parity['same_argmax']}; reference: "
                     f"{parity['reference']}" + (f" ({parity['note']})" if parity.get("note") else ""))
    lines += ["", "## Caveats", ""] + [f"- {c}" for c in report["caveats"]] + [""]
    return "\n".join(lines)


CAVEATS = [
    "The real-photo labels of the lfw and imfdb sources are one student annotator's reading of each photo "
    "(muxspace/facial_expressions); sad and surprise in news photos are rare and often ambiguous (an open "
    "mouth mid-speech labelled surprise), so every model's sad and surprise recall is partly label noise.",
    "The real-photo intervals resample people, not faces (one LFW person or one film actor in several photos; "
    "imfdb holds 8 actors, so its own intervals rest on 8 draws and are wide): they speak for other people's "
    "photos of the same kinds, not for other kinds of photo. fer4's intervals resample faces.",
    "The released models are scored with Unveil's detector, not their own (fer: Haar cascade or facenet-pytorch's "
    "MTCNN; face-api: its SSD/tiny detectors), so their boxes differ a little from what their libraries would use "
    "alone. The crop from the box is their library's own.",
    "Their 7-class outputs are read as four classes by argmax over happy, neutral, sad and surprise(d); faces "
    "they would call angry, disgusted or fearful still get one of the four.",
    "The dev set is for evaluation only: never for training or threshold tuning by hand, never in published "
    "pictures, never committed (only its manifest, under docs/reports/emotion_real_photos_data/).",
]


def plot_reliability(report: dict, path: Path) -> None:
    """Accuracy against mean confidence in each ECE bin (fer_core.calibration.reliability_bins), a marker's area
    growing with its faces: left, every model on the real photos pooled; right, the first model by source and
    on fer4 test (whole image)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(report["models"])
    real = report["sets"]["real photos"]
    fer4 = report["sets"].get("fer4 test, whole image as the face")
    panels = [("Real photos, every model", [(m, real["models"][m]["calibration"]) for m in models]),
              (f"{models[0]}: by source", [(source, part["models"][models[0]]["calibration"])
                                           for source, part in real["by_source"].items()]
               + ([("fer4 test (whole image)", fer4["models"][models[0]]["calibration"])] if fer4 else []))]
    figure, axes = plt.subplots(1, 2, figsize=(11, 5.2))
    for axis, (title, curves) in zip(axes, panels):
        axis.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="calibrated")
        for label, calibration in curves:
            points = calibration["reliability"]
            confidence = [b["mean_confidence"] for b in points]
            accuracy = [b["accuracy"] for b in points]
            line, = axis.plot(confidence, accuracy, linewidth=1.2,
                              label=f"{label}: ECE {calibration['ece']['value']:.3f}")
            axis.scatter(confidence, accuracy, s=[4 + 400 * b["faces"] / sum(p["faces"] for p in points) for b in points],
                         color=line.get_color(), alpha=0.7)
        axis.set(xlim=(0.2, 1), ylim=(0, 1), xlabel="mean confidence in the bin", ylabel="accuracy in the bin",
                 title=title)
        axis.legend(loc="upper left", fontsize=8)
        axis.grid(alpha=0.3)
    figure.suptitle(f"Reliability, end to end through FaceAnalyzer ({ECE_BINS} equal-width bins; "
                    "marker area: share of the faces)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_card_evaluation(path: Path, report: dict, reference: str, model_path: Path) -> None:
    """The first Unveil model's real-photo accuracy, macro-F1 and recalls (with their intervals), its mean
    confidence and calibration error, and each other model's gap to it, as a model-card evaluation (checked
    against the model file's SHA-256)."""
    from governance.model_cards import write_evaluation

    real = report["sets"]["real photos"]
    scores = real["models"][reference]
    metrics = {key: scores[key] for key in ["accuracy", "macro_f1", *(f"recall[{c}]" for c in CLASSES)]}
    calibration = scores["calibration"]
    metrics.update(mean_confidence=calibration["mean_confidence"], ece=calibration["ece"],
                   ece_if_calibrated_95=calibration["floor_if_calibrated"]["upper_95"])
    findings = []
    for name, other in real["models"].items():
        if name == reference:
            continue
        gap = other["minus_" + reference]["accuracy"]
        findings.append(f"{name}: accuracy {other['accuracy']['value']:.3f}, {gap['value']:+.3f} against this model "
                        f"(paired 95% interval [{gap['ci'][0]:+.3f}, {gap['ci'][1]:+.3f}])"
                        + (f"; its probabilities {calibration_reading('', other['calibration']).lstrip(': ')}"
                           if "calibration" in other else ""))
    calibration_caveat = ("Calibrated on FER2013 (fer4) validation faces, not on real photos. End to end on the real "
                          "photos: " + calibration_reading("pooled", calibration) + "; by source: "
                          + "; ".join(calibration_reading(source, part["models"][reference]["calibration"])
                                      for source, part in real["by_source"].items())
                          + ". A probability is not a calibrated chance of being right on any one kind of photo.")
    write_evaluation(
        path, kind="emotion", models=[model_path],
        evaluation_data={
            "name": "real photos end to end",
            "description": f"{real['faces']} colour photos (LFW news photos, IMFDB-style film crops, Yale faces; "
                           f"{real['detected']} faces detected), through FaceAnalyzer: detection, alignment, this "
                           "model; evaluation only, never training data. Intervals: percentile bootstrap 95% over the "
                           "people photographed, drawn within each source.",
            "source": "benchmarks/emotion_real_photos_data.py (manifest and licences in "
                      "docs/reports/emotion_real_photos_data/SOURCE.md)",
        },
        metrics=metrics, findings=findings, command=report["command"], caveats=[calibration_caveat],
        definitions={**{f"recall[{c}]": f"share of {c} faces predicted as {c}" for c in CLASSES},
                     "mean_confidence": "mean probability of the class read (the temperature was fitted on fer4 "
                                        "validation)",
                     "ece_if_calibrated_95": "95th percentile of the ECE a perfectly calibrated model with the same "
                                             "confidences shows on as many faces (fer_core.calibration); an ECE above "
                                             "it is calibration error"},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the real-photo set (manifest.csv inside)")
    parser.add_argument("--fer4", type=Path, default=DEFAULT_FER4, help="fer4 root (train/validation/test)")
    parser.add_argument("--emotion-model", action="append",
                        help="an Unveil emotion model: a file, or git:REVISION:PATH for one committed (an earlier "
                             "release), so that the command in a card reproduces from a clone; repeat to compare "
                             "several (default: the shipped one); the first is the reference of the gaps")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where the converted released models live")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="report path without suffix (.md and .json)")
    parser.add_argument("--n-boot", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, help="score only this many faces per set (a quick look)")
    parser.add_argument("--skip-fer4", action="store_true")
    parser.add_argument("--card-evaluation", type=Path,
                        help="also write the first model's real-photo figures as an evaluation JSON for its model card "
                             "(governance.model_cards --evaluation)")
    args = parser.parse_args(argv)

    start = time.time()
    committed = tempfile.TemporaryDirectory(prefix="unveil-models-")
    unveil_paths = [model_file(spec, Path(committed.name)) for spec in args.emotion_model or []] \
        or [REPO / "models" / "emotion_vgg16.onnx"]
    rows = read_manifest(args.data, args.limit)
    parity_photos = _parity_photos(rows, args.data)
    released, parity = released_models(args.cache, parity_photos)
    models = Models(unveil_paths, released)
    sets = {"real photos": score_real_photos(models, rows, args.data)}
    if not args.skip_fer4:
        sets.update((scored.name, scored) for scored in score_fer4(models, args.fer4, args.limit))
    names = models.all_names
    report = {
        "command": _command(argv),
        "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "n_boot": args.n_boot,
        "seed": args.seed,
        "classes": list(CLASSES),
        "models": {**{n: f"{m.name}, version {m.version}, input {list(m.input_size)}, through FaceAnalyzer"
                      for n, m in zip(models.names, models.unveil)},
                   **{m.name: f"{m.path.name}, converted from {_source(m.path)}" for m in released}},
        "parity": parity,
        "sets": {name: summarise(s, names, n_boot=args.n_boot, seed=args.seed, by_source=name == "real photos")
                 for name, s in sets.items()},
        "caveats": CAVEATS,
    }
    report["seconds"] = round(time.time() - start, 1)
    report["reliability_figure"] = args.out.name + RELIABILITY_FIGURE
    _write_predictions(sets, names, args.data / "predictions")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(report))
    plot_reliability(report, args.out.parent / report["reliability_figure"])
    if args.card_evaluation:
        write_card_evaluation(args.card_evaluation, report, models.names[0], unveil_paths[0])
    print(markdown(report).split("## Gap", 1)[0])
    print(f"wrote {args.out.with_suffix('.md')} and .json in {report['seconds']:.0f} s")
    return 0


def model_file(spec: str, folder: Path) -> Path:
    """The model file an --emotion-model names: a path as it is, or git:REVISION:PATH read from the repository's
    history into folder (under the revision's name, so two revisions of one path stay apart)."""
    if not spec.startswith(GIT_SPEC):
        return Path(spec)
    revision, _, path = spec.removeprefix(GIT_SPEC).partition(":")
    shown = subprocess.run(["git", "-C", str(REPO), "show", f"{revision}:{path}"], capture_output=True)
    if shown.returncode != 0 or not path:
        raise SystemExit(f"{spec}: not a committed file ({shown.stderr.decode().strip() or 'no path'})")
    out = folder / f"{revision.replace('/', '_')}_{Path(path).name}"
    out.write_bytes(shown.stdout)
    return out


def _source(path: Path) -> str:
    import onnx

    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}.get("source", "")


def _command(argv: list[str] | None) -> str:
    given = sys.argv[1:] if argv is None else argv
    return " ".join([COMMAND, *given])


def _parity_photos(rows: list[dict[str, str]], data: Path) -> list[tuple[np.ndarray, tuple[int, int, int, int]]]:
    analyzer = FaceAnalyzer(identity_model=False)
    photos = []
    for row in rows[::PARITY_STRIDE] if len(rows) > PARITY_STRIDE else rows[:5]:
        rgb = load_image(data / row["path"])
        face = central_face(analyzer.analyze(rgb), rgb.shape)
        if face is not None:
            photos.append((rgb, face.box))
    return photos


def _write_predictions(sets: dict[str, EvalSet], models: list[str], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, scored in sets.items():
        with open(folder / f"{name.replace(' ', '_').replace(',', '')}.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["path", "label", "source", "subject", *scored.groups, *models,
                             *(f"{m} p[{c}]" for m in models for c in CLASSES)])
            for i, path in enumerate(scored.paths):
                writer.writerow([path, CLASSES[scored.labels[i]], scored.sources[i],
                                 scored.subjects[i] if scored.subjects else "",
                                 *(entries[i] for entries in scored.groups.values()),
                                 *(CLASSES[p] if (p := scored.predictions[m][i]) >= 0 else "" for m in models),
                                 *(f"{v:.6g}" if np.isfinite(v) else "" for m in models
                                   for v in scored.probabilities[m][i])])


if __name__ == "__main__":
    raise SystemExit(main())
