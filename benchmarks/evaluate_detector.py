"""Measure the shipped MTCNN cascade for its model card: conversion, parity with the package, detection on LFW.

Needs the training extra (tensorflow-cpu, mtcnn 1.0.0): the reference is the package the ONNX files came from.

1. Conversion: each ONNX network against the Keras network it was exported from (the package's classes
   and weights, rebuilt by tools/export_mtcnn.py's code) on the 32 real inputs the export checked:
   the largest |ONNX - Keras| per network.
2. Parity: fer_core.detection's cascade (numpy over the three ONNX files, default settings) against the
   package's MTCNN.detect_faces (its defaults) on the 178 LFW photos of ../shared/data/faces and the first
   25 test faces of each fer4 class: same face count, and for each face the package finds, its best
   match among ours by box IoU, the landmark distance and the confidence difference.
3. Detection on the LFW manifest, at the cascade's default min face size and at the analyzer's: the share
   of the 178 photos with a face found, and with a found face covering the image centre (LFW centres each
   photo on the person it is labelled with); by role, and by gender (people.csv) for the enrolled people.

Each part is written as an evaluation the model card quotes (governance.model_cards):

    python benchmarks/evaluate_detector.py [--out docs/reports/mtcnn]
"""
from __future__ import annotations

import argparse
import csv
import importlib.metadata
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from fer_core.analyzer import DEFAULT_MIN_FACE_SIZE
from fer_core.detection import FaceDetector
from fer_core.model_files import load_session, models_dir
from fer_core.training.export_mtcnn import NETWORKS, build_keras, real_inputs
from fer_core.training.identity_devset import FACES_DIR, load_manifest, read_rgb
from governance.model_cards import write_evaluation

FER4_DIR = FACES_DIR.parent / "fer4"
FER4_PER_CLASS = 25
MATCH_IOU = 0.5  # a package face "has a counterpart" when one of ours overlaps it at least this much
_KEYPOINTS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


def conversion(files: list[Path], images: Path) -> dict[str, float]:
    """Largest |ONNX - Keras| per network on the export's check inputs."""
    worst = {}
    for (name, cls, weights, shape, outputs), path in zip(NETWORKS, files):
        keras = build_keras(cls, weights)
        x = real_inputs(shape, images)
        onnx_out = load_session(path).run(list(outputs), {"input": x})
        worst[name] = max(float(np.abs(np.asarray(k) - o).max()) for k, o in zip(keras(x), onnx_out))
        print(f"| {path.name} | {len(x)} | {worst[name]:.2e} |")
    return worst


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """IoU of two (x, y, w, h) boxes: the package's convention and ours."""
    width = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = width * height
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def parity(images: list[tuple[str, np.ndarray]], ours: FaceDetector) -> tuple[dict, list[str]]:
    from mtcnn import MTCNN

    package = MTCNN()
    same = faces = matched = 0
    ious, pixels, scores, findings = [], [], [], []
    for name, rgb in images:
        ref, found = package.detect_faces(rgb), ours.detect(rgb)
        same += len(ref) == len(found)
        if len(ref) != len(found):
            findings.append(f"{name}: the package finds {len(ref)} face(s), the cascade {len(found)}")
        for face in ref:
            faces += 1
            box = tuple(face["box"])
            best = max(found, key=lambda d: iou(box, d.box), default=None)
            if best is None or iou(box, best.box) < MATCH_IOU:
                findings.append(f"{name}: no counterpart for the package's face at {face['box']}")
                continue
            matched += 1
            ious.append(iou(box, best.box))
            points = np.array([face["keypoints"][k] for k in _KEYPOINTS], dtype=np.float32)
            pixels.append(float(np.abs(points - best.landmarks).max()))
            scores.append(abs(float(face["confidence"]) - best.score))
    metrics = {
        "same_face_count": _rate(same, len(images)),
        "package_faces_with_a_counterpart": _rate(matched, faces),
        "worst_box_iou": min(ious),
        "median_box_iou": float(np.median(ious)),
        "worst_landmark_error_px": max(pixels),
        "max_confidence_difference": max(scores),
    }
    return metrics, findings


def detection(photos, found: dict[float, list[list]], gender: dict[str, str]) -> tuple[dict, dict, list[str]]:
    """Share of photos with a face found / with the centre face found, overall and by group; with definitions."""
    groups = {"enrolled": ("the 16 enrolled people", lambda p: p.role == "enrolled"),
              "unknown": ("the unknown people", lambda p: p.role == "unknown")}
    for g in sorted(set(gender.values())):
        groups[g] = (f"the enrolled people whose gender is {g} in people.csv", lambda p, g=g: gender.get(p.person) == g)
    metrics, definitions, findings = {}, {}, []
    for size, faces in found.items():
        setting = f"min face {size:g} px"
        centre = [_covers_centre(f, read_rgb(p.path).shape) for p, f in zip(photos, faces)]
        name = f"face_found_min_face_{size:g}px"
        metrics[name] = _rate(sum(bool(f) for f in faces), len(photos))
        definitions[name] = f"share of the photos with a face found, {setting}"
        name = f"centre_face_found_min_face_{size:g}px"
        metrics[name] = _rate(sum(centre), len(photos))
        definitions[name] = f"share of the photos with a found face covering the image centre, {setting}"
        for group, (who, member) in groups.items():
            hits = [c for p, c in zip(photos, centre) if member(p)]
            metrics[f"{name}_{group}"] = _rate(sum(hits), len(hits))
            definitions[f"{name}_{group}"] = f"the same, on the photos of {who}"
        findings += [f"{setting}: no face found over the centre of {p.path.parent.name}/{p.path.name}"
                     for p, c in zip(photos, centre) if not c]
    return metrics, definitions, findings


def _covers_centre(faces: list, shape: tuple[int, ...]) -> bool:
    cy, cx = shape[0] / 2, shape[1] / 2
    return any(f.box[0] <= cx <= f.box[0] + f.box[2] and f.box[1] <= cy <= f.box[1] + f.box[3] for f in faces)


def _rate(count: int, total: int) -> dict[str, float | int]:
    return {"value": count / total, "count": count, "of": total}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=models_dir())
    parser.add_argument("--faces-dir", type=Path, default=FACES_DIR)
    parser.add_argument("--fer4-dir", type=Path, default=FER4_DIR)
    parser.add_argument("--out", type=Path, help="folder for conversion.json, package_parity.json, lfw_detection.json")
    args = parser.parse_args(argv)
    files = [args.models_dir / f"mtcnn_{name}.onnx" for name, *_ in NETWORKS]
    version = importlib.metadata.version("mtcnn")

    print("Conversion: ONNX against the package's Keras networks\n")
    print("| file | inputs | max abs difference |\n|---|---|---|")
    worst = conversion(files, args.faces_dir)

    photos = load_manifest(args.faces_dir)
    images = [(f"{p.path.parent.name}/{p.path.name}", read_rgb(p.path)) for p in photos]
    for label in sorted(d.name for d in (args.fer4_dir / "test").iterdir() if d.is_dir()):
        paths = sorted((args.fer4_dir / "test" / label).glob("*.jpg"))[:FER4_PER_CLASS]
        images += [(f"fer4 test/{label}/{p.name}", read_rgb(p)) for p in paths]
    default = FaceDetector(pnet=files[0], rnet=files[1], onet=files[2])
    parity_metrics, parity_findings = parity(images, default)
    print(f"\nParity with the package on {len(images)} images\n\n| metric | value |\n|---|---|")
    for key, value in parity_metrics.items():
        print(f"| {key} | {_show(value)} |")

    analyzer = FaceDetector(pnet=files[0], rnet=files[1], onet=files[2], min_face_size=DEFAULT_MIN_FACE_SIZE)
    found = {d.min_face_size: [d.detect(rgb) for _, rgb in images[:len(photos)]] for d in (default, analyzer)}
    with open(args.faces_dir / "people.csv", newline="") as handle:
        gender = {row["person"]: row["gender"] for row in csv.DictReader(handle)}
    detection_metrics, detection_definitions, detection_findings = detection(photos, found, gender)
    print(f"\nDetection on the {len(photos)} LFW photos\n\n| metric | value |\n|---|---|")
    for key, value in detection_metrics.items():
        print(f"| {key} | {_show(value)} |")
    for text in parity_findings + detection_findings:
        print(f"- {text}")
    if not args.out:
        return 0

    settings = (f"fer_core.detection defaults: min face {default.min_face_size:g} px, thresholds "
                f"{'/'.join(f'{t:g}' for t in default.thresholds)}, pyramid factor {default.scale_factor:g}")
    write_evaluation(
        args.out / "conversion.json", kind="detector", models=files,
        evaluation_data={
            "name": "conversion check against the package's Keras networks",
            "inputs": f"the first 32 photos of {_label(args.faces_dir)}/ resized to each network's input "
                      f"(P-Net: 250x250), as tools/export_mtcnn.py checks them",
            "reference": f"PyPI mtcnn {version}: its PNet, RNet, ONet classes with its weights",
        },
        metrics={f"max_abs_difference_{name}": value for name, value in worst.items()},
        definitions={f"max_abs_difference_{name}": f"largest |ONNX - Keras| over every output of {name}"
                     for name in worst},
    )
    write_evaluation(
        args.out / "package_parity.json", kind="detector", models=files, findings=parity_findings,
        evaluation_data={
            "name": "parity of the cascade with the mtcnn package",
            "images": f"{len(photos)} LFW photos of {_label(args.faces_dir)}/ and the first {FER4_PER_CLASS} "
                      f"test faces of each fer4 class ({len(images) - len(photos)}, 48x48 grayscale)",
            "reference": f"PyPI mtcnn {version} MTCNN.detect_faces with its defaults (TensorFlow); it returns "
                         f"boxes and landmarks in whole pixels",
            "settings": settings,
        },
        metrics=parity_metrics,
        definitions={
            "same_face_count": "share of images where the cascade finds as many faces as the package",
            "package_faces_with_a_counterpart": f"share of the package's faces that one of ours overlaps at IoU >= "
                                                f"{MATCH_IOU}",
            "worst_box_iou": "lowest box IoU between a package face and its counterpart",
            "median_box_iou": "median box IoU between a package face and its counterpart",
            "worst_landmark_error_px": "largest coordinate difference (pixels) of the five landmarks between a "
                                       "package face and its counterpart",
            "max_confidence_difference": "largest difference of face probability between a package face and its "
                                         "counterpart",
        },
    )
    write_evaluation(
        args.out / "lfw_detection.json", kind="detector", models=files, findings=detection_findings,
        evaluation_data={
            "name": "detection on the LFW development photos",
            "images": f"{len(photos)} photos of {_label(args.faces_dir)}/manifest.csv (250x250 RGB, one labelled "
                      f"person centred in each; other people may be in the frame)",
            "settings": f"{settings}; and min face {DEFAULT_MIN_FACE_SIZE:g} px, the analyzer's",
            "groups": "role from manifest.csv; gender from people.csv (enrolled people only)",
        },
        metrics=detection_metrics,
        definitions=detection_definitions,
    )
    print(f"\nwrote {args.out}/conversion.json, package_parity.json and lfw_detection.json")
    return 0


def _label(folder: Path) -> str:
    """shared/data/faces: where the data lies, without this machine's absolute path."""
    return "/".join(folder.parts[-3:])


def _show(value) -> str:
    if isinstance(value, dict):
        return f"{value['value']:.4f} ({value['count']} of {value['of']})"
    return f"{value:.3g}"


if __name__ == "__main__":
    raise SystemExit(main())
