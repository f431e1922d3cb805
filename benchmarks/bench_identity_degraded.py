"""Poor faces and family names: small, blurred, dim, half-hidden faces end to end through FaceAnalyzer.

    python benchmarks/bench_identity_degraded.py [--faces-dir DIR] [--json PATH] [--draws 2000]
        [--emotion-data DIR] [--only identity|emotion] [--condition NAME ...]

Protocol: ../shared/data/faces (LFW, 16 people x 8 photos + 50 strangers; test fixtures only). Each person
is enrolled as the product enrols them (governance.enrolment: the analyzer's detector, the labelled centre
face picked, aligned, embedded) from <Name>_0001..0004; the gallery is the shipped identity model's, at the
threshold and margin from its metadata. Every photo is degraded as a whole and analysed by
FaceAnalyzer.analyze with that gallery. The labelled face is the detection that overlaps the original face
box (moved and scaled as the photo was) by IoU >= MIN_IOU; none is "missed".

- Member probes (<Name>_0005..0008, 64): named right, named as another member (wrong), unknown, or missed.
- False-match trials: the 50 strangers against the household, and each member's 8 photos against the
  household without that member (128 more: a member's face is a stranger's to everyone else). Any name is
  wrong; "near" counts the nearest member within NEAR_MISS of the threshold, named or not, a less noisy view
  of the same tail.
Intervals: 95% percentile bootstrap over people (members resampled with all their photos, strangers by the
name in their photos' file names); the same draws for every condition.
--more-strangers adds the LFW photos of the real-photo emotion set (--emotion-data) of people outside the
household as strangers (826 photos of 653 people).

Conditions (LFW faces are 105-164 px boxes in 250x250 photos):
- face N px: the whole photo rescaled (area-averaged, as a camera's smaller image) so the face box is N px
  high, pasted on a grey 640x480 canvas (a face in a bigger photo, not a thumbnail of its own).
- Gaussian blur sigma s, horizontal motion blur of L px (at the original size).
- dim: gamma 2.2 or 3 darkening and Gaussian sensor noise (sigma NOISE_SIGMA grey levels).
- covered: a grey block over the lower half of the face box (a hand, a mask), over its left half (another
  head in front), over the eyes; cropped: the photo cut at the face's vertical middle.
- two together: a 40 or 60 px face that is also dim, or also motion-blurred.
- night (NIGHT; benchmarks/night_frames.py, approximations): grey, infrared-like, dusk; a 60 px infrared-like
  face. The household is enrolled from the colour photos, as it is by day (--enrol-grey: from them made grey).
  Run only when named with --condition.
--condition NAME (repeatable) runs only these conditions and the original; the quality-rule table then covers
only them.
Each face found keeps its detected box height, detector score and the sharpness (variance of the
Laplacian) of the identity model's aligned crop (--json), for judging a quality rule.

Emotion by face size (--emotion-data, the real-photo emotion set): accuracy of the LFW photos' labelled
emotions with the photo rescaled as above, down to 32 px.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from emotion_real_photos_data import DEFAULT_DATA
from night_frames import dusk, grey, infrared_like
from PIL import Image
from scipy import ndimage

from fer_core.analyzer import FaceAnalyzer, identify
from fer_core.identity import Gallery, pairwise_distances
from fer_core.training.identity_devset import FACES_DIR, FacePhoto, centre_face, load_manifest, read_rgb
from governance.enrolment import aligned_faces, pick_faces, read_photo

MIN_IOU = 0.3
CANVAS = (480, 640)  # height, width
GREY = 128
SIZES = (32, 40, 50, 60, 80, 120)
NOISE_SIGMA = 6.0
NEAR_MISS = 0.05
RULE_HEIGHTS = (40, 50, 60)
RULE_SHARPNESS = (10, 20, 40)


@dataclass
class Probe:
    photo: FacePhoto
    rgb: np.ndarray
    box: tuple[float, float, float, float]  # the labelled face's detected box on the original photo


Degrade = Callable[[Probe, np.random.Generator], tuple[np.ndarray, tuple[float, float, float, float]]]


def rescaled(target: int) -> Degrade:
    def apply(probe: Probe, rng: np.random.Generator) -> tuple[np.ndarray, tuple[float, float, float, float]]:
        scale = target / probe.box[3]
        h, w = probe.rgb.shape[:2]
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        method = Image.Resampling.BOX if scale < 1 else Image.Resampling.BICUBIC
        small = np.asarray(Image.fromarray(probe.rgb).resize(size, method))
        canvas = np.full((*CANVAS, 3), GREY, np.uint8)
        top, left = (CANVAS[0] - size[1]) // 2, (CANVAS[1] - size[0]) // 2
        canvas[top:top + size[1], left:left + size[0]] = small
        sx, sy = size[0] / w, size[1] / h
        x, y, bw, bh = probe.box
        return canvas, (left + x * sx, top + y * sy, bw * sx, bh * sy)
    return apply


def gaussian(sigma: float) -> Degrade:
    def apply(probe: Probe, rng: np.random.Generator) -> tuple[np.ndarray, tuple[float, float, float, float]]:
        out = ndimage.gaussian_filter(probe.rgb.astype(np.float32), sigma=(sigma, sigma, 0))
        return _u8(out), probe.box
    return apply


def motion(length: int) -> Degrade:
    def apply(probe: Probe, rng: np.random.Generator) -> tuple[np.ndarray, tuple[float, float, float, float]]:
        out = ndimage.uniform_filter1d(probe.rgb.astype(np.float32), size=length, axis=1)
        return _u8(out), probe.box
    return apply


def dim(gamma: float) -> Degrade:
    def apply(probe: Probe, rng: np.random.Generator) -> tuple[np.ndarray, tuple[float, float, float, float]]:
        out = 255.0 * (probe.rgb / 255.0) ** gamma + rng.normal(0, NOISE_SIGMA, probe.rgb.shape)
        return _u8(out), probe.box
    return apply


def covered(part: str) -> Degrade:
    def apply(probe: Probe, rng: np.random.Generator) -> tuple[np.ndarray, tuple[float, float, float, float]]:
        x, y, w, h = probe.box
        x0, y0, x1, y1 = x, y, x + w, y + h
        if part == "lower half":
            y0 = y + h / 2
        elif part == "left half":
            x1 = x + w / 2
        elif part == "eyes":
            y0, y1 = y + 0.2 * h, y + 0.5 * h
        out = probe.rgb.copy()
        out[max(0, round(y0)):round(y1), max(0, round(x0)):round(x1)] = GREY
        return out, probe.box
    return apply


def cropped(probe: Probe, rng: np.random.Generator) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The photo ends at the face's vertical middle: its right half is out of the frame."""
    x, y, w, h = probe.box
    cut = round(x + w / 2)
    return np.ascontiguousarray(probe.rgb[:, :cut]), (x, y, cut - x, h)


def then(first: Degrade, second: Degrade) -> Degrade:
    """`second` applied to what `first` made (a small face that is also dim: the noise comes after scaling)."""
    def apply(probe: Probe, rng: np.random.Generator) -> tuple[np.ndarray, tuple[float, float, float, float]]:
        image, box = first(probe, rng)
        return second(Probe(probe.photo, image, box), rng)
    return apply


def _u8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.round(values), 0, 255).astype(np.uint8)


CONDITIONS: dict[str, Degrade] = {
    "original": lambda probe, rng: (probe.rgb, probe.box),
    **{f"face {n} px": rescaled(n) for n in SIZES},
    "Gaussian blur sigma 1.5": gaussian(1.5),
    "Gaussian blur sigma 3": gaussian(3.0),
    "motion blur 9 px": motion(9),
    "motion blur 17 px": motion(17),
    "dim: gamma 2.2 + noise": dim(2.2),
    "dim: gamma 3 + noise": dim(3.0),
    "lower half covered": covered("lower half"),
    "left half covered": covered("left half"),
    "eyes covered": covered("eyes"),
    "cropped at the face's middle": cropped,
    "face 40 px, dim: gamma 3 + noise": then(rescaled(40), dim(3.0)),
    "face 40 px, motion blur 5 px": then(rescaled(40), motion(5)),
    "face 60 px, dim: gamma 3 + noise": then(rescaled(60), dim(3.0)),
}
# Run only when named with --condition: a run of the conditions above stays the one its report gives.
NIGHT: dict[str, Degrade] = {
    "night: grey": lambda probe, rng: (grey(probe.rgb), probe.box),
    "night: infrared-like": lambda probe, rng: (infrared_like(probe.rgb, probe.box, rng), probe.box),
    "night: dusk, grey, gamma 3 + noise": lambda probe, rng: (dusk(probe.rgb, rng), probe.box),
    "night: face 60 px, infrared-like": then(rescaled(60), lambda probe, rng: (
        infrared_like(probe.rgb, probe.box, rng), probe.box)),
}


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    return inter / (aw * ah + bw * bh - inter)


def sharpness(crop: np.ndarray) -> float:
    """Variance of the Laplacian of the grey crop: low for blurred or upsampled faces."""
    grey = crop.astype(np.float32).mean(axis=2)
    return float(ndimage.laplace(grey).var())


def enrol(analyzer: FaceAnalyzer, photos: list[FacePhoto],
          prepare: Callable[[np.ndarray], np.ndarray] | None = None) -> Gallery:
    """The gallery as the product builds it: each enrolment photo (made by `prepare` from the photo's pixels, if
    given) read by the analyzer's detector, the labelled (centre) face picked, aligned for the identity model and
    embedded."""
    model = analyzer.identity_model
    people: dict[str, list[np.ndarray]] = {}
    for photo in photos:
        if not photo.is_enrolment:
            continue
        data = photo.path.read_bytes() if prepare is None else prepare(read_rgb(photo.path))
        enrolment = read_photo(data, photo.path.name, analyzer.detector.detect)
        face = centre_face(enrolment.faces, enrolment.image.shape)
        chosen, left_out = pick_faces([enrolment], {photo.path.name: enrolment.faces.index(face)})
        if left_out:
            print(f"enrolment photo left out: {left_out[0]}")
            continue
        people.setdefault(photo.person, []).append(model.embed(aligned_faces(chosen, model))[0])
    return Gallery({p: np.stack(rows) for p, rows in sorted(people.items())},
                   threshold=model.threshold, distance=model.distance)


def without(gallery: Gallery, person: str) -> Gallery:
    """The same household less one member (their centre is kept as the gallery computed it)."""
    people = {p: gallery.centre(p)[None] for p in gallery.person_ids if p != person}
    return Gallery(people, threshold=gallery.threshold, distance=gallery.distance, margin=gallery.margin)


def labelled_probes(analyzer: FaceAnalyzer, photos: list[FacePhoto]) -> list[Probe]:
    """Every photo with its labelled (centre) face's box as the analyzer's detector finds it on the original; a
    photo in which it finds none is left out, and said so."""
    probes = []
    for photo in photos:
        rgb = read_rgb(photo.path)
        face = centre_face(analyzer.detector.detect(rgb), rgb.shape)
        if face is None:
            print(f"no face found in the original {photo.path.name}: left out")
            continue
        probes.append(Probe(photo, rgb, face.box))
    return probes


def run(analyzer: FaceAnalyzer, gallery: Gallery, probes: list[Probe],
        conditions: dict[str, Degrade] = CONDITIONS) -> list[dict]:
    model = analyzer.identity_model
    impostor_galleries = {p: without(gallery, p) for p in gallery.person_ids}
    rows = []
    for name, degrade in conditions.items():
        rng = np.random.default_rng(0)
        for probe in probes:
            image, truth = degrade(probe, rng)
            faces = analyzer.analyze(image, gallery=gallery)
            best = max(faces, key=lambda f: iou(f.box, truth), default=None)
            person = probe.photo.person
            row = dict(condition=name, photo=probe.photo.path.name, person=person,
                       enrolment=probe.photo.is_enrolment, truth_height=round(truth[3], 1))
            if best is None or iou(best.box, truth) < MIN_IOU:
                row.update(outcome="missed", impostor=None)
                rows.append(row)
                continue
            match = best.match
            if not person:
                outcome, impostor = ("wrong" if match.person_id else "unknown"), match
            else:
                outcome = ("unknown" if match.person_id is None
                           else "correct" if match.person_id == person else "wrong")
                impostor = identify([best], impostor_galleries[person])[0].match
            crop = model.align(image, best.landmarks)
            others = [p for p in gallery.person_ids if p != person]
            pairs = pairwise_distances(best.embedding[None], np.stack([gallery.centre(p) for p in others]),
                                       gallery.distance)[0]
            row.update(wrong_pairs=[round(float(d), 4) for d in pairs], outcome=outcome, reason=match.reason, distance=round(match.distance, 4),
                       impostor=dict(named=impostor.person_id is not None, nearest=impostor.nearest,
                                     distance=round(impostor.distance, 4)),
                       height=best.box[3], score=round(best.score, 4), sharpness=round(sharpness(crop), 1),
                       emotion=best.emotion)
            rows.append(row)
        print(f"  {name}: done", file=sys.stderr)
    return rows


def who(row: dict) -> str:
    """The person a row is of, resampled as one: a member, or a stranger by the name in their photo's file name
    (<Name>_000N.jpg), so that a stranger's several photos (--more-strangers) are drawn together."""
    return row["person"] or row["photo"].rsplit("_", 1)[0]


def more_strangers(data: Path, household: set[str], taken: set[str]) -> list[FacePhoto]:
    """The LFW photos of the real-photo emotion set (emotion_real_photos_data.py) of people outside the household,
    less those already among the probes (`taken`: file names), as strangers."""
    with open(data / "manifest.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["source"] == "lfw" and r["subject"] not in household]
    return [FacePhoto(data / r["path"], "", "unknown", 0) for r in rows if Path(r["path"]).name not in taken]


def bootstrap(rows: list[dict], draws: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Resampling weights per person (members and strangers apart), the same for every condition."""
    rng = np.random.default_rng(seed)
    members = sorted({r["person"] for r in rows if r["person"]})
    strangers = sorted({who(r) for r in rows if not r["person"]})
    weights = {}
    for group in (members, strangers):
        picks = rng.integers(0, len(group), size=(draws, len(group)))
        counts = np.stack([np.bincount(p, minlength=len(group)) for p in picks])
        weights.update({key: counts[:, i] for i, key in enumerate(group)})
    return weights


def rate(rows: list[dict], hit: Callable[[dict], bool], weights: dict[str, np.ndarray]) -> str:
    if not rows:
        return "-"
    w = np.stack([weights[who(r)] for r in rows])  # [rows, draws]
    hits = np.array([hit(r) for r in rows], float)
    draws = (hits[:, None] * w).sum(0) / np.maximum(w.sum(0), 1)
    low, high = np.percentile(draws, [2.5, 97.5])
    return f"{int(hits.sum())}/{len(rows)} ({hits.mean():.0%}; {low:.0%}-{high:.0%})"


def table(rows: list[dict], weights: dict[str, np.ndarray], threshold: float,
          conditions: dict[str, Degrade] = CONDITIONS) -> None:
    near = threshold + NEAR_MISS
    print("Member probes (0005-0008), the whole household enrolled:\n")
    print("| condition | named right | named as another member | unknown | face missed |")
    print("|---|---|---|---|---|")
    for name in conditions:
        known = [r for r in rows if r["condition"] == name and r["person"] and not r["enrolment"]]
        print(f"| {name} | {rate(known, lambda r: r['outcome'] == 'correct', weights)} "
              f"| {rate(known, lambda r: r['outcome'] == 'wrong', weights)} "
              f"| {rate(known, lambda r: r['outcome'] == 'unknown', weights)} "
              f"| {rate(known, lambda r: r['outcome'] == 'missed', weights)} |")
    print("\nFalse-match trials, faces found: the 50 strangers against the household, and each member's 8 photos "
          f"against the household without them. Named = a wrong name; near = nearest member within {NEAR_MISS} "
          f"of the threshold ({near:.2f}), named or not:\n")
    print("| condition | strangers named | members named with themselves left out | all trials named | all trials near |")
    print("|---|---|---|---|---|")
    for name in conditions:
        found = [r for r in rows if r["condition"] == name and r["impostor"] is not None]
        strangers = [r for r in found if not r["person"]]
        members = [r for r in found if r["person"]]
        print(f"| {name} | {rate(strangers, lambda r: r['impostor']['named'], weights)} "
              f"| {rate(members, lambda r: r['impostor']['named'], weights)} "
              f"| {rate(found, lambda r: r['impostor']['named'], weights)} "
              f"| {rate(found, lambda r: r['impostor']['distance'] <= near, weights)} |")


def pair_table(rows: list[dict], weights: dict[str, np.ndarray], threshold: float,
               conditions: dict[str, Degrade] = CONDITIONS) -> None:
    """Every face found against every member it is not: the false-match rate per comparison, from 15-16 times
    as many comparisons as the trials above (each face's comparisons weighted together in the bootstrap)."""
    print("\nEvery comparison of a face found with a member it is not (member centres; threshold "
          f"{threshold:.2f}): comparisons within the threshold, and the distance's 1st and 5th percentiles:\n")
    print("| condition | comparisons within the threshold | 1st percentile | 5th percentile |")
    print("|---|---|---|---|")
    for name in conditions:
        found = [r for r in rows if r["condition"] == name and r["impostor"] is not None]
        w = np.stack([weights[who(r)] for r in found])  # [rows, draws]
        hits = np.array([sum(d <= threshold for d in r["wrong_pairs"]) for r in found], float)
        counts = np.array([len(r["wrong_pairs"]) for r in found], float)
        draws = (hits[:, None] * w).sum(0) / np.maximum((counts[:, None] * w).sum(0), 1)
        low, high = np.percentile(draws, [2.5, 97.5])
        every = np.concatenate([r["wrong_pairs"] for r in found])
        p1, p5 = np.percentile(every, [1, 5])
        print(f"| {name} | {int(hits.sum())}/{int(counts.sum())} ({hits.sum() / counts.sum():.2%}; {low:.2%}-{high:.2%}) "
              f"| {p1:.3f} | {p5:.3f} |")


def emotion_by_size(data: Path, draws: int) -> None:
    """Emotion accuracy on the labelled LFW photos of the real-photo emotion set (emotion_real_photos_data.py)
    with each photo rescaled as above, so its face box is N px high: whether the smallest faces searched for
    still get a reliable emotion."""
    analyzer = FaceAnalyzer(identity_model=False)
    with open(data / "manifest.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["source"] == "lfw"]
    subjects = sorted({r["subject"] for r in rows})
    picks = np.random.default_rng(0).integers(0, len(subjects), size=(draws, len(subjects)))
    weights = np.stack([np.bincount(p, minlength=len(subjects)) for p in picks])  # [draws, subjects]
    subject_of = np.array([subjects.index(r["subject"]) for r in rows])
    print(f"\nEmotion on {len(rows)} labelled LFW photos ({len(subjects)} people), by face size; accuracy of the "
          "faces found, 95% bootstrap interval over people:\n")
    print("| face box height | faces found | accuracy | same emotion as at the original size |")
    print("|---|---|---|---|")
    originals: dict[int, str] = {}
    for name in ("original", *(f"face {n} px" for n in (80, 60, 48, 40, 32))):
        degrade = CONDITIONS.get(name) or rescaled(int(name.split()[1]))
        rng = np.random.default_rng(0)
        found, right, same = np.zeros(len(rows), bool), np.zeros(len(rows), bool), []
        for i, row in enumerate(rows):
            rgb = read_rgb(data / row["path"])
            face = centre_face(analyzer.detector.detect(rgb), rgb.shape)
            if face is None:
                continue
            image, truth = degrade(Probe(FacePhoto(data / row["path"], "", "", 0), rgb, face.box), rng)
            faces = analyzer.analyze(image)
            best = max(faces, key=lambda f: iou(f.box, truth), default=None)
            if best is None or iou(best.box, truth) < MIN_IOU:
                continue
            found[i], right[i] = True, best.emotion == row["label"]
            if name == "original":
                originals[i] = best.emotion
            elif i in originals:
                same.append(best.emotion == originals[i])
        w = weights[:, subject_of[found]]
        draws_acc = (w * right[found]).sum(1) / np.maximum(w.sum(1), 1)
        low, high = np.percentile(draws_acc, [2.5, 97.5])
        agree = f"{np.mean(same):.1%}" if same else "-"
        print(f"| {name} | {found.sum()}/{len(rows)} | {right[found].mean():.1%} ({low:.1%}-{high:.1%}) | {agree} |")
        print(f"  {name}: done", file=sys.stderr)


def identity_tables(args: argparse.Namespace) -> None:
    analyzer = FaceAnalyzer()
    model = analyzer.identity_model
    photos = load_manifest(args.faces_dir)
    gallery = enrol(analyzer, photos, grey if args.enrol_grey else None)
    if args.enrol_grey:
        print("the household enrolled from its enrolment photos made grey (night: grey)")
    probes = labelled_probes(analyzer, photos)
    if args.more_strangers:
        extra = more_strangers(args.emotion_data, set(gallery.person_ids), {p.photo.path.name for p in probes})
        probes += labelled_probes(analyzer, extra)
        print(f"{len(extra)} more strangers' photos from {args.emotion_data} (--more-strangers)")
    print(f"{model.name}: {model.distance} distance, threshold {gallery.threshold:.2f}, margin {gallery.margin:.3f}; "
          f"{len(gallery)} members enrolled, {sum(1 for p in probes if p.photo.is_probe and p.photo.person)} member probes, "
          f"{sum(1 for p in probes if not p.photo.person)} strangers; original face boxes "
          f"{min(p.box[3] for p in probes):.0f}-{max(p.box[3] for p in probes):.0f} px high\n")
    every = {**CONDITIONS, **NIGHT}
    conditions = CONDITIONS if not args.condition else \
        {name: every[name] for name in every if name == "original" or name in args.condition}
    rows = run(analyzer, gallery, probes, conditions)
    weights = bootstrap(rows, args.draws)
    table(rows, weights, gallery.threshold, conditions)
    pair_table(rows, weights, gallery.threshold, conditions)
    shifts(rows, conditions)
    quality_rules(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=0) + "\n")
        print(f"\nwrote {args.json}")


def shifts(rows: list[dict], conditions: dict[str, Degrade] = CONDITIONS) -> None:
    """How each condition moves faces, paired with the same photo's original: a member probe's distance to its
    nearest member, and a false-match trial's distance to its nearest (wrong) member."""
    original = {r["photo"]: r for r in rows if r["condition"] == "original" and r["impostor"] is not None}
    print("\nDistance change against the same photo's original (faces found in both), median "
          "[5th percentile, 95th]:\n")
    print("| condition | member probe to its nearest member | false-match trial to its nearest member |")
    print("|---|---|---|")
    for name in conditions:
        if name == "original":
            continue
        found = [r for r in rows if r["condition"] == name and r["impostor"] is not None and r["photo"] in original]
        probes = [r["distance"] - original[r["photo"]]["distance"] for r in found if r["person"] and not r["enrolment"]]
        trials = [r["impostor"]["distance"] - original[r["photo"]]["impostor"]["distance"] for r in found]
        print(f"| {name} | {_spread(probes)} | {_spread(trials)} |")


def _spread(values: list[float]) -> str:
    low, mid, high = np.percentile(values, [5, 50, 95])
    return f"{mid:+.3f} [{low:+.3f}, {high:+.3f}]"


def quality_rules(rows: list[dict]) -> None:
    """What a rule "no name below a face size or a sharpness" would have taken away over the degraded
    conditions: the wrong names (false-match trials named) and the right ones (member probes named right)."""
    degraded = [r for r in rows if r["condition"] != "original" and r["impostor"] is not None]
    wrong = [r for r in degraded if r["impostor"]["named"]]
    right = [r for r in degraded if r["outcome"] == "correct" and not r["enrolment"]]
    print("\nA quality rule over all degraded conditions: the names it would withhold\n")
    print("| no name when | wrong names withheld | right names withheld |")
    print("|---|---|---|")
    for what, key, cuts in (("face box height below (px)", "height", RULE_HEIGHTS),
                            ("sharpness below", "sharpness", RULE_SHARPNESS)):
        for cut in cuts:
            w, r = sum(x[key] < cut for x in wrong), sum(x[key] < cut for x in right)
            print(f"| {what} {cut} | {w}/{len(wrong)} ({w / len(wrong):.0%}) | {r}/{len(right)} ({r / len(right):.0%}) |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces-dir", type=Path, default=FACES_DIR)
    parser.add_argument("--json", type=Path, help="write every probe's outcome and quality figures here")
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--emotion-data", type=Path, default=DEFAULT_DATA,
                        help="the real-photo emotion set (emotion_real_photos_data.py); its LFW photos are read")
    parser.add_argument("--only", choices=("identity", "emotion"), help="print only these tables")
    parser.add_argument("--condition", action="append", metavar="NAME",
                        choices=[c for c in {**CONDITIONS, **NIGHT} if c != "original"],
                        help="identity: only this condition (repeatable) and the original; the night "
                             "conditions run only so")
    parser.add_argument("--more-strangers", action="store_true",
                        help="identity: add the LFW photos of --emotion-data whose people are not in the household "
                             "as strangers")
    parser.add_argument("--enrol-grey", action="store_true",
                        help="identity: enrol the household from its enrolment photos made grey (as from a night "
                             "camera's stills), not from the colour photos")
    args = parser.parse_args(argv)

    if args.only != "emotion":
        identity_tables(args)
    if args.only == "identity":
        return 0
    if args.emotion_data.is_dir():
        emotion_by_size(args.emotion_data, args.draws)
    else:
        print(f"\nno emotion table: {args.emotion_data} is missing (emotion_real_photos_data.py builds it)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
