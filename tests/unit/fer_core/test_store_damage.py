"""A damaged or tampered store never triggers a destructive action, and what belongs together is
checked together: a damaged index or an edited id is reported and refused (nothing erased, no key
deleted); deleting rows of a person (a consent, an analysis link) is caught by their sealed
manifest, and erasure follows that manifest; keys.db is never replaced by `init`."""
from __future__ import annotations

import contextlib
import sqlite3
import time
from datetime import timedelta

import pytest

from fer_core.store import (
    DAMAGED_MESSAGE,
    DATA_FILE,
    KEYS_FILE,
    LONE_KEYS_MESSAGE,
    RECORD_SET_MESSAGE,
    FamilyStore,
    LoneKeysFileError,
    RecordSetError,
    StoreDamagedError,
    StoreExistsError,
    TamperedDataError,
)
from governance import consent, erasure, retention
from tests.support import privacy_harness as h
from tests.support.store import FakeClock, flip_in_index
from unveil.cli import main


@pytest.fixture
def family(tmp_path):
    """A closed store (WAL checkpointed into the files) with two members; returns (data_dir, ids)."""
    with h.new_store(tmp_path / "data") as store:
        ids = [h.enrol(store, "Halle Berry"), h.enrol(store, "Hamid Karzai")]
    return tmp_path / "data", ids


def _sql(path, *statements: tuple[str, tuple]) -> None:
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        for sql, params in statements:
            conn.execute(sql, params)


def _owners(data_dir) -> set[str]:
    return {owner for (owner,) in h.query(data_dir / KEYS_FILE, "SELECT owner FROM data_keys")}


def test_a_damaged_consent_index_erases_no_one(family, monkeypatch, capsys):
    data_dir, ids = family
    keys = _owners(data_dir)  # the members' keys and their thumbnails'
    assert flip_in_index(data_dir / DATA_FILE, "consents_by_person", ids[0]) == 1
    with h.open_store(data_dir) as store:
        problems = store.integrity_problems()
        assert problems and all(p.startswith(f"{DATA_FILE}: ") for p in problems)
        with pytest.raises(StoreDamagedError) as err:
            retention.sweep(store)
        assert str(err.value) == DAMAGED_MESSAGE.format(data_dir=data_dir, count=len(err.value.problems),
                                                        first=err.value.problems[0])
        assert "nothing was deleted or changed" in str(err.value)
        assert sorted(store.person_ids()) == sorted(ids) and store.counts()["consents"] == 2
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    assert main(["family", "check", "--data-dir", str(data_dir)]) == 1
    assert f"DAMAGED sqlite {DATA_FILE} integrity_check" in capsys.readouterr().out
    assert main(["retention", "sweep", "--data-dir", str(data_dir)]) == 1
    assert capsys.readouterr().err.startswith(f"error: the store in {data_dir} is damaged (")
    assert _owners(data_dir) == keys


def test_an_edited_person_id_keeps_their_key(family):
    data_dir, ids = family
    keys = _owners(data_dir)
    edited = ids[0][:-1] + ("0" if ids[0][-1] != "0" else "1")
    _sql(data_dir / DATA_FILE, ("UPDATE people SET id = ? WHERE id = ?", (edited, ids[0])))
    with FamilyStore(data_dir) as store:  # opening without the passphrase used to delete the "orphan" key
        problems = store.integrity_problems()
    assert _owners(data_dir) == keys
    assert f"{KEYS_FILE} holds a data key ({ids[0]}) that nothing in {DATA_FILE} uses" in problems
    assert f"{edited} has rows in {DATA_FILE} but no data key in {KEYS_FILE}" in problems
    with h.open_store(data_dir) as store, pytest.raises(StoreDamagedError):
        retention.sweep(store)
    assert _owners(data_dir) == keys


def test_deleting_the_latest_consent_is_caught_not_rolled_back(family):
    data_dir, ids = family
    with h.open_store(data_dir) as store:
        consent.change_scope(store, ids[0], "recognition")  # a second, narrower consent record
        latest = store.consents(ids[0])[-1].id
    _sql(data_dir / DATA_FILE, ("DELETE FROM consents WHERE id = ?", (latest,)))
    with h.open_store(data_dir) as store:
        with pytest.raises(RecordSetError) as err:
            consent.latest(store, ids[0])
        assert str(err.value) == RECORD_SET_MESSAGE.format(kind="consents", person_id=ids[0], expected=2, found=1)
        assert str(err.value) == (f"the consents of person {ids[0]} do not match their sealed manifest (2 recorded, 1 found): "
                                  "rows were deleted, added or moved, or an index is damaged")
        assert [(d.table, d.row) for d in store.check()] == [("manifests", ids[0])]
        assert [p.name for p in store.people(errors="skip")] == ["Hamid Karzai"]
        with pytest.raises(StoreDamagedError):
            retention.sweep(store)


def test_a_damaged_embedding_index_does_not_silently_shrink_a_member(family):
    data_dir, ids = family
    assert flip_in_index(data_dir / DATA_FILE, "embeddings_by_person", ids[1], occurrences=3) == 3
    with h.open_store(data_dir) as store:
        with pytest.raises(RecordSetError) as err:
            store.embeddings(ids[1])
        assert str(err.value).startswith(f"the embeddings of person {ids[1]} do not match their sealed manifest (5 recorded, ")
        assert [entry.name for entry in store.gallery(errors="skip")] == ["Halle Berry"]
        assert any(d.table == "manifests" and d.row == ids[1] for d in store.check())


def test_purge_follows_the_manifest_when_links_were_deleted(family):
    data_dir, ids = family
    with h.open_store(data_dir) as store:
        store.add_analysis({"faces": 2}, person_ids=ids)
        store.add_analysis({"faces": 1}, person_ids=[ids[1]])
    _sql(data_dir / DATA_FILE, ("DELETE FROM analysis_people WHERE person_id = ?", (ids[0],)))
    with h.open_store(data_dir) as store:
        receipt = erasure.purge_person(store, ids[0])
        assert receipt.records["analyses"] == 1
        assert [a.result for a in store.analyses()] == [{"faces": 1}]
        assert store.check() == []  # the other person's manifest no longer lists the erased analysis


def test_sweep_still_erases_on_an_intact_store(tmp_path):
    clock = FakeClock()
    with h.new_store(tmp_path, clock=clock) as store:
        pid = h.enrol(store, "Laura Bush")
        clock.advance(days=400)
        report = retention.sweep(store, date_confirmed=True)  # 400 days unused: the date must be confirmed
        assert report.removed["consent_expired"] == 1 and pid not in store.person_ids()


def test_init_refuses_a_folder_that_still_holds_keys_db(family, monkeypatch, capsys):
    data_dir, _ = family
    for path in data_dir.glob(f"{DATA_FILE}*"):
        path.unlink()
    keys_before = (data_dir / KEYS_FILE).read_bytes()
    with pytest.raises(LoneKeysFileError) as err:
        h.new_store(data_dir)
    assert isinstance(err.value, StoreExistsError)
    assert str(err.value) == LONE_KEYS_MESSAGE.format(data_dir=data_dir)
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    assert main(["family", "init", "--data-dir", str(data_dir)]) == 1
    assert capsys.readouterr().err == f"error: {LONE_KEYS_MESSAGE.format(data_dir=data_dir)}\n"
    assert (data_dir / KEYS_FILE).read_bytes() == keys_before
    assert not (data_dir / DATA_FILE).exists()


def test_expired_consent_is_seen_through_the_manifest(family):
    # The manifest check must not get in the way of the ordinary consent flow.
    data_dir, ids = family
    with h.open_store(data_dir) as store:
        record = consent.renew(store, ids[0], expires_at=consent.store_now(store) + timedelta(days=3))
        assert consent.latest(store, ids[0]) == record
        assert store.person(ids[0]).consents == 2 and store.check() == []


def test_edited_times_fail_authentication(family):
    # Times stay plaintext (retention reads them) but are bound to the sealed value of their row, so a
    # plausible edit (a consent moved earlier, someone made to look unseen) is caught, not believed.
    data_dir, ids = family
    with h.open_store(data_dir) as store:
        consent.change_scope(store, ids[0], "recognition")
        second = store.consents(ids[0])[1]
    _sql(data_dir / DATA_FILE, ("UPDATE consents SET recorded_at = recorded_at - 10 WHERE id = ?", (second.id,)),
         ("UPDATE people SET last_seen_at = last_seen_at - 100 WHERE id = ?", (ids[1],)))
    with h.open_store(data_dir) as store:
        with pytest.raises(TamperedDataError) as err:
            consent.latest(store, ids[0])
        assert str(err.value) == (f"consents row {second.id} (details) failed authentication: it was altered, corrupted "
                                  "or moved, and was not decrypted")
        with pytest.raises(TamperedDataError):
            store.person(ids[1])
        assert {(d.table, d.row) for d in store.check()} == {("consents", second.id), ("people", ids[1])}
        with pytest.raises(StoreDamagedError):
            retention.sweep(store)
        assert sorted(store.person_ids()) == sorted(ids)


def test_marking_someone_seen_binds_the_new_time(family):
    data_dir, ids = family
    with h.open_store(data_dir) as store:
        before = store.person(ids[0]).last_seen_at
        store.mark_seen([ids[0]], when=before + 60)
        assert store.person(ids[0]).last_seen_at == before + 60 and store.check() == []


def test_a_damaged_time_of_an_older_row_erases_no_one(family):
    # Rows sealed before times were bound (format 1) get a plausibility check instead.
    data_dir, ids = family
    with h.open_store(data_dir) as store, store.transaction():
        legacy = store._seal(ids[1], "people", ids[1], "name", b"Hamid Karzai")
        store._conn().execute("UPDATE people SET name = ?, last_seen_at = 12.5 WHERE id = ?", (legacy, ids[1]))
    with h.open_store(data_dir) as store:
        assert store.person(ids[1]).name == "Hamid Karzai"  # it authenticates: the time is not bound
        assert f"people row {ids[1]}: last_seen_at is not a plausible time" in store.integrity_problems()
        with pytest.raises(StoreDamagedError):
            retention.sweep(store)
        assert sorted(store.person_ids()) == sorted(ids)


def test_a_wrong_system_clock_is_not_damage(tmp_path):
    clock = FakeClock()
    with h.new_store(tmp_path, clock=clock) as store:
        h.enrol(store, "Laura Bush")
        clock.advance(days=-400)  # the clock was reset: every row now looks a year in the future
        assert store.integrity_problems() == []
        assert retention.sweep(store).total == 0


def test_a_damaged_creation_time_is_reported_not_raised(family):
    data_dir, _ = family
    _sql(data_dir / DATA_FILE, ("UPDATE meta SET value = '18x0' WHERE key = 'created_at'", ()))
    with h.open_store(data_dir) as store:
        assert "meta row created_at: the store's creation time is not a number" in store.integrity_problems()


def test_edited_retention_settings_delete_nothing(family):
    data_dir, _ = family
    with h.open_store(data_dir) as store:
        retention.set_policy(store, "thumbnails", 90)
        assert store.check() == []
    _sql(data_dir / DATA_FILE, ("UPDATE retention SET days = 0 WHERE kind = 'thumbnails'", ()))
    with h.open_store(data_dir) as store:
        assert [(d.table, d.message) for d in store.check()] == [
            ("retention", "the retention settings do not match their seal: they were edited or damaged")]
        with pytest.raises(StoreDamagedError):
            retention.sweep(store)
        assert store.counts()["thumbnails"] == 2


def test_deleted_retention_settings_and_seal_delete_nothing(family):
    # Without the rows and their seal the defaults would apply (thumbnails 90 days): deleting both is
    # tampering in a store whose sealed audit head says it keeps a seal.
    data_dir, _ = family
    with h.open_store(data_dir) as store:
        retention.set_policy(store, "thumbnails", None)
    _sql(data_dir / DATA_FILE, ("DELETE FROM retention", ()), ("DELETE FROM meta WHERE key = 'retention_seal'", ()))
    with h.open_store(data_dir) as store:
        assert [(d.table, d.message) for d in store.check()] == [
            ("retention", "the retention settings do not match their seal: they were edited or damaged")]
        store._clock = lambda: time.time() + 100 * 86400
        with pytest.raises(StoreDamagedError):
            retention.sweep(store)
        assert store.counts()["thumbnails"] == 2


def test_a_thumbnail_made_to_look_old_is_not_swept(family):
    data_dir, ids = family
    with h.open_store(data_dir) as store:
        thumb = store.thumbnails(ids[0])[0]
    _sql(data_dir / DATA_FILE, ("UPDATE thumbnails SET created_at = created_at - 30 WHERE id = ?", (thumb.id,)))
    with h.open_store(data_dir) as store:
        store.set_retention("thumbnails", 0)
        with pytest.raises(StoreDamagedError) as err:
            retention.sweep(store)
        assert err.value.problems == [(f"thumbnails row {thumb.id} (image) failed authentication: it was altered, "
                                       "corrupted or moved, and was not decrypted")]
        assert store.counts()["thumbnails"] == 2


def test_a_saved_analysis_deleted_on_its_own_is_not_damage(family):
    # A kept result deleted as versions before manifests forgot it did (the row and its links; its key
    # goes too) leaves its id in the manifests of the people it named.
    data_dir, ids = family
    with h.open_store(data_dir) as store:
        gone = store.add_analysis({"faces": 2}, person_ids=ids)
        (owner,) = h.query(data_dir / DATA_FILE, "SELECT key_owner FROM analyses WHERE id = ?", (gone,))[0]
        with store.transaction():
            store._conn().execute("DELETE FROM analyses WHERE id = ?", (gone,))
        _sql(data_dir / KEYS_FILE, ("DELETE FROM data_keys WHERE owner = ?", (owner,)))
        assert store.check() == []
        assert erasure.purge_person(store, ids[0]).records["analyses"] == 0


def test_a_member_whose_name_is_damaged_withdraws_consent_by_id(family, monkeypatch, capsys):
    # `consent withdraw ID` read the name for its prompt and stopped on its failed authentication, so the withdrawal
    # could not be recorded; `family purge ID` erased such a member, as a request rather than a withdrawal.
    data_dir, ids = family
    _sql(data_dir / DATA_FILE, ("UPDATE people SET name = x'00' || substr(name, 2) WHERE id = ?", (ids[0],)))
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    assert main(["consent", "withdraw", ids[0], "--data-dir", str(data_dir)]) == 1  # not confirmed: asked by id
    assert f"Record that the member {ids[0]} (their name cannot be read) withdrew consent" in capsys.readouterr().err
    assert main(["consent", "withdraw", ids[0], "--yes", "--data-dir", str(data_dir)]) == 0
    assert '"reason": "consent withdrawn"' in capsys.readouterr().out
    with h.open_store(data_dir) as store:
        assert store.person_ids() == [ids[1]]
        assert [e.event for e in store.audit_entries()][-2:] == ["consent_withdrawn", "purge"]
