"""Cards of models trained elsewhere (identity, detector): provenance + evaluation JSON, several files per card,
every number taken from the evaluations, exact errors for bad inputs (missing file, SHA mismatch, wrong kind)."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from governance.model_cards import (
    EVALUATION_CAVEATS,
    SECTIONS,
    ModelCardError,
    build_model_card,
    main,
    render_markdown,
    write_evaluation,
)

UPSTREAM = "ab" * 32  # the SHA-256 of the published file the planted weights "come from"
NETS = ("det_pnet.onnx", "det_rnet.onnx", "det_onet.onnx")


def write_model(path: Path, **metadata: str) -> Path:
    """A tiny real ONNX file (Identity on [?, 4]) carrying the given metadata_props."""
    import onnx  # training extra: tests only
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["input"], ["prob"])], "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [None, 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    helper.set_model_props(model, metadata)
    onnx.save(model, str(path))
    return path


def write_provenance(path: Path, *, kind: str, files: list[str], upstream: str = UPSTREAM) -> Path:
    path.write_text(json.dumps({
        "kind": kind,
        "files": files,
        "upstream_sha256": upstream,
        "details": {"architecture": "a planted cascade", "licence": ["MIT, planted notice 7351"]},
        "training_data": {"description": "planted training set 4242"},
        "limitations": ["misses planted faces in profile"],
    }))
    return path


@pytest.fixture
def nets(tmp_path) -> list[Path]:
    return [write_model(tmp_path / name, source_wheel_sha256=UPSTREAM, stage=name[4:8]) for name in NETS]


@pytest.fixture
def provenance(tmp_path) -> Path:
    return write_provenance(tmp_path / "provenance.json", kind="detector", files=list(NETS))


@pytest.fixture
def evaluation(tmp_path, nets) -> Path:
    return write_evaluation(
        tmp_path / "detection.json", kind="detector", models=nets, command="python scripts/planted.py",
        evaluation_data={"name": "planted photos", "images": 178},
        metrics={"face_found": {"value": 172 / 178, "count": 172, "of": 178}, "worst_box_iou": 0.9137},
        definitions={"face_found": "share of photos with a face", "worst_box_iou": "lowest IoU with the reference"},
        findings=["photo_0042.jpg: no face found"],
    )


def refused(message: str):
    """pytest.raises for a ModelCardError with exactly this message."""
    return pytest.raises(ModelCardError, match=f"^{re.escape(message)}$")


def detector_card(nets, provenance, evaluations, **kwargs):
    return build_model_card(name="det", kind="detector", models=nets, provenance=provenance,
                            evaluations=evaluations, **kwargs)


def test_detector_card_lists_every_file_with_its_sha256(nets, provenance, evaluation):
    card = detector_card(nets, provenance, [evaluation])
    files = card["model_details"]["files"]
    assert [f["file"] for f in files] == list(NETS)
    assert [f["sha256"] for f in files] == [hashlib.sha256(n.read_bytes()).hexdigest() for n in nets]
    assert files[0]["inputs"] == [{"name": "input", "type": "float32", "shape": ["?", 4]}]
    assert files[1]["metadata"]["stage"] == "rnet"
    markdown = render_markdown(card)
    for f in files:
        assert f"| {f['file']} | {f['bytes']:,} | `input` float32 [?, 4] | `prob` float32 [?, 4] | `{f['sha256']}` |" \
            in markdown
    assert re.findall(r"^## \d+\. (.+)$", markdown, flags=re.MULTILINE) == [title for _, title in SECTIONS]


def test_numbers_and_findings_come_from_the_evaluation(nets, provenance, evaluation):
    card = detector_card(nets, provenance, [evaluation])
    assert card["quantitative_analyses"]["overall"]["planted photos"]["worst_box_iou"] == 0.9137
    assert card["metrics"]["definitions"]["face_found"] == "share of photos with a face"
    assert card["evaluation_data"] == [{"name": "planted photos", "images": 178, "measured_by": "python scripts/planted.py"}]
    markdown = render_markdown(card)
    assert "| planted photos | face_found | 0.9663 (172 of 178) |" in markdown
    assert "| planted photos | worst_box_iou | 0.9137 |" in markdown
    assert "### Findings on single cases\n\n- planted photos: photo_0042.jpg: no face found\n" in markdown


def test_provenance_gives_source_licence_training_data_and_limitations(nets, provenance, evaluation):
    card = detector_card(nets, provenance, [evaluation])
    assert card["model_details"]["architecture"] == "a planted cascade"
    assert card["model_details"]["upstream_sha256"] == UPSTREAM
    assert card["training_data"] == {"description": "planted training set 4242"}
    assert "misses planted faces in profile" in card["caveats_and_recommendations"]
    assert [s["role"] for s in card["sources"]] == ["model", "model", "model", "provenance", "evaluation"]
    assert "  - MIT, planted notice 7351" in render_markdown(card)


def test_identity_threshold_comes_from_the_model_and_a_different_one_is_a_caveat(tmp_path):
    model = write_model(tmp_path / "id.onnx", source=f"npm tarball sha256 {UPSTREAM}", threshold="0.5")
    prov = write_provenance(tmp_path / "prov.json", kind="identity", files=["id.onnx"])
    common = dict(kind="identity", models=[model], command="python scripts/x.py",
                  metrics={"false_match_rate": {"value": 0.0123, "count": 1, "of": 81}})
    at_model = write_evaluation(tmp_path / "a.json", evaluation_data={"name": "benchmark"}, threshold=0.5, **common)
    elsewhere = write_evaluation(tmp_path / "b.json", evaluation_data={"name": "calibration"}, threshold=0.52, **common)
    card = build_model_card(name="id", kind="identity", models=[model], provenance=prov, evaluations=[at_model, elsewhere])
    assert card["metrics"]["decision"] == "operating threshold 0.5, from the model's metadata"
    assert "calibration was measured at threshold 0.52, not at the model's 0.5." in card["caveats_and_recommendations"]
    assert "benchmark was measured" not in " ".join(card["caveats_and_recommendations"])


def test_command_writes_a_detector_card(nets, provenance, evaluation, tmp_path, capsys):
    out = tmp_path / "cards"
    argv = ["detector", "--name", "det", "--provenance", str(provenance), "--evaluation", str(evaluation), "--out", str(out)]
    for net in nets:
        argv += ["--onnx", str(net)]
    assert main(argv) == 0
    card = json.loads((out / "det.json").read_text())
    assert card["generated_by"].startswith("python -m governance.model_cards detector --name det")
    assert len(card["model_details"]["files"]) == 3
    assert capsys.readouterr().out == f"wrote {out / 'det.md'} and {out / 'det.json'}\n"


# --- bad input: exact messages, nothing written -----------------------------------------------------------


def test_missing_evaluation_file(nets, provenance, tmp_path):
    with refused(f"evaluation file not found: {tmp_path / 'nope.json'}"):
        detector_card(nets, provenance, [tmp_path / "nope.json"])


def test_missing_provenance_file(nets, evaluation, tmp_path):
    with refused(f"provenance file not found: {tmp_path / 'nope.json'}"):
        detector_card(nets, tmp_path / "nope.json", [evaluation])


def test_command_reports_a_missing_network_and_writes_nothing(nets, provenance, evaluation, tmp_path, capsys):
    out = tmp_path / "cards"
    argv = ["detector", "--name", "det", "--provenance", str(provenance), "--evaluation", str(evaluation),
            "--onnx", str(nets[0]), "--onnx", str(tmp_path / "missing.onnx"), "--out", str(out)]
    assert main(argv) == 1
    assert capsys.readouterr().err == f"error: model file not found: {tmp_path / 'missing.onnx'}\n"
    assert not out.exists()


def test_evaluation_of_another_build_of_the_file_is_refused(nets, provenance, evaluation):
    before = hashlib.sha256(nets[1].read_bytes()).hexdigest()
    write_model(nets[1], source_wheel_sha256=UPSTREAM, stage="rnet", rebuilt="yes")  # same name, other bytes
    after = hashlib.sha256(nets[1].read_bytes()).hexdigest()
    with refused(f"{evaluation} measured det_rnet.onnx with SHA-256 {before}, but the card's file has {after}: "
                 f"re-run the evaluation on this model"):
        detector_card(nets, provenance, [evaluation])


def test_evaluation_of_a_file_outside_the_card_is_refused(nets, provenance, tmp_path):
    other = write_model(tmp_path / "other.onnx", source_wheel_sha256=UPSTREAM)
    stray = write_evaluation(tmp_path / "stray.json", kind="detector", models=[other], command="x",
                             evaluation_data={"name": "stray"}, metrics={"n": 1}, definitions={"n": "count"})
    with refused(f"{stray} measured other.onnx, which is not a file of this card "
                 f"(det_pnet.onnx, det_rnet.onnx, det_onet.onnx)"):
        detector_card(nets, provenance, [stray])


def test_provenance_of_other_weights_is_refused(nets, tmp_path, evaluation):
    prov = write_provenance(tmp_path / "other.json", kind="detector", files=list(NETS), upstream="cd" * 32)
    with refused(f"det_pnet.onnx's metadata does not name the upstream file {'cd' * 32} that {prov} describes: "
                 f"this provenance is not of this model"):
        detector_card(nets, prov, [evaluation])


def test_provenance_must_describe_exactly_the_given_files(nets, provenance, evaluation):
    with refused(f"{provenance} describes det_pnet.onnx, det_rnet.onnx, det_onet.onnx; "
                 f"the card was given det_pnet.onnx, det_rnet.onnx"):
        detector_card(nets[:2], provenance, [evaluation])


def test_evaluation_of_the_wrong_kind_is_refused(nets, provenance, tmp_path):
    identity = write_evaluation(tmp_path / "identity.json", kind="identity", models=[nets[0]], command="x",
                                evaluation_data={"name": "id"}, metrics={"false_match_rate": 0.01})
    with refused(f"{identity} is an evaluation of an identity model; this is a detector model card"):
        detector_card(nets, provenance, [identity])


def test_provenance_of_the_wrong_kind_is_refused(nets, tmp_path, evaluation):
    prov = write_provenance(tmp_path / "identity.json", kind="identity", files=list(NETS))
    with refused(f"{prov} is the provenance of an identity model; this is a detector model card"):
        detector_card(nets, prov, [evaluation])


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(kind="detector", provenance=None), "a detector card needs provenance: where the weights come from, "
                                             "their licence and training data"),
    (dict(kind="identity"), "an identity card describes one model file; got 3"),
    (dict(kind="detector", run_dir="runs/x"), "give run_dir (a model trained here) or provenance (a model trained "
                                              "elsewhere), not both"),
    (dict(kind="detector", evaluations=[]), "a card needs measured numbers: give run_dir or at least one file in "
                                            "evaluations"),
    (dict(kind="face"), "unknown model kind 'face'; expected one of: emotion, identity, detector"),
    (dict(kind="detector", models=[]), "a card needs at least one model file in models"),
])
def test_cards_that_cannot_be_built_say_why(nets, provenance, evaluation, kwargs, message):
    arguments = dict(name="x", models=nets, provenance=provenance, evaluations=[evaluation]) | kwargs
    with refused(message):
        build_model_card(**arguments)


def test_an_evaluation_s_caveats_join_the_card_s_caveats_under_its_name(nets, provenance, tmp_path):
    caveat = "calibrated on planted set A only: over-confident by 9.3 points on planted set B"
    evaluation = write_evaluation(tmp_path / "e.json", kind="detector", models=nets, command="x",
                                  evaluation_data={"name": "planted photos"}, metrics={"worst_box_iou": 0.9},
                                  definitions={"worst_box_iou": "lowest IoU"}, caveats=[caveat])
    card = detector_card(nets, provenance, [evaluation])
    assert f"planted photos: {caveat}" in card["caveats_and_recommendations"]
    assert f"- planted photos: {caveat}" in render_markdown(card).split("Caveats and recommendations")[1]


def test_an_evaluation_whose_caveats_are_not_sentences_is_not_written(nets, tmp_path):
    path = tmp_path / "caveat.json"
    with refused(EVALUATION_CAVEATS.format(path=path)):
        write_evaluation(path, kind="detector", models=nets, command="x", evaluation_data={"name": "d"},
                         metrics={"recall": 0.9}, definitions={"recall": "share found"}, caveats=[""])
    assert not path.exists()


def test_an_evaluation_without_definitions_is_not_written(nets, tmp_path):
    path = tmp_path / "undefined.json"
    with refused(f"{path}: metric 'recall' has no definition"):
        write_evaluation(path, kind="detector", models=nets, command="x", evaluation_data={"name": "d"},
                         metrics={"recall": 0.9})
    assert not path.exists()


def test_an_evaluation_with_a_non_numeric_metric_is_not_written(nets, tmp_path):
    path = tmp_path / "text.json"
    with refused(f"{path}: metric 'recall' must be a finite number or an object with a numeric 'value', got 'high'"):
        write_evaluation(path, kind="detector", models=nets, command="x", evaluation_data={"name": "d"},
                         metrics={"recall": "high"}, definitions={"recall": "share found"})
    assert not path.exists()
