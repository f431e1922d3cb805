"""Faces that are not people in the room: what the analyzer's detector finds on pets and objects, next to real faces.

    PYTHONPATH=. .venv/bin/python benchmarks/faces_not_people.py --pets PETS --skimage-wheel WHEEL

Evaluation only; no picture is committed or published (docs/reports/faces_not_people.md names the sources):

- --pets: a folder of pet photos, searched recursively: the 370 of the Oxford-IIIT Pet sample in
  github.com/LTSACH/AILearningHub (datasets/oxford-pets/data/sample_images; CC BY-SA 4.0, the images' copyright
  with their owners). A person is in a few of them (PEOPLE_IN_PET_PHOTOS, found by looking at every detection):
  their faces are counted as people, not as false faces.
- --skimage-wheel: scikit-image's PyPI wheel (`pip download --no-deps scikit-image==0.26.0`): its sample photos
  without a person, whole and as 800 tiles of 40-300 px, as experiments/tight_crop_retry.py cuts them.
- real faces the detector must keep finding: the real-photo dev set (--real-photos, its manifest.csv; IMFDb film
  stills, LFW, Yale) and LFW's photos of ../shared/data/faces (--faces). A photo's face is the one whose box holds
  the photo's centre (each photo is centred on its person).

Printed, with the analyzer's detector (fer_core.analyzer.default_detector):
1. per set: images, images with a detection, detections (false ones for pets and objects);
2. the O-Net score of false faces against real ones, and how many of each a minimum score would remove;
3. the landmark geometry of both;
4. the same counts for `unveil watch`'s detector settings, on each photo letterboxed into its 640x480 frame;
5. what the analyzer says of each false face (emotion; name against a family store with Colin Powell enrolled);
6. what `unveil watch` sends (--jsonl and --mqtt to a real broker) for a 640x480 video of the pet photos without
   a person, each shown still for --seconds-per-photo, with the same store (skip with --no-watch).
"""
from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from experiments.tight_crop_retry import backgrounds, tiles  # noqa: E402
from fer_core.analyzer import FaceAnalyzer, default_detector  # noqa: E402
from fer_core.detection import DetectedFace, FaceDetector  # noqa: E402
from fer_core.images import load_image  # noqa: E402
from fer_core.live import DEFAULT_DETECT_WIDTH  # noqa: E402
from tests.support.app import FAMILY_PASSPHRASE, make_family_store  # noqa: E402

DEFAULT_REAL = Path.home() / ".cache/unveil-bench/real_photos"
DEFAULT_FACES = REPO.parent / "shared" / "data" / "faces"
# Photos of the Oxford-IIIT Pet sample with a person in them; every face found on them is a person's.
PEOPLE_IN_PET_PHOTOS = {"Maine_Coon_119.jpg", "leonberger_167.jpg", "scottish_terrier_109.jpg"}
MIN_SCORES = (0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99)
FRAME = (640, 480)


@dataclass
class Found:
    name: str
    faces: list[DetectedFace]


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def centre_face(faces: list[DetectedFace], shape: tuple[int, ...]) -> DetectedFace | None:
    """The best face whose box holds the image's centre."""
    cy, cx = shape[0] / 2, shape[1] / 2
    held = [f for f in faces if f.box[0] <= cx <= f.box[0] + f.box[2] and f.box[1] <= cy <= f.box[1] + f.box[3]]
    return max(held, key=lambda f: f.score, default=None)


def geometry(face: DetectedFace) -> dict[str, float]:
    """Landmark geometry: eye distance over box width, eye line's tilt (degrees), the nose's offset from the eyes'
    midpoint across, the mouth's width and its drop below the eyes (each over the eye distance)."""
    left_eye, right_eye, nose, mouth_left, mouth_right = face.landmarks.astype(np.float64)
    eyes = float(np.linalg.norm(right_eye - left_eye)) or 1e-6
    eye_mid, mouth_mid = (left_eye + right_eye) / 2, (mouth_left + mouth_right) / 2
    return {
        "eyes / box width": eyes / face.box[2],
        "eye line tilt (deg)": abs(float(np.degrees(np.arctan2(*(right_eye - left_eye)[::-1])))),
        "nose off centre / eyes": abs(float(nose[0] - eye_mid[0])) / eyes,
        "mouth width / eyes": float(np.linalg.norm(mouth_right - mouth_left)) / eyes,
        "mouth drop / eyes": float(mouth_mid[1] - eye_mid[1]) / eyes,
        "box side (px)": face.box[2],
    }


def spread(values: list[float]) -> str:
    if not values:
        return "-"
    low, mid, high = np.percentile(values, [5, 50, 95])
    return f"{mid:.2f} [{low:.2f}-{high:.2f}]"


def best_score(faces: list[DetectedFace], shape: tuple[int, ...] | None) -> float:
    """The best score of `faces`, or of the face holding the centre of an image of `shape`; 0 when there is none."""
    face = centre_face(faces, shape) if shape is not None else max(faces, key=lambda f: f.score, default=None)
    return 0.0 if face is None else face.score


def as_watch_sees(rgb: np.ndarray) -> np.ndarray:
    """The photo as unveil watch's detector sees it: letterboxed into a 640x480 frame, halved to 320 px wide
    (fer_core.live.DEFAULT_DETECT_WIDTH)."""
    frame = letterboxed(rgb)
    width = DEFAULT_DETECT_WIDTH
    return cv2.resize(frame, (width, round(frame.shape[0] * width / frame.shape[1])), interpolation=cv2.INTER_AREA)


def letterboxed(rgb: np.ndarray) -> np.ndarray:
    """`rgb` scaled to fit a 640x480 frame, centred on grey."""
    height, width = rgb.shape[:2]
    scale = min(FRAME[0] / width, FRAME[1] / height)
    size = (round(width * scale), round(height * scale))
    frame = np.full((FRAME[1], FRAME[0], 3), 128, np.uint8)
    x, y = (FRAME[0] - size[0]) // 2, (FRAME[1] - size[1]) // 2
    frame[y:y + size[1], x:x + size[0]] = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return frame


def pets_video(photos: list[Path], path: Path, seconds: float, fps: int = 15) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, FRAME)
    assert writer.isOpened(), "OpenCV cannot write MPEG-4 here"
    try:
        for photo in photos:
            frame = cv2.cvtColor(letterboxed(load_image(photo)), cv2.COLOR_RGB2BGR)
            for _ in range(round(seconds * fps)):
                writer.write(frame)
    finally:
        writer.release()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pets", type=Path, required=True, help="folder of pet photos")
    parser.add_argument("--skimage-wheel", type=Path, required=True, help="scikit-image's wheel")
    parser.add_argument("--real-photos", type=Path, default=DEFAULT_REAL, help="the real-photo dev set")
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES, help="LFW photos, one folder a person")
    parser.add_argument("--seconds-per-photo", type=float, default=1.0)
    parser.add_argument("--no-watch", action="store_true", help="skip `unveil watch` on the pets' video")
    args = parser.parse_args()
    detector = default_detector()

    pet_paths = image_files(args.pets)
    pets = [Found(p.name, detector.detect(load_image(p))) for p in pet_paths]
    photos = backgrounds(args.skimage_wheel)
    object_images = dict(photos) | {f"tile {i}": tile for i, tile in enumerate(tiles(photos))}
    objects = [Found(name, detector.detect(rgb)) for name, rgb in object_images.items()]
    real_paths: dict[str, list[Path]] = {}
    with open(args.real_photos / "manifest.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            real_paths.setdefault(f"dev set {row['source']}", []).append(args.real_photos / row["path"])
    real_paths["LFW (shared/data/faces)"] = image_files(args.faces)
    real: dict[str, list[DetectedFace | None]] = {}
    for name, paths in real_paths.items():
        for path in paths:
            rgb = load_image(path)
            real.setdefault(name, []).append(centre_face(detector.detect(rgb), rgb.shape))

    watch_detector = FaceDetector(min_face_size=20, neck_check=True)  # as unveil watch builds it
    watch_real: dict[str, list[float]] = {}
    watch_false: dict[str, list[float]] = {"pets": [], "objects": []}
    for path in pet_paths:
        if path.name not in PEOPLE_IN_PET_PHOTOS:
            watch_false["pets"].append(best_score(watch_detector.detect(as_watch_sees(load_image(path))), None))
    for rgb in object_images.values():
        watch_false["objects"].append(best_score(watch_detector.detect(as_watch_sees(rgb)), None))
    for name, paths in real_paths.items():
        for path in paths:
            frame = as_watch_sees(load_image(path))
            watch_real.setdefault(name, []).append(best_score(watch_detector.detect(frame), frame.shape))

    people_photos = [f for f in pets if f.name in PEOPLE_IN_PET_PHOTOS]
    animal_photos = [f for f in pets if f.name not in PEOPLE_IN_PET_PHOTOS]
    false = {"pets": [(f.name, face) for f in animal_photos for face in f.faces],
             "objects": [(f.name, face) for f in objects for face in f.faces]}
    print("\n1. Detections (the analyzer's detector)\n")
    print("| set | images | with a detection | detections |")
    print("|---|---|---|---|")
    print(f"| pets, no person ({args.pets.name}) | {len(animal_photos)} | {sum(bool(f.faces) for f in animal_photos)} "
          f"| {len(false['pets'])} false |")
    print(f"| pets with a person | {len(people_photos)} | {sum(bool(f.faces) for f in people_photos)} "
          f"| {sum(len(f.faces) for f in people_photos)} people's |")
    print(f"| scikit-image photos and tiles | {len(objects)} | {sum(bool(f.faces) for f in objects)} "
          f"| {len(false['objects'])} false |")
    for name, faces in real.items():
        print(f"| {name} | {len(faces)} | {sum(f is not None for f in faces)} with the centre face | - |")

    all_false = [face for faces in false.values() for _, face in faces]
    real_faces = {name: [f for f in faces if f is not None] for name, faces in real.items()}
    print("\n2. O-Net score: false faces one by one, real (centre) faces' percentiles\n")
    for (name, face) in [item for faces in false.values() for item in faces]:
        print(f"  false: {name} box {[round(v) for v in face.box]} score {face.score:.4f}")
    for name, faces in real_faces.items():
        scores = [f.score for f in faces]
        print(f"  {name}: 1% {np.percentile(scores, 1):.4f}, 5% {np.percentile(scores, 5):.4f}, "
              f"median {statistics.median(scores):.4f}")
    print("\n| minimum score | false faces removed | " + " | ".join(f"{n}: faces lost" for n in real_faces) + " |")
    print("|---" * (2 + len(real_faces)) + "|")
    for threshold in MIN_SCORES:
        lost = [f"{sum(f.score < threshold for f in faces)} of {len(faces)}" for faces in real_faces.values()]
        print(f"| {threshold} | {sum(f.score < threshold for f in all_false)} of {len(all_false)} | "
              + " | ".join(lost) + " |")

    print("\n3. Landmark geometry, median [5%-95%]\n")
    every_real = [f for faces in real_faces.values() for f in faces]
    keys = list(geometry(every_real[0]))
    print("| | false faces (" + str(len(all_false)) + ") | real faces (" + str(len(every_real)) + ") |")
    print("|---|---|---|")
    for key in keys:
        print(f"| {key} | {spread([geometry(f)[key] for f in all_false])} | "
              f"{spread([geometry(f)[key] for f in every_real])} |")

    print("\n4. Unveil watch's detector (faces from 20 px in the frame halved to 320 px, no tight-crop retry) on each "
          "photo letterboxed into 640x480, still (no video compression): photos with a false face, and real photos "
          "whose centre face is not found, at each minimum score\n")
    print("| minimum score | pets | objects | " + " | ".join(watch_real) + " |")
    print("|---" * (3 + len(watch_real)) + "|")
    for threshold in (watch_detector.thresholds[2], *MIN_SCORES):
        false_counts = [f"{sum(s >= threshold for s in scores)} of {len(scores)}" for scores in watch_false.values()]
        lost = [f"{sum(s < threshold for s in scores)} of {len(scores)}" for scores in watch_real.values()]
        print(f"| {threshold} | " + " | ".join(false_counts + lost) + " |")

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        make_family_store(folder / "data", args.faces)
        from fer_core.store import FamilyStore
        from governance import family

        analyzer = FaceAnalyzer()
        print("\n5. What the analyzer says of the photos with a false face (Colin Powell enrolled)\n")
        print("| image | box | score | emotion | name |")
        print("|---|---|---|---|---|")
        sources = {p.name: p for p in pet_paths}
        with FamilyStore(folder / "data") as store:
            store.unlock(FAMILY_PASSPHRASE)
            gallery = family.gallery(store, analyzer.identity_model)
            for found in animal_photos + objects:
                if not found.faces:
                    continue
                image = sources[found.name] if found.name in sources else object_images[found.name]
                for face in analyzer.analyze(image, gallery=gallery):
                    print(f"| {found.name} | {face.box} | {face.score:.3f} | {face.emotion} | "
                          f"{face.identity or 'unknown'} |")
        if not args.no_watch:
            from watch_picture_on_the_wall import watch

            video = folder / "pets.mp4"
            shown = [p for p in pet_paths if p.name not in PEOPLE_IN_PET_PHOTOS]
            pets_video(shown, video, args.seconds_per_photo)
            print(f"\n6. `unveil watch` on {len(shown)} pet photos, {args.seconds_per_photo:g} s each "
                  f"({len(shown) * args.seconds_per_photo:g} s at 15 frames/s)")
            watch(video, folder / "data", folder / "pets.jsonl")
            lines = [json.loads(line) for line in (folder / "pets.jsonl").read_text().splitlines()]
            appeared = [line for line in lines if line.get("event") == "appear"]
            on = Counter(shown[min(int(line["time_s"] / args.seconds_per_photo), len(shown) - 1)].name
                         for line in appeared)
            print(f"  appear events: {len(appeared)}, {sum(line['identity'] is None for line in appeared)} unknown, "
                  f"on {len(on)} photos: " + ", ".join(f"{name} ({count})" for name, count in sorted(on.items())))


if __name__ == "__main__":
    main()
