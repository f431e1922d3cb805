"""Per-image latency of the emotion model: Keras (TensorFlow) vs ONNX Runtime fp32, and the static int8
model of fer_core/training/quantize.py if given, batch 1 and 32.

    python benchmarks/bench_emotion.py --run-dir /work/unveil-runs/vgg16 --onnx models/emotion_vgg16.onnx \
        [--int8 /tmp/unveil-int8/emotion_vgg16.int8.onnx]

Prints a table (median of --repeats timed calls after a warm-up, milliseconds per image).
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from fer_core.training.timing import median_ms_per_image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", required=True, type=Path, help="training run with config.json and best.weights.h5")
    parser.add_argument("--onnx", required=True, type=Path)
    parser.add_argument("--int8", type=Path, help="static int8 model (fer_core/training/quantize.py): adds its rows")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    import onnxruntime as ort

    from fer_core.training.data import load_splits, to_rgb_float
    from fer_core.training.runs import build_from_config

    config = json.loads((args.run_dir / "config.json").read_text())
    size = config["input_size"] or 48
    model = build_from_config(config)
    model.load_weights(args.run_dir / "best.weights.h5")
    splits, _ = load_splits(config["data_root"], size=size, limit_per_split=64)
    faces = to_rgb_float(splits["test"].images[:32])

    def onnx_engine(path: Path):
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return lambda x: session.run(["probs"], {"image": x})

    engines = {
        "Keras (TF, jit off)": lambda x: model(x, training=False),
        "ONNX Runtime fp32": onnx_engine(args.onnx),
    }
    if args.int8:
        engines["ONNX Runtime int8 (static, QDQ)"] = onnx_engine(args.int8)
    print(f"emotion model {config['arch']} {size}x{size}, {os.cpu_count()} CPU cores, median of {args.repeats}")
    print("| engine | batch 1 (ms/image) | batch 32 (ms/image) |")
    print("|---|---|---|")
    for name, fn in engines.items():
        single = median_ms_per_image(fn, faces[:1], args.repeats)
        batched = median_ms_per_image(fn, faces, max(3, args.repeats // 4))
        print(f"| {name} | {single:.2f} | {batched:.2f} |")


if __name__ == "__main__":
    main()
