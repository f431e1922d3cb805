"""Would a candidate emotion model survive int8? Static int8 (fer_core/training/quantize.py, the ship script's
settings) of each float32 file, scored on fer4's deduplicated validation split beside its float32 source, so that
a candidate is judged before the ship script reads the test split.

    PYTHONPATH=. python experiments/emotion_int8_validation.py RUN/emotion_fp32.onnx ... [--out DIR]

Prints one table row per file: validation accuracy in float32 and int8, how often the two agree, their sizes and
their ONNX Runtime latency at batch 1 (fer_core.training.timing: median of 20 calls after a warm-up; only
meaningful on a machine with nothing else running). The int8 files are written to --out.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from fer_core.training.quantize import CALIBRATION_IMAGES
from fer_core.training.timing import median_ms_per_image

CLASSES = ("happy", "neutral", "sad", "surprise")
LATENCY_CALLS = 20


def _probs(session, faces: np.ndarray) -> np.ndarray:
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(["probs"], {name: faces[i:i + 64]})[0] for i in range(0, len(faces), 64)])


def _ms_batch1(session, face: np.ndarray) -> float:
    name = session.get_inputs()[0].name
    return median_ms_per_image(lambda x: session.run(["probs"], {name: x}), face, LATENCY_CALLS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", type=Path, help="float32 emotion models (export contract)")
    parser.add_argument("--data", type=Path, default=Path("../shared/data/fer4"))
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "unveil-int8")
    args = parser.parse_args()

    import onnxruntime as ort

    from fer_core.training.data import load_splits, to_rgb_float
    from fer_core.training.quantize import quantize

    splits, _ = load_splits(args.data, classes=CLASSES)
    train = splits["train"]
    # The calibration faces: CALIBRATION_IMAGES training faces drawn with a fixed seed.
    pick = np.random.default_rng(0).choice(len(train.images), CALIBRATION_IMAGES, replace=False)
    calibration = to_rgb_float(train.images[pick])
    faces, labels = to_rgb_float(splits["validation"].images), splits["validation"].labels

    print("| model | validation acc fp32 | int8 | same class | MB fp32 / int8 | ms batch 1 fp32 / int8 |")
    print("|---|---|---|---|---|---|")
    for fp32 in args.models:
        int8 = quantize(fp32, args.out / f"{fp32.parent.name}.int8.onnx", calibration)
        sessions = [ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for p in (fp32, int8)]
        predictions = [_probs(s, faces).argmax(1) for s in sessions]
        accuracy = [float(np.mean(p == labels)) for p in predictions]
        latency = [_ms_batch1(s, faces[:1]) for s in sessions]
        print(f"| {fp32.parent.name} | {accuracy[0]:.3f} | {accuracy[1]:.3f} | "
              f"{np.mean(predictions[0] == predictions[1]):.3f} | "
              f"{fp32.stat().st_size / 1e6:.1f} / {int8.stat().st_size / 1e6:.1f} | "
              f"{latency[0]:.1f} / {latency[1]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
