"""What an ensemble of the shipped architecture would cost, before any member is trained: size and
per-image latency of ONNX Runtime fp32 and static int8 for 1, 3, 5 ... members (random weights: the
cost of a graph does not depend on its values), batch 1 and 32, and the memory its export needs.

    python experiments/bench_ensemble_cost.py [--members 1 3 5] [--repeats 10]

Prints a table (median of --repeats timed calls after a warm-up, milliseconds per image).
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from fer_core.training.quantize import calibration_faces, quantize
from fer_core.training.timing import median_ms_per_image

CALIBRATION_FACES = 64  # enough for valid int8 ranges; the ranges do not change the cost


def _export_random_ensemble(arch: str, upsample: int, count: int, path: Path) -> tuple[Path, float]:
    """The exported file and the peak resident memory of the export, in GB. Run in a child process:
    tf2onnx's peak (the table's last column) is only given back to the system when the process ends."""
    import resource

    import keras

    from fer_core.training.data import CLASSES
    from fer_core.training.ensemble import merge_members
    from fer_core.training.export import export_onnx
    from fer_core.training.zoo import build_model

    keras.utils.set_random_seed(count)
    members = [build_model(arch, n_classes=len(CLASSES), upsample=upsample) for _ in range(count)]
    model = members[0] if count == 1 else merge_members(members)
    path = export_onnx(model, path, classes=CLASSES, temperature=1.0, initial_weights="random", version="bench")
    return path, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # Linux: kilobytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, nargs="+", default=[1, 3, 5])
    parser.add_argument("--arch", default="vgg16")
    parser.add_argument("--upsample", type=int, default=2, help="the shipped model's (48 -> 96 inside the graph)")
    parser.add_argument("--data", default="../shared/data/fer4")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()

    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import onnxruntime as ort

    from fer_core.training.data import CLASSES, load_splits, to_rgb_float

    splits, _ = load_splits(args.data, limit_per_split=CALIBRATION_FACES)
    faces = to_rgb_float(splits["test"].images[:32])
    calibration = to_rgb_float(calibration_faces(splits["train"].images, splits["train"].labels,
                                                 CALIBRATION_FACES, len(CLASSES)))
    print(f"{args.arch} with upsample {args.upsample}, random weights, {os.cpu_count()} CPU cores, "
          f"median of {args.repeats}")
    print("| members | fp32 MB | int8 MB | fp32 batch 1 | fp32 batch 32 | int8 batch 1 | int8 batch 32 "
          "| export peak GB |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as work:
        for count in args.members:
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
                fp32, peak = child.submit(_export_random_ensemble, args.arch, args.upsample, count,
                                    Path(work) / f"m{count}.onnx").result()
            int8 = quantize(fp32, Path(work) / f"m{count}.int8.onnx", calibration)
            cells = [f"{p.stat().st_size / 1e6:.1f}" for p in (fp32, int8)]
            for path in (fp32, int8):
                session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

                def run(x, session=session):
                    return session.run(["probs"], {"image": x})

                cells.append(f"{median_ms_per_image(run, faces[:1], args.repeats):.1f}")
                cells.append(f"{median_ms_per_image(run, faces, max(3, args.repeats // 4)):.1f}")
            print(f"| {count} | " + " | ".join(cells) + f" | {peak:.1f} |", flush=True)


if __name__ == "__main__":
    main()
