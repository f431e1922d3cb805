"""Would a temperature fitted on real photos calibrate the shipped emotion model on a kind of real photo it was not
fitted on? Leave-one-source-out, on the dev set's per-face probabilities. An experiment: nothing here is shipped.

The shipped model's temperature was fitted on fer4 validation faces. Fitting one on the real-photo dev set and
reporting on it would be circular (that set chooses the models), so each source (imfdb film stills, lfw news
photos, yale) is held out in turn: a further temperature t is fitted on the other two sources' faces (minimum
negative log-likelihood; probabilities p become softmax(log p / t), which is the shipped logits over the shipped
temperature times t), then applied to the held-out source. The ECE and its floor are fer_core.calibration's.

Reads the probabilities benchmarks/emotion_real_photos.py writes beside the data (predictions/real_photos.csv;
run it first), so it scores no photo itself:

    PYTHONPATH=. python experiments/emotion_real_photo_temperature.py [--model "Unveil 0.5.0"] \
        [--out experiments/reports/emotion_real_photo_temperature.md]
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from emotion_real_photos import CLASSES, COMMAND, REPO
from emotion_real_photos_data import DEFAULT_DATA

from fer_core.calibration import calibration_report

TEMPERATURE_BOUNDS = (0.2, 5.0)


def read_faces(path: Path, model: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Probabilities, true class index and source of every detected face of the benchmark's predictions file."""
    with open(path, newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row[model]]
    if not rows or f"{model} p[{CLASSES[0]}]" not in rows[0]:
        raise SystemExit(f"{path}: no probabilities of {model!r}: run benchmarks/emotion_real_photos.py first")
    probs = np.array([[float(row[f"{model} p[{c}]"]) for c in CLASSES] for row in rows])
    return probs, np.array([CLASSES.index(row["label"]) for row in rows]), np.array([row["source"] for row in rows])


def rescaled(probs: np.ndarray, t: float) -> np.ndarray:
    logits = np.log(np.clip(probs, 1e-12, 1.0)) / t
    logits -= logits.max(axis=1, keepdims=True)
    out = np.exp(logits)
    return out / out.sum(axis=1, keepdims=True)


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The further temperature with the least negative log-likelihood of the true classes."""
    def nll(t: float) -> float:
        return float(-np.log(rescaled(probs, t)[np.arange(len(labels)), labels]).mean())

    return float(minimize_scalar(nll, bounds=TEMPERATURE_BOUNDS, method="bounded").x)


def row(name: str, probs: np.ndarray, labels: np.ndarray, temperature: str) -> str:
    report = calibration_report(probs, labels)
    confidence, accuracy = probs.max(axis=1).mean(), (probs.argmax(axis=1) == labels).mean()
    return (f"| {name} | {temperature} | {len(labels)} | {accuracy:.3f} | {confidence:.3f} | "
            f"{confidence - accuracy:+.3f} | {report['ece']:.3f} | {report['floor_if_calibrated']['upper_95']:.3f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictions", type=Path, default=DEFAULT_DATA / "predictions" / "real_photos.csv")
    parser.add_argument("--model", default="Unveil 0.5.0", help="the model's column name in the predictions file")
    parser.add_argument("--out", type=Path, default=REPO / "experiments" / "reports" / "emotion_real_photo_temperature.md")
    args = parser.parse_args(argv)

    probs, labels, sources = read_faces(args.predictions, args.model)
    lines = ["| held-out faces | further temperature | faces | accuracy | mean confidence | confidence minus accuracy | "
             "ECE | ECE of a calibrated model (95%) |", "|---|---|---|---|---|---|---|---|"]
    pooled = np.empty_like(probs)
    for source in sorted(set(sources)):
        held = sources == source
        t = fit_temperature(probs[~held], labels[~held])
        pooled[held] = rescaled(probs[held], t)
        lines += [row(f"{source}, as shipped", probs[held], labels[held], "none"),
                  row(f"{source}, fitted on the other sources", pooled[held], labels[held], f"{t:.3f}")]
    lines += [row("all, as shipped", probs, labels, "none"),
              row("all, each source with the temperature fitted without it", pooled, labels, "per source")]
    command = " ".join(["PYTHONPATH=. python experiments/emotion_real_photo_temperature.py", *(argv or sys.argv[1:])])
    text = "\n".join([
        "# A temperature fitted on real photos, leave one source out (experiment, not shipped)", "",
        f"`{command}`, on the per-face probabilities of `{COMMAND} ...` ({args.predictions.name}); "
        f"model: {args.model}. The further temperature multiplies the shipped one (fitted on fer4 validation); "
        "above 1 softens the probabilities, below 1 sharpens them. ECE: fer_core.calibration, 15 equal-width bins; "
        "the last column is the 95th percentile of the ECE a perfectly calibrated model with the same confidences "
        "shows on as many faces.", "", *lines, ""])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
