"""FER+ crowd labels (Microsoft FERPlus, MIT) for the fer4 images: the join, and soft or majority targets.

FER+ gives 10 crowd votes per FER2013 image (`fer2013new.csv`: Usage, Image name, then the columns in
VOTE_COLUMNS). fer4's files carry FER2013's own image names (`Training_10019449.jpg`), not the row index
FER+ names its images by (`fer0000000.png`), and fer4's pixels are a histogram-equalised JPEG of FER2013's,
so no name or hash joins them. `join_fer4` matches each fer4 file to the FER+ image of the same split
whose equalised pixels correlate best with it; the FER+ images (raw FER2013 pixels) come from a clone of
the public repository tessav/crowd-emotion (data/FER2013{Train,Valid,Test}/). The result is committed as
FERPLUS_VOTES_CSV; `python -m fer_core.training ferplus-join` rebuilds it.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fer_core.training.data import BLANK_STD, CLASSES, Split, scan

VOTE_COLUMNS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF")
EMOTIONS = VOTE_COLUMNS[:8]
# fer4's class -> its FER+ column.
APP_TO_FERPLUS = {"happy": "happiness", "neutral": "neutral", "sad": "sadness", "surprise": "surprise"}
# FER+'s emotions the app has no class for. A run may learn them as extra outputs after the app's classes
# (train --other-emotions): their votes then shape the features instead of being renormalised away.
OTHER_EMOTIONS = ("anger", "disgust", "fear", "contempt")
TARGET_CLASSES_NEEDED = ("FER+ targets need classes among happy, neutral, sad, surprise, optionally followed by "
                         "anger, disgust, fear, contempt")
# fer4's split folders and FER2013's Usage values, which FER+ keeps; tessav/crowd-emotion's image folders.
USAGE = {"train": "Training", "validation": "PublicTest", "test": "PrivateTest"}
IMAGE_FOLDERS = {"Training": "data/FER2013Train", "PublicTest": "data/FER2013Valid", "PrivateTest": "data/FER2013Test"}
FERPLUS_VOTES_CSV = Path(__file__).with_name("ferplus_votes.csv")
JOIN_HEADER = ("fer4_path", "ferplus_usage", "ferplus_image", "match_corr", "second_corr", *VOTE_COLUMNS)
# When a match is trusted (see trusted_match). Below 0.7 correlation a match is a guess: the fer4 image's
# FER2013 row is one FER+ left out (no image name) or a near-blank frame. Measured on the join: under 0.7 the
# best and second-best candidates differ by a median 0.01-0.02 and the FER+ majority agrees with fer4's
# label for 29-37% of images (chance level); from 0.7 up the median margin is 0.23-0.30 and agreement
# 68-80%, but 5% of the matches between 0.7 and 0.95 still have a runner-up within 0.02.
MIN_MATCH_CORR = 0.7
MIN_MARGIN = 0.02
NEAR_EXACT_CORR = 0.95
# Candidates kept from the coarse (16x16) comparison before the full-resolution one picks the match.
_SHORTLIST = 8
_COARSE = 16
# When an extra FER2013 training image (extra_training_images) is taken for a copy of a fer4 image and left
# out: FER2013 holds copies across its splits, and a copy of a validation or test face must not be trained
# on. Clean copies correlate at a median 0.998 (the join). But fer4 also holds copies sprinkled with
# salt-and-pepper specks, which correlate at 0.84-0.9 with their originals while other faces reach 0.9 too;
# after a 3x3 median filter removes the specks, a copy differs from its original by a median of under ~20
# grey levels, other faces by 22-40 (pairs looked at side by side: experiments/reports/ferplus_extra.md).
# Both rules apply, on the generous side: a face wrongly left out costs little, a copy let in leaks a test face.
EXTRA_COPY_CORR = 0.9
EXTRA_COPY_MEDIAN_DIFF = 22
_COPY_SHORTLIST = 16


class FerPlusError(ValueError):
    """FER+ input that does not have the expected shape."""


@dataclass(frozen=True)
class Match:
    """One fer4 file joined to its FER+ row: `corr` is the Pearson correlation of the matched pixels,
    `second` the best correlation with any other FER+ image of that split (a close second means doubt)."""

    fer4_path: str
    usage: str
    image: str
    corr: float
    second: float
    votes: tuple[int, ...]


def read_ferplus_csv(text: str) -> dict[tuple[str, str], tuple[int, ...]]:
    """fer2013new.csv -> {(Usage, Image name): 10 votes}. Rows without an image name (FER+ left some
    FER2013 frames out) are skipped."""
    rows = csv.reader(io.StringIO(text))
    header = next(rows)
    if tuple(header[2:]) != VOTE_COLUMNS:
        raise FerPlusError("fer2013new.csv: unexpected columns")
    return {(row[0], row[1]): tuple(int(v) for v in row[2:]) for row in rows if row[1]}


def read_git_file(git_dir: str | Path, path: str) -> bytes:
    """One file of a bare clone's HEAD (the snapshots this project reads references from)."""
    return subprocess.run(["git", "--git-dir", str(git_dir), "show", f"HEAD:{path}"], check=True,
                          capture_output=True).stdout


def read_git_images(git_dir: str | Path, folder: str) -> dict[str, np.ndarray]:
    """Every PNG in `folder` of a bare clone's HEAD, decoded to (48, 48) uint8 gray, by file name."""
    listing = subprocess.run(["git", "--git-dir", str(git_dir), "ls-tree", "HEAD", f"{folder}/"], check=True,
                             capture_output=True, text=True).stdout.split("\n")
    entries = [(line.split()[2], line.split("\t")[1]) for line in listing if line.endswith(".png")]
    batch = subprocess.run(["git", "--git-dir", str(git_dir), "cat-file", "--batch"], check=True, capture_output=True,
                           input="".join(f"{sha}\n" for sha, _ in entries).encode()).stdout
    images, offset = {}, 0
    for _, path in entries:
        header_end = batch.index(b"\n", offset)
        size = int(batch[offset:header_end].split()[2])
        data = np.frombuffer(batch[header_end + 1:header_end + 1 + size], np.uint8)
        images[Path(path).name] = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
        offset = header_end + 1 + size + 1
    return images


def _normalised(images: np.ndarray, size: int | None = None) -> np.ndarray:
    """Rows of zero mean and unit norm, so a dot product is a Pearson correlation."""
    if size is not None:
        images = np.stack([cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA) for im in images])
    flat = images.reshape(len(images), -1).astype(np.float32)
    flat -= flat.mean(axis=1, keepdims=True)
    return flat / np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-6)


def match_images(queries: np.ndarray, candidates: np.ndarray, *, chunk: int = 1000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each (48, 48) uint8 query, the index of the best-correlating candidate, that correlation and the
    second best. Candidates are histogram-equalised first, as fer4's images were made. A 16x16 comparison
    shortlists candidates; the full 48x48 correlation decides (all pairs at full size would be ~10x slower)."""
    equalised = np.stack([cv2.equalizeHist(im) for im in candidates])
    coarse_c, full_c = _normalised(equalised, _COARSE), _normalised(equalised)
    coarse_q, full_q = _normalised(queries, _COARSE), _normalised(queries)
    best = np.zeros(len(queries), np.int64)
    corr = np.zeros(len(queries), np.float32)
    second = np.zeros(len(queries), np.float32)
    k = min(_SHORTLIST, len(candidates))
    for start in range(0, len(queries), chunk):
        rows = slice(start, start + chunk)
        shortlist = np.argpartition(-(coarse_q[rows] @ coarse_c.T), k - 1, axis=1)[:, :k]
        fine = np.einsum("nd,nkd->nk", full_q[rows], full_c[shortlist])
        # FER2013 holds exact duplicates, so several FER+ rows can match equally well (to rounding);
        # any of them is the right image, and the first by index keeps the join repeatable.
        order = np.lexsort((shortlist, -np.round(fine, 4)), axis=1)
        best[rows] = shortlist[np.arange(len(order)), order[:, 0]]
        corr[rows] = fine[np.arange(len(order)), order[:, 0]]
        second[rows] = fine[np.arange(len(order)), order[:, 1]] if k > 1 else 0.0
    return best, corr, second


def join_fer4(fer4_root: str | Path, ferplus_csv: str, images_git_dir: str | Path) -> list[Match]:
    """Every fer4 image joined to the FER+ row of the same split whose pixels it matches best."""
    root = Path(fer4_root)
    votes = read_ferplus_csv(ferplus_csv)
    matches = []
    for split, items in scan(root, CLASSES).items():
        usage = USAGE[split]
        pool = read_git_images(images_git_dir, IMAGE_FOLDERS[usage])
        names = sorted(name for name in pool if (usage, name) in votes)
        queries = np.stack([cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) for path, _ in items])
        best, corr, second = match_images(queries, np.stack([pool[n] for n in names]))
        for (path, _), b, c, s in zip(items, best, corr, second):
            name = names[int(b)]
            matches.append(Match(str(path.relative_to(root)), usage, name, round(float(c), 4), round(float(s), 4),
                                 votes[(usage, name)]))
    return matches


def write_votes_csv(matches: list[Match], path: str | Path) -> Path:
    path = Path(path)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(JOIN_HEADER)
        writer.writerows((m.fer4_path, m.usage, m.image, m.corr, m.second, *m.votes) for m in matches)
    return path


def trusted_match(corr: float, second: float) -> bool:
    """A clear winner, or a near-exact match (an exact FER2013 duplicate leaves two equal winners, both right)."""
    return corr >= MIN_MATCH_CORR and (corr - second >= MIN_MARGIN or corr >= NEAR_EXACT_CORR)


def read_join_rows(path: str | Path = FERPLUS_VOTES_CSV) -> list[list[str]]:
    """Every row of the join file (JOIN_HEADER columns), trusted or not."""
    with open(path, newline="") as f:
        rows = csv.reader(f)
        if tuple(next(rows)) != JOIN_HEADER:
            raise FerPlusError("FER+ join file: unexpected columns")
        return list(rows)


def read_votes_csv(path: str | Path = FERPLUS_VOTES_CSV) -> dict[str, np.ndarray]:
    """The join: fer4 relative path -> its 10 FER+ votes (int, VOTE_COLUMNS order), for the trusted matches."""
    return {row[0]: np.asarray([int(v) for v in row[5:]], dtype=np.int64) for row in read_join_rows(path)
            if trusted_match(float(row[3]), float(row[4]))}


def without_outliers(votes: np.ndarray) -> np.ndarray:
    """FER+'s own cleaning (Barsoum et al. 2016): a label only one annotator gave is dropped."""
    votes = np.asarray(votes, dtype=np.int64)
    return np.where(votes <= 1, 0, votes)


def is_not_a_face(votes: np.ndarray) -> bool:
    """FER+ marks an image as not a face when NF gets at least as many votes as any other column."""
    votes = np.asarray(votes)
    return bool(votes[-1] > 0 and votes[-1] >= votes[:-1].max())


def emotion_distribution(votes: np.ndarray) -> np.ndarray | None:
    """The 8 emotions' share of the votes after outlier removal (EMOTIONS order); None without any."""
    emotions = without_outliers(votes)[:8].astype(np.float64)
    return emotions / emotions.sum() if emotions.sum() > 0 else None


def majority_label(votes: np.ndarray) -> str | None:
    """FER+'s 'majority' label: the column with more than half the (cleaned) votes, if it is an emotion."""
    cleaned = without_outliers(votes)
    top = int(cleaned.argmax())
    return EMOTIONS[top] if top < 8 and cleaned[top] > cleaned.sum() / 2 else None


def _ferplus_column(name: str) -> str:
    return APP_TO_FERPLUS.get(name, name)


def app_class_targets(votes: np.ndarray, classes: tuple[str, ...] = CLASSES, *, min_share: float = 0.5) -> np.ndarray | None:
    """Soft targets over `classes` (the app's, perhaps followed by OTHER_EMOTIONS): their cleaned votes,
    renormalised. None when those classes hold less than `min_share` of the emotion votes (the face mostly
    shows an emotion with no class here, and renormalising would invent a confident target from a minority
    of annotators); with every emotion among `classes` that never happens."""
    distribution = emotion_distribution(votes)
    if distribution is None:
        return None
    share = np.asarray([distribution[EMOTIONS.index(_ferplus_column(c))] for c in classes])
    return share / share.sum() if share.sum() >= min_share else None


def ferplus_majority_labels(paths: Iterable[str], fer4: str | Path) -> np.ndarray:
    """The class index of each fer4 file's FER+ majority label, or -1 where FER+ has no majority among the four
    classes (or no row): a split's second reading, by the crowd's votes instead of fer4's single label."""
    votes = read_votes_csv()
    ferplus_index = {APP_TO_FERPLUS[c]: k for k, c in enumerate(CLASSES)}
    labels = []
    for path in paths:
        found = votes.get(Path(path).relative_to(fer4).as_posix())
        top = majority_label(found) if found is not None and app_class_targets(found) is not None else None
        labels.append(ferplus_index.get(top, -1))
    return np.asarray(labels)


def _app_classes(classes: tuple[str, ...]) -> tuple[str, ...]:
    """Those of `classes` that are fer4's (and the app's), without any OTHER_EMOTIONS."""
    return tuple(c for c in classes if c in APP_TO_FERPLUS)


def valid_target_classes(classes: tuple[str, ...]) -> bool:
    """Whether FER+ votes can be read as targets over `classes`: some of the app's classes, then perhaps some
    of OTHER_EMOTIONS, whose columns a run drops at the end (train.TrainConfig.other_emotions)."""
    app = _app_classes(classes)
    return bool(app) and classes[:len(app)] == app and all(c in OTHER_EMOTIONS for c in classes[len(app):])


@dataclass
class FerPlusTargets:
    """A training split with FER+ mixed into its targets: `split` without the images FER+ calls not a face,
    `targets` (N, classes) rows summing to 1, and what happened to each image, counted."""

    split: Split
    targets: np.ndarray
    report: dict[str, int]


def mixed_targets(
    split: Split, data_root: str | Path, classes: tuple[str, ...], weight: float, *, votes_csv: str | Path = FERPLUS_VOTES_CSV
) -> FerPlusTargets:
    """Each image's target: (1 - weight) x its fer4 one-hot label + weight x its FER+ vote distribution over
    `classes` (app_class_targets). Images FER+ calls not a face are dropped; an image without a trusted
    match, or whose votes mostly name an emotion outside `classes`, keeps its one-hot label."""
    if not 0.0 <= weight <= 1.0:
        raise FerPlusError("FER+ weight must be within [0, 1]")
    if not valid_target_classes(classes):
        raise FerPlusError(TARGET_CLASSES_NEEDED)
    votes = read_votes_csv(votes_csv)
    root = Path(data_root)
    onehot = np.eye(len(classes), dtype=np.float64)[split.labels]
    report = {"ferplus_votes": 0, "not_a_face": 0, "mostly_other_emotions": 0, "no_trusted_match": 0}
    keep, rows = [], []
    for i, path in enumerate(split.paths):
        found = votes.get(Path(path).relative_to(root).as_posix())
        target = onehot[i]
        if found is None:
            report["no_trusted_match"] += 1
        elif is_not_a_face(found):
            report["not_a_face"] += 1
            continue
        elif (soft := app_class_targets(found, classes)) is None:
            report["mostly_other_emotions"] += 1
        else:
            report["ferplus_votes"] += 1
            target = (1.0 - weight) * target + weight * soft
        keep.append(i)
        rows.append(target)
    kept = np.asarray(keep, dtype=np.int64)
    trimmed = Split(images=split.images[kept], labels=split.labels[kept], paths=[split.paths[i] for i in keep])
    return FerPlusTargets(trimmed, np.asarray(rows, dtype=np.float32).reshape(len(keep), len(classes)), report)


@dataclass
class ExtraImages:
    """FER2013 training faces fer4 does not hold, for training on their FER+ votes alone: `images` (N, 48, 48)
    uint8, histogram-equalised as fer4's were; `targets` (N, classes) vote shares; `names` their FER+ file
    names; `report` what was left out and why, counted."""

    images: np.ndarray
    targets: np.ndarray
    names: list[str]
    classes: tuple[str, ...]
    report: dict[str, int]


def extra_training_images(
    fer4_root: str | Path, ferplus_csv: str, images_git_dir: str | Path, *, classes: tuple[str, ...] = CLASSES,
    votes_csv: str | Path = FERPLUS_VOTES_CSV,
) -> ExtraImages:
    """FER2013's training images that no fer4 file was joined to (mostly FER2013's anger, disgust and fear
    faces, which fer4 leaves out) whose FER+ votes mostly name one of `classes` (app_class_targets): many
    read as neutral, sad or surprise to FER+'s annotators; with OTHER_EMOTIONS among `classes`, every one.
    Left out: images FER+ calls not a face, repeats, blank frames (extra_candidates), and copies of any fer4
    image of any split (copies_of)."""
    candidates = extra_candidates(ferplus_csv, images_git_dir, classes=classes, votes_csv=votes_csv)
    fer4 = read_fer4_images(fer4_root, _app_classes(classes))  # fer4 has folders for these only
    keep = np.flatnonzero(~copies_of(candidates.images, fer4))
    report = {**candidates.report, "copies_of_fer4_images": int(len(candidates.names) - len(keep)), "kept": int(len(keep))}
    return ExtraImages(candidates.images[keep], candidates.targets[keep], [candidates.names[i] for i in keep],
                       tuple(classes), report)


def extra_candidates(
    ferplus_csv: str, images_git_dir: str | Path, *, classes: tuple[str, ...] = CLASSES,
    votes_csv: str | Path = FERPLUS_VOTES_CSV,
) -> ExtraImages:
    """extra_training_images before copies of fer4 images are taken out."""
    if not valid_target_classes(classes):
        raise FerPlusError(TARGET_CLASSES_NEEDED)
    votes = read_ferplus_csv(ferplus_csv)
    joined = {row[2] for row in read_join_rows(votes_csv) if row[1] == USAGE["train"]}
    pool = read_git_images(images_git_dir, IMAGE_FOLDERS[USAGE["train"]])
    report: Counter[str] = Counter()
    names, images, targets, seen = [], [], [], set()
    for name in sorted(pool):
        found = votes.get((USAGE["train"], name))
        pixels = pool[name]
        digest = hashlib.sha256(pixels.tobytes()).hexdigest()
        if found is None:
            report["no_ferplus_row"] += 1
        elif name in joined:
            report["in_fer4"] += 1
        elif is_not_a_face(found):
            report["not_a_face"] += 1
        elif (soft := app_class_targets(np.asarray(found), classes)) is None:
            report["mostly_other_emotions"] += 1
        elif digest in seen:
            report["repeats"] += 1
        elif pixels.std() < BLANK_STD:
            report["blank"] += 1
        else:
            seen.add(digest)
            names.append(name)
            images.append(cv2.equalizeHist(pixels))
            targets.append(soft)
    if not images:
        raise FerPlusError("no extra FER+ training image left")
    return ExtraImages(np.stack(images), np.asarray(targets, np.float32), names, tuple(classes), dict(report))


def read_fer4_images(fer4_root: str | Path, classes: tuple[str, ...] = CLASSES) -> np.ndarray:
    """Every fer4 image of every split, (N, 48, 48) uint8 as stored (equalised)."""
    return np.stack([cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) for items in scan(fer4_root, classes).values()
                     for path, _ in items])


def copies_of(images: np.ndarray, fer4: np.ndarray) -> np.ndarray:
    """Which (48, 48) equalised `images` are copies of one of the `fer4` images, clean or specked (see
    EXTRA_COPY_CORR and EXTRA_COPY_MEDIAN_DIFF)."""
    corr, difference, _ = copy_measures(images, fer4)
    return is_copy(corr, difference)


def is_copy(corr: np.ndarray, difference: np.ndarray) -> np.ndarray:
    """The copy rule on copy_measures' correlations and median differences: a clean copy (corr >=
    EXTRA_COPY_CORR) or a specked one (difference < EXTRA_COPY_MEDIAN_DIFF)."""
    return (corr >= EXTRA_COPY_CORR) | (difference < EXTRA_COPY_MEDIAN_DIFF)


def copy_measures(images: np.ndarray, fer4: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per image: its best correlation with a fer4 image (match_images); the smallest median absolute
    difference, in grey levels after a 3x3 median filter, to one of the fer4 images nearest it at 16x16;
    and the index of that fer4 image."""
    _, corr, _ = match_images(images, fer4)
    filtered = np.stack([cv2.medianBlur(im, 3) for im in images])
    references = np.stack([cv2.medianBlur(cv2.equalizeHist(im), 3) for im in fer4])
    coarse_q, coarse_r = _normalised(filtered, _COARSE), _normalised(references, _COARSE)
    filtered, references = filtered.astype(np.int16), references.astype(np.int16)  # signed, for differences
    k = min(_COPY_SHORTLIST, len(fer4))
    difference = np.zeros(len(images), np.float32)
    closest = np.zeros(len(images), np.int64)
    for start in range(0, len(images), 500):
        shortlist = np.argpartition(-(coarse_q[start:start + 500] @ coarse_r.T), k - 1, axis=1)[:, :k]
        diff = np.abs(filtered[start:start + 500, None] - references[shortlist]).reshape(len(shortlist), k, -1)
        medians = np.median(diff, axis=2)
        difference[start:start + 500] = medians.min(axis=1)
        closest[start:start + 500] = shortlist[np.arange(len(shortlist)), medians.argmin(axis=1)]
    return corr, difference, closest


def write_extra_images(extra: ExtraImages, path: str | Path) -> Path:
    path = Path(path)
    with open(path, "wb") as f:
        np.savez_compressed(f, images=extra.images, targets=extra.targets, names=np.asarray(extra.names),
                            classes=np.asarray(extra.classes), report=np.asarray(json.dumps(extra.report)))
    return path


def read_extra_images(path: str | Path, classes: tuple[str, ...]) -> ExtraImages:
    """An extra_training_images file; FerPlusError unless it holds (N, h, w) images with targets over `classes`."""
    try:
        with np.load(path, allow_pickle=False) as data:
            extra = ExtraImages(data["images"], data["targets"], data["names"].tolist(),
                                tuple(data["classes"].tolist()), json.loads(str(data["report"])))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise FerPlusError(f"extra FER+ images: cannot read {path} ({type(exc).__name__})") from exc
    if extra.classes != tuple(classes):
        raise FerPlusError(f"extra FER+ images: targets over {list(extra.classes)}, not {list(classes)}")
    if extra.images.ndim != 3 or extra.targets.shape != (len(extra.images), len(classes)):
        raise FerPlusError("extra FER+ images: images and targets do not match")
    return extra


def with_extra_images(split: Split, targets: np.ndarray, extra: ExtraImages, *,
                      label_classes: int | None = None) -> tuple[Split, np.ndarray]:
    """The training split and its targets with the extra images appended (resized bilinearly to the split's
    size, as data.load_splits resizes); each extra image's label, which sets its class weight, is its
    most-voted class among the first `label_classes` (default: all), the app's when the targets go on to
    OTHER_EMOTIONS."""
    size = split.images.shape[1:]
    images = extra.images if extra.images.shape[1:] == size else np.stack(
        [cv2.resize(im, (size[1], size[0]), interpolation=cv2.INTER_LINEAR) for im in extra.images])
    grown = Split(images=np.concatenate([split.images, images]),
                  labels=np.concatenate([split.labels, extra.targets[:, :label_classes].argmax(axis=1)]),
                  paths=[*split.paths, *(f"ferplus-extra/{name}" for name in extra.names)])
    return grown, np.concatenate([targets, extra.targets]).astype(np.float32)
