"""One enrolment path for every front end: the Family page and `unveil family enroll` read each photo
once with the analyzer's detector settings, pick faces the same way (never guessing among several)
and store through governance.family.enrol_from_photos, with real photos and the shipped models."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer_core.analyzer import default_detector
from fer_core.detection import FaceDetector
from fer_core.identity import pairwise_distances
from fer_core.images import FRAMES_NOT_READ
from fer_core.store import GALLERY_MIXES_MODELS, EmbeddingError
from governance import consent, enrolment, family
from governance.consent import ConsentRecord, store_now
from tests.support import privacy_harness as h
from tests.support.app import MEMBER, STRANGER, photo_path, side_by_side
from tests.support.phone_metadata import carried, with_phone_metadata
from tests.support.photo_files import saved
from tests.support.time_zones import machine_time_zone
from unveil.app import widgets
from unveil.cli import main
from unveil.cli.family import NOT_RECOGNISED, REEMBED_NOT_NEEDED

PURPOSE = "name family in our photos"


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def photos(faces_dir, tmp_path, monkeypatch) -> dict[str, bytes]:
    """Photos every front end must take or refuse alike, written to the working folder under their labels
    (so the command line, given these names, labels them as the page does):
    - colin.jpg: one face, enrolled;
    - small face.png: a 40 px LFW photo on a grey card; MTCNN's default 20 px minimum (what the command
      line used to load) finds its face, the analyzer's 40 px minimum does not;
    - two people.jpg: Colin Powell (face 1) beside Serena Williams (face 2): left out unless picked;
    - wall.png: no face."""
    small = Image.open(photo_path(faces_dir, MEMBER, 3)).convert("RGB").resize((40, 40), Image.Resampling.LANCZOS)
    card = Image.new("RGB", (160, 160), (128, 128, 128))
    card.paste(small, (50, 50))
    files = {
        "colin.jpg": photo_path(faces_dir, MEMBER, 1).read_bytes(),
        "small face.png": _png(card),
        "two people.jpg": side_by_side(photo_path(faces_dir, MEMBER, 2), photo_path(faces_dir, STRANGER, 2)),
        "wall.png": _png(Image.new("RGB", (200, 200), (128, 128, 128))),
    }
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    monkeypatch.chdir(folder)
    return files


@pytest.fixture
def stores(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """Two empty stores (cheap scrypt): one enrolled into the app's way, one by the command line."""
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    for name in ("app", "cli"):
        h.new_store(tmp_path / name).close()
    return tmp_path / "app", tmp_path / "cli"


def _app_enrol(data_dir: Path, name: str, photos: dict[str, bytes], picks: dict[str, int], *, scope: str = "recognition"):
    """What the Family page does: read each photo with the app's analyzer (widgets.enrolment_photos),
    then enrol from those very detections."""
    engine = widgets.analyzer()
    read = [enrolment.read_photo(data, label, engine.detector.detect) for label, data in photos.items()]
    with h.open_store(data_dir) as store:
        record = ConsentRecord.new(subject=name, given_by=None, relation="self", purpose=PURPOSE, scope=scope,
                                   days=30, now=store_now(store))
        done = family.enrol_from_photos(store, name, read, record, model=engine.identity_model, picks=picks)
        (entry,) = store.gallery(model=engine.identity_model.name)
    return done, entry.embeddings


def _cli_enrol(capsys, data_dir: Path, name: str, labels: list[str], *extra: str):
    code = main(["family", "enroll", name, *labels, "--data-dir", str(data_dir), "--purpose", PURPOSE,
                 "--days", "30", *extra])
    out, err = capsys.readouterr()
    with h.open_store(data_dir) as store:
        entries = store.gallery(model=widgets.analyzer().identity_model.name)
        people = store.people()
    return code, out, err, entries, people


def test_the_app_and_the_command_line_take_and_refuse_the_same_photos(app_env, photos, stores, capsys):
    app_dir, cli_dir = stores
    small = np.asarray(Image.open(io.BytesIO(photos["small face.png"])).convert("RGB"))
    assert len(FaceDetector(min_face_size=20).detect(small)) == 1  # the old command line would have taken it
    assert widgets.analyzer().detector.min_face_size == default_detector().min_face_size == 40
    assert widgets.analyzer().detector.neck_check and default_detector().neck_check

    done, app_vectors = _app_enrol(app_dir, "Colin Powell", photos, {})
    code, out, err, cli_entries, _ = _cli_enrol(capsys, cli_dir, "Colin Powell", list(photos))
    notes = ["small face.png: no face found, so it is not used.",
             "two people.jpg: 2 faces and none picked, so it is not used.",
             "wall.png: no face found, so it is not used."]
    assert list(done.left_out) == notes and (done.embeddings, done.thumbnails) == (1, 0)
    assert code == 0 and err.splitlines() == notes
    assert f"enrolled Colin Powell ({cli_entries[0].person_id}) with 1 embeddings and 0 thumbnails" in out
    # The same face of the same photo, by the same detector and identity model.
    np.testing.assert_allclose(cli_entries[0].embeddings, app_vectors, atol=1e-5)


def test_a_face_picked_in_a_group_photo_is_enrolled_alike_and_never_guessed(app_env, photos, stores, capsys):
    app_dir, cli_dir = stores
    chosen = {"colin.jpg": photos["colin.jpg"], "two people.jpg": photos["two people.jpg"]}
    done, app_vectors = _app_enrol(app_dir, "Colin Powell", chosen, {"two people.jpg": 0})
    code, _, err, cli_entries, _ = _cli_enrol(capsys, cli_dir, "Colin Powell", list(chosen), "--pick",
                                              "two people.jpg=1")
    assert (done.embeddings, done.left_out) == (2, ()) and (code, err) == (0, "")
    np.testing.assert_allclose(cli_entries[0].embeddings, app_vectors, atol=1e-5)
    # Face 1 is Colin, not Serena: his two embeddings are closer to each other than to her face.
    model = widgets.analyzer().identity_model
    assert pairwise_distances(app_vectors[:1], app_vectors[1:], model.distance)[0, 0] <= model.threshold


def test_a_file_of_several_pictures_is_enrolled_from_its_first_and_both_front_ends_say_so(
        app_env, photos, stores, faces_dir, capsys):
    """An animated GIF or WebP (a messaging app's moving picture) or a multi-page TIFF given as a member's photo was
    enrolled from its first picture, and nothing said so. Both front ends now say it of each such photo, in the
    Analyze page's words less its pointer to the Video page, whether that picture gives a face or not."""
    app_dir, cli_dir = stores
    colin, serena = (Image.open(photo_path(faces_dir, who, 4)).convert("RGB") for who in (MEMBER, STRANGER))
    wall = Image.new("RGB", colin.size, (128, 128, 128))
    files = {"colin.gif": saved(colin, "GIF", save_all=True, append_images=[serena, wall]),
             "scan.tif": saved(colin, "TIFF", save_all=True, append_images=[serena]),
             "wall first.webp": saved(wall, "WEBP", save_all=True, append_images=[colin], lossless=True)}
    for label, data in files.items():
        Path(label).write_bytes(data)
    notes = ["colin.gif: only frame 1 of its 3 frames was analysed.",
             "scan.tif: only page 1 of its 2 pages was analysed.",
             "wall first.webp: only frame 1 of its 2 frames was analysed."]
    assert notes[0] == enrolment.FIRST_PICTURE_ONLY.format(label="colin.gif", note=FRAMES_NOT_READ.format(count=3))
    read = [enrolment.read_photo(data, label, widgets.analyzer().detector.detect) for label, data in files.items()]
    assert [enrolment.first_picture_note(photo) for photo in read] == notes

    done, app_vectors = _app_enrol(app_dir, "Colin Powell", files, {})
    code, out, err, cli_entries, _ = _cli_enrol(capsys, cli_dir, "Colin Powell", list(files))
    left_out = ["wall first.webp: no face found, so it is not used."]
    assert list(done.left_out) == left_out and done.embeddings == 2
    assert code == 0 and err.splitlines() == notes + left_out and " with 2 embeddings " in out
    np.testing.assert_allclose(cli_entries[0].embeddings, app_vectors, atol=1e-5)
    model = widgets.analyzer().identity_model  # both from Colin's picture, the first, not Serena's
    assert pairwise_distances(app_vectors[:1], app_vectors[1:], model.distance)[0, 0] <= model.threshold


def test_the_face_picked_is_the_face_unveil_analyze_numbers_so_in_a_group_photo_of_two_rows(
        app_env, photos, stores, faces_dir, capsys):
    """A household finds who is face N with `unveil analyze` (its JSON, or the boxes --annotate draws: rows top to
    bottom, each left to right), then enrols with --pick PHOTO=N. Enrolment counted faces from the left instead: in
    a photo of two rows, face 2 of `unveil analyze` (the back row's right) was the front row's face for --pick, so a
    bystander was enrolled under the member's name and later named as them."""
    _, cli_dir = stores
    canvas = Image.new("RGB", (750, 500), "white")  # back row: Serena, Colin; front row, between them: Laura Bush
    for person, (x, y) in ((STRANGER, (0, 0)), (MEMBER, (500, 0)), ("Laura_Bush", (250, 250))):
        canvas.paste(Image.open(photo_path(faces_dir, person, 3)).convert("RGB"), (x, y))
    canvas.save("two rows.jpg", quality=92)
    assert main(["analyze", "two rows.jpg", "-o", "faces.jsonl", "--no-progress"]) == 0
    capsys.readouterr()
    (record,) = [json.loads(line) for line in Path("faces.jsonl").read_text().splitlines()]
    assert [(face["face"], face["x"] > 400, face["y"] > 200) for face in record["faces"]] == [
        (1, False, False), (2, True, False), (3, False, True)]
    code, _, err, (entry,), _ = _cli_enrol(capsys, cli_dir, "Colin Powell", ["colin.jpg", "two rows.jpg"],
                                           "--pick", "two rows.jpg=2")
    assert (code, err) == (0, "") and len(entry.embeddings) == 2
    # Face 2 is Colin (the back row's right), not Laura Bush in front: his two embeddings are one person's.
    model = widgets.analyzer().identity_model
    assert pairwise_distances(entry.embeddings[:1], entry.embeddings[1:], model.distance)[0, 0] <= model.threshold


def test_no_photo_with_a_face_refuses_the_enrolment_in_both_and_stores_nothing(app_env, photos, stores, capsys):
    app_dir, cli_dir = stores
    refused = {label: photos[label] for label in ("small face.png", "two people.jpg", "wall.png")}
    with pytest.raises(enrolment.NoFaceToEnrolError) as caught:
        _app_enrol(app_dir, "Colin Powell", refused, {})
    code, out, err, entries, people = _cli_enrol(capsys, cli_dir, "Colin Powell", list(refused))
    assert str(caught.value) == enrolment.NO_FACE_TO_ENROL
    assert (code, out) == (1, "") and err.splitlines() == [*caught.value.left_out, f"error: {enrolment.NO_FACE_TO_ENROL}"]
    assert entries == [] and people == []
    with h.open_store(app_dir) as store:
        assert store.people() == [] and [e.event for e in store.audit_entries()].count("enrol") == 0


def test_each_photo_is_detected_once_and_the_consent_validated_once(app_env, photos, stores, capsys, monkeypatch):
    app_dir, cli_dir = stores
    detected, validated = [], []
    real_detect, real_validate = FaceDetector.detect, ConsentRecord.validate

    def counted_detect(self, image):
        detected.append(image.shape)
        return real_detect(self, image)

    def counted_validate(self, *args, **kwargs):
        validated.append(1)
        return real_validate(self, *args, **kwargs)
    monkeypatch.setattr(FaceDetector, "detect", counted_detect)
    monkeypatch.setattr(ConsentRecord, "validate", counted_validate)

    done, _ = _app_enrol(app_dir, "Colin Powell", photos, {"two people.jpg": 0})
    assert (len(detected), len(validated), done.embeddings) == (4, 1, 2)
    detected.clear()
    validated.clear()
    code, *_ = _cli_enrol(capsys, cli_dir, "Colin Powell", list(photos), "--pick", "two people.jpg=1")
    assert (code, len(detected), len(validated)) == (0, 4, 1)


def test_the_command_line_stores_thumbnails_when_the_consent_covers_them(app_env, photos, stores, capsys):
    _, cli_dir = stores
    labels = ["colin.jpg", "two people.jpg"]
    code, out, _, _, people = _cli_enrol(capsys, cli_dir, "Colin Powell", labels, "--pick", "two people.jpg=1",
                                         "--scope", "recognition+thumbnails")
    assert code == 0 and "with 2 embeddings and 2 thumbnails" in out
    (person,) = people
    assert (person.embeddings, person.thumbnails) == (2, 2)
    with h.open_store(cli_dir) as store:
        images = [Image.open(io.BytesIO(t.image)) for t in store.thumbnails(person.id)]
    assert [(i.format, i.size) for i in images] == [("JPEG", (enrolment.THUMBNAIL_SIDE,) * 2)] * 2
    # Without thumbnails in the scope, none are stored.
    code, out, _, _, people = _cli_enrol(capsys, cli_dir, "Serena Williams", ["two people.jpg"], "--pick",
                                         "two people.jpg=2")
    assert code == 0 and "with 1 embeddings and 0 thumbnails" in out and people[1].thumbnails == 0


def test_the_command_line_gives_the_consent_the_library_api_gives_for_the_same_days(app_env, photos, stores, capsys):
    """`unveil family enroll --days 30` built its consent by hand, to the end of the day 30 days from today on this
    machine's calendar, while ConsentRecord.new (the library's API) ended 30 x 24 hours from now: the same 30 days
    ended at another moment. Both give the one record now, in a zone far from UTC too."""
    _, cli_dir = stores
    with machine_time_zone("Pacific/Pago_Pago"):
        code, out, _, entries, _ = _cli_enrol(capsys, cli_dir, "Colin Powell", ["colin.jpg"], "--given-by",
                                              "Alma Powell", "--child", "--scope", "recognition+thumbnails")
        with h.open_store(cli_dir) as store:
            given = consent.latest(store, entries[0].person_id)
        same = ConsentRecord.new(subject="Colin Powell", given_by="Alma Powell", relation="guardian", purpose=PURPOSE,
                                 scope="recognition+thumbnails", days=30, subject_is_child=True, now=given.given_at)
        until = consent.local_day(given.expires_at)
    assert code == 0 and given == same and f"; consent until {until}\n" in out


def test_recognition_compares_one_models_embeddings_and_members_of_another_must_be_re_enrolled(
        app_env, photos, stores, capsys):
    _, cli_dir = stores
    with h.open_store(cli_dir) as store:
        h.enrol(store, "Halle Berry")  # embeddings of another model (stored as "default")
    code, *_ = _cli_enrol(capsys, cli_dir, "Colin Powell", ["colin.jpg"])
    assert code == 0
    loaded = widgets.analyzer().identity_model.name
    with h.open_store(cli_dir) as store:
        assert [e.name for e in store.gallery(model=loaded)] == ["Colin Powell"]  # Halle's are never compared
        with pytest.raises(EmbeddingError) as caught:
            store.gallery()
        assert str(caught.value) == GALLERY_MIXES_MODELS.format(models=f"default, {loaded}")
        members = family.members(store)
    assert [m.must_reenrol(loaded) for m in members] == [True, False]
    note = family.MUST_REENROL.format(name="Halle Berry", theirs="default", model=loaded)
    assert family.must_reenrol_notes(members, loaded) == [note]
    assert main(["family", "list", "--data-dir", str(cli_dir)]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("Halle Berry") and lines[0].endswith(NOT_RECOGNISED)
    assert lines[1].startswith("Colin Powell") and not lines[1].endswith(NOT_RECOGNISED)
    assert err == f"note: {note}\n"


def test_after_a_model_change_members_are_re_embedded_from_thumbnails_only_with_consent_to_them(
        app_env, photos, stores, tmp_path, capsys, monkeypatch):
    from fer_core.identity import load_embedding_model
    from fer_core.model_files import identity_model_name, models_dir
    from governance import audit_log
    from governance.consent import ConsentError

    app_dir, _ = stores
    done, old = _app_enrol(app_dir, "Colin Powell", {"colin.jpg": photos["colin.jpg"]}, {},
                           scope="recognition+thumbnails")
    with h.open_store(app_dir) as store:
        recognition_only = ConsentRecord.new(subject="Serena Williams", purpose=PURPOSE, scope="recognition", days=30,
                                             now=store_now(store))
        family.enroll(store, "Serena Williams", h.person_embeddings("Serena Williams"), recognition_only)
        h.enrol(store, "Halle Berry")  # thumbnail consent, but a thumbnail that records no alignment
    # Model B: the same network under another name, so its embeddings of the same face are comparable.
    (tmp_path / "model_b.onnx").write_bytes((models_dir() / identity_model_name()).read_bytes())
    model_b = load_embedding_model(tmp_path / "model_b.onnx")
    with h.open_store(app_dir) as store:
        assert [m.must_reenrol(model_b.name) for m in family.members(store)] == [True, True, True]
        assert family.reembed_from_thumbnails(store, "Colin Powell", model=model_b) == done.thumbnails == 1
        with pytest.raises(ConsentError) as refused:
            family.reembed_from_thumbnails(store, "Serena Williams", model=model_b)
        assert str(refused.value) == family.REEMBED_NEEDS_THUMBNAIL_CONSENT.format(name="Serena Williams")
        with pytest.raises(family.NoUsableThumbnailError) as unusable:
            family.reembed_from_thumbnails(store, "Halle Berry", model=model_b)
        assert str(unusable.value) == family.REEMBED_NO_USABLE_THUMBNAIL.format(name="Halle Berry")
        store.delete_thumbnails(person_id=store.find_person("Halle Berry").id)  # as retention does in time
        with pytest.raises(family.NoUsableThumbnailError) as none_kept:
            family.reembed_from_thumbnails(store, "Halle Berry", model=model_b)
        assert str(none_kept.value) == family.REEMBED_NO_THUMBNAILS.format(name="Halle Berry")
        (entry,) = store.gallery(model=model_b.name)  # only Colin, and only model B's embedding
        members = {m.name: m.must_reenrol(model_b.name) for m in family.members(store)}
        last = audit_log.entries(store)[-1]
    assert entry.name == "Colin Powell"
    # the thumbnail's face is the photo's: far nearer than the threshold
    assert pairwise_distances(entry.embeddings[:1], old[:1], model_b.distance)[0, 0] < 0.2
    assert members == {"Colin Powell": False, "Serena Williams": True, "Halle Berry": True}
    assert (last.event, last.details) == ("embeddings_added",
                                          {"embeddings": 1, "from": "thumbnails", "model": model_b.name})
    # The command line says the same, and stores nothing for a member whose consent does not cover thumbnails.
    assert main(["family", "reembed", "Serena Williams", "--data-dir", str(app_dir)]) == 1
    assert capsys.readouterr().err == (
        f"error: {family.REEMBED_NEEDS_THUMBNAIL_CONSENT.format(name='Serena Williams')}\n")
    # Colin was enrolled with the installed model: nothing to re-embed, and no copy of his embeddings is added.
    loaded = widgets.analyzer().identity_model.name
    with h.open_store(app_dir) as store:
        before = store.counts()["embeddings"]
    assert main(["family", "reembed", "Colin Powell", "--data-dir", str(app_dir)]) == 1
    assert capsys.readouterr().err == f"error: {REEMBED_NOT_NEEDED.format(name='Colin Powell', model=loaded)}\n"
    with h.open_store(app_dir) as store:
        assert store.counts()["embeddings"] == before
    # With another model installed (model C), the command re-embeds him once.
    models_c = tmp_path / "models_c"
    models_c.mkdir()
    (models_c / "model_c.onnx").write_bytes((models_dir() / identity_model_name()).read_bytes())
    monkeypatch.setenv("UNVEIL_MODELS_DIR", str(models_c))
    monkeypatch.setenv("UNVEIL_IDENTITY_MODEL", "model_c.onnx")
    assert main(["family", "reembed", "Colin Powell", "--data-dir", str(app_dir)]) == 0
    assert capsys.readouterr().out == "re-embedded Colin Powell from 1 thumbnail(s) with model_c.onnx\n"
    assert main(["family", "reembed", "Colin Powell", "--data-dir", str(app_dir)]) == 1


def test_a_member_whose_thumbnails_cannot_be_used_is_re_embedded_from_photos_keeping_what_names_them(
        app_env, photos, stores, capsys):
    # An upgraded household: members enrolled with another model ("default"), whose thumbnails record no
    # alignment or whose consent does not cover thumbnails, were told to re-enrol from photos, which
    # `family enroll` refuses for a name already enrolled; erasing them first would take their kept results too.
    from governance import kept_results
    from governance.consent import ConsentError

    _, cli_dir = stores
    with h.open_store(cli_dir) as store:
        colin = h.enrol(store, "Colin Powell")  # thumbnail consent, but a thumbnail that records no alignment
        kept, _ = kept_results.keep_analysis(store, [{"face": 1, "emotion": "happy", "identity": "Colin Powell"}],
                                             person_ids=[colin])
        h.enrol_briefly(store, "Halle Berry", 0.01)
    loaded = widgets.analyzer().identity_model.name
    assert main(["family", "reembed", "Colin Powell", "--data-dir", str(cli_dir)]) == 1
    assert capsys.readouterr().err == f"error: {family.REEMBED_NO_USABLE_THUMBNAIL.format(name='Colin Powell')}\n"
    assert "unveil family reembed NAME PHOTO" in family.REEMBED_NO_USABLE_THUMBNAIL
    assert _cli_enrol(capsys, cli_dir, "Colin Powell", ["colin.jpg"])[0] == 1  # enrolled already
    assert main(["family", "reembed", "Colin Powell", "colin.jpg", "two people.jpg", "--pick", "two people.jpg=1",
                 "--data-dir", str(cli_dir)]) == 0
    assert capsys.readouterr().out == f"re-embedded Colin Powell from 2 photo(s) with {loaded}\n"
    with h.open_store(cli_dir) as store:
        (entry,) = store.gallery(model=loaded)
        assert (entry.person_id, len(entry.embeddings)) == (colin, 2)
        assert [r.id for r in kept_results.kept(store)] == [kept.id]
        assert store.check() == []
        with pytest.raises(ConsentError):  # no consent in force: nothing stored
            family.reembed_from_photos(store, "Halle Berry", [], model=widgets.analyzer().identity_model)


def test_a_phone_photos_metadata_is_neither_trusted_nor_stored(app_env, photos, stores):
    # The face regions a phone or photo library writes in XMP name people (here someone else); enrolment takes the
    # name given with the consent, and the thumbnails are drawn from the pixels: no GPS position, serial number,
    # embedded thumbnail or XMP name of the photo is kept, encrypted or not.
    app_dir, _ = stores
    phone = {"IMG_0042.jpg": with_phone_metadata(photos["colin.jpg"])}
    done, _ = _app_enrol(app_dir, "Colin Powell", phone, {}, scope="recognition+thumbnails")
    assert (done.embeddings, done.thumbnails) == (1, 1)
    with h.open_store(app_dir) as store:
        (person,) = store.people()
        thumbnails = [t.image for t in store.thumbnails(person.id)]
    assert person.name == "Colin Powell" and [carried(t) for t in thumbnails] == [[]]
    assert not any(carried(path.read_bytes()) for path in app_dir.iterdir() if path.is_file())
