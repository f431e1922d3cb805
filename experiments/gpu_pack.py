"""What a training call to the GPU machine carried and brought back (experiments/README.md, "GPU logistics"):
that machine took 64 MiB per call and returned files of at most 16 MiB, so the data, the HED weights and
each trained member travelled as smaller copies.

    python experiments/gpu_pack.py start hed --out .gpu/hed_fp16.npz           # float16 HED weights, 27 MB
    python experiments/gpu_pack.py start imagenet-onnx --out .gpu/imagenet_fp16.npz   # float16 ImageNet VGG16 conv layers
    python experiments/gpu_pack.py data --out .gpu/fer4_trainval.tgz           # deduplicated train + validation, 34 MB
    python experiments/gpu_pack.py weights --run-dir RUN --out RUN.half.h5     # a run's weights in float16, no optimizer

Training reads a copy with `--weights hed --weights-file .gpu/hed_fp16.npz` (likewise imagenet-onnx); the pinned
digest it records is checked.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    start = sub.add_parser("start", help="a float16 copy of a pinned VGG16 start (HED or ImageNet)")
    start.add_argument("weights", choices=["hed", "imagenet-onnx"])
    start.add_argument("--out", required=True, type=Path)
    data = sub.add_parser("data", help="the deduplicated train and validation images as one .tar.gz")
    data.add_argument("--data", default="../shared/data/fer4")
    data.add_argument("--out", required=True, type=Path)
    weights = sub.add_parser("weights", help="a float16 copy of a run's best weights, without the optimizer's state")
    weights.add_argument("--run-dir", required=True, type=Path)
    weights.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)

    if args.what == "start":
        from fer_core.training.weights import pack_transport

        path = pack_transport(args.weights, args.out)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB); use it with --weights {args.weights} --weights-file {path}")
    elif args.what == "data":
        from fer_core.training.data import pack_training_data

        report = pack_training_data(args.data, args.out)
        print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB): train {report.kept['train']}, "
              f"validation {report.kept['validation']} images, deduplicated against all splits")
    else:
        from fer_core.training.weights import half_precision_copy

        path = half_precision_copy(args.run_dir / "best.weights.h5", args.out)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, float16)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
