"""Issue 20: would a face-trained backbone be a better start than ImageNet's VGG16 for reading emotions on real
photos? Linear probes on frozen features, the test that chose the ImageNet start (docs: experiments/reports/
imagenet_vgg16_start.md), run on the two identity networks Unveil ships (MobileFaceNet and dlib's ResNet, both
trained on faces) and on the ImageNet VGG16 0.5.0 started from, and scored on fer4 validation and on the
real-photo dev set.

Every backbone reads the same faces: fer4's 48-px grey faces and the real photos' 48-px aligned emotion crops (the
shipped model's, made grey), so only the features differ. VGG16 takes them as 0.5.0 does (enlarged to 96 px in
the graph); an identity network gets them warped from the emotion template onto its own template and size (the
crop it was trained on). Two controls swap the framing: VGG16 on MobileFaceNet's crop (at 112 px), and
MobileFaceNet on the emotion crop only enlarged. Each tap is a feature map averaged over space (or the embedding), standardised, and fed
to a multinomial logistic regression trained on `--per-class` fer4 training faces of each class (deduplicated
split); its C is chosen on fer4 validation. Real photos are never used to choose anything. Last, the probe that
validation ranks first is blended with the shipped model's probabilities at a few shares (would a face-trained
member add what 0.5.0 lacks?).

    PYTHONPATH=. python experiments/emotion_face_features_probe.py [--per-class 1000] \
        [--out experiments/reports/emotion_face_features_probe]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
from emotion_head_refit import DEFAULT_DATA, DEFAULT_MODEL, paired_gap, real_photo_crops
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, recall_score
from sklearn.preprocessing import StandardScaler

from fer_core.alignment import align_face
from fer_core.emotion import EmotionModel
from fer_core.identity import load_embedding_model
from fer_core.training.data import CLASSES, load_splits

DEFAULT_FER4 = Path("../shared/data/fer4")
IMAGENET_START = Path(".gpu/imagenet_fp16.npz")  # experiments/gpu_prepare.sh; the pinned ImageNet start, float16
IDENTITY_MODELS = {"MobileFaceNet": Path("models/face_recognition_mobilefacenet.onnx"),
                   "dlib ResNet": Path("models/face_recognition_dlib.onnx")}
VGG16_TAPS = ("block3_pool", "block4_pool", "cam_features")
C_GRID = (0.01, 0.1, 1.0)
BLEND_SHARES = (0.2, 0.33, 0.5)


def identity_taps(model: onnx.ModelProto) -> list[str]:
    """The last ReLU or Add output at each spatial size of the graph (a block's output), deepest last, then the
    embedding itself."""
    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in inferred.graph.value_info}
    last_at_size: dict[int, str] = {}
    for node in inferred.graph.node:
        shape = shapes.get(node.output[0], [])
        if node.op_type in ("Relu", "Add") and len(shape) == 4 and shape[2] == shape[3] and shape[2] > 1:
            last_at_size[shape[2]] = node.output[0]
    by_size = [last_at_size[size] for size in sorted(last_at_size, reverse=True)]
    return [*by_size[1:], model.graph.output[0].name]  # the first is the input's own normalisation


def warped(faces: np.ndarray, emotion_template: np.ndarray, template: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """48-px grey faces as RGB crops of `size` with the emotion template's landmarks moved onto `template`."""
    return np.stack([align_face(np.repeat(face[..., None], 3, axis=-1), emotion_template, template, size)
                     for face in faces])


def resized(faces: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """48-px grey faces as RGB crops of `size`, framed as they are (bicubic)."""
    return np.stack([np.repeat(cv2.resize(face, size[::-1], interpolation=cv2.INTER_CUBIC)[..., None], 3, axis=-1)
                     for face in faces])


def identity_features(path: Path, faces: np.ndarray, emotion_template: np.ndarray, *,
                      own_crop: bool = True) -> dict[str, np.ndarray]:
    """Each tap's spatial mean (NCHW inside tf2onnx graphs) for 48-px grey faces warped onto the network's crop
    (`own_crop`) or only enlarged to its input size."""
    embedder = load_embedding_model(path, flip_average=False)
    model = onnx.load(str(path))
    taps = identity_taps(model)
    known = {o.name for o in model.graph.output}
    model.graph.output.extend(onnx.helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None)
                              for t in taps if t not in known)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    crops = (warped(faces, emotion_template, embedder.template, embedder.input_size) if own_crop
             else resized(faces, embedder.input_size))
    out: dict[str, list[np.ndarray]] = {t: [] for t in taps}
    for start in range(0, len(crops), 64):
        values = session.run(taps, {session.get_inputs()[0].name: crops[start:start + 64].astype(np.float32)})
        for tap, value in zip(taps, values):
            out[tap].append(value.mean(axis=(2, 3)) if value.ndim == 4 else value)
    return {tap: np.concatenate(v) for tap, v in out.items()}


def vgg16_features(faces: np.ndarray) -> dict[str, np.ndarray]:
    """ImageNet VGG16 (the pinned start of 0.5.0): each tap's spatial mean. 48-px grey faces are enlarged to 96 px in
    the graph, as 0.5.0 reads them; RGB crops of another size are read at their size."""
    import keras

    from fer_core.training.weights import load_initial_weights
    from fer_core.training.zoo import build_model

    rgb = faces if faces.ndim == 4 else np.repeat(faces[..., None], 3, axis=-1)
    model = build_model("vgg16", n_classes=len(CLASSES), input_size=rgb.shape[1:3], upsample=2 if faces.ndim == 3 else 1)
    load_initial_weights(model, "imagenet-onnx", weights_file=str(IMAGENET_START))
    taps = keras.Model(model.input, [model.get_layer(t).output for t in VGG16_TAPS])
    values = taps.predict(rgb.astype(np.float32), batch_size=64, verbose=0)
    return {tap: value.mean(axis=(1, 2)) for tap, value in zip(VGG16_TAPS, values)}


def probe(train: tuple[np.ndarray, np.ndarray], validation: tuple[np.ndarray, np.ndarray],
          real: tuple[np.ndarray, np.ndarray]) -> dict:
    """Logistic regression on standardised features, C chosen on validation; both sets' scores."""
    scaler = StandardScaler().fit(train[0])
    fitted = []
    for c in C_GRID:
        classifier = LogisticRegression(C=c, max_iter=2000).fit(scaler.transform(train[0]), train[1])
        predicted = classifier.predict(scaler.transform(validation[0]))
        fitted.append((f1_score(validation[1], predicted, average="macro"), c, classifier))
    _, c, classifier = max(fitted, key=lambda row: row[0])
    result = {"C": c, "dims": int(train[0].shape[1])}
    for name, (x, y) in (("validation", validation), ("real", real)):
        probs = classifier.predict_proba(scaler.transform(x))
        result[name] = {**set_scores(probs, y), "probs": probs}
    return result


def set_scores(probs: np.ndarray, labels: np.ndarray) -> dict:
    predicted = probs.argmax(axis=1)
    return {"accuracy": float(np.mean(predicted == labels)),
            "macro_f1": float(f1_score(labels, predicted, average="macro")),
            "recall": [float(r) for r in recall_score(labels, predicted, average=None, labels=range(len(CLASSES)))]}


def blend_rows(best: dict, shipped: dict[str, np.ndarray], labels: dict[str, np.ndarray]) -> list[dict]:
    """The shipped model's probabilities blended with the best probe's (by validation macro-F1) at each share, with
    the paired real-photo gap to the shipped model; the share to read is the one validation prefers."""
    rows = []
    for share in (0.0, *BLEND_SHARES):
        blended = {k: (1 - share) * shipped[k] + share * best[k]["probs"] for k in shipped}
        rows.append({"share": share, **{k: set_scores(blended[k], labels[k]) for k in shipped},
                     "real_gap": paired_gap(shipped["real"].argmax(1), blended["real"].argmax(1), labels["real"])})
    return rows


def balanced_sample(images: np.ndarray, labels: np.ndarray, per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    chosen = np.concatenate([rng.choice(np.flatnonzero(labels == k), per_class, replace=False)
                             for k in range(len(CLASSES))])
    return images[chosen], labels[chosen]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fer4", type=Path, default=DEFAULT_FER4)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the real-photo dev set")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="the emotion model whose crops are read")
    parser.add_argument("--per-class", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("experiments/reports/emotion_face_features_probe"))
    args = parser.parse_args(argv)
    start = time.time()

    emotion = EmotionModel(args.model)
    splits, _ = load_splits(args.fer4, size=48, classes=CLASSES)
    train = balanced_sample(splits["train"].images, splits["train"].labels, args.per_class, args.seed)
    validation = (splits["validation"].images, splits["validation"].labels)
    crops, real_labels, _, _ = real_photo_crops(emotion, args.data)
    real_faces = np.stack([cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) for crop in crops])
    faces = np.concatenate([train[0], validation[0], real_faces])
    cut = np.cumsum([len(train[0]), len(validation[0])])

    backbones = {"ImageNet VGG16 (0.5.0's start)": lambda: vgg16_features(faces)}
    for name, path in IDENTITY_MODELS.items():
        backbones[name] = lambda path=path: identity_features(path, faces, emotion.template)
    # Controls for the framing: each network given the other's crop.
    mobilefacenet = load_embedding_model(IDENTITY_MODELS["MobileFaceNet"], flip_average=False)
    backbones["ImageNet VGG16 on MobileFaceNet's crop (112 px)"] = lambda: vgg16_features(
        warped(faces, emotion.template, mobilefacenet.template, mobilefacenet.input_size))
    backbones["MobileFaceNet on the emotion crop enlarged"] = lambda: identity_features(
        IDENTITY_MODELS["MobileFaceNet"], faces, emotion.template, own_crop=False)
    rows = []
    for backbone, features_of in backbones.items():
        for tap, features in features_of().items():
            parts = np.split(features, cut)
            rows.append({"backbone": backbone, "tap": tap, **probe((parts[0], train[1]), (parts[1], validation[1]),
                                                                  (parts[2], real_labels))})
            print(backbone, tap, rows[-1]["validation"]["accuracy"], rows[-1]["real"]["accuracy"], flush=True)
    best = max(rows, key=lambda row: row["validation"]["macro_f1"])
    shipped = {"validation": emotion.predict(np.repeat(validation[0][..., None], 3, axis=-1)),
               "real": emotion.predict(crops)}
    blends = blend_rows(best, shipped, {"validation": validation[1], "real": real_labels})
    for row in rows:
        for name in ("validation", "real"):
            row[name].pop("probs")
    report = {"command": "PYTHONPATH=. python experiments/emotion_face_features_probe.py"
                         + (f" --per-class {args.per_class}" if args.per_class != 1000 else ""),
              "train_faces": len(train[0]), "validation_faces": len(validation[0]), "real_faces": len(real_faces),
              "shipped": f"{args.model.name} {emotion.version}", "blended": f"{best['backbone']} {best['tap']}",
              "seconds": round(time.time() - start), "rows": rows, "blends": blends}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(report))
    return 0


def markdown(report: dict) -> str:
    lines = [f"`{report['command']}`: {report['train_faces']} balanced fer4 training faces, "
             f"{report['validation_faces']} validation faces, {report['real_faces']} real-photo faces; "
             f"{report['seconds']} s.", "",
             "| backbone | tap | dims | C | validation acc / macro-F1 | real acc / macro-F1 | real recall happy / neutral "
             "/ sad / surprise | real / validation acc |", "|---|---|---|---|---|---|---|---|"]
    for row in report["rows"]:
        v, r = row["validation"], row["real"]
        lines.append(f"| {row['backbone']} | `{row['tap']}` | {row['dims']} | {row['C']:g} | {v['accuracy']:.3f} / "
                     f"{v['macro_f1']:.3f} | {r['accuracy']:.3f} / {r['macro_f1']:.3f} | "
                     f"{' / '.join(f'{x:.2f}' for x in r['recall'])} | {r['accuracy'] / v['accuracy']:.2f} |")
    lines += ["", f"Blended with the shipped model ({report['shipped']}): the probe of {report['blended']}, the best "
              "by validation macro-F1; the real-photo gap is paired (percentile bootstrap 95%, 2000 resamples).", "",
              "| probe's share | validation acc / macro-F1 | real acc / macro-F1 | real recall happy / neutral / sad / "
              "surprise | real gap vs shipped [95% CI] |", "|---|---|---|---|---|"]
    for row in report["blends"]:
        v, r, gap = row["validation"], row["real"], row["real_gap"]
        lines.append(f"| {row['share']:g} | {v['accuracy']:.3f} / {v['macro_f1']:.3f} | {r['accuracy']:.3f} / "
                     f"{r['macro_f1']:.3f} | {' / '.join(f'{x:.2f}' for x in r['recall'])} | "
                     f"{gap[0]:+.3f} [{gap[1]:+.3f}, {gap[2]:+.3f}] |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
