"""governance.app_services without Streamlit: exports, annotation, video sampling and face tracking."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from fer_core import Face, FaceAnalyzer, FaceDetector, load_embedding_model
from governance import app_services as svc
from tests._app_support import MEMBER, STRANGER, panning_video, photo_path, side_by_side


@pytest.fixture(scope="module")
def analyzer(app_models_dir) -> FaceAnalyzer:
    return FaceAnalyzer(emotion_model=app_models_dir / "emotion_vgg16.onnx", identity_model=False)


@pytest.fixture(scope="module")
def group_photo(faces_dir) -> bytes:
    return side_by_side(photo_path(faces_dir, MEMBER, 5), photo_path(faces_dir, STRANGER, 5))


@pytest.fixture(scope="module")
def video(faces_dir, tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("video") / "pan.mp4"
    return panning_video([photo_path(faces_dir, MEMBER, 5), photo_path(faces_dir, STRANGER, 5)], path,
                         seconds=3.0, fps=10)


def _face(box, probs, identity=None) -> Face:
    """A Face as the analyzer returns it, with a chosen box and probabilities (for the tracker's logic)."""
    emotion = max(probs, key=probs.get)
    return Face(box=box, landmarks=np.zeros((5, 2), np.float32), score=0.99, emotion=emotion,
                emotion_probs=probs, identity=identity)


# ----------------------------------------------------------------------------- photo results


def test_analyze_photo_finds_both_faces_of_a_group_photo_in_reading_order(analyzer, group_photo):
    result = svc.analyze_photo(group_photo, "group.jpg", analyzer.analyze, recognition=False)
    assert result.error is None
    assert result.image.shape == (250, 500, 3)
    assert len(result.faces) == 2
    assert result.faces[0].box[0] < 250 <= result.faces[1].box[0]  # left photo first


def test_analyze_photo_reports_a_corrupt_upload_without_raising(analyzer, faces_dir):
    truncated = photo_path(faces_dir, MEMBER, 1).read_bytes()[:300]
    result = svc.analyze_photo(b"this is not a photo", "notes.jpg", analyzer.analyze, recognition=False)
    assert result.image is None and result.faces == []
    assert result.error == "notes.jpg could not be read: not an image, or its header is corrupt (format not recognised)"
    result = svc.analyze_photo(truncated, "cut.jpg", analyzer.analyze, recognition=False)
    assert result.image is None and result.error.startswith("cut.jpg could not be read: ")


def test_a_photo_without_a_face_gives_no_faces(analyzer):
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (120, 160, 90)).save(buffer, format="PNG")
    result = svc.analyze_photo(buffer.getvalue(), "lawn.png", analyzer.analyze, recognition=False)
    assert result.error is None and result.faces == []


def test_records_csv_and_json_hold_every_face_and_probability(analyzer, group_photo):
    faces = analyzer.analyze(group_photo)
    records = svc.face_records(faces, source="group.jpg", recognition=False)
    classes = list(faces[0].emotion_probs)
    assert list(records[0]) == ["source", "face", "x", "y", "w", "h", "score", "emotion", *[f"p_{c}" for c in classes]]
    table = pd.read_csv(io.BytesIO(svc.records_csv(records)))
    assert list(table["face"]) == [1, 2]
    assert list(table["emotion"]) == [f.emotion for f in faces]
    assert table[[f"p_{c}" for c in classes]].sum(axis=1).round(3).tolist() == [1.0, 1.0]
    assert json.loads(svc.records_json(records)) == records


def test_identity_column_only_when_a_gallery_was_consulted():
    faces = [_face((10, 10, 50, 50), {"happy": 0.7, "sad": 0.3}, identity="Ana"),
             _face((100, 10, 50, 50), {"happy": 0.2, "sad": 0.8})]
    named = svc.face_records(faces, source="p.jpg", recognition=True)
    assert [r["identity"] for r in named] == ["Ana", "unknown"]
    assert "identity" not in svc.face_records(faces, source="p.jpg", recognition=False)[0]
    assert svc.face_label(2, faces[1], recognition=True) == "2 sad 80% unknown"
    assert svc.face_label(1, faces[0], recognition=False) == "1 happy 70%"


def test_annotate_draws_on_a_copy_around_each_face(analyzer, group_photo):
    result = svc.analyze_photo(group_photo, "group.jpg", analyzer.analyze, recognition=False)
    before = result.image.copy()
    annotated = np.asarray(svc.annotate(result.image, result.faces, recognition=False))
    np.testing.assert_array_equal(result.image, before)  # the photo itself is untouched
    assert annotated.shape == before.shape
    for face in result.faces:
        x, y, w, h = face.box
        bottom_edge = annotated[y + h, x:x + w]
        assert np.abs(bottom_edge.astype(int) - before[y + h, x:x + w]).sum() > 0
        centre = (y + h // 2, x + w // 2)
        np.testing.assert_array_equal(annotated[centre], before[centre])
    png = Image.open(io.BytesIO(svc.png_bytes(Image.fromarray(annotated))))
    assert png.format == "PNG" and png.size == (500, 250)


def test_a_big_photo_is_shown_at_display_size_with_its_boxes_scaled(analyzer, group_photo):
    small = svc.analyze_photo(group_photo, "group.jpg", analyzer.analyze, recognition=False)
    # The same group photo as a phone would take it: 8 times wider and higher.
    big_image = np.asarray(Image.fromarray(small.image).resize((4000, 2000), Image.BICUBIC))
    faces = [_face(tuple(8 * v for v in face.box), face.emotion_probs) for face in small.faces]
    big = svc.PhotoResult("group.jpg", big_image, faces, recognition=False)
    shown = Image.open(io.BytesIO(svc.with_view(big).view))
    assert shown.format == "JPEG" and shown.size == (svc.DISPLAY_MAX_SIDE, svc.DISPLAY_MAX_SIDE // 2)
    view = np.asarray(shown).astype(int)
    plain = svc.display_copy(big_image)[0].astype(int)
    scale = svc.DISPLAY_MAX_SIDE / 4000
    for face in faces:
        x, y, w, h = (round(v * scale) for v in face.box)
        # The box's bottom edge is drawn where the face is in the small picture, not 8x further out.
        assert np.abs(view[y + h, x:x + w] - plain[y + h, x:x + w]).mean() > 60
    assert svc.display_copy(small.image)[0] is small.image  # a small photo is never enlarged nor copied
    assert svc.with_view(svc.PhotoResult("x.jpg", None, [], False, error="unreadable")).view is None


def test_faces_are_named_again_from_their_embeddings_without_a_new_analysis():
    faces = [_face((10, 10, 50, 50), {"happy": 0.7, "sad": 0.3}), _face((100, 10, 50, 50), {"happy": 0.2, "sad": 0.8})]
    faces[0].embedding, faces[1].embedding = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    analysis = svc.with_view(svc.PhotoResult("p.jpg", np.zeros((60, 160, 3), np.uint8), faces, recognition=False))
    named = svc.named(analysis, lambda embedding: "Ana" if embedding[0] else None)
    assert named.recognition and [f.identity for f in named.faces] == ["Ana", None]
    assert named.view is None  # its labels changed: the page makes a new view
    assert [f.identity for f in analysis.faces] == [None, None]  # the kept analysis names nobody
    locked = svc.named(named, None)
    assert not locked.recognition and [f.identity for f in locked.faces] == [None, None]


def test_the_annotated_download_is_the_full_size_photo_as_png(analyzer, group_photo):
    result = svc.analyze_photo(group_photo, "group.jpg", analyzer.analyze, recognition=False)
    png = Image.open(io.BytesIO(svc.annotated_png(result)))
    assert png.format == "PNG" and png.size == (500, 250)
    np.testing.assert_array_equal(np.asarray(png), np.asarray(svc.annotate(result.image, result.faces,
                                                                           recognition=False)))


# ----------------------------------------------------------------------------- video


def test_sample_frames_takes_one_frame_per_interval(video):
    frames = list(svc.sample_frames(video, every_s=0.5))
    assert [f.time_s for f in frames] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    assert frames[0].image.dtype == np.uint8 and frames[0].image.shape[2] == 3
    assert len(list(svc.sample_frames(video, every_s=0.1, max_frames=7))) == 7


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the video is empty"),
        (b"\x00not a video" * 200, "this file cannot be read as a video (corrupt or an unsupported format)"),
    ],
)
def test_unreadable_videos_raise_a_clear_error(data, message):
    with pytest.raises(svc.VideoError) as caught:
        list(svc.sample_frames(data))
    assert str(caught.value) == message


def test_truncated_video_raises_video_error(video):
    with pytest.raises(svc.VideoError):
        list(svc.sample_frames(video[: len(video) // 10]))


def test_box_iou():
    assert svc.box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert svc.box_iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert svc.box_iou((0, 0, 10, 10), (10, 0, 10, 10)) == 0.0


def test_tracker_follows_two_faces_that_move_and_keeps_them_apart():
    p = {"happy": 0.6, "sad": 0.4}
    frames = [(t * 0.5, [_face((20 + 8 * t, 30, 60, 60), p), _face((200 - 8 * t, 30, 60, 60), p)]) for t in range(5)]
    frames.insert(2, (0.75, [_face((200 - 12, 30, 60, 60), p)]))  # the left face missed in one frame
    tracks = svc.track_faces(frames)
    assert [len(t.observations) for t in tracks] == [5, 6]
    assert all(f.box[0] < 100 for _, f in tracks[0].observations)
    assert all(f.box[0] > 100 for _, f in tracks[1].observations)


def test_tracker_starts_a_new_track_after_a_long_gap_or_a_jump():
    p = {"happy": 0.6, "sad": 0.4}
    frames = [(0.0, [_face((0, 0, 50, 50), p)]), (0.5, []), (1.0, []), (1.5, []), (2.0, [_face((0, 0, 50, 50), p)]),
              (2.5, [_face((300, 0, 50, 50), p)])]
    tracks = svc.track_faces(frames, max_gap=2)
    assert [[t for t, _ in track.observations] for track in tracks] == [[0.0], [2.0], [2.5]]


def test_dominant_emotion_is_the_soft_vote_and_identity_the_majority():
    frames = [
        (0.0, [_face((0, 0, 50, 50), {"happy": 0.45, "sad": 0.55}, identity="Ana")]),
        (0.5, [_face((2, 0, 50, 50), {"happy": 0.9, "sad": 0.1}, identity="Ana")]),
        (1.0, [_face((4, 0, 50, 50), {"happy": 0.4, "sad": 0.6})]),
    ]
    tracks = svc.track_faces(frames)
    assert tracks[0].identity == "Ana"
    table = svc.dominant_emotions(tracks, recognition=True)
    assert table.to_dict("records") == [{"face": "Face 1 (Ana)", "frames": 3, "first seen (s)": 0.0,
                                         "last seen (s)": 1.0, "dominant emotion": "happy",
                                         "mean probability": 0.5833, "share of frames": 0.3333}]


def test_analyze_video_tracks_each_real_person_through_every_frame(analyzer, video):
    seen = []
    frames, tracks = svc.analyze_video(video, analyzer.analyze, every_s=0.5,
                                       progress=lambda done, t: seen.append((done, t)))
    assert seen == [(i + 1, i * 0.5) for i in range(6)]
    assert [len(faces) for _, faces in frames] == [2] * 6
    assert [len(t.observations) for t in tracks] == [6, 6]
    timeline = svc.emotion_timeline(tracks, recognition=False)
    assert len(timeline) == 12 and set(timeline["face"]) == {"Face 1", "Face 2"}
    assert len(svc.dominant_emotions(tracks, recognition=False)) == 2


# ----------------------------------------------------------------------------- family, governance, explain


@pytest.fixture()
def store(tmp_path):
    from fer_core.store import FamilyStore, ScryptParams

    # Light scrypt: these tests are about the app's glue, not key derivation.
    with FamilyStore.create(tmp_path / "store", passphrase="correct horse battery",
                            scrypt=ScryptParams(n=2**10, r=8, p=1)) as opened:
        yield opened


def _enrol(store, name, embeddings):
    from datetime import datetime

    from governance import family

    record = svc.consent_from_form(name=name, given_by="", guardian=False, child=False, purpose="family photos",
                                   scope="recognition", expires_on=date(2099, 1, 1), now=datetime.now(UTC))
    return family.enroll(store, name, embeddings, record)


def test_consent_from_form_lasts_to_the_end_of_the_chosen_day():
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    record = svc.consent_from_form(name=" Ana ", given_by="Bea", guardian=True, child=True, purpose=" photos ",
                                   scope="recognition", expires_on=date(2027, 5, 1), now=now)
    assert (record.subject, record.given_by, record.relation, record.purpose, record.subject_is_child) == (
        "Ana", "Bea", "guardian", "photos", True)
    assert record.expires_at == datetime(2027, 5, 1, 23, 59, 59, 999999, tzinfo=UTC)
    record.validate(now=now)
    adult = svc.consent_from_form(name="Ana", given_by="ignored", guardian=False, child=False, purpose="photos",
                                  scope="recognition", expires_on=date(2027, 5, 1), now=now)
    assert (adult.given_by, adult.relation) == ("Ana", "self")


def test_log_recognition_counts_faces_and_refreshes_last_seen(store):
    enrolled = _enrol(store, "Ana", np.ones((2, 128), np.float32))
    before = store.person(enrolled.person_id).last_seen_at
    svc.log_recognition(store, ["Ana", None])
    last = store.audit_entries()[-1]
    assert (last.event, last.details) == ("recognise", {"faces": 2, "named": 1, "unknown": 1})
    assert store.person(enrolled.person_id).last_seen_at >= before


def test_family_and_governance_tables(store):
    from governance import audit_log, consent, family

    _enrol(store, "Ana", np.ones((3, 128), np.float32))
    members = svc.members_table(family.members(store))
    assert members[["name", "consent", "expires", "given by", "scope", "embeddings", "thumbnails"]].to_dict("records") == [
        {"name": "Ana", "consent": "active", "expires": "2099-01-01", "given by": "Ana (self)", "scope": "recognition",
         "embeddings": 3, "thumbnails": 0}]
    ledger = svc.ledger_table(consent.ledger(store))
    assert ledger[["person", "status", "relation", "child", "purpose"]].to_dict("records") == [
        {"person": "Ana", "status": "active", "relation": "self", "child": False, "purpose": "family photos"}]
    family.purge(store, "Ana")
    log = svc.audit_table(audit_log.entries(store))
    assert log["event"].tolist()[:2] == ["purge", "enrol"] and log["event"].tolist()[-1] == "store_created"
    assert not log["who"].str.contains("Ana").any()  # erased: only "[erased] <id prefix>" remains
    assert log["who"].iloc[1].startswith("[erased] ")  # the enrol entry, sealed under the destroyed key


def test_enrolment_uses_the_picked_face_of_a_group_photo_and_says_which_photos_are_left_out(
        app_models_dir, faces_dir, group_photo):
    detect = FaceDetector(min_face_size=40).detect
    model = load_embedding_model(app_models_dir / "face_recognition_dlib.onnx")
    blank = io.BytesIO()
    Image.new("RGB", (320, 240), (120, 160, 90)).save(blank, format="PNG")
    photos = [svc.read_enrolment_photo(photo_path(faces_dir, STRANGER, 1).read_bytes(), "serena.jpg", detect),
              svc.read_enrolment_photo(group_photo, "two people.jpg", detect),
              svc.read_enrolment_photo(blank.getvalue(), "lawn.png", detect),
              svc.read_enrolment_photo(b"not a photo", "notes.jpg", detect)]
    assert [len(p.faces) for p in photos] == [1, 2, 0, 0]
    assert photos[3].image is None

    chosen, left_out = svc.enrolment_faces(photos, {})
    assert len(chosen) == 1  # the one-face photo still enrols: a group photo no longer blocks everything
    assert left_out == ["two people.jpg: 2 faces and none picked, so it is not used.",
                        "lawn.png: no face found, so it is not used.",
                        ("notes.jpg could not be read (not an image, or its header is corrupt (format not "
                         "recognised)): it is not used.")]

    # The group photo is Colin Powell (left) and Serena Williams (right): picking face 2 enrols Serena's face.
    chosen, left_out = svc.enrolment_faces(photos[:2], {"two people.jpg": 1})
    assert left_out == [] and chosen[1][1] is photos[1].faces[1]
    embeddings = svc.embed_faces(chosen, model)
    assert embeddings.shape == (2, model.embedding_dim)
    same_person = float(np.linalg.norm(embeddings[0] - embeddings[1]))
    other = svc.embed_faces([(photos[1].image, photos[1].faces[0])], model)[0]
    assert same_person < float(np.linalg.norm(embeddings[0] - other))

    thumbs = svc.face_thumbnails(chosen, model)
    assert len(thumbs) == 2
    assert all(Image.open(io.BytesIO(t)).format == "JPEG" and Image.open(io.BytesIO(t)).size == (96, 96) for t in thumbs)
    assert photos[1].boxes[0][0] < 250 <= photos[1].boxes[1][0]  # numbered left to right
    picture = svc.number_faces(photos[1].image, photos[1].boxes)
    assert picture.size == (500, 250) and picture.mode == "RGB"


def test_why_names_are_not_checked_depends_on_the_store():
    assert svc.names_not_checked(store_unlocked=False) == (
        "Names are not checked: unlock the family store (Family page) to recognise members.")
    assert svc.names_not_checked(store_unlocked=True) == "Names are not checked: nobody is enrolled yet (Family page)."


def test_explain_photo_face_gives_one_heatmap_per_emotion_around_the_face(analyzer, app_models_dir, group_photo):
    from governance.explain import load_cam_model

    result = svc.analyze_photo(group_photo, "group.jpg", analyzer.analyze, recognition=False)
    face = result.faces[1]
    maps = svc.explain_photo_face(load_cam_model(app_models_dir / "emotion_vgg16.onnx"), result.image, face,
                                  analyzer.emotion_model.template)
    assert [m.emotion for m in maps] == list(face.emotion_probs)
    assert [m.probability for m in maps] == pytest.approx(list(face.emotion_probs.values()), abs=1e-5)
    _x, _y, w, h = face.box
    for m in maps:
        assert m.picture.dtype == np.uint8 and m.picture.shape[2] == 3
        assert w < m.picture.shape[1] <= 1.7 * w + 2 and h < m.picture.shape[0] <= 1.7 * h + 2


def test_bias_audit_report_and_its_tables(fer4_dir, tmp_path, app_models_dir):
    manifest = tmp_path / "audit.csv"
    rows = ["path,label"] + [f"{p},{folder.name}" for folder in sorted((fer4_dir / "test").iterdir())
                             for p in sorted(folder.iterdir())[:10]]
    manifest.write_text("\n".join(rows) + "\n")
    report = svc.bias_audit_report(manifest, model=app_models_dir / "emotion_vgg16.onnx", min_group_size=5, n_boot=100)
    assert report.audit.size == 40
    assert report.html.startswith("<!DOCTYPE html>") and json.loads(report.json)["size"] == 40
    assert len(pd.read_csv(io.BytesIO(report.rows_csv))) == 40
    overall = svc.bias_overall_table(report.audit)
    assert "accuracy" in overall["metric"].tolist()
    assert ((overall["low"] <= overall["value"]) & (overall["value"] <= overall["high"])).all()
    assert list(svc.bias_flags_table(report.audit).columns) == ["column", "group", "metric", "size", "gap", "low", "high"]


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_an_uploaded_audit_set_is_unpacked_where_it_starts_and_deleted_afterwards():
    with svc.unpacked_audit_set(_zip({"set/happy/a.png": b"A", "set/sad/b.png": b"B"}), "faces.zip") as root:
        assert root.name == "set" and sorted(p.name for p in root.iterdir()) == ["happy", "sad"]
        unpacked = root.parent
    assert not unpacked.exists()
    manifest = _zip({"audit.csv": b"path,label\nfaces/a.png,happy\n", "faces/a.png": b"A", "__MACOSX/x": b""})
    with svc.unpacked_audit_set(manifest, "manifest.zip") as root:
        assert root.name == "audit.csv" and (root.parent / "faces" / "a.png").read_bytes() == b"A"


def test_an_audit_zip_that_is_broken_or_escapes_its_folder_is_refused_with_nothing_unpacked(monkeypatch):
    from governance.bias_audit import AuditError, load_audit_set

    with pytest.raises(svc.AuditUploadError) as caught, svc.unpacked_audit_set(b"not a zip", "notes.zip"):
        pass
    assert str(caught.value) == "notes.zip is not a readable zip archive (File is not a zip file). Nothing was unpacked."
    with pytest.raises(svc.AuditUploadError) as caught, svc.unpacked_audit_set(_zip({"../evil.png": b"x"}), "a.zip"):
        pass
    assert str(caught.value) == "a.zip holds a path that leads outside the archive (../evil.png). Nothing was unpacked."
    monkeypatch.setattr(svc, "AUDIT_ZIP_MAX_BYTES", 1024**2)
    big = _zip({"happy/a.png": bytes(3 * 1024**2)})
    with pytest.raises(svc.AuditUploadError) as caught, svc.unpacked_audit_set(big, "big.zip"):
        pass
    assert str(caught.value) == ("big.zip would unpack to 3 MB, over the 1 MB an audit set may take. "
                                 "Nothing was unpacked.")
    with pytest.raises(AuditError) as caught, svc.unpacked_audit_set(_zip({"notes.txt": b"x"}), "notes.zip") as root:
        load_audit_set(root)
    assert str(caught.value) == "audit set notes.zip has no images in <class>/ sub-folders"


def test_bias_coverage_never_reassures_when_nothing_was_compared(fer4_dir, tmp_path, app_models_dir):
    from governance.bias_audit import _coverage as coverage

    rows = ["path,label"] + [f"{p},{folder.name}" for folder in sorted((fer4_dir / "test").iterdir())
                             for p in sorted(folder.iterdir())[:10]]
    (tmp_path / "audit.csv").write_text("\n".join(rows) + "\n")
    report = svc.bias_audit_report(tmp_path / "audit.csv", model=app_models_dir / "emotion_vgg16.onnx",
                                   min_group_size=100, n_boot=100)
    said, compared, sentences = svc.bias_coverage(report.audit)
    assert said == coverage.NOTHING_COMPARED.format(min_size=100) and not compared
    assert len(sentences) == len(report.audit.columns) and all(": not compared, because " in s for s in sentences)


def test_model_cards_are_read_from_the_models_folder(tmp_path):
    (tmp_path / "b_model.md").write_text("# B\n")
    (tmp_path / "a_model.md").write_text("# A\n")
    (tmp_path / "a_model.onnx").write_bytes(b"")
    assert svc.model_cards(tmp_path) == [("a_model", "# A\n"), ("b_model", "# B\n")]


def test_counts_and_deletion_receipts_read_as_words():
    from governance.erasure import ErasureReceipt

    assert svc.counted({"people": 1, "embeddings": 4, "analyses": 1, "audit": 2}) == (
        "1 member, 4 embeddings, 1 kept result, 2 audit entries")
    assert svc.counted({"consent_expired": 1, "thumbnails": 0, "analyses": 3}, skip_zero=True) == (
        "1 member whose consent expired, 3 kept results")
    receipt = ErasureReceipt(subject="0123456789abcdef", reason="consent withdrawn", erased_at="2026-12-04T05:06:07+00:00",
                             records={"person": 1, "embeddings": 3, "thumbnails": 0, "consents": 1, "analyses": 1,
                                      "data_key": 1}, digest="ab" * 32, audit_seq=12, storage_scrubbed=True)
    assert svc.receipt_text("Serena", receipt) == "\n".join([
        "**Deletion receipt**: Serena (id 01234567...)",
        "- Reason: consent withdrawn; erased at 2026-12-04 05:06:07 UTC",
        "- Deleted: 1 member, 3 embeddings, 0 thumbnails, 1 consent record, 1 kept result, 1 data key",
        f"- Logged as audit entry 12, with this receipt's SHA-256: `{'ab' * 32}`",
        "- Freed storage overwritten: yes"])
    assert svc.receipt_file_name(receipt) == "unveil_deletion_receipt_20261204-050607_01234567.json"
