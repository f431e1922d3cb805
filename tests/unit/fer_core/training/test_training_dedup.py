"""Deduplication of the image-folder data set on planted duplicates."""
import numpy as np
import pytest
from PIL import Image

from fer_core.training.data import load_splits


def _face(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (48, 48), dtype=np.uint8)


def _put(root, split, label, name, pixels, fmt="PNG"):
    folder = root / split / label
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(folder / name, format=fmt)


@pytest.fixture
def planted(tmp_path):
    for i in range(6):
        _put(tmp_path, "train", "happy", f"t{i}.png", _face(i))
    _put(tmp_path, "train", "happy", "t0_again.png", _face(0))  # within-split repeat
    _put(tmp_path, "validation", "happy", "v_dup.png", _face(1))  # also in train
    _put(tmp_path, "test", "happy", "s_dup.png", _face(2))  # also in train
    _put(tmp_path, "validation", "sad", "v0.png", _face(100))
    _put(tmp_path, "test", "sad", "s_dup_of_val.png", _face(100))  # also in validation
    _put(tmp_path, "train", "sad", "conflict.png", _face(3))  # same pixels as t3 (happy): label unknowable
    _put(tmp_path, "test", "neutral", "s0.png", _face(200))
    _put(tmp_path, "train", "neutral", "blank.png", np.full((48, 48), 128, np.uint8))
    return tmp_path


def test_drops_cross_split_within_split_conflicting_and_blank(planted):
    splits, report = load_splits(planted)
    assert report.conflicting_label_images == 2
    assert report.cross_split_duplicates == {"train": 0, "validation": 1, "test": 2}
    assert report.within_split_duplicates == {"train": 1, "validation": 0, "test": 0}
    assert report.blank_images == 1
    assert report.kept == {"train": 5, "validation": 1, "test": 1}
    assert len(splits["train"]) == 5 and splits["test"].paths[0].endswith("s0.png")


def test_kept_images_are_pairwise_distinct_across_splits(planted):
    splits, _ = load_splits(planted)
    hashes = [img.tobytes() for s in splits.values() for img in s.images]
    assert len(hashes) == len(set(hashes))


def test_missing_train_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no training images under"):
        load_splits(tmp_path)


def test_real_fer4_slice_decodes_to_48x48_gray(fer4_dir):
    splits, report = load_splits(fer4_dir, limit_per_split=40)
    assert splits["train"].images.shape[1:] == (48, 48)
    assert splits["train"].images.dtype == np.uint8
    assert set(report.scanned) == {"train", "validation", "test"}


def test_packed_training_data_trains_on_exactly_the_sets_the_full_data_keeps(planted, tmp_path_factory):
    """Packing drops test, so a train image whose conflicting copy is in test must go before packing:
    on its own the packed train split could not tell it is ambiguous."""
    import json
    import tarfile

    from fer_core.training.data import pack_training_data

    _put(planted, "train", "happy", "conflict_with_test.png", _face(7))
    _put(planted, "test", "sad", "conflict_with_train.png", _face(7))
    full, report = load_splits(planted)
    out = tmp_path_factory.mktemp("packed")
    assert pack_training_data(planted, out / "data.tgz") == report
    with tarfile.open(out / "data.tgz") as tar:
        tar.extractall(out / "fer4", filter="data")
    assert json.loads((out / "fer4" / "dedup.json").read_text()) == report.as_dict()
    packed, packed_report = load_splits(out / "fer4")
    assert set(packed) == {"train", "validation"} and packed_report.conflicting_label_images == 0
    for split in ("train", "validation"):
        np.testing.assert_array_equal(packed[split].images, full[split].images)
        np.testing.assert_array_equal(packed[split].labels, full[split].labels)
