"""Grad-CAM on an exported ONNX emotion model against TensorFlow GradientTape Grad-CAM on its Keras weights.

The test suite checks this on a tiny model (tests/unit/governance/test_gradcam_parity.py); this script checks a real run,
e.g. the shipped VGG16 against the run's best weights. Per class it prints the Pearson correlation of
every heatmap pair (both upsampled to the input size, TensorFlow's by tf.image.resize), and the largest
difference between the exported channel weights and the tape's cell-averaged gradients.

    python benchmarks/gradcam_parity.py --run-dir /work/unveil-runs/vgg16 --model models/emotion_vgg16.onnx
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", type=Path, required=True, help="training run with config.json")
    parser.add_argument("--weights", type=Path, help="Keras weights (default: <run-dir>/best.weights.h5)")
    parser.add_argument("--model", type=Path, required=True, help="the ONNX exported from those weights")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "fer4")
    parser.add_argument("--faces", type=int, default=100)
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from fer_core.training.data import load_splits, to_rgb_float
    from fer_core.training.runs import build_from_config
    from governance.explain import explain_face, load_cam_model

    config = json.loads((args.run_dir / "config.json").read_text())
    model = load_cam_model(args.model)
    height, width = model.input_size
    keras_model = build_from_config(config)
    keras_model.load_weights(args.weights or args.run_dir / "best.weights.h5")
    grad_model = keras.Model(keras_model.input, [keras_model.get_layer("cam_features").output, keras_model.output])
    splits, _ = load_splits(args.data, size=height, classes=model.classes, limit_per_split=args.faces)
    faces = to_rgb_float(splits["test"].images)
    ours = np.stack([explain_face(model, face, method="gradcam").heatmaps for face in faces], axis=1)  # (C, N, h, w)
    weights = model.run(faces).weights  # (N, C, k)

    print(f"{len(faces)} fer4 test faces, model {args.model.name} ({model.version}), cam map "
          f"{tuple(grad_model.output[0].shape[1:3])}")
    print("| class | maps with evidence | min r | median r | max abs weight diff |")
    print("|---|---|---|---|---|")
    for c, name in enumerate(model.classes):
        with tf.GradientTape() as tape:
            features, logits = grad_model(tf.constant(faces), training=False)
            score = logits[:, c]
        tape_weights = tf.reduce_mean(tape.gradient(score, features), axis=(1, 2))
        cams = tf.nn.relu(tf.einsum("nhwk,nk->nhw", features, tape_weights))
        reference = tf.image.resize(cams[..., None], (height, width), method="bilinear").numpy()[..., 0]
        informative = reference.reshape(len(faces), -1).max(axis=1) > 0
        agree_empty = all(ours[c, i].max() == 0 for i in np.flatnonzero(~informative))
        r = [np.corrcoef(ours[c, i].ravel(), reference[i].ravel())[0, 1] for i in np.flatnonzero(informative)]
        diff = float(np.abs(weights[:, c] - tape_weights.numpy()).max())
        print(f"| {name} | {informative.sum()}/{len(faces)}{'' if agree_empty else ' (empty maps disagree)'} | "
              f"{min(r):.6f} | {np.median(r):.6f} | {diff:.2e} |")


if __name__ == "__main__":
    main()
