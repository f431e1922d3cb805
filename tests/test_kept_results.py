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
    _enrol(store, "Serena")
    rows = [_row("party.jpg", 1, "Serena"), _row("party.jpg", 2, "unknown")]
    first, created = kept_results.keep(store, rows)
    assert created
    for _ in range(2):
        again, created = kept_results.keep(store, rows)
        assert not created and again == first
    assert len(store.analyses()) == 1
    assert _events(store).count("analysis_kept") == 1
    (entry,) = [e for e in audit_log.entries(store) if e.event == "analysis_kept"]
    assert entry.details == {"faces": 2, "named": 1} and entry.person_id is None  # counts only, no name


def test_kept_results_are_listed_newest_first_with_their_photos_and_names(store):
    serena, laura = _enrol(store, "Serena"), _enrol(store, "Laura")
    older, _ = kept_results.keep(store, [_row("a.jpg", 1, "Serena"), _row("b.jpg", 1, "Laura")])
    newer, _ = kept_results.keep(store, [_row("c.jpg", 1)])
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
    kept, _ = kept_results.keep(store, [_row("a.jpg", 1)])
    other, _ = kept_results.keep(store, [_row("b.jpg", 1)])
    kept_results.delete(store, kept.id)
    assert [r.id for r in kept_results.kept(store)] == [other.id]
    assert _events(store)[-1] == "analysis_deleted"
    with pytest.raises(KeptResultError) as error:
        kept_results.delete(store, kept.id)
    assert str(error.value) == kept_results.ALREADY_GONE
    assert [r.id for r in kept_results.kept(store)] == [other.id]
    assert _events(store).count("analysis_deleted") == 1


def test_nothing_to_keep_is_refused(store):
    with pytest.raises(KeptResultError) as error:
        kept_results.keep(store, [])
    assert str(error.value) == kept_results.NOTHING_TO_KEEP
    assert store.analyses() == []


def test_the_erasure_preview_says_which_kept_results_also_name_other_members(store):
    serena = _enrol(store, "Serena")
    _enrol(store, "Laura")
    kept_results.keep(store, [_row("party.jpg", 1, "Serena"), _row("party.jpg", 2, "Laura")])
    kept_results.keep(store, [_row("solo.jpg", 1, "Serena")])
    kept_results.keep(store, [_row("laura.jpg", 1, "Laura")])
    preview = family.erasure_preview(store, serena.person_id)
    assert preview == family.ErasurePreview("Serena", consents=1, embeddings=2, thumbnails=0, analyses=2,
                                            also_named=("Laura",))
    assert tables.erasure_lines(preview) == [
        "Serena's name, 1 consent record, 2 face embeddings and 0 thumbnails",
        "Serena's data key, so no backup of the store can be read for them either",
        ("2 kept results naming Serena, which also name Laura: a kept result is erased whole with anyone it "
         "names, so what it holds about Laura goes too")]
    receipt = family.purge(store, serena.person_id)
    assert receipt.records["analyses"] == preview.analyses  # exactly what the page said
    assert [r.photos for r in kept_results.kept(store)] == [["laura.jpg"]]


def test_the_erasure_preview_of_a_member_named_in_no_kept_result(store):
    laura = _enrol(store, "Laura")
    preview = family.erasure_preview(store, laura.person_id)
    assert preview.analyses == 0 and preview.also_named == ()
    assert len(tables.erasure_lines(preview)) == 2
