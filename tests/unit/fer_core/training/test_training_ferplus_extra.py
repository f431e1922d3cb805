"""Extra FER2013 training faces with FER+ votes: which are taken, which are left out, and training on them."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import keras
import numpy as np
import pytest

from fer_core.training.data import CLASSES, Split
from fer_core.training.ferplus import (
    EXTRA_COPY_CORR,
    JOIN_HEADER,
    OTHER_EMOTIONS,
    VOTE_COLUMNS,
    ExtraImages,
    FerPlusError,
    copies_of,
    extra_training_images,
    read_extra_images,
    with_extra_images,
    write_extra_images,
)
from fer_core.training.train import OTHER_EMOTIONS_NEED_VOTES, TrainConfig, copy_app_outputs, train
from fer_core.training.zoo import build_architecture, build_model


def _face(seed: int) -> np.ndarray:
    """A smooth random 48x48 image: two of them correlate near 0, one with its own equalised copy near 1."""
    noise = np.random.default_rng(seed).integers(0, 256, (48, 48)).astype(np.uint8)
    return cv2.GaussianBlur(noise, (7, 7), 2) // 2 + 40


def _specked(image: np.ndarray, seed: int = 0) -> np.ndarray:
    """A copy sprinkled with white and black specks over a fifth of its pixels, as some fer4 copies are."""
    rng = np.random.default_rng(seed)
    out = image.copy()
    specks = rng.random(image.shape) < 0.2
    out[specks] = rng.choice([0, 255], size=int(specks.sum()))
    return out


def _votes(**counts: int) -> list[int]:
    return [counts.get(column, 0) for column in VOTE_COLUMNS]


@pytest.fixture
def sources(tmp_path):
    """A fer4-shaped folder, a FER+ csv and join file, and a git snapshot of FER2013Train images where each
    image stands for one rule."""
    fer4 = tmp_path / "fer4"
    for split, label, image in [("train", "happy", cv2.equalizeHist(_face(1))), ("validation", "sad", cv2.equalizeHist(_face(2))),
                                ("test", "neutral", _specked(cv2.equalizeHist(_face(3))))]:
        (fer4 / split / label).mkdir(parents=True)
        cv2.imwrite(str(fer4 / split / label / f"{split}.png"), image)
    pool = {
        "fer0000000.png": (_face(1), _votes(happiness=9)),  # fer4's own training image (joined)
        "fer0000001.png": (_face(2), _votes(sadness=9)),  # a copy of fer4's validation image: never trained on
        "fer0000002.png": (_face(4), _votes(neutral=6, sadness=3, anger=1)),  # taken
        "fer0000003.png": (_face(5), _votes(anger=8, neutral=2)),  # mostly an emotion fer4 has no class for
        "fer0000004.png": (_face(6), _votes(NF=9, neutral=1)),  # not a face
        "fer0000005.png": (_face(4), _votes(neutral=10)),  # a repeat of fer0000002
        "fer0000006.png": (np.full((48, 48), 90, np.uint8), _votes(surprise=10)),  # a blank frame
        "fer0000007.png": (_face(7), _votes(surprise=7, fear=3)),  # taken
        "fer0000008.png": (_face(3), _votes(neutral=9)),  # fer4's test image, which fer4 holds specked
    }
    repo = tmp_path / "crowd-emotion"
    (repo / "data" / "FER2013Train").mkdir(parents=True)
    for name, (pixels, _) in pool.items():
        cv2.imwrite(str(repo / "data" / "FER2013Train" / name), pixels)
    git = ["git", "-C", str(repo), "-c", "user.name=test", "-c", "user.email=test@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "images"], check=True)
    ferplus_csv = "Usage,Image name," + ",".join(VOTE_COLUMNS) + "\n" + "".join(
        f"Training,{name},{','.join(map(str, votes))}\n" for name, (_, votes) in pool.items())
    join = tmp_path / "votes.csv"
    join.write_text(",".join(JOIN_HEADER) + "\n" + "train/happy/train.png,Training,fer0000000.png,0.998,0.3,"
                    + ",".join(map(str, pool["fer0000000.png"][1])) + "\n")
    return fer4, ferplus_csv, repo / ".git", join


def test_extra_images_are_unseen_faces_whose_votes_name_the_app_classes(sources):
    fer4, ferplus_csv, git_dir, join = sources
    extra = extra_training_images(fer4, ferplus_csv, git_dir, votes_csv=join)
    assert extra.names == ["fer0000002.png", "fer0000007.png"]
    assert extra.report == {"in_fer4": 1, "mostly_other_emotions": 1, "not_a_face": 1, "repeats": 1, "blank": 1,
                            "copies_of_fer4_images": 2, "kept": 2}
    # Outlier votes (a single annotator) are dropped, then the app's classes renormalised: 6:3 and 7 of 7.
    np.testing.assert_allclose(extra.targets, [[0, 6 / 9, 3 / 9, 0], [0, 0, 0, 1]], atol=1e-6)
    np.testing.assert_array_equal(extra.images[0], cv2.equalizeHist(_face(4)))  # made as fer4's images were


def test_copies_are_found_clean_or_specked_and_other_faces_are_not():
    fer4 = np.stack([cv2.equalizeHist(_face(seed)) for seed in range(10, 40)])
    specked = _specked(fer4[3], seed=1)
    assert np.corrcoef(specked.ravel().astype(float), fer4[3].ravel().astype(float))[0, 1] < EXTRA_COPY_CORR
    queries = np.stack([fer4[7], cv2.equalizeHist(_specked(_face(13), seed=2)), cv2.equalizeHist(_face(99))])
    fer4[3] = specked
    np.testing.assert_array_equal(copies_of(queries, fer4), [True, True, False])


def test_extra_images_round_trip_and_refuse_other_classes(sources, tmp_path):
    fer4, ferplus_csv, git_dir, join = sources
    path = write_extra_images(extra_training_images(fer4, ferplus_csv, git_dir, votes_csv=join), tmp_path / "x.npz")
    again = read_extra_images(path, CLASSES)
    assert again.names == ["fer0000002.png", "fer0000007.png"] and again.report["kept"] == 2
    with pytest.raises(FerPlusError, match=r"^extra FER\+ images: targets over \['happy', 'neutral', 'sad', 'surprise'\], "
                                           r"not \['happy', 'sad'\]$"):
        read_extra_images(path, ("happy", "sad"))
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[:200])
    with pytest.raises(FerPlusError, match=r"^extra FER\+ images: cannot read .*truncated\.npz \(\w+\)$"):
        read_extra_images(truncated, CLASSES)


def test_extra_images_join_the_training_split_with_their_own_targets():
    split = Split(images=np.zeros((3, 32, 32), np.uint8), labels=np.array([0, 1, 2]), paths=["a", "b", "c"])
    extra = ExtraImages(images=np.full((2, 48, 48), 7, np.uint8), targets=np.array([[0, 0.6, 0.4, 0], [0, 0, 0, 1]], np.float32),
                        names=["x.png", "y.png"], classes=CLASSES, report={})
    grown, targets = with_extra_images(split, np.eye(4, dtype=np.float32)[[0, 1, 2]], extra)
    assert grown.images.shape == (5, 32, 32) and (grown.images[3:] == 7).all()
    np.testing.assert_array_equal(grown.labels, [0, 1, 2, 1, 3])
    assert grown.paths[3:] == ["ferplus-extra/x.png", "ferplus-extra/y.png"]
    np.testing.assert_allclose(targets[3:], extra.targets)


def test_a_run_trains_on_extra_images_and_records_them(tmp_path, fer4_dir):
    rng = np.random.default_rng(0)
    extra = ExtraImages(images=rng.integers(0, 256, (20, 48, 48)).astype(np.uint8),
                        targets=np.tile(np.array([0, 0.5, 0.5, 0], np.float32), (20, 1)),
                        names=[f"fer{i:07d}.png" for i in range(20)], classes=CLASSES, report={"kept": 20})
    path = write_extra_images(extra, tmp_path / "extra.npz")
    config = TrainConfig(arch="cnn3_rgb", data_root=str(fer4_dir), run_dir=str(tmp_path / "run"), input_size=32,
                         limit_per_split=40, step2_epochs=1, max_steps_per_epoch=2, batch_size=16,
                         jit_compile=False, ferplus_weight=0.5, ferplus_extra=str(path))
    summary = train(config)
    assert summary["ferplus_extra"]["images"] == 20 and summary["ferplus_extra"]["built"] == {"kept": 20}
    assert len(summary["ferplus_extra"]["file_sha256"]) == 64
    assert summary["step2"]["epochs_done"] == 1
    assert Path(tmp_path / "run" / "best.weights.h5").is_file()


def test_with_other_emotions_faces_that_mostly_show_them_are_kept_and_weighted_by_an_app_class(sources):
    fer4, ferplus_csv, git_dir, join = sources
    extra = extra_training_images(fer4, ferplus_csv, git_dir, votes_csv=join, classes=(*CLASSES, *OTHER_EMOTIONS))
    assert extra.names == ["fer0000002.png", "fer0000003.png", "fer0000007.png"]  # the anger face too
    assert "mostly_other_emotions" not in extra.report and extra.report["kept"] == 3
    np.testing.assert_allclose(extra.targets, [[0, 6 / 9, 3 / 9, 0, 0, 0, 0, 0],  # anger's single vote dropped
                                               [0, 0.2, 0, 0, 0.8, 0, 0, 0],
                                               [0, 0, 0, 0.7, 0, 0, 0.3, 0]], atol=1e-6)
    split = Split(images=np.zeros((1, 48, 48), np.uint8), labels=np.array([0]), paths=["a"])
    grown, targets = with_extra_images(split, np.eye(8, dtype=np.float32)[[0]], extra, label_classes=len(CLASSES))
    np.testing.assert_array_equal(grown.labels, [0, 1, 1, 3])  # the anger face's class weight is neutral's
    assert targets.shape == (4, 8)


def test_the_app_model_gives_the_first_logits_of_the_model_with_other_emotions():
    keras.utils.set_random_seed(3)
    both = build_model("cnn3_rgb", n_classes=8, input_size=(32, 32))
    app = build_model("cnn3_rgb", n_classes=4, input_size=(32, 32))
    copy_app_outputs(both, app)
    faces = np.random.default_rng(0).uniform(0, 255, (5, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(app.predict(faces, verbose=0), both.predict(faces, verbose=0)[:, :4], rtol=1e-5, atol=1e-5)


@pytest.mark.filterwarnings("ignore:Skipping nested container")  # Keras, before its shape error
def test_a_run_learns_other_emotions_and_keeps_the_app_outputs(tmp_path, fer4_dir):
    config = TrainConfig(arch="cnn3_rgb", data_root=str(fer4_dir), run_dir=str(tmp_path / "run"), input_size=32,
                         limit_per_split=40, step2_epochs=1, max_steps_per_epoch=2, batch_size=16,
                         jit_compile=False, ferplus_weight=0.25, other_emotions=True)
    summary = train(config)
    assert summary["other_emotions"] == list(OTHER_EMOTIONS) and summary["ferplus"]["mostly_other_emotions"] == 0
    run = tmp_path / "run"
    build_architecture(json.loads((run / "config.json").read_text())).load_weights(run / "best.weights.h5")  # 4 outputs
    with pytest.raises(ValueError):  # the saved model is not the 8-output one that trained
        build_model("cnn3_rgb", n_classes=8, input_size=(32, 32)).load_weights(run / "best.weights.h5")
    with pytest.raises(ValueError) as error:
        train(TrainConfig(arch="cnn3_rgb", data_root=str(fer4_dir), run_dir=str(tmp_path / "no_votes"),
                          other_emotions=True))
    assert str(error.value) == OTHER_EMOTIONS_NEED_VOTES
