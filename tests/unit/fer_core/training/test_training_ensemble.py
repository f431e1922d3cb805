"""Ensembles: runs merged into one model whose logits are the mean of theirs, scored, exported and
explained like any single model."""
import json

import numpy as np
import pytest

from fer_core.training.ensemble import ensemble_runs, merge_members
from fer_core.training.runs import build_from_config
from fer_core.training.zoo import build_model
from tests.support.gradient_parity import assert_layer_gradients_match, decided_cells


def _random_members(count: int, **kwargs):
    import keras

    keras.utils.set_random_seed(3)
    return [build_model("cnn3_rgb", n_classes=4, **kwargs) for _ in range(count)]


def test_merged_logits_are_the_mean_of_the_members_logits(fer4_test_faces):
    members = _random_members(3)
    merged = merge_members(members)
    expected = np.mean([m.predict(fer4_test_faces, verbose=0) for m in members], axis=0)
    np.testing.assert_allclose(merged.predict(fer4_test_faces, verbose=0), expected, rtol=1e-4, atol=1e-5)
    assert merged.name == "cnn3_rgb"
    assert merged.get_layer("cam_features").output.shape[-1] == 3 * members[0].get_layer("cam_features").output.shape[-1]


def test_shares_weight_the_members_logits(fer4_test_faces):
    members = _random_members(2)
    merged = merge_members(members, shares=[1, 3])
    logits = [m.predict(fer4_test_faces, verbose=0) for m in members]
    np.testing.assert_allclose(merged.predict(fer4_test_faces, verbose=0), 0.25 * logits[0] + 0.75 * logits[1],
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shares", [[1], [1, 0], [1, -2]])
def test_shares_must_be_positive_and_one_per_member(shares):
    from fer_core.training.ensemble import BAD_SHARES

    with pytest.raises(ValueError) as refused:
        merge_members(_random_members(2), shares=shares)
    assert str(refused.value) == BAD_SHARES.format(count=2, shares=shares)


def test_one_member_is_not_an_ensemble():
    with pytest.raises(ValueError, match=r"^an ensemble needs at least 2 members, got 1$"):
        merge_members(_random_members(1))


def test_members_of_different_input_sizes_are_refused():
    (small,), (large,) = _random_members(1, input_size=(32, 32)), _random_members(1)
    with pytest.raises(ValueError, match=r"^members differ in input or output shape: "):
        merge_members([small, large])


def _tiny_run(run_dir, fer4_dir, *, arch: str, seed: int):
    """A tiny run like conftest's tiny_emotion_run, of `arch` from `seed`."""
    from fer_core.training.train import TrainConfig, train

    train(TrainConfig(arch=arch, data_root=str(fer4_dir), run_dir=str(run_dir), weights="random", seed=seed,
                      limit_per_split=96, step2_epochs=1, max_steps_per_epoch=3, batch_size=32, jit_compile=False))
    return run_dir


@pytest.fixture(scope="module")
def second_run(tmp_path_factory, fer4_dir):
    """Another tiny run like conftest's tiny_emotion_run, from another seed."""
    return _tiny_run(tmp_path_factory.mktemp("tiny_emotion_run_seed7"), fer4_dir, arch="cnn3_rgb", seed=7)


@pytest.fixture(scope="module")
def ensemble_run(tmp_path_factory, tiny_emotion_run, second_run):
    run_dir = tmp_path_factory.mktemp("tiny_ensemble")
    ensemble_runs([tiny_emotion_run, second_run], run_dir)
    return run_dir


def test_runs_of_different_classes_are_refused(tmp_path, tiny_emotion_run, second_run):
    import shutil

    other = shutil.copytree(second_run, tmp_path / "other")
    config = json.loads((second_run / "config.json").read_text())
    classes = [*config["classes"][:-1], "angry"]
    (other / "config.json").write_text(json.dumps({**config, "classes": classes}))
    with pytest.raises(ValueError, match=r"^members differ in classes: "):
        ensemble_runs([tiny_emotion_run, other], tmp_path / "merged")
    assert not (tmp_path / "merged").exists()


def test_members_of_different_architectures_meet_at_one_map_size(fer4_test_faces):
    """VGG16 at 96 px leaves a 6x6 map and MobileFaceNet a 7x7 one: each is repeated cell by cell to 42x42,
    which leaves every member's global average, so the merge is still the weighted mean of their logits."""
    import keras

    keras.utils.set_random_seed(3)
    vgg, mobilefacenet = build_model("vgg16", n_classes=4, upsample=2), build_model("mobilefacenet", n_classes=4)
    merged = merge_members([vgg, mobilefacenet], shares=[2, 1])
    assert merged.name == "vgg16-mobilefacenet"
    assert tuple(merged.get_layer("cam_features").output.shape[1:]) == (42, 42, 512 + 512)
    expected = (2 * vgg.predict(fer4_test_faces, verbose=0) + mobilefacenet.predict(fer4_test_faces, verbose=0)) / 3
    np.testing.assert_allclose(merged.predict(fer4_test_faces, verbose=0), expected, rtol=1e-4, atol=1e-4)


def test_a_member_without_trained_weights_is_refused_by_name(tmp_path, tiny_emotion_run):
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    for name in ("config.json", "summary.json"):
        (unfinished / name).write_text((tiny_emotion_run / name).read_text())
    with pytest.raises(FileNotFoundError, match=rf"^{unfinished}: no best.weights.h5; a member must be a finished "
                                                r"training run$"):
        ensemble_runs([tiny_emotion_run, unfinished], tmp_path / "merged")


def test_ensemble_run_records_its_members_and_rebuilds_from_its_config(ensemble_run, tiny_emotion_run, second_run,
                                                                        fer4_test_faces):
    config = json.loads((ensemble_run / "config.json").read_text())
    assert config["members"] == [str(tiny_emotion_run.resolve()), str(second_run.resolve())]
    assert config["seeds"] == [1234, 7]
    summary = json.loads((ensemble_run / "summary.json").read_text())
    assert [m["seed"] for m in summary["members"]] == [1234, 7]
    assert summary["dedup"]["kept"]["train"] == 96

    model = build_from_config(config)
    model.load_weights(ensemble_run / "best.weights.h5")
    members = []
    for run in (tiny_emotion_run, second_run):
        member = build_from_config(json.loads((run / "config.json").read_text()))
        member.load_weights(run / "best.weights.h5")
        members.append(member.predict(fer4_test_faces, verbose=0))
    np.testing.assert_allclose(model.predict(fer4_test_faces, verbose=0), np.mean(members, axis=0),
                               rtol=1e-4, atol=1e-5)
    # Ensembles merged before member recipes were recorded (0.5.0's run files) had members of the config's arch.
    older = build_from_config({k: v for k, v in config.items() if k != "member_recipes"})
    older.load_weights(ensemble_run / "best.weights.h5")
    np.testing.assert_allclose(older.predict(fer4_test_faces, verbose=0), np.mean(members, axis=0),
                               rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def ensemble_onnx(ensemble_run):
    from fer_core.training.evaluate import evaluate_run
    from fer_core.training.export import export_run

    evaluate_run(ensemble_run)
    return export_run(ensemble_run, ensemble_run / "ensemble.onnx", version="test-ensemble")


def test_ensemble_exports_with_parity_and_runs_in_the_emotion_runtime(ensemble_onnx, ensemble_run, fer4_test_faces):
    import onnx

    from fer_core import EmotionModel

    assert json.loads((ensemble_run / "export.json").read_text())["parity_max_prob_diff"] <= 1e-4
    metadata = {p.key: p.value for p in onnx.load(str(ensemble_onnx)).metadata_props}
    assert metadata["architecture"] == "cnn3_rgb" and metadata["ensemble_members"] == "2"
    probs = EmotionModel(ensemble_onnx).predict(fer4_test_faces.astype(np.uint8))
    assert probs.shape == (len(fer4_test_faces), 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_inner_layer_gradients_of_an_ensemble_are_each_members_over_their_number(
        ensemble_onnx, tiny_emotion_run, second_run, fer4_test_faces):
    """d mean_i(logit_i) / d A_i = d logit_i / d A_i / M: the ONNX walk splits at the joined maps and
    follows each member down to its own block2_relu2; the reference is GradientTape on each member."""
    import keras
    import tensorflow as tf

    from governance.explain import hirescam, load_cam_model

    model = load_cam_model(ensemble_onnx)
    out = model.run_layer(fer4_test_faces, "block2_relu2")
    activations, gradients, decided = [], [], []
    for run in (tiny_emotion_run, second_run):
        member = build_from_config(json.loads((run / "config.json").read_text()))
        member.load_weights(run / "best.weights.h5")
        probe = keras.Model(member.input, [member.get_layer("block2_relu2").output, member.output])
        per_class = []
        for c in range(4):
            with tf.GradientTape() as tape:
                activation, logits = probe(tf.constant(fer4_test_faces), training=False)
                score = tf.reduce_sum(logits[:, c])
            per_class.append(tape.gradient(score, activation).numpy() / 2)
        activations.append(activation.numpy())
        gradients.append(np.stack(per_class, axis=1))
        cells = decided_cells(member, fer4_test_faces, "block2_relu2")
        decided.append(np.broadcast_to(cells, (*cells.shape[:3], activation.shape[-1])))
    np.testing.assert_allclose(out.features, np.concatenate(activations, axis=-1), rtol=1e-4, atol=1e-5)
    assert_layer_gradients_match(out.gradients, np.concatenate(gradients, axis=-1), np.concatenate(decided, axis=-1))
    assert hirescam(model, fer4_test_faces[0], layer="block2_relu2").shape == (48, 48)


@pytest.fixture(scope="module")
def ensemble_int8(ensemble_onnx, fer4_dir):
    from fer_core.training.data import load_splits, to_rgb_float
    from fer_core.training.quantize import quantize

    splits, _ = load_splits(fer4_dir, limit_per_split=48)
    return quantize(ensemble_onnx, ensemble_onnx.with_name("ensemble.int8.onnx"), to_rgb_float(splits["train"].images))


def test_int8_ensemble_keeps_every_members_preprocessing_float_and_still_explains(ensemble_onnx, ensemble_int8,
                                                                                   fer4_test_faces):
    import onnx

    from fer_core.training.export import onnx_outputs
    from fer_core.training.quantize import float_nodes
    from governance.explain import load_cam_model

    kept = set(float_nodes(onnx.load(str(ensemble_onnx))))
    for member in ("member0", "member1"):  # tf2onnx names a member's nodes ".../member0_1/..."
        assert any(f"/{member}_1/preprocess" in name for name in kept), member
    int8 = ensemble_int8
    graph = onnx.load(str(int8)).graph
    assert sum(node.op_type == "QuantizeLinear" for node in graph.node) >= 2 * 6  # both members' six convs
    fp32_probs, int8_probs = (onnx_outputs(p, fer4_test_faces)["probs"] for p in (ensemble_onnx, int8))
    assert np.abs(fp32_probs - int8_probs).max() <= 0.05
    out = load_cam_model(int8).run_layer(fer4_test_faces, "block2_relu2")
    assert out.gradients.shape[-1] == out.features.shape[-1] == 2 * 128


def test_model_card_of_an_ensemble_names_its_members_and_their_epochs(ensemble_onnx, ensemble_run):
    import csv

    from governance.model_cards import build_model_card

    with (ensemble_run / "history.csv").open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["member"] for row in rows] == ["0", "1"]  # one step-2 epoch each
    card = build_model_card(name="emotion_ensemble", kind="emotion", models=[ensemble_onnx], run_dir=ensemble_run)
    details = card["model_details"]
    assert details["ensemble"] == "mean of the logits of 2 independently trained runs, seeds [1234, 7]"
    assert [epochs["step2"]["epochs_done"] for epochs in details["training_epochs"].values()] == [1, 1]
    assert details["seconds_per_epoch"] == round(sum(float(r["epoch_seconds"]) for r in rows) / 2, 1)


def test_members_trained_on_a_packed_copy_are_scored_on_the_given_data(tmp_path, tiny_emotion_run, second_run,
                                                                       fer4_dir):
    """Members trained on a GPU machine name that machine's copy of the data; --data points the ensemble
    at the full set here, and its deduplication report is that set's own."""
    import shutil

    from fer_core.training.data import load_splits

    data = tmp_path / "fer4"
    for split in ("train", "validation", "test"):
        for label in ("happy", "sad"):
            (data / split / label).mkdir(parents=True)
            for path in sorted((fer4_dir / split / label).iterdir())[:3]:
                shutil.copy(path, data / split / label / path.name)
    summary = ensemble_runs([tiny_emotion_run, second_run], tmp_path / "merged", data_root=data)
    assert json.loads((tmp_path / "merged" / "config.json").read_text())["data_root"] == str(data)
    assert summary["dedup"] == load_splits(data)[1].as_dict()
    assert json.loads((tmp_path / "merged" / "dedup.json").read_text()) == summary["dedup"]


def test_ensemble_keeps_the_fer_plus_labels_its_members_shared_for_the_model_card(tmp_path, tiny_emotion_run,
                                                                                  second_run):
    import shutil

    half = {"weight": 0.5, "ferplus_votes": 90, "not_a_face": 1, "mostly_other_emotions": 3, "no_trusted_match": 2}
    extra = {"file_sha256": "ab" * 32, "images": 20, "built": {"in_fer4": 5, "copies_of_fer4_images": 2, "kept": 20}}
    copies = []
    for run, labels in ((tiny_emotion_run, half), (second_run, half)):
        copy = shutil.copytree(run, tmp_path / run.name)
        summary = json.loads((copy / "summary.json").read_text())
        (copy / "summary.json").write_text(json.dumps({**summary, "ferplus": labels, "ferplus_extra": extra}))
        copies.append(copy)
    shared = ensemble_runs(copies, tmp_path / "shared")
    assert shared["ferplus"] == half and shared["ferplus_extra"] == extra

    summary = json.loads((copies[1] / "summary.json").read_text())
    without_extra = {k: v for k, v in summary.items() if k != "ferplus_extra"}
    (copies[1] / "summary.json").write_text(json.dumps({**without_extra, "ferplus": {**half, "weight": 1.0}}))
    mixed = ensemble_runs(copies, tmp_path / "mixed")
    assert "ferplus" not in mixed and "ferplus_extra" not in mixed  # the second member has no extra faces now
    assert [m["ferplus"]["weight"] for m in mixed["members"]] == [0.5, 1.0]
    assert [m["ferplus_extra"] for m in mixed["members"]] == [extra, None]


def _logits(run_dir, faces):
    model = build_from_config(json.loads((run_dir / "config.json").read_text()))
    model.load_weights(run_dir / "best.weights.h5")
    return model.predict(faces, verbose=0)


def test_members_recovered_from_an_exported_ensemble_merge_back_into_it(tmp_path, ensemble_onnx, ensemble_run,
                                                                        fer4_test_faces):
    from fer_core.training.recover import PARITY_TOLERANCE, recover_members

    folders = recover_members(ensemble_onnx, ensemble_run, tmp_path / "recovered", parity_images=fer4_test_faces)
    assert [f.name for f in folders] == ["member0", "member1"]
    summaries = [json.loads((f / "summary.json").read_text()) for f in folders]
    assert [json.loads((f / "config.json").read_text())["seed"] for f in folders] == [1234, 7]
    assert [s["step2"]["epochs_done"] for s in summaries] == [1, 1]
    assert summaries[0]["recovered_from"]["parity"]["max_prob_diff"] <= PARITY_TOLERANCE
    assert summaries[1]["recovered_from"]["member"] == 1 and not summaries[1]["recovered_from"]["int8"]
    ensemble_runs(folders, tmp_path / "again")
    np.testing.assert_allclose(_logits(tmp_path / "again", fer4_test_faces), _logits(ensemble_run, fer4_test_faces),
                               rtol=1e-4, atol=1e-5)


def test_recovered_members_merged_with_a_new_run_count_as_equals(tmp_path, ensemble_onnx, ensemble_run,
                                                                  tiny_emotion_run, second_run, fer4_test_faces):
    """Each recovered member carries the ensemble's mean output bias instead of its own, which an equal-weight
    merge of all of them cannot tell apart: with a third run, the mean of the three runs' logits."""
    from fer_core.training.recover import recover_members

    folders = recover_members(ensemble_onnx, ensemble_run, tmp_path / "recovered")
    ensemble_runs([*folders, tiny_emotion_run], tmp_path / "three")
    expected = np.mean([_logits(run, fer4_test_faces) for run in (tiny_emotion_run, second_run, tiny_emotion_run)],
                       axis=0)
    np.testing.assert_allclose(_logits(tmp_path / "three", fer4_test_faces), expected, rtol=1e-4, atol=1e-5)


def test_a_new_run_joins_recovered_members_at_its_share(tmp_path, ensemble_onnx, ensemble_run, tiny_emotion_run,
                                                       second_run, fer4_test_faces):
    """The recovered members at their original proportion and a new run at half: what a blend chose."""
    from fer_core.training.recover import recover_members

    folders = recover_members(ensemble_onnx, ensemble_run, tmp_path / "recovered")
    ensemble_runs([*folders, second_run], tmp_path / "half", shares=[1, 1, 2])
    assert json.loads((tmp_path / "half" / "config.json").read_text())["member_shares"] == [0.25, 0.25, 0.5]
    expected = 0.25 * _logits(tiny_emotion_run, fer4_test_faces) + 0.75 * _logits(second_run, fer4_test_faces)
    np.testing.assert_allclose(_logits(tmp_path / "half", fer4_test_faces), expected, rtol=1e-4, atol=1e-5)


def test_members_of_a_weighted_ensemble_are_recovered_at_their_shares(tmp_path, tiny_emotion_run, second_run,
                                                                       fer4_test_faces):
    from fer_core.training.evaluate import evaluate_run
    from fer_core.training.export import export_run
    from fer_core.training.recover import recover_members
    from governance.model_cards import build_model_card

    ensemble_runs([tiny_emotion_run, second_run], tmp_path / "weighted", shares=[1, 3])
    evaluate_run(tmp_path / "weighted")
    onnx_path = export_run(tmp_path / "weighted", tmp_path / "weighted.onnx", version="test-weighted")
    folders = recover_members(onnx_path, tmp_path / "weighted", tmp_path / "recovered", parity_images=fer4_test_faces)
    assert [json.loads((f / "summary.json").read_text())["recovered_from"]["share"] for f in folders] == [0.25, 0.75]
    ensemble_runs(folders, tmp_path / "again", shares=[1, 3])
    np.testing.assert_allclose(_logits(tmp_path / "again", fer4_test_faces),
                               _logits(tmp_path / "weighted", fer4_test_faces), rtol=1e-4, atol=1e-5)
    card = build_model_card(name="emotion_ensemble", kind="emotion", models=[onnx_path], run_dir=tmp_path / "weighted")
    assert card["model_details"]["ensemble"] == ("mean of the logits of 2 independently trained runs, seeds [1234, 7], "
                                                 f"weighted by shares {tiny_emotion_run.name} 0.250, "
                                                 f"{second_run.name} 0.750")


def test_members_recovered_from_the_int8_file_read_faces_as_it_does(tmp_path, ensemble_int8, ensemble_run,
                                                                    fer4_test_faces):
    from fer_core.training.recover import recover_members

    folders = recover_members(ensemble_int8, ensemble_run, tmp_path / "recovered", parity_images=fer4_test_faces)
    record = json.loads((folders[0] / "summary.json").read_text())["recovered_from"]
    assert record["int8"] and record["parity"]["max_prob_diff"] <= 0.05


def test_recovering_refuses_a_run_folder_that_does_not_describe_the_file(tmp_path, ensemble_onnx, tiny_emotion_run):
    from fer_core.training.recover import DIFFERENT_MODEL, recover_members

    with pytest.raises(ValueError) as refused:
        recover_members(ensemble_onnx, tiny_emotion_run, tmp_path / "recovered")
    assert str(refused.value) == DIFFERENT_MODEL.format(found="cnn3_rgb x 2", expected="cnn3_rgb x 1")
    assert not (tmp_path / "recovered").exists()


def test_recovering_refuses_a_hidden_layer_that_mixes_members(tmp_path, ensemble_onnx, ensemble_run):
    import onnx
    from onnx import numpy_helper

    from fer_core.training.recover import NOT_BLOCK_DIAGONAL, recover_members

    proto = onnx.load(str(ensemble_onnx))
    hidden = next(init for init in proto.graph.initializer if "head_hidden" in init.name and len(init.dims) == 2)
    kernel = numpy_helper.to_array(hidden).copy()
    kernel[0, -1] = 0.5  # member 0's first channel feeds member 1's last hidden unit
    hidden.CopyFrom(numpy_helper.from_array(kernel, hidden.name))
    onnx.save(proto, str(tmp_path / "mixed.onnx"))
    with pytest.raises(ValueError) as refused:
        recover_members(tmp_path / "mixed.onnx", ensemble_run, tmp_path / "recovered")
    assert str(refused.value) == NOT_BLOCK_DIAGONAL.format(members=2)
    assert not (tmp_path / "recovered").exists()


def test_a_single_exported_run_is_recovered_as_one_member(tmp_path, tiny_emotion_onnx, tiny_emotion_run,
                                                          fer4_test_faces):
    from fer_core.training.recover import recover_members

    (folder,) = recover_members(tiny_emotion_onnx, tiny_emotion_run, tmp_path / "recovered",
                                parity_images=fer4_test_faces)
    np.testing.assert_allclose(_logits(folder, fer4_test_faces), _logits(tiny_emotion_run, fer4_test_faces),
                               rtol=1e-4, atol=1e-4)
    assert json.loads((folder / "summary.json").read_text())["recovered_from"]["run"] == tiny_emotion_run.name


def test_a_merge_of_recovered_members_names_them_and_their_file_in_its_records_and_card(tmp_path, ensemble_onnx,
                                                                                      ensemble_run, second_run):
    from fer_core.training.evaluate import evaluate_run
    from fer_core.training.export import export_run
    from fer_core.training.recover import recover_members
    from governance.model_cards import build_model_card

    folders = recover_members(ensemble_onnx, ensemble_run, tmp_path / "recovered")
    merged = tmp_path / "merged"
    summary = ensemble_runs([*folders, second_run], merged)
    trained_as = [m["run"] for m in json.loads((ensemble_run / "summary.json").read_text())["members"]]
    assert [m["run"] for m in summary["members"]] == [*trained_as, second_run.name]
    assert [m.get("recovered_from", {}).get("member") for m in summary["members"]] == [0, 1, None]
    evaluate_run(merged)
    onnx_path = export_run(merged, merged / "merged.onnx", version="test-merged")
    details = build_model_card(name="emotion_merged", kind="emotion", models=[onnx_path],
                               run_dir=merged)["model_details"]
    sha = json.loads((folders[0] / "summary.json").read_text())["recovered_from"]["sha256"]
    assert details["members_read_back"] == {
        run: f"from ensemble.onnx version test-ensemble (SHA-256 {sha}); output bias: that file's"
        for run in trained_as}


@pytest.fixture(scope="module")
def cnn4_run(tmp_path_factory, fer4_dir):
    """A tiny run of another architecture, whose last map (6x6) is half the size of cnn3_rgb's (12x12)."""
    return _tiny_run(tmp_path_factory.mktemp("tiny_cnn4_run"), fer4_dir, arch="cnn4_rgb", seed=5)


@pytest.fixture(scope="module")
def mixed_onnx(tmp_path_factory, tiny_emotion_run, cnn4_run):
    """cnn3_rgb and cnn4_rgb merged at shares 1:2, scored and exported."""
    from fer_core.training.evaluate import evaluate_run
    from fer_core.training.export import export_run

    run_dir = tmp_path_factory.mktemp("tiny_mixed_ensemble")
    ensemble_runs([tiny_emotion_run, cnn4_run], run_dir, shares=[1, 2])
    evaluate_run(run_dir)
    return export_run(run_dir, run_dir / "mixed.onnx", version="test-mixed")


def test_runs_of_different_architectures_merge_into_one_model_named_after_both(mixed_onnx, tiny_emotion_run, cnn4_run,
                                                                               fer4_test_faces):
    import onnx

    from fer_core import EmotionModel

    run_dir = mixed_onnx.parent
    config = json.loads((run_dir / "config.json").read_text())
    assert config["arch"] == "cnn3_rgb-cnn4_rgb"
    assert [(r["arch"], r["seed"]) for r in config["member_recipes"]] == [("cnn3_rgb", 1234), ("cnn4_rgb", 5)]
    expected = (_logits(tiny_emotion_run, fer4_test_faces) + 2 * _logits(cnn4_run, fer4_test_faces)) / 3
    np.testing.assert_allclose(_logits(run_dir, fer4_test_faces), expected, rtol=1e-4, atol=1e-5)
    metadata = {p.key: p.value for p in onnx.load(str(mixed_onnx)).metadata_props}
    assert metadata["architecture"] == "cnn3_rgb-cnn4_rgb" and metadata["ensemble_members"] == "2"
    assert EmotionModel(mixed_onnx).predict(fer4_test_faces.astype(np.uint8)).shape == (len(fer4_test_faces), 4)


def test_a_mixed_ensemble_is_explained_at_its_joined_map(mixed_onnx, fer4_test_faces):
    """No inner layer is common to both members, so HiResCAM and LayerCAM explain at the joined 12x12 map, where
    every cell's gradient is cam_weights (the head is GAP -> Dense -> Dense) and no walk down is needed."""
    from governance.explain import hirescam, layercam, load_cam_model

    model = load_cam_model(mixed_onnx)
    assert model.default_layer is None
    out, cam = model.run_layer(fer4_test_faces), model.run(fer4_test_faces)
    np.testing.assert_allclose(out.features, cam.features, rtol=1e-5, atol=1e-6)
    assert out.features.shape[1:] == (12, 12, 256 + 512)
    np.testing.assert_allclose(out.gradients, np.broadcast_to(cam.weights[:, :, None, None, :], out.gradients.shape),
                               rtol=1e-5, atol=1e-7)
    for method in (hirescam, layercam):
        assert method(model, fer4_test_faces[0]).shape == (48, 48)


def test_members_of_different_architectures_are_recovered_each_as_its_own(tmp_path, mixed_onnx, fer4_test_faces):
    from fer_core.training.recover import PARITY_TOLERANCE, recover_members

    run_dir = mixed_onnx.parent
    folders = recover_members(mixed_onnx, run_dir, tmp_path / "recovered", parity_images=fer4_test_faces)
    assert [json.loads((f / "config.json").read_text())["arch"] for f in folders] == ["cnn3_rgb", "cnn4_rgb"]
    records = [json.loads((f / "summary.json").read_text())["recovered_from"] for f in folders]
    assert records[0]["parity"]["max_prob_diff"] <= PARITY_TOLERANCE
    assert [r["share"] for r in records] == pytest.approx([1 / 3, 2 / 3])
    ensemble_runs(folders, tmp_path / "again", shares=[1, 2])
    np.testing.assert_allclose(_logits(tmp_path / "again", fer4_test_faces), _logits(run_dir, fer4_test_faces),
                               rtol=1e-4, atol=1e-5)


def test_model_card_of_a_mixed_ensemble_gives_each_members_architecture_recipe_and_start(tmp_path, mixed_onnx,
                                                                                       tiny_emotion_run, cnn4_run):
    import shutil

    from governance.model_cards import build_model_card

    run_dir = mixed_onnx.parent
    details = build_model_card(name="emotion_mixed", kind="emotion", models=[mixed_onnx], run_dir=run_dir)["model_details"]
    assert details["architecture"] == "cnn3_rgb-cnn4_rgb"
    assert details["ensemble"] == (
        f"mean of the logits of 2 independently trained runs, seeds [1234, 5], architectures {tiny_emotion_run.name} "
        f"cnn3_rgb, {cnn4_run.name} cnn4_rgb, weighted by shares {tiny_emotion_run.name} 0.333, {cnn4_run.name} 0.667")
    assert [recipe["arch"] for recipe in details["training_recipe"].values()] == ["cnn3_rgb", "cnn4_rgb"]

    # Members of different starts: the merged run keeps each start's record for the card's provenance.
    other = shutil.copytree(cnn4_run, tmp_path / "other_start")
    summary = json.loads((other / "summary.json").read_text())
    start = {"source": "hed", "description": "another start"}
    (other / "summary.json").write_text(json.dumps({**summary, "initial_weights": start}))
    merged = ensemble_runs([tiny_emotion_run, other], tmp_path / "two_starts")
    assert merged["initial_weights"] == {"source": "random+hed", "description": "each member's own start, by source",
                                         "starts": [summary["initial_weights"], start]}
