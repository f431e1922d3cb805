"""Is Grad-CAM faithful to the emotion model? The deletion metric (Petsiuk et al. 2018) on fer4 test faces.

Protocol: --faces (200) evenly spaced faces of fer4's test split (--split) after deduplication
(fer_core.training.data.load_splits drops cross-split and conflicting-label copies). For each face,
the model's predicted emotion; each method's heatmap for it (governance.explain); the pixels removed
most-salient first in DELETION_STEPS (24) steps, each removed pixel replaced by the heavily blurred face;
the area under the probability curve (lower = more faithful). "random" removes the pixels in a seeded
random order, one order per face: the level any explanation must beat. Comparisons are paired per
face: mean AUC difference with a 95% bootstrap interval, share of faces where the method is lower,
Wilcoxon signed-rank p.

Writes <out>/deletion.json (every number, per face), <out>/deletion.md (the table),
<out>/deletion_curves.png, <out>/overlays_fer4.png and <out>/overlay_photo_<name>.png (Grad-CAM mapped
back onto real photos through the app's own detection and alignment). The photos are public-domain ones
(tests/fixtures/public_domain): these figures are published, and LFW's photos may not be redistributed.
`--photos-only` redraws just those overlays into an existing <out> (same model, checked by SHA-256).

Real photos (--real-photos [DIR]): the faces come instead from the real-photo dev set of
benchmarks/emotion_real_photos_data.py (DIR, default its cache; evaluation only), cut as the app's Explain
page cuts them: FaceAnalyzer finds the face (the one nearest the photo's centre, as
benchmarks/emotion_real_photos.py scores it) and fer_core.alignment.align puts its landmarks on the emotion
model's template (unveil.app.explain_view). REAL_PHOTO_PROTOCOL says how the photos are picked. It writes
<out>/deletion_real_photos.{json,md} and the mean curves only: no picture of these faces, which may not be
published, and per face the file's SHA-256 (its manifest row), not its path.

A method is a name of governance.explain.METHODS, or "name@layer" for a method that explains at a
chosen layer (e.g. hirescam@block4_conv3), which is how the default layer was chosen, on validation:

    python benchmarks/gradcam_faithfulness.py [--model models/emotion_vgg16.onnx] [--out docs/gradcam]
    python benchmarks/gradcam_faithfulness.py --split validation --faces 100 --out docs/gradcam/layer_selection \
        --methods hirescam@block5_conv3 hirescam@block5_conv1 layercam@block5_conv1 ...
    python benchmarks/gradcam_faithfulness.py --real-photos --faces 200 --methods gradcam layercam ...
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import wilcoxon

from fer_core.model_files import models_dir
from fer_core.training.data import load_splits, to_rgb_float
from governance.explain import (
    DEFAULT_METHOD,
    DEFAULT_MODEL,
    DELETION_STEPS,
    LAYER_METHODS,
    METHODS,
    deletion_curve,
    explain_face,
    explain_on_photo,
    load_cam_model,
    overlay,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from emotion_real_photos import central_face
from emotion_real_photos_data import DEFAULT_DATA as REAL_PHOTOS

REPO = Path(__file__).resolve().parents[1]
FER4 = REPO.parent / "shared" / "data" / "fer4"
PHOTOS = (REPO / "tests" / "fixtures" / "public_domain" / "grace_hopper.jpg",
          REPO / "tests" / "fixtures" / "public_domain" / "eileen_collins.jpg")
DEFAULT_OUT = REPO / "docs" / "gradcam"
BOOTSTRAP = 2000
FILL = "blur"
REAL_PHOTO_PROTOCOL = """Are the explanations as faithful on real photos, the faces users explain? The deletion metric on faces
of the real-photo dev set (benchmarks/emotion_real_photos_data.py), cut as the Explain page cuts them.

Faces: --faces real photos of the dev set's manifest.csv, spread evenly over its cells (source x labelled
emotion): each cell's photos in a seeded random order (--seed), then one face from each cell in turn until
--faces are taken, a cell that runs out of photos leaving the turns to the others. A photo in which
FaceAnalyzer finds no face is skipped and the cell's next photo taken. Each face is the one nearest the
photo's centre, aligned as the Explain page aligns it (its 5 landmarks onto the model's template). Then, as on
fer4: the model's predicted emotion, each method's heatmap for it, the pixels removed most-salient first in
DELETION_STEPS (24) steps, each replaced by the heavily blurred face; the area under the probability curve
(lower = more faithful) against a seeded random order, paired per face."""


def shown_path(path: Path) -> Path:
    """`path` relative to the repository when it is inside it, so a report's command runs anywhere."""
    resolved = path.resolve()
    return resolved.relative_to(REPO) if resolved.is_relative_to(REPO) else path


def bootstrap_interval(values: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """95% percentile interval of the mean."""
    means = values[rng.integers(0, len(values), (BOOTSTRAP, len(values)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def paired(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> dict:
    """a vs b per face: mean difference a - b (negative: a removes evidence faster), its interval,
    share of faces where a < b, Wilcoxon signed-rank p (two-sided)."""
    diff = a - b
    low, high = bootstrap_interval(diff, rng)
    return {"mean_diff": float(diff.mean()), "ci95": [low, high], "relative": float(diff.mean() / b.mean()),
            "share_lower": float((diff < 0).mean()), "wilcoxon_p": float(wilcoxon(a, b).pvalue)}


def method_spec(text: str) -> str:
    """argparse type: "name" or "name@layer" (layer methods only)."""
    name, _, layer = text.partition("@")
    if name not in METHODS or (layer and name not in LAYER_METHODS):
        raise argparse.ArgumentTypeError(f"{text!r}: expected one of {list(METHODS)}, or one of "
                                         f"{list(LAYER_METHODS)} followed by @layer")
    return text


def explain(model, face: np.ndarray, spec: str):
    name, _, layer = spec.partition("@")
    return explain_face(model, face, method=name, layer=layer or None)


def measure(model, faces: np.ndarray, methods: list[str], seed: int) -> tuple[dict, dict, list[dict]]:
    """Per-face AUCs and mean curves for every method plus random order, and seconds per face."""
    aucs = {m: [] for m in [*methods, "random"]}
    curves = {m: [] for m in aucs}
    seconds = {m: 0.0 for m in methods}
    records = []
    for i, face in enumerate(faces):
        record = {}
        saliency = {}
        for method in methods:
            started = time.perf_counter()
            explanation = explain(model, face, method)
            seconds[method] += time.perf_counter() - started
            target = int(np.argmax(explanation.probabilities))
            saliency[method] = explanation.heatmaps[target]
        record.update(predicted=model.classes[target], probability=float(explanation.probabilities[target]))
        saliency["random"] = np.random.default_rng([seed, i]).random(model.input_size)
        for method, heat in saliency.items():
            curve = deletion_curve(model.predict, face, heat, target, fill=FILL,
                                   rng=np.random.default_rng([seed, i, 1]))
            aucs[method].append(curve.auc)
            curves[method].append(curve.scores)
            record[method] = curve.auc
        records.append(record)
        if (i + 1) % 20 == 0:
            print(f"  {i + 1}/{len(faces)} faces", flush=True)
    fractions = curve.fractions
    mean_curves = {m: np.mean(c, axis=0).tolist() for m, c in curves.items()}
    per_face_ms = {m: 1000 * s / len(faces) for m, s in seconds.items()}
    return ({m: np.asarray(v) for m, v in aucs.items()},
            {"fractions": fractions.tolist(), "mean_scores": mean_curves, "ms_per_face": per_face_ms}, records)


def table(summary: dict, comparisons: dict) -> str:
    lines = ["| method | deletion AUC (mean, 95% CI) | vs random: mean diff (95% CI) | relative | faces lower than random | Wilcoxon p | ms/face |",
             "|---|---|---|---|---|---|---|"]
    for method, s in summary.items():
        c = comparisons.get(f"{method} vs random")
        ms = s.get("ms_per_face")
        vs = (f"{c['mean_diff']:+.4f} ({c['ci95'][0]:+.4f}, {c['ci95'][1]:+.4f}) | {c['relative']:+.1%} | "
              f"{c['share_lower']:.1%} | {c['wilcoxon_p']:.1e}") if c else "- | - | - | -"
        lines.append(f"| {method} | {s['mean']:.4f} ({s['ci95'][0]:.4f}, {s['ci95'][1]:.4f}) | {vs} | "
                     f"{'-' if ms is None else f'{ms:.1f}'} |")
    return "\n".join(lines)


def render_markdown(result: dict, numbers: str = "deletion.json") -> str:
    """deletion.md from deletion.json's numbers (also re-rendered alone with --report-only); `numbers` names
    that JSON file."""
    settings, summary, comparisons = result["settings"], result["summary"], result["comparisons"]
    lines = [f"# Deletion metric: {settings['model']} (version {settings['model_version']})", "",
             f"Generated by `{settings['command']}`; every number is in {numbers}.", "", result["protocol"], "",
             f"A layer method named without @layer explains at the model's default layer, "
             f"{settings.get('default_layer') or 'the last conv map'}.", ""]
    for method in summary:
        c = comparisons.get(f"{method} vs random")
        if c:
            lines += [f"- {method}: mean deletion AUC {summary[method]['mean']:.4f} against {summary['random']['mean']:.4f} "
                      f"for random order, {abs(c['relative']):.1%} {'lower' if c['relative'] < 0 else 'higher'} "
                      f"(paired difference {c['mean_diff']:+.4f}, 95% CI {c['ci95'][0]:+.4f} to {c['ci95'][1]:+.4f}); "
                      f"lower than random on {c['share_lower']:.1%} of faces."]
    lines.append("")
    lines += [table(summary, comparisons), ""]
    others = {name: c for name, c in comparisons.items() if not name.endswith("random")}
    if others:
        lines += ["Grad-CAM against the other methods (paired; negative: Grad-CAM removes the evidence faster):", "",
                  "| comparison | mean AUC diff (95% CI) | faces where Grad-CAM is lower | Wilcoxon p |", "|---|---|---|---|"]
        lines += [f"| {name} | {c['mean_diff']:+.4f} ({c['ci95'][0]:+.4f}, {c['ci95'][1]:+.4f}) | "
                  f"{c['share_lower']:.1%} | {c['wilcoxon_p']:.1e} |" for name, c in others.items()]
        lines.append("")
    notes = (f"Mean probability of the predicted emotion before deletion: {settings['mean_initial_probability']:.3f}; "
             f"with every pixel removed (the whole face blurred): {settings['mean_final_probability']:.3f}, a floor "
             f"under every curve that makes the relative differences look smaller than the share of evidence removed.")
    if "occlusion" in summary:
        notes += (" Occlusion fills its patches with the same blurred face the metric uses, so it is measured with its "
                  "own perturbation: read its row as an upper reference, not a like-for-like rival. It also costs "
                  "about 120 forward passes per face against Grad-CAM's one (ms/face above).")
    lines += [notes, ""]
    if result.get("against_default"):
        lines += [f"{DEFAULT_METHOD} (the app's default) against the other methods (paired; negative: {DEFAULT_METHOD} "
                  "removes the evidence faster):", "",
                  f"| comparison | mean AUC diff (95% CI) | faces where {DEFAULT_METHOD} is lower | Wilcoxon p |",
                  "|---|---|---|---|"]
        lines += [f"| {name} | {c['mean_diff']:+.4f} ({c['ci95'][0]:+.4f}, {c['ci95'][1]:+.4f}) | "
                  f"{c['share_lower']:.1%} | {c['wilcoxon_p']:.1e} |" for name, c in result["against_default"].items()]
        lines.append("")
    if result["faces"] and "source" in result["faces"][0]:
        lines += by_source(result)
    if "fer4" in result:
        lines += fer4_side_by_side(result)
    lines += [f"![{Path(f).stem}]({f})\n" for f in result["figures"]]
    return "\n".join(lines)


def fer4_side_by_side(result: dict) -> list[str]:
    """The real-photo figures beside the fer4 ones of the same model file (the run's `fer4` entry)."""
    fer4 = result["fer4"]
    lines = [f"Beside the same model file's measurement on {fer4['data']} (`{fer4['command']}`, {fer4['file']}); "
             "relative: (AUC - random) / random, negative below random; rank 1 is the most faithful (lowest AUC) "
             "among the methods measured in both:", "",
             "| method | real photos: AUC / random | relative | rank | fer4: AUC / random | relative | rank |",
             "|---|---|---|---|---|---|---|"]
    methods = [m for m in result["summary"] if m != "random"]
    real_rank = {m: k + 1 for k, m in enumerate(sorted(methods, key=lambda m: result["summary"][m]["mean"]))}
    shared = [m for m in methods if m in fer4["summary"]]
    fer4_rank = {m: k + 1 for k, m in enumerate(sorted(shared, key=lambda m: fer4["summary"][m]["mean"]))}
    for method in methods:
        real = result["comparisons"][f"{method} vs random"]
        cells = [f"{result['summary'][method]['mean']:.4f} / {result['summary']['random']['mean']:.4f}",
                 f"{real['relative']:+.1%}", str(real_rank[method])]
        if method in fer4["summary"]:
            other = fer4["comparisons"][f"{method} vs random"]
            cells += [f"{fer4['summary'][method]['mean']:.4f} / {fer4['summary']['random']['mean']:.4f}",
                      f"{other['relative']:+.1%}", str(fer4_rank[method])]
        else:
            cells += ["not measured", "-", "-"]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def by_source(result: dict) -> list[str]:
    """Real photos: each method's mean AUC per source of the dev set, with its change against random order."""
    methods = [m for m in result["summary"] if m != "random"]
    lines = ["By source (mean deletion AUC, and relative to random order on the same faces; no intervals: few "
             "faces, and few people, per source):", "",
             "| source | faces | random | " + " | ".join(methods) + " |", "|---|---|---|" + "---|" * len(methods)]
    for source in sorted({r["source"] for r in result["faces"]}):
        faces = [r for r in result["faces"] if r["source"] == source]
        random = np.mean([r["random"] for r in faces])
        cells = [f"{np.mean([r[m] for r in faces]):.4f} ({np.mean([r[m] for r in faces]) / random - 1:+.1%})"
                 for m in methods]
        lines.append(f"| {source} | {len(faces)} | {random:.4f} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def against_default(records: list[dict], seed: int) -> dict:
    """DEFAULT_METHOD against every other method measured, paired per face, from the per-face AUCs with a
    bootstrap of its own seed, so that --report-only gives the same numbers."""
    methods = [m for m in records[0] if m in METHODS or "@" in m]
    if DEFAULT_METHOD not in methods:
        return {}
    rng = np.random.default_rng([seed, 2])
    default = np.array([r[DEFAULT_METHOD] for r in records])
    return {f"{DEFAULT_METHOD} vs {m}": paired(default, np.array([r[m] for r in records]), rng)
            for m in methods if m != DEFAULT_METHOD}


def fer4_of_the_same_model(out: Path, model_sha256: str) -> dict | None:
    """<out>/deletion.json's summary and comparisons when it measured the same model file, else None."""
    path = out / "deletion.json"
    if not path.is_file():
        return None
    fer4 = json.loads(path.read_text())
    settings = fer4["settings"]
    if settings["model_sha256"] != model_sha256:
        return None
    return {"file": path.name, "data": f"fer4 {settings['split']}, {settings['faces']} faces",
            "command": settings["command"], "summary": fer4["summary"], "comparisons": fer4["comparisons"]}


def plot_curves(curves: dict, path: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for method, scores in curves["mean_scores"].items():
        ax.plot(curves["fractions"], scores, label=method, linestyle="--" if method == "random" else "-")
    ax.set(xlabel="share of pixels removed (most salient first)", ylabel="probability of the predicted emotion",
           title=title, xlim=(0, 1), ylim=(0, None))
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_faces(model, faces: np.ndarray, labels: list[str], methods: list[str], path: Path) -> None:
    """A few fer4 test faces (with their true label), each method's heatmap for the predicted emotion."""
    fig, axes = plt.subplots(len(faces), 1 + len(methods), figsize=(1.9 * (1 + len(methods)), 2.0 * len(faces)))
    for row, face, label in zip(axes, faces, labels):
        gray = face.astype(np.uint8)
        row[0].imshow(gray)
        row[0].set_title(f"true: {label}", fontsize=7)
        for ax, method in zip(row[1:], methods):
            explanation = explain(model, face, method)
            ax.imshow(overlay(gray, explanation.heatmap()))
            ax.set_title(f"{method}: {explanation.predicted} {explanation.probabilities.max():.2f}", fontsize=7)
        for ax in row:
            ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_photos(model_path: Path, model, out: Path, method: str) -> list[str]:
    """plot_photo for every photo of PHOTOS in which a face is found; the names of the files written."""
    return [f"overlay_photo_{photo.stem}.png" for photo in PHOTOS
            if plot_photo(model_path, model, photo, out / f"overlay_photo_{photo.stem}.png", method)]


def redraw_photos(model_path: Path, out: Path) -> None:
    """--photos-only: replace <out>'s overlays on photos (the method its run used; Grad-CAM in runs that
    did not record one) and list the new ones in deletion.json and deletion.md."""
    result = json.loads((out / "deletion.json").read_text())
    settings = result["settings"]
    if hashlib.sha256(model_path.read_bytes()).hexdigest() != settings["model_sha256"]:
        raise SystemExit(f"{model_path} is not the model {out}/deletion.json was measured with "
                         f"(SHA-256 {settings['model_sha256']})")
    for name in result["figures"]:
        if name.startswith("overlay_photo_"):
            (out / name).unlink(missing_ok=True)
    drawn = plot_photos(model_path, load_cam_model(model_path), out, settings.get("photo_method", "gradcam"))
    result["figures"] = [name for name in result["figures"] if not name.startswith("overlay_photo_")] + drawn
    (out / "deletion.json").write_text(json.dumps(result, indent=1))
    (out / "deletion.md").write_text(render_markdown(result))
    print(f"redrew {', '.join(drawn)} in {out}")


def plot_photo(model_path: Path, model, photo_path: Path, path: Path, method: str) -> bool:
    """The app's path on a real photo: detect, align to the emotion model's template, then `method`'s
    heatmap of every emotion mapped back onto the photo through the inverse of that alignment."""
    from fer_core.alignment import similarity_transform
    from fer_core.analyzer import FaceAnalyzer
    from fer_core.images import load_image

    analyzer = FaceAnalyzer(emotion_model=model_path, identity_model=False)
    photo = load_image(photo_path)
    faces = [face for face in analyzer.analyze(photo) if face.emotion is not None]  # a face not read has no reading
    if not faces:
        return False
    face = max(faces, key=lambda f: f.box[2] * f.box[3])
    matrix = similarity_transform(face.landmarks, analyzer.emotion_model.template)
    fig, axes = plt.subplots(1, 1 + len(model.classes), figsize=(2.4 * (1 + len(model.classes)), 2.6))
    axes[0].imshow(photo)
    axes[0].set_title(photo_path.stem, fontsize=8)
    for ax, emotion in zip(axes[1:], model.classes):
        ax.imshow(explain_on_photo(model, photo, matrix, emotion, method=method))
        ax.set_title(f"{method} {emotion} ({face.emotion_probs[emotion]:.2f})", fontsize=8)
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def summarise(aucs: dict, curves: dict, methods: list[str], seed: int) -> tuple[dict, dict]:
    """Each method's mean AUC with its interval, and the paired comparisons: every method against random
    order, Grad-CAM (when measured) against every other method."""
    rng = np.random.default_rng(seed)
    summary = {m: {"mean": float(v.mean()), "ci95": list(bootstrap_interval(v, rng)), "median": float(np.median(v)),
                   **({"ms_per_face": curves["ms_per_face"][m]} if m in curves["ms_per_face"] else {})}
               for m, v in aucs.items()}
    comparisons = {f"{m} vs random": paired(aucs[m], aucs["random"], rng) for m in methods}
    comparisons |= {f"gradcam vs {m}": paired(aucs["gradcam"], aucs[m], rng)
                    for m in methods if m != "gradcam" and "gradcam" in methods}
    return summary, comparisons


def print_results(summary: dict, comparisons: dict) -> None:
    print(table(summary, comparisons))
    for name, c in comparisons.items():
        if not name.endswith("random"):
            print(f"{name}: mean AUC diff {c['mean_diff']:+.4f} ({c['ci95'][0]:+.4f}, {c['ci95'][1]:+.4f}), "
                  f"gradcam lower on {c['share_lower']:.1%} of faces, Wilcoxon p {c['wilcoxon_p']:.1e}")


def real_photos(args: argparse.Namespace, model) -> None:
    """--real-photos: the deletion metric on real-photo faces; writes <out>/deletion_real_photos.{json,md} and
    the mean curves (no picture of a face)."""
    started = time.perf_counter()
    faces, rows, missed = real_photo_faces(args.model, model, args.real_photos, args.faces, args.seed)
    cells = sorted({(row["source"], row["label"]) for row in rows})
    per_cell = {f"{source} {label}": sum(1 for r in rows if (r["source"], r["label"]) == (source, label))
                for source, label in cells}
    print(f"{len(faces)} real-photo faces ({missed} photos without a face passed over; found in "
          f"{time.perf_counter() - started:.0f} s): {per_cell}; model {args.model.name}; methods {args.methods}; "
          f"{DELETION_STEPS} steps, fill {FILL}", flush=True)
    started = time.perf_counter()
    aucs, curves, records = measure(model, faces, args.methods, args.seed)
    elapsed = time.perf_counter() - started
    summary, comparisons = summarise(aucs, curves, args.methods, args.seed)
    for record, row in zip(records, rows):
        record.update(sha256=row["sha256"], source=row["source"], label=row["label"])
    print_results(summary, comparisons)

    args.out.mkdir(parents=True, exist_ok=True)
    meta = {"model": args.model.name, "model_sha256": hashlib.sha256(args.model.read_bytes()).hexdigest(),
            "model_version": model.version, "default_layer": model.default_layer,
            "data": f"real photos ({args.real_photos.name}, benchmarks/emotion_real_photos_data.py)",
            "faces": len(faces), "faces_per_cell": per_cell, "photos_without_a_face": missed,
            "deletion_steps": DELETION_STEPS, "fill": FILL, "seed": args.seed, "bootstrap": BOOTSTRAP,
            "seconds": elapsed,
            "mean_initial_probability": float(np.mean([r["probability"] for r in records])),
            "mean_final_probability": float(curves["mean_scores"]["random"][-1]),
            "command": f"python benchmarks/gradcam_faithfulness.py --real-photos"
                       f"{'' if args.real_photos == REAL_PHOTOS else f' {args.real_photos}'} --model {shown_path(args.model)} "
                       f"--faces {args.faces} --seed {args.seed} --methods {' '.join(args.methods)}"
                       f"{'' if args.out == DEFAULT_OUT else f' --out {shown_path(args.out)}'}"}
    result = {"protocol": REAL_PHOTO_PROTOCOL, "settings": meta, "summary": summary, "comparisons": comparisons,
              "curves": curves, "faces": records, "figures": ["deletion_real_photos_curves.png"]}
    result["against_default"] = against_default(records, args.seed)
    fer4 = fer4_of_the_same_model(args.out, meta["model_sha256"])
    if fer4:
        result["fer4"] = fer4
    plot_curves(curves, args.out / "deletion_real_photos_curves.png", f"Deletion curves, {len(faces)} real-photo faces")
    (args.out / "deletion_real_photos.json").write_text(json.dumps(result, indent=1))
    (args.out / "deletion_real_photos.md").write_text(render_markdown(result, "deletion_real_photos.json"))
    print(f"wrote {args.out}/deletion_real_photos.json, .md and curves ({elapsed:.0f} s of measuring)")


def even_picks(rows: list[dict[str, str]], faces: int, seed: int, has_face) -> list[dict[str, str]]:
    """Up to `faces` rows spread evenly over the (source, label) cells: each cell shuffled with `seed`, then
    one row per cell in turn (cells in sorted order) whose photo `has_face`, until `faces` are taken or no
    cell has a photo left. Rows without a face are passed over."""
    cells = defaultdict(list)
    for row in rows:
        cells[(row["source"], row["label"])].append(row)
    rng = np.random.default_rng(seed)
    queues = {cell: [cells[cell][i] for i in rng.permutation(len(cells[cell]))] for cell in sorted(cells)}
    picked: list[dict[str, str]] = []
    while len(picked) < faces and queues:
        for cell in list(queues):
            queue = queues[cell]
            while queue and not has_face(queue[0]):
                queue.pop(0)
            if not queue:
                del queues[cell]
                continue
            picked.append(queue.pop(0))
            if len(picked) == faces:
                break
    return picked


def real_photo_faces(model_path: Path, model, data: Path, faces: int,
                     seed: int) -> tuple[np.ndarray, list[dict[str, str]], int]:
    """--real-photos: the aligned faces (N, h, w, 3) float32 as the Explain page explains them, their manifest
    rows, and how many photos were passed over for having no face."""
    from fer_core.alignment import align
    from fer_core.analyzer import FaceAnalyzer
    from fer_core.images import load_image

    manifest = data / "manifest.csv"
    if not manifest.is_file():
        raise SystemExit(f"no {manifest}: build the set first (benchmarks/emotion_real_photos_data.py)")
    with open(manifest, newline="") as handle:
        rows = list(csv.DictReader(handle))
    analyzer = FaceAnalyzer(emotion_model=model_path, identity_model=False)
    crops: dict[str, np.ndarray] = {}
    missed = 0

    def has_face(row: dict[str, str]) -> bool:
        nonlocal missed
        photo = load_image(data / row["path"])
        face = central_face(analyzer.analyze(photo), photo.shape)
        if face is None:
            missed += 1
            return False
        crops[row["path"]] = align(photo, face.landmarks, analyzer.emotion_model.template, model.input_size).crop
        return True

    picked = even_picks(rows, faces, seed, has_face)
    return np.stack([crops[row["path"]] for row in picked]).astype(np.float32), picked, missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=models_dir() / DEFAULT_MODEL)
    parser.add_argument("--data", type=Path, default=FER4)
    parser.add_argument("--faces", type=int, default=200)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), type=method_spec)
    parser.add_argument("--split", choices=("test", "validation"), default="test")
    parser.add_argument("--real-photos", type=Path, nargs="?", const=REAL_PHOTOS, default=None, metavar="DIR",
                        help=f"faces of the real-photo dev set instead of fer4 (default DIR {REAL_PHOTOS})")
    parser.add_argument("--photo-method", choices=list(METHODS), default=DEFAULT_METHOD,
                        help="method of the overlays on real photos")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--report-only", action="store_true",
                        help="re-render <out>/deletion.md from deletion.json (with --real-photos: "
                             "deletion_real_photos.md, and the fer4 figures beside it)")
    parser.add_argument("--photos-only", action="store_true",
                        help="redraw <out>'s overlays on photos with its model and photo method, then its deletion.md")
    args = parser.parse_args()
    stem = "deletion_real_photos" if args.real_photos else "deletion"
    if args.report_only:
        result = json.loads((args.out / f"{stem}.json").read_text())
        if args.real_photos:  # the fer4 figures beside it may have been measured since
            result["against_default"] = against_default(result["faces"], result["settings"]["seed"])
            result.pop("fer4", None)
            fer4 = fer4_of_the_same_model(args.out, result["settings"]["model_sha256"])
            result |= {"fer4": fer4} if fer4 else {}
            (args.out / f"{stem}.json").write_text(json.dumps(result, indent=1))
        (args.out / f"{stem}.md").write_text(render_markdown(result, f"{stem}.json"))
        return
    if args.photos_only:
        redraw_photos(args.model, args.out)
        return

    model = load_cam_model(args.model)
    if args.real_photos:
        real_photos(args, model)
        return
    started = time.perf_counter()
    splits, report = load_splits(args.data, classes=model.classes, size=model.input_size[0])
    test = splits[args.split]
    pick = np.round(np.linspace(0, len(test) - 1, min(args.faces, len(test)))).astype(int)
    faces = to_rgb_float(test.images[pick])
    print(f"{len(faces)} of {len(test)} deduplicated {args.split} faces (loaded in {time.perf_counter() - started:.0f} s); "
          f"model {args.model.name}; methods {args.methods}; {DELETION_STEPS} steps, fill {FILL}")

    started = time.perf_counter()
    aucs, curves, records = measure(model, faces, args.methods, args.seed)
    elapsed = time.perf_counter() - started
    summary, comparisons = summarise(aucs, curves, args.methods, args.seed)
    for record, path, label in zip(records, [test.paths[i] for i in pick], test.labels[pick]):
        record.update(path=str(Path(path).relative_to(args.data)), label=model.classes[int(label)])

    print_results(summary, comparisons)

    args.out.mkdir(parents=True, exist_ok=True)
    data = args.model.read_bytes()
    meta = {"model": args.model.name, "model_sha256": hashlib.sha256(data).hexdigest(),
            "model_version": model.version,
            "default_layer": model.default_layer,
            "data": str(args.data.name), "split": args.split, "faces": len(faces),
            "split_faces_after_dedup": len(test), "photo_method": args.photo_method,
            "dedup": report.as_dict(), "deletion_steps": DELETION_STEPS, "fill": FILL, "seed": args.seed,
            "bootstrap": BOOTSTRAP, "seconds": elapsed,
            "mean_initial_probability": float(np.mean([r["probability"] for r in records])),
            "mean_final_probability": float(curves["mean_scores"]["random"][-1]),
            "command": f"python benchmarks/gradcam_faithfulness.py --model {shown_path(args.model)} --split {args.split} "
                       f"--faces {args.faces} --methods {' '.join(args.methods)} --photo-method {args.photo_method}"}
    result = {"protocol": __doc__.split("Writes")[0].strip(), "settings": meta, "summary": summary,
              "comparisons": comparisons, "curves": curves, "faces": records}
    plot_curves(curves, args.out / "deletion_curves.png", f"Deletion curves, {len(faces)} fer4 {args.split} faces")
    shown = np.linspace(0, len(faces) - 1, 6).astype(int)
    plot_faces(model, faces[shown], [records[i]["label"] for i in shown], args.methods, args.out / "overlays_fer4.png")
    result["figures"] = ["deletion_curves.png", "overlays_fer4.png", *plot_photos(args.model, model, args.out, args.photo_method)]
    (args.out / "deletion.json").write_text(json.dumps(result, indent=1))
    (args.out / "deletion.md").write_text(render_markdown(result))
    print(f"wrote {args.out}/deletion.json, deletion.md and figures ({elapsed:.0f} s of measuring)")


if __name__ == "__main__":
    main()
