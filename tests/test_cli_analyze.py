"""`unveil analyze` on a small folder of real photos that also holds a corrupt and a non-image file."""
from __future__ import annotations

import csv
import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from governance.cli import main


@pytest.fixture
def album(tmp_path, faces_dir):
    root = tmp_path / "album"
    (root / "party").mkdir(parents=True)
    shutil.copy(faces_dir / "Colin_Powell" / "Colin_Powell_0001.jpg", root / "powell.jpg")
    shutil.copy(faces_dir / "Halle_Berry" / "Halle_Berry_0001.jpg", root / "party" / "berry.JPG")
    sky = np.linspace(90, 200, 120 * 160 * 3).reshape(120, 160, 3).astype(np.uint8)
    Image.fromarray(sky).save(root / "party" / "sky.png")  # no face
    data = (faces_dir / "Tiger_Woods" / "Tiger_Woods_0001.jpg").read_bytes()
    (root / "party" / "cut.jpg").write_bytes(data[: len(data) // 3])  # corrupt: truncated transfer
    (root / "notes.png").write_text("not a picture")
    (root / "readme.txt").write_text("ignored: not an image suffix")
    return root


def _run(capsys, *args) -> tuple[int, str, str]:
    code = main(["analyze", *map(str, args), "--no-progress"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_jsonl_lists_each_photo_and_the_bad_files_at_the_end(album, tiny_emotion_onnx, capsys):
    code, out, err = _run(capsys, album, "--emotion-model", tiny_emotion_onnx)
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    by_source = {line["source"]: line for line in lines}
    assert sorted(by_source) == sorted(str(album / p) for p in ("powell.jpg", "party/berry.JPG", "party/sky.png"))
    powell = by_source[str(album / "powell.jpg")]
    assert (powell["width"], powell["height"]) == (250, 250)
    assert len(powell["faces"]) == 1
    face = powell["faces"][0]
    assert face["face"] == 1 and face["emotion"] in ("happy", "neutral", "sad", "surprise")
    assert set(face) >= {"x", "y", "w", "h", "score", "p_happy", "p_neutral", "p_sad", "p_surprise"}
    assert by_source[str(album / "party" / "sky.png")]["faces"] == []
    assert err.splitlines() == [
        "2 of 5 could not be read:",
        f"  {album / 'notes.png'}: not an image, or its header is corrupt (format not recognised)",
        f"  {album / 'party' / 'cut.jpg'}: truncated (the file ends before the image data does)",
    ]


def test_csv_to_a_file_with_annotated_copies(album, tiny_emotion_onnx, tmp_path, capsys):
    out_csv, annotated = tmp_path / "faces.csv", tmp_path / "annotated"
    code, out, _ = _run(capsys, album, "-o", out_csv, "--annotate", annotated,
                        "--emotion-model", tiny_emotion_onnx, "--jobs", "2")
    assert code == 0 and out == ""
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    assert list(rows[0]) == ["source", "face", "x", "y", "w", "h", "score", "emotion",
                             "p_happy", "p_neutral", "p_sad", "p_surprise"]
    assert [(r["source"].removeprefix(str(album)), r["face"]) for r in rows] == [
        ("/party/berry.JPG", "1"), ("/party/sky.png", "0"), ("/powell.jpg", "1")]
    assert rows[1]["emotion"] == ""  # the photo without a face
    copies = sorted(p.relative_to(annotated).as_posix() for p in annotated.rglob("*.*"))
    assert copies == ["album/party/berry.JPG", "album/party/sky.png", "album/powell.jpg"]
    with Image.open(annotated / "album" / "powell.jpg") as image:
        assert image.size == (250, 250)


def test_exit_status_is_1_only_when_nothing_could_be_read(album, tiny_emotion_onnx, capsys):
    code, out, err = _run(capsys, album / "notes.png", album / "party" / "cut.jpg", album / "gone.jpg",
                          "--emotion-model", tiny_emotion_onnx)
    assert code == 1 and out == ""
    assert err.splitlines()[0] == "3 of 3 could not be read:"
    assert f"  {album / 'gone.jpg'}: no such file or folder" in err.splitlines()


def test_a_missing_model_is_one_clear_line(album, tmp_path, capsys):
    code, _, err = _run(capsys, album, "--emotion-model", tmp_path / "none.onnx")
    assert code == 1
    assert err == f"unveil analyze: model file not found: {tmp_path / 'none.onnx'}\n"
