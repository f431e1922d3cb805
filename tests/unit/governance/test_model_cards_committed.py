"""The committed model cards are what the generator writes from the committed files: each card's own recorded
command, run again with SOURCE_DATE_EPOCH at its stamp, rewrites it byte for byte. A measured file changed
without regenerating its card (or a card edited by hand) fails here."""
from __future__ import annotations

import datetime as dt
import json
import shlex

import pytest

from governance.model_cards import BAD_SOURCE_DATE_EPOCH, main
from tests.support.paths import REPO

CARDS = sorted(path.stem for path in (REPO / "models").glob("*.json"))


def test_every_shipped_model_has_a_card():
    assert CARDS == ["emotion_vgg16", "face_recognition_dlib", "face_recognition_mobilefacenet", "mtcnn"]


@pytest.mark.parametrize("name", CARDS)
def test_a_committed_card_is_rewritten_identically_by_its_own_command(name, tmp_path, monkeypatch, capsys):
    committed = json.loads((REPO / "models" / f"{name}.json").read_text(encoding="utf-8"))
    argv = shlex.split(committed["generated_by"])
    assert argv[:3] == ["python", "-m", "governance.model_cards"]
    # A mirror of the repository whose models/ is a fresh folder, so the command's `--out models` writes there.
    (tmp_path / "models").mkdir()
    for model in (REPO / "models").glob("*.onnx"):
        (tmp_path / "models" / model.name).symlink_to(model)
    (tmp_path / "docs").symlink_to(REPO / "docs")
    monkeypatch.chdir(tmp_path)
    stamp = dt.datetime.fromisoformat(committed["generated"])
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(stamp.timestamp())))
    assert main(argv[3:]) == 0, capsys.readouterr().err
    for suffix in (".md", ".json"):
        assert (tmp_path / "models" / f"{name}{suffix}").read_bytes() == (REPO / "models" / f"{name}{suffix}").read_bytes()


def test_an_unreadable_source_date_epoch_is_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    code = main(["detector", "--name", "mtcnn", "--onnx", str(REPO / "models" / "mtcnn_pnet.onnx"),
                 "--onnx", str(REPO / "models" / "mtcnn_rnet.onnx"), "--onnx", str(REPO / "models" / "mtcnn_onet.onnx"),
                 "--provenance", str(REPO / "docs" / "reports" / "provenance" / "mtcnn.json"),
                 "--evaluation", str(REPO / "docs" / "reports" / "mtcnn" / "conversion.json"), "--out", str(tmp_path)])
    assert code == 1
    assert capsys.readouterr().err == f"error: {BAD_SOURCE_DATE_EPOCH.format(value='yesterday')}\n"
    assert list(tmp_path.iterdir()) == []


def test_the_message_constant_word_for_word():
    assert BAD_SOURCE_DATE_EPOCH == ("SOURCE_DATE_EPOCH must be a whole number of seconds since 1970-01-01 UTC, "
                                     "got {value!r}")
