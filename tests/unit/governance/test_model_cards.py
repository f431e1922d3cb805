"""Model cards of a model trained here (emotion): all Mitchell et al. sections, every number taken from the run
and the bias audit, exact errors for bad inputs. Cards of models trained elsewhere: test_model_cards_provenance.py."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from governance.bias_audit import AuditSettings, audit_emotion_model
from governance.explain import CARD_UNREADABLE, ExplanationError, Faithfulness, measured_faithfulness
from governance.model_cards import (
    COUNTED_RATE_INTERVAL,
    FAITHFUL,
    FAITHFULNESS_OF_ANOTHER_MODEL,
    INDISTINGUISHABLE,
    PER_CLASS_TABLE_SHAPE,
    SECTIONS,
    UNFAITHFUL,
    ModelCardError,
    build_model_card,
    counted_rate,
    main,
    per_class_scores,
    render_markdown,
    write_model_card,
)
from tests.support.bias_audit import CLASSES, write_brightness_model, write_cohorts

# Planted numbers: unusual values that can only reach the card from these files.
TEST_ACCURACY, TEST_MACRO_F1, VAL_ACCURACY = 0.8137, 0.8029, 0.7911


def _per_class(offset: float) -> dict:
    return {c: {"precision": 0.7 + offset, "recall": 0.6 + offset, "f1": 0.65 + offset, "support": 100 + i}
            for i, c in enumerate(CLASSES)}


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return write_brightness_model(tmp_path_factory.mktemp("model") / "emotion_test.onnx", version="1.2.3")


@pytest.fixture
def run_dir(tmp_path, model):
    run = tmp_path / "run"
    run.mkdir()
    files = {
        "config.json": {"arch": "vgg16", "data_root": "/data/fer4", "seed": 1234, "batch_size": 64, "step2_lr": 1e-4,
                        "classes": list(CLASSES)},
        "summary.json": {
            "initial_weights": {"source": "hed", "description": "HED BSDS500 VGG16 conv weights"},
            "step2": {"best_epoch": 7, "epochs_done": 11},
            "trainable_params": 14_716_228,
            "dedup": {"kept": {"train": 19123, "validation": 2461, "test": 2417}, "conflicting_label_images": 18},
        },
        "metrics.json": {
            "classes": list(CLASSES),
            "temperature": 1.4321,
            "validation_uncalibrated": {"n": 2461, "accuracy": VAL_ACCURACY, "macro_f1": 0.78, "ece": 0.0912},
            "validation": {"n": 2461, "accuracy": VAL_ACCURACY, "macro_f1": 0.7803, "ece": 0.0211,
                           "per_class": _per_class(0.01)},
            "test": {"n": 2417, "accuracy": TEST_ACCURACY, "macro_f1": TEST_MACRO_F1, "ece": 0.0234, "nll": 0.5566,
                     "per_class": _per_class(0.02)},
            "ferplus_majority": {"test": {"n": 2190, "accuracy": 0.8512, "macro_f1": 0.8233, "ece": 0.04}},
        },
        "export.json": {"sha256": hashlib.sha256(model.read_bytes()).hexdigest(), "opset": 17,
                        "parity_images": 100, "parity_max_prob_diff": 3.1e-7},
    }
    for name, content in files.items():
        (run / name).write_text(json.dumps(content))
    (run / "history.csv").write_text("epoch,epoch_seconds,loss\n0,600.0,1.1\n1,620.0,0.9\n")
    return run


@pytest.fixture(scope="module")
def bias_json(tmp_path_factory, model):
    tmp_path = tmp_path_factory.mktemp("bias")
    manifest = write_cohorts(tmp_path / "set", {"dark": (40, 0), "light": (60, 0)},
                             fills={"dark": (30, 30, 30), "light": (200, 200, 200)})
    pd.read_csv(manifest).assign(label="happy").to_csv(manifest, index=False)
    audit, paths = audit_emotion_model(data=manifest, model=model, out_dir=tmp_path / "bias",
                                       settings=AuditSettings(n_boot=200))
    return paths.json


def test_card_has_every_section_in_order(run_dir, model, bias_json):
    card = build_model_card(name="emotion_test", kind="emotion", models=[model], run_dir=run_dir, bias=[bias_json])
    for key, _ in SECTIONS:
        assert card[key], key
    markdown = render_markdown(card)
    titles = re.findall(r"^## \d+\. (.+)$", markdown, flags=re.MULTILINE)
    assert titles == [title for _, title in SECTIONS]


def test_numbers_come_from_the_inputs(run_dir, model, bias_json):
    card = build_model_card(name="emotion_test", kind="emotion", models=[model], run_dir=run_dir, bias=[bias_json])
    overall = card["quantitative_analyses"]["overall"]
    assert overall["test (n=2417)"]["accuracy"] == TEST_ACCURACY
    assert overall["test (n=2417)"]["macro_f1"] == TEST_MACRO_F1
    assert overall["validation before temperature scaling"]["ece"] == 0.0912
    assert overall["test, by the FER+ crowd's majority label (n=2190)"] == {"accuracy": 0.8512, "macro_f1": 0.8233}
    assert card["model_details"]["version"] == "1.2.3"  # from the ONNX metadata
    assert card["model_details"]["initial_weights"]["source"] == "hed"
    assert card["model_details"]["seconds_per_epoch"] == 610.0  # mean of history.csv
    assert card["training_data"]["images_kept"] == 19123
    assert card["model_details"]["files"][0]["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    markdown = render_markdown(card)
    for text in ("0.8137", "0.8029", "1.4321", "19123", "| happy | 0.7200 | 0.6200 | 0.6700 | 100 |"):
        assert text in markdown, text


def test_the_audited_files_ece_reaches_the_card_beside_its_floor_under_perfect_calibration(run_dir, model, bias_json):
    calibration = json.loads(bias_json.read_text())["calibration"]
    card = build_model_card(name="emotion_test", kind="emotion", models=[model], run_dir=run_dir, bias=[bias_json])
    (row,) = [v for k, v in card["quantitative_analyses"]["overall"].items() if k.startswith("bias audit set")]
    floor = calibration["floor_if_calibrated"]
    assert row["ece"] == calibration["ece"]
    assert row["ece binning"] == "15 equal-width confidence bins over (0, 1]"
    assert row["ece_if_calibrated"] == {"mean": floor["mean"], "95% upper point": floor["upper_95"],
                                        "simulations": 2000, "seed": 0}
    assert "ece_if_calibrated" in card["metrics"]["definitions"]
    assert f"95% upper point: {floor['upper_95']:.4f}" in render_markdown(card)


def test_extra_training_faces_reach_the_card_with_their_sources(run_dir, model):
    summary = json.loads((run_dir / "summary.json").read_text())
    extra = {"file_sha256": "cd" * 32, "images": 4591, "built": {"in_fer4": 19289, "copies_of_fer4_images": 1203,
                                                                  "kept": 4591}}
    (run_dir / "summary.json").write_text(json.dumps({**summary, "ferplus_extra": extra}))
    card = build_model_card(name="emotion_test", kind="emotion", models=[model], run_dir=run_dir)
    section = card["training_data"]["extra_images"]
    assert section["images"] == 4591 and section["file_sha256"] == "cd" * 32
    assert section["left_out"] == {"in_fer4": 19289, "copies_of_fer4_images": 1203}
    assert "tessav/crowd-emotion" in section["sources"] and "MIT licence" in section["sources"]
    assert "4591" in render_markdown(card)


def test_a_run_that_learnt_other_emotions_says_so(run_dir, model):
    summary = json.loads((run_dir / "summary.json").read_text())
    (run_dir / "summary.json").write_text(json.dumps({
        **summary, "other_emotions": ["anger", "disgust", "fear", "contempt"],
        "ferplus": {"weight": 0.25, "ferplus_votes": 900, "mostly_other_emotions": 0}}))
    (run_dir / "config.json").write_text(json.dumps({**json.loads((run_dir / "config.json").read_text()),
                                                     "other_emotions": True}))
    card = build_model_card(name="emotion_test", kind="emotion", models=[model], run_dir=run_dir)
    assert card["training_data"]["labels"]["targets"] == (
        "0.75 x the fer4 label + 0.25 x the FER+ crowd votes over the four classes and anger, disgust, fear, "
        "contempt, learnt as outputs this file drops (fer_core.training.ferplus.mixed_targets)")
    assert card["model_details"]["training_recipe"]["other_emotions"] is True


def test_per_group_numbers_and_flags_come_from_the_bias_audit(run_dir, model, bias_json):
    audit = json.loads(bias_json.read_text())
    card = build_model_card(name="emotion_test", kind="emotion", models=[model], run_dir=run_dir, bias=[bias_json])
    rows = {(r["column"], r["group"]): r for r in card["quantitative_analyses"]["per_group"]}
    dim = audit["columns"]["illumination"]["groups"]["dim"]
    assert rows[("illumination", "dim")]["metrics"]["accuracy"] == dim["metrics"]["accuracy"]
    assert rows[("illumination", "dim")]["gap_to_rest"]["accuracy"]["ci"] == dim["gap_to_rest"]["accuracy"]["ci"]
    assert {(f["column"], f["group"]) for f in card["quantitative_analyses"]["flags"]} == {
        ("cohort", "dark"), ("illumination", "dim")
    }
    caveats = " ".join(card["caveats_and_recommendations"])
    # 40 faces all wrong beside a rest all right: Newcombe's interval, not the bootstrap's [-1, -1] of zero width.
    assert "illumination = dim (n=40), accuracy gap to the rest -1.0000 (interval [-1.0000, -0.8937])" in caveats
    assert "skin_tone could not be measured on any face" in caveats  # grayscale faces
    # The card says how the audit's intervals were computed, as the audit records it.
    settings = audit["settings"]
    assert card["metrics"]["intervals"] == f"95% intervals: {settings['interval']} ({settings['n_boot']} bootstrap resamples)"
    assert audit["settings"]["interval"].startswith("Clopper-Pearson for a share of rows")
    # 0 of 40 right: the exact interval reaches 0.0881 (1 - 0.025 ** (1 / 40)), where the bootstrap said [0, 0].
    assert "| illumination | dim | 40 | 0.0000 [0.0000, 0.0881] |" in render_markdown(card)


def test_bias_audit_set_is_named_without_the_maintainers_folders(run_dir, model, bias_json, tmp_path, monkeypatch):
    audit = json.loads(bias_json.read_text())
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.chdir(repo)  # the ship script runs in the repository
    outside, inside = tmp_path / "scratch" / "test_dedup.csv", repo / "docs" / "trials.csv"
    names, markdown = {}, ""
    for where in (outside, inside):
        planted = tmp_path / f"{where.stem}.json"
        planted.write_text(json.dumps({**audit, "context": {**audit["context"], "audit_set": str(where)}}))
        card = build_model_card(name="emotion_test", kind="emotion", models=[model], run_dir=run_dir, bias=[planted])
        names[where] = [entry["name"] for entry in card["evaluation_data"] if entry["name"].startswith("bias audit")]
        markdown += render_markdown(card)
    assert names[outside] == ["bias audit set test_dedup.csv"]  # outside the repository: the file name alone
    assert names[inside] == ["bias audit set docs/trials.csv"]  # inside it: relative to it
    assert str(outside.parent) not in markdown and str(repo / "docs") not in markdown


def test_command_writes_markdown_and_json(run_dir, model, bias_json, tmp_path, capsys):
    out = tmp_path / "cards"
    code = main(["emotion", "--name", "emotion_test", "--onnx", str(model), "--run", str(run_dir),
                 "--bias", str(bias_json), "--out", str(out)])
    assert code == 0
    card = json.loads((out / "emotion_test.json").read_text())
    assert card["generated_by"].startswith("python -m governance.model_cards emotion --name emotion_test")
    assert [s["role"] for s in card["sources"]][:5] == ["model", "run config", "run summary", "run metrics", "run export"]
    assert (out / "emotion_test.md").read_text().startswith("# Model card: emotion_test\n")
    assert capsys.readouterr().out == f"wrote {out / 'emotion_test.md'} and {out / 'emotion_test.json'}\n"


def test_missing_metrics_file_is_a_clear_error(run_dir, model):
    (run_dir / "metrics.json").unlink()
    with pytest.raises(ModelCardError, match=re.escape(f"run folder {run_dir} has no metrics.json")):
        build_model_card(name="x", kind="emotion", models=[model], run_dir=run_dir)


def test_missing_metric_is_a_clear_error(run_dir, model):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    del metrics["test"]["macro_f1"]
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(ModelCardError, match=re.escape(f"{run_dir / 'metrics.json'} has no 'test.macro_f1'")):
        build_model_card(name="x", kind="emotion", models=[model], run_dir=run_dir)


def test_run_of_another_model_is_refused(run_dir, model, tmp_path):
    other = write_brightness_model(tmp_path / "other.onnx", version="9")
    with pytest.raises(ModelCardError, match="this run did not export this model file$"):
        build_model_card(name="x", kind="emotion", models=[other], run_dir=run_dir)


def test_bias_audit_of_another_model_is_refused(run_dir, model, bias_json, tmp_path):
    audit = json.loads(bias_json.read_text())
    audit["context"]["model"]["sha256"] = "0" * 64
    (tmp_path / "other_audit.json").write_text(json.dumps(audit))
    with pytest.raises(ModelCardError, match=re.escape(f"{tmp_path / 'other_audit.json'} audited a model with SHA-256 {'0' * 64}")):
        build_model_card(name="x", kind="emotion", models=[model], run_dir=run_dir, bias=[tmp_path / "other_audit.json"])


def test_bias_audit_of_the_wrong_kind_is_refused(run_dir, model, bias_json, tmp_path):
    audit = json.loads(bias_json.read_text())
    audit["kind"] = "identity"
    (tmp_path / "identity_audit.json").write_text(json.dumps(audit))
    with pytest.raises(ModelCardError, match=re.escape(
        f"{tmp_path / 'identity_audit.json'} is an identity bias audit; this is an emotion model card"
    )):
        build_model_card(name="x", kind="emotion", models=[model], run_dir=run_dir, bias=[tmp_path / "identity_audit.json"])


def test_emotion_card_without_a_run_is_refused(model):
    with pytest.raises(ModelCardError, match=re.escape(
        "an emotion card needs run_dir: the training run folder with its metrics"
    )):
        build_model_card(name="x", kind="emotion", models=[model])


def test_command_reports_a_missing_model_and_writes_nothing(run_dir, tmp_path, capsys):
    out = tmp_path / "cards"
    code = main(["emotion", "--name", "x", "--onnx", str(tmp_path / "missing.onnx"), "--run", str(run_dir),
                 "--out", str(out)])
    assert code == 1
    assert capsys.readouterr().err == f"error: model file not found: {tmp_path / 'missing.onnx'}\n"
    assert not out.exists()


def test_card_is_rebuilt_from_the_same_inputs_identically(run_dir, model, bias_json, tmp_path):
    first = build_model_card(name="x", kind="emotion", models=[model], run_dir=run_dir, bias=[bias_json])
    copy = tmp_path / "run_copy"
    shutil.copytree(run_dir, copy)
    second = build_model_card(name="x", kind="emotion", models=[model], run_dir=copy, bias=[bias_json])
    strip = lambda card: {k: v for k, v in card.items() if k != "sources"}  # noqa: E731
    assert strip(first) == strip(second)


def _quantization_record(run_dir: Path, *, fp32_sha: str, int8_sha: str) -> None:
    (run_dir / "quantization.json").write_text(json.dumps({
        "test_images": 2417, "prediction_agreement": 0.9917,
        "fp32": {"sha256": fp32_sha, "accuracy": TEST_ACCURACY, "macro_f1": TEST_MACRO_F1},
        "int8": {"sha256": int8_sha, "accuracy": 0.7967, "macro_f1": 0.7901},
        "quantization": {"format": "QDQ", "weights": "int8 per-channel", "calibration_images": 500},
    }))


def test_int8_derivative_of_the_export_gets_its_own_scores_on_the_card(run_dir, model, tmp_path):
    int8 = write_brightness_model(tmp_path / "emotion_int8.onnx", version="1.2.3-int8")
    export_sha = json.loads((run_dir / "export.json").read_text())["sha256"]
    _quantization_record(run_dir, fp32_sha=export_sha, int8_sha=hashlib.sha256(int8.read_bytes()).hexdigest())
    card = build_model_card(name="x", kind="emotion", models=[int8], run_dir=run_dir)
    details = card["model_details"]["quantization"]
    assert details["weights"] == "int8 per-channel" and details["from"].endswith(export_sha)
    # The export's parity against Keras is the float32 file's, and says so.
    assert card["model_details"]["export"] == {"model": f"the float32 model before int8, SHA-256 {export_sha}",
                                               "opset": 17, "parity_images": 100, "parity_max_prob_diff": 3.1e-7}
    overall = card["quantitative_analyses"]["overall"]
    assert overall["test, this int8 file (n=2417)"] == {"accuracy": 0.7967, "macro_f1": 0.7901,
                                                        "same_prediction_as_float32": 0.9917}
    # metrics.json scored the float32 model: none of its figures (its ECE among them) reads as this file's.
    assert overall["test, float32 model before int8 (n=2417)"]["ece"] == 0.0234
    assert overall["validation before temperature scaling, float32 model before int8"]["ece"] == 0.0912
    assert not any(key.startswith("test (n=") or key.startswith("validation (n=") for key in overall)
    assert "run quantization" in {s["role"] for s in card["sources"]}


def test_the_shipped_int8_files_per_class_scores_come_from_its_audit_and_the_float32_ones_are_labelled(
        run_dir, tmp_path, monkeypatch):
    # The audit ran the int8 file, which reads every face as happy; metrics.json's per-class scores are the float32
    # model's (_per_class(0.02)): the card must not print those as this file's.
    # A card names a data file inside the working folder by its path relative to it: run from the run folder, as the
    # ship script runs from the repository, so the set lies outside it whichever folder pytest was started in.
    monkeypatch.chdir(run_dir)
    int8 = write_brightness_model(tmp_path / "emotion_int8.onnx", version="1.2.3-int8")
    export_sha = json.loads((run_dir / "export.json").read_text())["sha256"]
    _quantization_record(run_dir, fp32_sha=export_sha, int8_sha=hashlib.sha256(int8.read_bytes()).hexdigest())
    manifest = write_cohorts(tmp_path / "set", {"dark": (40, 0), "light": (60, 0)},
                             fills={"dark": (30, 30, 30), "light": (200, 200, 200)})
    labels = ["happy"] * 70 + ["sad"] * 30
    pd.read_csv(manifest).assign(label=labels).to_csv(manifest, index=False)
    _, paths = audit_emotion_model(data=manifest, model=int8, out_dir=tmp_path / "bias",
                                   settings=AuditSettings(n_boot=50))
    table = json.loads(paths.json.read_text())["overall_table"]
    card = build_model_card(name="x", kind="emotion", models=[int8], run_dir=run_dir, bias=[paths.json])
    shipped, float32 = card["quantitative_analyses"]["per_class"]
    assert shipped["data"] == "bias audit set manifest.csv (n=100)"  # the overall table's row of the same file
    assert shipped["data"] in card["quantitative_analyses"]["overall"]
    assert float32 == {"data": "test, float32 model before int8 (n=2417)", "classes": _per_class(0.02)}
    happy = shipped["classes"]["happy"]
    hits = table[0][0]
    assert happy == {"precision": hits / sum(row[0] for row in table), "recall": hits / 70,
                     "f1": 2 * hits / (70 + sum(row[0] for row in table)), "support": 70}
    assert shipped["classes"]["sad"]["support"] == 30
    markdown = render_markdown(card)
    assert "### Per class (test)" not in markdown
    shipped_at = markdown.index("### Per class (bias audit set manifest.csv (n=100))")
    assert shipped_at < markdown.index("### Per class (test, float32 model before int8 (n=2417))")


def test_a_per_class_count_table_of_the_wrong_shape_is_a_clear_error():
    with pytest.raises(ModelCardError) as error:
        per_class_scores([[1, 2], [3, 4]], ["happy", "neutral", "sad"])
    assert str(error.value) == PER_CLASS_TABLE_SHAPE.format(n=3, classes="happy, neutral, sad")
    assert per_class_scores([[3, 1], [0, 0]], ["happy", "sad"]) == {
        "happy": {"precision": 1.0, "recall": 0.75, "f1": 6 / 7, "support": 4},
        "sad": {"precision": 0.0, "recall": None, "f1": 0.0, "support": 0}}


def test_int8_record_of_another_file_is_refused(run_dir, model, tmp_path):
    int8 = write_brightness_model(tmp_path / "emotion_int8.onnx", version="1.2.3-int8")
    export_sha = json.loads((run_dir / "export.json").read_text())["sha256"]
    _quantization_record(run_dir, fp32_sha=export_sha, int8_sha="0" * 64)
    with pytest.raises(ModelCardError, match=r"^.*quantization\.json records int8 SHA-256 0{64}, but emotion_int8\.onnx "
                                             r"has [0-9a-f]{64}: this run did not export or quantize this model file$"):
        build_model_card(name="x", kind="emotion", models=[int8], run_dir=run_dir)


def test_int8_record_of_another_export_is_refused(run_dir, model, tmp_path):
    int8 = write_brightness_model(tmp_path / "emotion_int8.onnx", version="1.2.3-int8")
    _quantization_record(run_dir, fp32_sha="f" * 64, int8_sha=hashlib.sha256(int8.read_bytes()).hexdigest())
    with pytest.raises(ModelCardError, match=r"^.*quantization\.json quantized the file with SHA-256 f{64}, not the "
                                             r"run's export [0-9a-f]{64}$"):
        build_model_card(name="x", kind="emotion", models=[int8], run_dir=run_dir)


def _refit_record(run_dir: Path, *, refitted_sha: str, from_sha: str) -> None:
    (run_dir / "refit.json").write_text(json.dumps({
        "from": {"file": "emotion_int8.onnx", "sha256": from_sha}, "sha256": refitted_sha, "version": "1.2.4",
        "layer": "logits", "settings": {"ferplus_weight": 0.25, "label_smoothing": 0.1},
        "training_faces": {"fer4_train": 19000, "ferplus_extra": {"images": 4321, "file_sha256": "e" * 64}},
        "ferplus": {"ferplus_votes": 18000, "not_a_face": 12},
    }))


def test_refitted_int8_model_gets_its_refit_and_its_own_test_scores_on_the_card(run_dir, model, tmp_path):
    int8 = write_brightness_model(tmp_path / "emotion_int8.onnx", version="1.2.3-int8")
    refitted = write_brightness_model(tmp_path / "emotion_refit.onnx", version="1.2.4")
    export_sha = json.loads((run_dir / "export.json").read_text())["sha256"]
    int8_sha = hashlib.sha256(int8.read_bytes()).hexdigest()
    _quantization_record(run_dir, fp32_sha=export_sha, int8_sha=int8_sha)
    _refit_record(run_dir, refitted_sha=hashlib.sha256(refitted.read_bytes()).hexdigest(), from_sha=int8_sha)
    card = build_model_card(name="x", kind="emotion", models=[refitted], run_dir=run_dir)
    refit = card["model_details"]["last_layer_refit"]
    assert refit["from"] == f"emotion_int8.onnx, SHA-256 {int8_sha}"
    assert refit["training_faces"]["ferplus_extra"]["images"] == 4321 and refit["settings"]["ferplus_weight"] == 0.25
    assert card["model_details"]["quantization"]["from"].endswith(export_sha)
    overall = card["quantitative_analyses"]["overall"]
    # metrics.json scored the refitted file: no separate row from the quantization record's int8 file.
    assert overall["test (n=2417)"]["accuracy"] == TEST_ACCURACY
    assert not any(key.startswith("test, this int8 file") for key in overall)
    assert "run last-layer refit" in {s["role"] for s in card["sources"]}
    assert "4321" in render_markdown(card)


def test_refit_record_of_another_file_is_refused(run_dir, model, tmp_path):
    refitted = write_brightness_model(tmp_path / "emotion_refit.onnx", version="1.2.4")
    _refit_record(run_dir, refitted_sha="0" * 64, from_sha=hashlib.sha256(model.read_bytes()).hexdigest())
    with pytest.raises(ModelCardError, match=r"^.*refit\.json records refitted SHA-256 0{64}, but emotion_refit\.onnx "
                                             r"has [0-9a-f]{64}: this run did not refit this model file$"):
        build_model_card(name="x", kind="emotion", models=[refitted], run_dir=run_dir)


# ----------------------------------------------------------------------------- explanation faithfulness


def _deletion_json(path: Path, model: Path, intervals: dict[str, tuple[float, float]]) -> Path:
    """A deletion-metric result as benchmarks/gradcam_faithfulness.py writes it, planted per method."""
    comparisons = {f"{m} vs random": {"mean_diff": (lo + hi) / 2, "ci95": [lo, hi], "relative": (lo + hi) / 2 / 0.5123,
                                      "share_lower": 0.25, "wilcoxon_p": 0.01} for m, (lo, hi) in intervals.items()}
    document = {
        "settings": {"model_sha256": hashlib.sha256(model.read_bytes()).hexdigest(), "data": "fer4", "split": "test",
                     "faces": 37, "default_layer": "block3_conv3", "command": "python benchmarks/gradcam_faithfulness.py"},
        "summary": {"random": {"mean": 0.5123}} | {m: {"mean": 0.5123 + (lo + hi) / 2} for m, (lo, hi) in intervals.items()},
        "comparisons": comparisons,
    }
    path.write_text(json.dumps(document))
    return path


def test_faithfulness_reaches_the_card_with_a_verdict_from_each_interval(run_dir, model, tmp_path):
    deletion = _deletion_json(tmp_path / "deletion.json", model,
                              {"layercam": (-0.2, -0.1), "gradcam": (0.01, 0.05), "hirescam": (-0.02, 0.03)})
    card = build_model_card(name="x", kind="emotion", models=[model], run_dir=run_dir, faithfulness=deletion)
    measured = card["quantitative_analyses"]["explanation_faithfulness"]
    assert {m: n["verdict"] for m, n in measured["methods"].items()} == {
        "layercam": FAITHFUL, "gradcam": UNFAITHFUL, "hirescam": INDISTINGUISHABLE}
    assert measured["random_order_auc"] == 0.5123 and measured["data"] == "fer4 test, 37 faces"
    assert card["sources"][-1]["role"] == "explanation faithfulness"
    assert [c for c in card["caveats_and_recommendations"] if "random order of pixels" in c] == [
        "gradcam heatmaps are less faithful to this model than a random order of pixels (deletion AUC 0.5423 against "
        "0.5123): do not read them as the model's evidence."]
    assert "| layercam | 0.3623 | -0.1500 [-0.2000, -0.1000] | 25.0% | more faithful than random order |" \
        in render_markdown(card)


def test_faithfulness_of_another_model_is_refused(run_dir, model, tmp_path):
    other = write_brightness_model(tmp_path / "other.onnx", version="9")
    deletion = _deletion_json(tmp_path / "deletion.json", other, {"layercam": (-0.2, -0.1)})
    expected = FAITHFULNESS_OF_ANOTHER_MODEL.format(
        path=deletion, measured=hashlib.sha256(other.read_bytes()).hexdigest(), file=model.name,
        sha256=hashlib.sha256(model.read_bytes()).hexdigest())
    with pytest.raises(ModelCardError) as error:
        build_model_card(name="x", kind="emotion", models=[model], run_dir=run_dir, faithfulness=deletion)
    assert str(error.value) == expected


def test_the_explain_page_reads_back_what_the_card_of_that_very_file_says(run_dir, model, tmp_path):
    """governance.explain.measured_faithfulness finds the card beside the model, and ignores it for another file."""
    shipped = tmp_path / "shipped" / "emotion_test.onnx"
    shipped.parent.mkdir()
    shutil.copy(model, shipped)
    deletion = _deletion_json(tmp_path / "deletion.json", shipped, {"layercam": (-0.2, -0.1), "gradcam": (0.01, 0.05)})
    assert measured_faithfulness(shipped) == {}  # no card yet: nothing is assumed
    write_model_card(build_model_card(name="emotion_test", kind="emotion", models=[shipped], run_dir=run_dir,
                                      faithfulness=deletion), shipped.parent)
    measured = measured_faithfulness(shipped)
    assert measured["layercam"] == Faithfulness(method="layercam", deletion_auc=0.5123 - 0.15, random_auc=0.5123,
                                                interval=(-0.2, -0.1), verdict=FAITHFUL, measured_on="fer4 test, 37 faces")
    assert measured["gradcam"].verdict == UNFAITHFUL
    assert measured["layercam"].beats_random and not measured["layercam"].worse_than_random
    assert measured["gradcam"].worse_than_random and not measured["gradcam"].beats_random
    assert measured["layercam"].relative == pytest.approx(-0.15 / 0.5123)
    write_brightness_model(shipped, version="9")  # another file swapped in under the same name
    assert measured_faithfulness(shipped) == {}


def test_an_unreadable_card_is_a_typed_error_not_a_silent_default(model, tmp_path):
    shipped = tmp_path / "emotion_test.onnx"
    shutil.copy(model, shipped)
    card = shipped.with_suffix(".json")
    card.write_text('{"model_details": ')
    with pytest.raises(ExplanationError) as error:
        measured_faithfulness(shipped)
    assert str(error.value).startswith(CARD_UNREADABLE.format(path=card, reason=""))


def test_a_faithfulness_file_missing_a_number_is_a_clear_error(run_dir, model, tmp_path):
    deletion = _deletion_json(tmp_path / "deletion.json", model, {"layercam": (-0.2, -0.1)})
    document = json.loads(deletion.read_text())
    del document["comparisons"]["layercam vs random"]["ci95"]
    deletion.write_text(json.dumps(document))
    with pytest.raises(ModelCardError, match=re.escape(f"{deletion} has no 'comparisons.layercam vs random.ci95'")):
        build_model_card(name="x", kind="emotion", models=[model], run_dir=run_dir, faithfulness=deletion)


def test_a_counted_rate_carries_its_exact_interval():
    # 0 strangers named of 50 is not a rate of 0: the 95% Clopper-Pearson bound is 1 - 0.025 ** (1 / 50).
    assert counted_rate(0, 50) == {"value": 0.0, "ci": [0.0, pytest.approx(0.071122, abs=1e-6)], "count": 0, "of": 50}
    # 1 of 50: the bounds solve P(X >= 1) = 0.025 and P(X <= 1) = 0.025 for X ~ Binomial(50, p).
    assert counted_rate(1, 50)["ci"] == pytest.approx([0.000506, 0.106470], abs=1e-6)
    assert COUNTED_RATE_INTERVAL == ("95% Clopper-Pearson (exact binomial) intervals, as if the trials were "
                                     "independent; trials that share a person or a photo make the true interval wider")
