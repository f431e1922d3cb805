"""Convert a user-supplied keras-vggface VGG16 weights file to an Unveil identity model (ONNX); the network
and the export: fer_core/training/convert_vggface.py. The weights are not shipped (non-commercial research only).

    python tools/convert_vggface.py --weights rcmalli_vggface_tf_notop_vgg16.h5 \
        --threshold 0.4 --out models/face_recognition_vggface.onnx
    python benchmarks/calibrate_identity.py --model models/face_recognition_vggface.onnx --write
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from fer_core.alignment import DLIB_150_TEMPLATE, scale_template
from fer_core.training.convert_vggface import (
    VGGFACE_MEAN_BGR,
    VGGFACE_SIZE,
    build_vggface_vgg16,
    export_embedding_model,
    load_vggface_weights,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, required=True, help="keras-vggface VGG16 .h5 weights")
    parser.add_argument("--top", action="store_true", help="the file includes fc6/fc7 (embedding = fc7, 4096-d)")
    parser.add_argument("--threshold", type=float, required=True, help="provisional; calibrate afterwards")
    parser.add_argument("--distance", choices=("cosine", "euclidean"), default="cosine")
    parser.add_argument("--template", type=json.loads,
                        help="5x2 JSON landmark template in 224x224 pixels (default: the dlib chip's, scaled)")
    parser.add_argument("--out", type=Path, default=Path("models/face_recognition_vggface.onnx"))
    args = parser.parse_args(argv)

    model = build_vggface_vgg16(top=args.top)
    load_vggface_weights(model, args.weights)
    template = np.asarray(args.template, dtype=np.float32) if args.template else scale_template(
        DLIB_150_TEMPLATE, (150, 150), VGGFACE_SIZE)
    mean_bgr = VGGFACE_MEAN_BGR
    export_embedding_model(
        model,
        args.out,
        mean_rgb=(mean_bgr[2], mean_bgr[1], mean_bgr[0]),
        bgr=True,
        template=template,
        distance=args.distance,
        threshold=args.threshold,
        version=f"keras-vggface VGG16 ({'fc7' if args.top else 'pool5 average'})",
        source=f"user-supplied weights {args.weights.name}, converted by tools/convert_vggface.py",
        licence="VGGFace weights: non-commercial research only (Oxford VGG); check before any other use",
    )
    print(f"wrote {args.out}; now calibrate its threshold: python benchmarks/calibrate_identity.py --model {args.out} --write")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
