"""The fer4-style image-folder data set: scan, decode, deduplicate across splits, and turn faces into training targets.

Layout: <root>/{train,validation,test}/<class>/*.{jpg,png}. FER2013 holds exact pixel duplicates, some
across splits and some with conflicting labels; a validation or test score is only trustworthy once they
are removed, so `load_splits` always deduplicates and reports what it dropped.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ("happy", "neutral", "sad", "surprise")
SPLITS = ("train", "validation", "test")  # also the priority order: a duplicate is kept in the first split
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
# A face whose pixels barely vary carries no expression; FER2013 has a few such blank frames.
BLANK_STD = 1.0


@dataclass
class Split:
    """One split, decoded: images (N, h, w) uint8 grayscale, labels (N,) int indices into CLASSES."""

    images: np.ndarray
    labels: np.ndarray
    paths: list[str]

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class DedupReport:
    """What deduplication dropped, per reason; `kept` counts images per split after cleaning."""

    scanned: dict[str, int] = field(default_factory=dict)
    conflicting_label_images: int = 0
    cross_split_duplicates: dict[str, int] = field(default_factory=dict)
    within_split_duplicates: dict[str, int] = field(default_factory=dict)
    blank_images: int = 0
    kept: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def scan(root: str | Path, classes: tuple[str, ...] = CLASSES) -> dict[str, list[tuple[Path, int]]]:
    """Every image file per split as (path, class index), sorted for reproducibility."""
    root = Path(root)
    found: dict[str, list[tuple[Path, int]]] = {}
    for split in SPLITS:
        items = []
        for index, name in enumerate(classes):
            folder = root / split / name
            if folder.is_dir():
                items += [(p, index) for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
        if items:
            found[split] = items
    if "train" not in found:
        raise FileNotFoundError(f"no training images under {root}/train/<class>/ for classes {list(classes)}")
    return found


def _decode_gray(path: Path, size: int) -> np.ndarray:
    with Image.open(path) as image:
        gray = image.convert("L")
        if gray.size != (size, size):
            gray = gray.resize((size, size), Image.Resampling.BILINEAR)
        return np.asarray(gray, dtype=np.uint8)


def load_splits(
    root: str | Path, *, size: int = 48, classes: tuple[str, ...] = CLASSES, limit_per_split: int | None = None
) -> tuple[dict[str, Split], DedupReport]:
    """Decode all splits at `size` x `size` and remove duplicates; see DedupReport for what was dropped.

    Rules: every copy of an image that appears with two different labels is dropped (its label is
    unknowable); an image that appears in several splits is kept only in the first of train, validation,
    test (so scores are measured on unseen faces); repeats inside one split are kept once; blank frames
    (pixel std < BLANK_STD) are dropped. Hashes are taken on decoded pixels, so re-encoded copies match.
    `limit_per_split` takes an evenly spaced subset of each split (for fast tests).
    """
    listing = scan(root, classes)
    report = DedupReport()
    decoded: dict[str, list[tuple[np.ndarray, int, str, str]]] = {}
    labels_by_hash: dict[str, set[int]] = defaultdict(set)
    for split, items in listing.items():
        if limit_per_split is not None and len(items) > limit_per_split:
            step = len(items) / limit_per_split
            items = [items[int(i * step)] for i in range(limit_per_split)]
        report.scanned[split] = len(items)
        rows = []
        for path, label in items:
            pixels = _decode_gray(path, size)
            digest = hashlib.sha256(pixels.tobytes()).hexdigest()
            labels_by_hash[digest].add(label)
            rows.append((pixels, label, digest, str(path)))
        decoded[split] = rows

    conflicting = {digest for digest, labels in labels_by_hash.items() if len(labels) > 1}
    seen_in_earlier_split: set[str] = set()
    splits: dict[str, Split] = {}
    for split in SPLITS:
        if split not in decoded:
            continue
        kept_hashes: set[str] = set()
        images, labels, paths = [], [], []
        cross = within = 0
        for pixels, label, digest, path in decoded[split]:
            if digest in conflicting:
                report.conflicting_label_images += 1
            elif digest in seen_in_earlier_split:
                cross += 1
            elif digest in kept_hashes:
                within += 1
            elif pixels.std() < BLANK_STD:
                report.blank_images += 1
            else:
                kept_hashes.add(digest)
                images.append(pixels)
                labels.append(label)
                paths.append(path)
        seen_in_earlier_split |= kept_hashes
        report.cross_split_duplicates[split] = cross
        report.within_split_duplicates[split] = within
        report.kept[split] = len(labels)
        splits[split] = Split(
            images=np.stack(images) if images else np.zeros((0, size, size), np.uint8),
            labels=np.asarray(labels, dtype=np.int64),
            paths=paths,
        )
    return splits, report


def class_weights(labels: np.ndarray, n_classes: int) -> dict[int, float]:
    """'Balanced' weights n / (k * count_c): each class contributes equally to the loss."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    counts[counts == 0] = 1.0
    weights = len(labels) / (n_classes * counts)
    return {i: float(w) for i, w in enumerate(weights)}


def to_rgb_float(images: np.ndarray) -> np.ndarray:
    """(N, h, w) uint8 grayscale -> (N, h, w, 3) float32 0-255: every model's input is RGB 0-255."""
    return np.repeat(images[..., None].astype(np.float32), 3, axis=-1)


def training_targets(split: Split, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """One-hot labels (N, n_classes) and per-image 'balanced' sample weights (N,), float32."""
    onehot = np.eye(n_classes, dtype=np.float32)[split.labels]
    weights = class_weights(split.labels, n_classes)
    return onehot, np.asarray([weights[int(c)] for c in split.labels], dtype=np.float32)


def pack_training_data(root: str | Path, out: str | Path, *, classes: tuple[str, ...] = CLASSES) -> DedupReport:
    """A .tar.gz of the train and validation images that deduplication against all three splits keeps,
    in the same layout, with `dedup.json` (this report) beside them: what another machine needs to train,
    in 34 MB instead of 39 (fer4). Training on it gives the same sets as on `root`: nothing in it is a
    duplicate any more, and the images dropped for a conflicting copy in test are already gone."""
    import io
    import json
    import tarfile

    root = Path(root)
    splits, report = load_splits(root, classes=classes)
    with tarfile.open(out, "w:gz") as tar:
        for name in ("train", "validation"):
            for path in splits[name].paths:
                tar.add(path, arcname=str(Path(path).relative_to(root)))
        data = json.dumps(report.as_dict(), indent=2).encode()
        info = tarfile.TarInfo("dedup.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return report
