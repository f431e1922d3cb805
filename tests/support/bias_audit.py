"""Synthetic audit sets and planted classifiers shared by the bias-audit tests.

Each synthetic image is a small lossless PNG whose first pixel carries what a planted classifier
needs: red = true class code, green = 255 when the image is one the classifier gets wrong. The rest
of the image is a flat grey or colour chosen by the test (it drives the proxy groups).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ("happy", "neutral", "sad", "surprise")
HARD = 255


def write_face(path: Path, *, code: int, hard: bool, fill: tuple[int, int, int] = (128, 128, 128), size: int = 16) -> None:
    pixels = np.empty((size, size, 3), dtype=np.uint8)
    pixels[:] = fill
    pixels[0, 0] = (code, HARD if hard else 0, 0)
    Image.fromarray(pixels).save(path)


def write_cohorts(root: Path, cohorts: dict[str, tuple[int, int]], *, fills: dict[str, tuple[int, int, int]] | None = None) -> Path:
    """A manifest audit set: cohort name -> (faces, of which hard). Labels cycle through CLASSES.

    Hard faces are spread evenly over the cohort's faces, so every class gets its share.
    Returns the manifest path (columns path, label, cohort).
    """
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for cohort, (size, hard) in cohorts.items():
        hard_at = set(np.linspace(0, size - 1, hard).round().astype(int).tolist()) if hard else set()
        for i in range(size):
            code = i % len(CLASSES)
            name = f"{cohort}_{i:04d}.png"
            write_face(root / name, code=code, hard=i in hard_at, fill=(fills or {}).get(cohort, (128, 128, 128)))
            rows.append({"path": name, "label": CLASSES[code], "cohort": cohort})
    manifest = root / "manifest.csv"
    with manifest.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=["path", "label", "cohort"])
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def planted_classifier(images: list[np.ndarray]) -> np.ndarray:
    """Right on every face except hard ones, which it reads as the next class; 0.7 on its choice."""
    out = np.full((len(images), len(CLASSES)), 0.1)
    for row, image in enumerate(images):
        code, hard = int(image[0, 0, 0]), image[0, 0, 1] == HARD
        out[row, (code + 1) % len(CLASSES) if hard else code] = 0.7
    return out


def write_brightness_model(path: Path, *, version: str = "test-1") -> Path:
    """A tiny ONNX emotion model honouring the export contract (16x16 input): it reads mean brightness.

    Dark faces (mean < 100 of 255) come out "sad", the others "happy": a planted, inspectable rule.
    """
    import onnx  # training extra: tests only
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("ReduceMean", ["image"], ["mean4d"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Flatten", ["mean4d"], ["mean"], axis=1),
        helper.make_node("Sub", ["mean", "pivot"], ["centred"]),
        helper.make_node("Mul", ["centred", "weights"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "brightness",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [None, 16, 16, 3])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor("pivot", TensorProto.FLOAT, [1, 1], [100.0]),
         helper.make_tensor("weights", TensorProto.FLOAT, [1, 4], [1.0, 0.0, -1.0, 0.0])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    helper.set_model_props(model, {"classes": json.dumps(list(CLASSES)), "input_size": "[16, 16]",
                                   "temperature": "1.0", "version": version})
    onnx.save(model, str(path))
    return path
