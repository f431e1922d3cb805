"""Manifests and trial files that are not UTF-8 CSV tables are refused with the audit's typed error, word for word."""
from __future__ import annotations

import pytest

from governance.bias_audit import (
    CSV_EMPTY,
    CSV_MALFORMED,
    CSV_NOT_UTF8,
    ROW_LONGER_THAN_HEADER,
    AuditError,
    load_audit_set,
    run_identity_audit,
)
from tests.support.bias_audit import write_cohorts


def _load(path):
    return load_audit_set(path)


def _trials(path):
    return run_identity_audit(trials=path, threshold=0.5, score_kind="distance")


@pytest.fixture
def faces(tmp_path):
    write_cohorts(tmp_path, {"a": (2, 0)})
    return sorted(p.name for p in tmp_path.glob("a_*.png"))


@pytest.mark.parametrize("read", [_load, _trials])
@pytest.mark.parametrize(("encoding", "byte"), [("latin-1", "0xeb"), ("utf-16", "0xff")])
def test_a_file_in_another_encoding_is_refused(tmp_path, read, encoding, byte):
    path = tmp_path / "table.csv"
    path.write_bytes("path,label,genuine,score,group\nx.png,happy,true,0.1,Zoë\n".encode(encoding))
    with pytest.raises(AuditError) as error:
        read(path)
    assert str(error.value) == CSV_NOT_UTF8.format(path=path, byte=byte)


@pytest.mark.parametrize("read", [_load, _trials])
def test_an_empty_file_is_refused(tmp_path, read):
    path = tmp_path / "table.csv"
    path.write_bytes(b"")
    with pytest.raises(AuditError) as error:
        read(path)
    assert str(error.value) == CSV_EMPTY.format(path=path)


@pytest.mark.parametrize("read", [_load, _trials])
def test_a_later_row_longer_than_the_header_is_refused(tmp_path, read):
    path = tmp_path / "table.csv"
    path.write_text("genuine,score\ntrue,0.1\nfalse,0.9,extra\n")
    with pytest.raises(AuditError) as error:
        read(path)
    assert str(error.value) == CSV_MALFORMED.format(
        path=path, reason="Error tokenizing data. C error: Expected 2 fields in line 3, saw 3")


def test_a_first_row_longer_than_the_header_is_refused_not_shifted(tmp_path, faces):
    # pandas would take the first two fields as index labels and read path = "x", label = "y".
    path = tmp_path / "manifest.csv"
    path.write_text(f"path,label\n{faces[0]},happy,x,y\n{faces[1]},sad\n")
    with pytest.raises(AuditError) as error:
        load_audit_set(path)
    assert str(error.value) == CSV_MALFORMED.format(path=path, reason=ROW_LONGER_THAN_HEADER)


def test_a_utf8_file_with_a_byte_order_mark_is_read(tmp_path, faces):
    path = tmp_path / "manifest.csv"
    path.write_bytes(f"path,label,group\n{faces[0]},happy,Zoë\n".encode("utf-8-sig"))
    audit_set = load_audit_set(path)
    assert audit_set.group_columns == ("group",)
    assert audit_set.samples[0].groups == {"group": "Zoë"}


def test_the_message_constants_word_for_word():
    assert CSV_NOT_UTF8 == "{path} is not UTF-8 text (byte {byte} cannot be decoded); save it as CSV UTF-8"
    assert CSV_EMPTY == "{path} is empty: a CSV needs a header row naming its columns"
    assert CSV_MALFORMED == "{path} is not a well-formed CSV table: {reason}"
    assert ROW_LONGER_THAN_HEADER == "a row has more fields than the header"


def test_a_class_folder_of_phone_photos_is_audited_whole(tmp_path):
    """HEIC and AVIF files are read by every photo reader (fer_core.load_image), so the folder scan keeps them:
    it kept only JPEG, PNG, BMP, WebP and TIFF, and an audit of an iPhone folder ran on part of its set."""
    pytest.importorskip("pillow_heif")
    import numpy as np

    from fer_core import load_image
    from tests.support.heif import encoded

    face = np.full((64, 64, 3), 128, dtype=np.uint8)
    (tmp_path / "happy").mkdir()
    (tmp_path / "sad").mkdir()
    (tmp_path / "happy" / "IMG_0001.HEIC").write_bytes(encoded(face, "HEIF"))
    (tmp_path / "happy" / "IMG_0002.avif").write_bytes(encoded(face, "AVIF"))
    (tmp_path / "sad" / "IMG_0003.jpg").write_bytes(encoded(face, "JPEG"))
    (tmp_path / "sad" / "notes.txt").write_text("not a photo")

    audit_set = load_audit_set(tmp_path)

    assert sorted((s.path.name, s.label) for s in audit_set.samples) == [
        ("IMG_0001.HEIC", "happy"), ("IMG_0002.avif", "happy"), ("IMG_0003.jpg", "sad")]
    assert all(load_image(s.path).shape == (64, 64, 3) for s in audit_set.samples)
