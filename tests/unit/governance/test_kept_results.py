"""governance.kept_results and the erasure preview: kept analysis results are kept once, listed,
deleted, audit-logged, and what erasing a member deletes is known before the click."""
from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from fer_core.store import FamilyStore, ScryptParams
from governance import audit_log, family, kept_results
from governance.kept_results import KeptResultError
from unveil.app import enrolment, tables


@pytest.fixture()
def store(tmp_path):
    # Light scrypt: these tests are about kept results, not key derivation.
    with FamilyStore.create(tmp_path / "store", passphrase="correct horse battery",
                            scrypt=ScryptParams(n=2**10, r=8, p=1)) as opened:
        yield opened


def _enrol(store, name):
    record = enrolment.consent_from_form(name=name, given_by="", guardian=False, child=False, purpose="family photos",
                                   scope="recognition", expires_on=date(2099, 1, 1), now=datetime.now(UTC))
    return family.enroll(store, name, np.ones((2, 128), np.float32), record)


def _row(source, face, identity=None, emotion="happy"):
    row = {"source": source, "face": face, "x": 1.0, "y": 2.0, "w": 30.0, "h": 30.0, "score": 0.99,
           "emotion": emotion, "p_happy": 0.9, "p_sad": 0.1}
    return row | ({"identity": identity} if identity else {})


def _events(store):
    return [entry.event for entry in audit_log.entries(store)]


def test_keeping_the_same_results_again_stores_no_second_copy(store):
    serena = _enrol(store, "Serena")
    rows = [_row("party.jpg", 1, "Serena"), _row("party.jpg", 2, "unknown")]
    first, created = kept_results.keep_analysis(store, rows, person_ids=[serena.person_id, None])
    assert created
    for _ in range(2):
        again, created = kept_results.keep_analysis(store, rows, person_ids=[serena.person_id, None])
        assert not created and again == first
    assert len(store.analyses()) == 1
    assert _events(store).count("analysis_kept") == 1
    (entry,) = [e for e in audit_log.entries(store) if e.event == "analysis_kept"]
    assert entry.details == {"faces": 2, "named": 1} and entry.person_id is None  # counts only, no name


def test_kept_results_are_listed_newest_first_with_their_photos_and_names(store):
    serena, laura = _enrol(store, "Serena"), _enrol(store, "Laura")
    older, _ = kept_results.keep_analysis(store, [_row("a.jpg", 1, "Serena"), _row("b.jpg", 1, "Laura")],
                                         person_ids=[serena.person_id, laura.person_id])
    newer, _ = kept_results.keep_analysis(store, [_row("c.jpg", 1)], person_ids=[None])
    listed = kept_results.kept(store)
    assert [r.id for r in listed] == [newer.id, older.id]
    assert older.photos == ["a.jpg", "b.jpg"] and older.names == ["Laura", "Serena"]
    assert set(older.person_ids) == {serena.person_id, laura.person_id}
    assert newer.names == [] and newer.person_ids == ()
    # Shown and downloaded with the columns in the order of the Analyze page, not the store's sorted keys.
    assert list(tables.in_column_order(older.faces)[0]) == ["source", "face", "x", "y", "w", "h", "score", "emotion",
                                                         "p_happy", "p_sad", "identity"]
    table = tables.kept_table(listed)
    assert table.to_dict("records")[1] | {"kept (UTC)": None} == {
        "kept (UTC)": None, "photos": "a.jpg, b.jpg", "faces": 2, "names": "Laura, Serena"}
    assert tables.kept_label(newer).endswith(" UTC: c.jpg (1 face)")


def test_deleting_a_kept_result_is_logged_and_deleting_it_again_changes_nothing(store):
    kept, _ = kept_results.keep_analysis(store, [_row("a.jpg", 1)], person_ids=[None])
    other, _ = kept_results.keep_analysis(store, [_row("b.jpg", 1)], person_ids=[None])
    kept_results.delete(store, kept.id)
    assert [r.id for r in kept_results.kept(store)] == [other.id]
    assert _events(store)[-1] == "analysis_deleted"
    with pytest.raises(KeptResultError) as error:
        kept_results.delete(store, kept.id)
    assert str(error.value) == kept_results.ALREADY_GONE
    assert [r.id for r in kept_results.kept(store)] == [other.id]
    assert _events(store).count("analysis_deleted") == 1


def test_keeping_links_the_faces_ids_and_logs_it_without_looking_up_any_name(store, monkeypatch):
    serena, laura = _enrol(store, "Serena"), _enrol(store, "Laura")
    before = len(audit_log.entries(store))

    def no_lookup(*_args, **_kwargs):
        raise AssertionError("a name was looked up")
    # Every way of reading a member by name or decrypting the names: none may be used to keep a result.
    for method in ("find_person", "people", "person", "gallery"):
        monkeypatch.setattr(store, method, no_lookup)
    monkeypatch.setattr(family, "resolve", no_lookup)
    rows = [_row("party.jpg", 1, "Serena"), _row("party.jpg", 2, "unknown"), _row("party.jpg", 3, "Serena")]
    kept, created = kept_results.keep_analysis(store, rows, person_ids=[serena.person_id, None, serena.person_id])
    monkeypatch.undo()
    assert created and kept.person_ids == (serena.person_id,)  # Laura, not in the photo, is not linked
    (entry,) = audit_log.entries(store)[before:]
    assert (entry.event, entry.details, entry.person_id) == ("analysis_kept", {"faces": 3, "named": 1}, None)
    # Linked by id: erasing Serena erases the result; Laura stays enrolled.
    family.purge(store, serena.person_id)
    assert store.analyses() == [] and laura.person_id in store.person_ids()


def test_rows_naming_more_members_than_ids_given_are_refused(store):
    serena = _enrol(store, "Serena")
    with pytest.raises(KeptResultError) as error:
        kept_results.keep_analysis(store, [_row("a.jpg", 1, "Serena"), _row("a.jpg", 2, "Laura")],
                                   person_ids=[serena.person_id, None])
    assert str(error.value) == kept_results.NAMED_WITHOUT_ID.format(named=2, ids=1)
    assert store.analyses() == [] and "analysis_kept" not in _events(store)


def test_nothing_to_keep_is_refused(store):
    with pytest.raises(KeptResultError) as error:
        kept_results.keep_analysis(store, [], person_ids=[])
    assert str(error.value) == kept_results.NOTHING_TO_KEEP
    assert store.analyses() == []


def test_the_erasure_preview_says_which_kept_results_also_name_other_members(store):
    serena = _enrol(store, "Serena")
    laura = _enrol(store, "Laura")
    s, la = serena.person_id, laura.person_id
    kept_results.keep_analysis(store, [_row("party.jpg", 1, "Serena"), _row("party.jpg", 2, "Laura")], person_ids=[s, la])
    kept_results.keep_analysis(store, [_row("solo.jpg", 1, "Serena")], person_ids=[s])
    kept_results.keep_analysis(store, [_row("laura.jpg", 1, "Laura")], person_ids=[la])
    preview = family.erasure_preview(store, serena.person_id)
    assert preview == family.ErasurePreview("Serena", consents=1, embeddings=2, thumbnails=0, analyses=2,
                                            also_named=("Laura",))
    assert tables.erasure_lines(preview) == [
        "Serena's name, 1 consent record, 2 face prints and 0 thumbnails",
        "Serena's data key, so nothing of theirs can be read in the store again; a backup made before now still "
        "holds them (delete it for the erasure to reach it)",
        ("2 kept results naming Serena, which also name Laura: a kept result is erased whole with anyone it "
         "names, so what it holds about Laura goes too"),
        tables.OUTSIDE_THE_STORE.format(name="Serena")]
    receipt = family.purge(store, serena.person_id)
    assert receipt.records["analyses"] == preview.analyses  # exactly what the page said
    assert [r.photos for r in kept_results.kept(store)] == [["laura.jpg"]]


def test_the_erasure_preview_of_a_member_named_in_no_kept_result(store):
    laura = _enrol(store, "Laura")
    preview = family.erasure_preview(store, laura.person_id)
    assert preview.analyses == 0 and preview.also_named == ()
    assert tables.erasure_lines(preview)[2:] == [tables.OUTSIDE_THE_STORE.format(name="Laura")]
