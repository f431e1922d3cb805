"""Two sessions enrolling at the same time (processes, and threads with their own connections):
every enrolment lands whole, none is lost, the audit chain verifies."""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from fer_core.store import DATA_FILE, KEYS_FILE, FamilyStore, RotationUnfinishedError, StoreBusyError, StoreLockedError
from fer_core.store import _audit as audit_module  # noqa: PLC2701 (the other session planted inside the store)
from fer_core.store import _store as store_module  # noqa: PLC2701 (the other session planted inside the store)
from governance import erasure
from tests.support import privacy_harness as h


def test_two_processes_enrolling_at_once_lose_nothing(tmp_path):
    assert h.concurrent_enrolment(tmp_path, per_process=8, processes=2) == [0, 0]
    opened, half_done, chain_ok = h.check_consistency(tmp_path)
    assert (opened, half_done, chain_ok) == (True, [], True)
    with h.open_store(tmp_path) as store:
        names = sorted(p.name for p in store.people())
        assert names == sorted(f"Worker{k} {i}" for k in range(2) for i in range(8))
        assert [e.event for e in store.audit_entries()].count("enrol") == 16


def test_two_sessions_in_threads_lose_nothing(tmp_path):
    h.new_store(tmp_path).close()
    errors = []

    def session(prefix: str) -> None:
        try:
            with FamilyStore(tmp_path) as store:
                store.unlock(h.PASSPHRASE)
                for i in range(6):
                    h.enrol(store, f"{prefix} {i}")
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(p,)) for p in ("Left", "Right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert h.check_consistency(tmp_path) == (True, [], True)
    with h.open_store(tmp_path) as store:
        assert len(store.people()) == 12


def test_keys_db_held_by_another_program_is_a_busy_store_and_nothing_changes(tmp_path):
    """keys.db's write lock held elsewhere for longer than the busy timeout (another session's scrub waiting on
    its readers, a program outside Unveil): an erasure or a rotation is refused with StoreBusyError, not a
    bare sqlite3 error, and changes nothing; once the lock is gone both go through."""
    with h.new_store(tmp_path) as store:
        ana = h.enrol(store, "Ana Lima")
    holder = sqlite3.connect(tmp_path / KEYS_FILE, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with FamilyStore(tmp_path, busy_timeout=0.1) as store:
            store.unlock(h.PASSPHRASE)
            with pytest.raises(StoreBusyError):
                erasure.purge_person(store, ana)
            with pytest.raises(StoreBusyError):
                store.rotate_master_key(h.PASSPHRASE + " rotated", scrypt=h.FAST_SCRYPT)
            assert store.is_unlocked and store.person_ids() == [ana]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert h.check_consistency(tmp_path) == (True, [], True)
    with h.open_store(tmp_path) as store:  # the old passphrase still opens it: the rotation never happened
        assert erasure.purge_person(store, ana).records["person"] == 1
        store.rotate_master_key(h.PASSPHRASE + " rotated", scrypt=h.FAST_SCRYPT)
        assert store.person_ids() == []


def test_a_store_opened_while_another_session_erases_everything_leaves_its_new_anchor_alone(tmp_path):
    """An erase-everything stages its new chain's anchor in keys.db, then commits unveil.db. A store opened in
    between (`unveil family list` in a terminal while the app erased everything) took the staged anchor for a
    crash's leftover, since the log did not yet hold the entry it names, and dropped it: once the erasure
    committed, keys.db named an entry of the old chain, and until the erasing session wrote the new anchor (for
    good if it died first, as here) the log read as cut or rolled back, which is tampering, and every sweep and
    backup was refused as damage."""
    h.new_store(tmp_path).close()  # no member: nothing of the erasure holds the write lock up at another open
    staged, go = threading.Event(), threading.Event()
    errors = []
    eraser = h.open_store(tmp_path)
    commit = eraser._commit

    def commit_when_told(conn: sqlite3.Connection) -> None:
        staged.set()
        assert go.wait(60)
        commit(conn)

    eraser._commit = commit_when_told
    eraser._after_commit = lambda: None  # the erasing process dies right after its commit

    def erase() -> None:
        try:
            erasure.erase_everything(eraser)
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=erase)
    thread.start()
    try:
        assert staged.wait(60)
        FamilyStore(tmp_path, busy_timeout=0.1).close()  # opened while the erasure is staged, not yet committed
    finally:
        go.set()
        thread.join()
    eraser.close()
    assert errors == []
    with h.open_store(tmp_path) as store:
        assert store.verify_audit().ok
        assert [entry.event for entry in store.audit_entries()] == ["erase_all"]
        assert store.check() == []
    assert h.query(tmp_path / KEYS_FILE, "SELECT value FROM meta WHERE key = 'audit_anchor_next'") == []


def test_a_store_opened_while_it_is_being_created_is_made_whole_once(tmp_path, monkeypatch):
    """FamilyStore.create places unveil.db, then keys.db. A session opening the store in between (a second tab of
    the app, a terminal) completes it with a keys.db of its own, as after a creation that stopped there; the
    creation then found a keys.db in its way, removed its unveil.db and raised LoneKeysFileError, and the folder
    was left with that lone keys.db: every later creation refused it, telling a new household to restore unveil.db
    from a backup."""
    place = store_module._place_new

    def opened_between(source: Path, target: Path) -> None:
        place(source, target)
        if target.name == DATA_FILE:
            FamilyStore(target.parent).close()

    monkeypatch.setattr(store_module, "_place_new", opened_between)
    with h.new_store(tmp_path) as store:
        monkeypatch.undo()
        ana = h.enrol(store, "Ana Lima")
        assert store.check() == [] and store.verify_audit().ok
    assert sorted(path.name for path in tmp_path.iterdir()) == [KEYS_FILE, DATA_FILE]
    with h.open_store(tmp_path) as store:
        assert store.person_ids() == [ana] and store.check() == [] and store.verify_audit().ok


def test_two_sessions_completing_a_store_without_keys_db_at_once_both_open_it(tmp_path, monkeypatch):
    """A store whose creation stopped between its two files (unveil.db, no keys.db) is completed by the first
    session that opens it. keys.db was built in place: a second session opening the store meanwhile read a keys.db
    without its tables yet and called the store damaged ("cannot be read ...; restore it from a backup")."""
    h.new_store(tmp_path).close()
    for path in tmp_path.glob(f"{KEYS_FILE}*"):
        path.unlink()
    new_db_file = store_module._new_db_file
    opened_meanwhile = []

    def another_session_opens(path: Path) -> None:
        new_db_file(path)
        if path.name == KEYS_FILE and not opened_meanwhile:
            opened_meanwhile.append(True)
            FamilyStore(tmp_path).close()

    monkeypatch.setattr(store_module, "_new_db_file", another_session_opens)
    FamilyStore(tmp_path).close()
    monkeypatch.undo()
    assert opened_meanwhile == [True]
    with h.open_store(tmp_path) as store:
        assert store.check() == [] and store.verify_audit().ok


def test_an_erasure_committed_while_keys_db_is_busy_gives_its_receipt(tmp_path):
    """After unveil.db commits an erasure, the erased member's key is deleted from keys.db. With keys.db's write
    lock held past the busy timeout by another session meanwhile (its scrub's checkpoint waits for readers with
    it), that deletion raised StoreBusyError, "nothing was changed", from an erasure that was made: `unveil family
    purge` gave no receipt, and the member could not be erased again to get one. The key goes at the next open."""
    with h.new_store(tmp_path) as store:
        ana = h.enrol(store, "Ana Lima")
    holder = sqlite3.connect(tmp_path / KEYS_FILE, isolation_level=None)
    store = FamilyStore(tmp_path, busy_timeout=0.1)
    store.unlock(h.PASSPHRASE)
    commit = store._commit

    def commit_then_keys_busy(conn: sqlite3.Connection) -> None:
        commit(conn)
        holder.execute("BEGIN IMMEDIATE")

    store._commit = commit_then_keys_busy
    try:
        receipt = erasure.purge_person(store, ana)
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()
        store.close()
    assert receipt.records["person"] == 1 and not receipt.storage_scrubbed
    with h.open_store(tmp_path) as store:  # the key is collected now
        assert store.person_ids() == [] and store.check() == [] and store.verify_audit().ok
        assert erasure.receipt_is_logged(store, receipt)
    assert h.query(tmp_path / KEYS_FILE, "SELECT owner FROM data_keys WHERE owner = ?", (ana,)) == []


def test_an_anchor_written_as_another_session_erases_everything_is_never_of_the_old_chain(tmp_path, monkeypatch):
    """After each entry its session copies the log's sealed head into keys.db (the anchor), after unveil.db's lock
    is released. The head was read, then written: another session erasing everything in between wrote its new
    chain's anchor, which the old chain's head read before then replaced. keys.db named an entry the log no longer
    held, and until the next entry the log read as cut or rolled back: tampering (a rotation in between, the same
    with the old key's seal: "forged")."""
    with h.new_store(tmp_path) as store:
        h.enrol(store, "Ana Lima")
    writer, eraser = h.open_store(tmp_path), h.open_store(tmp_path, busy_timeout=0.2)
    sealed_head = audit_module.sealed_head
    outcome = []

    def erase() -> None:
        try:
            outcome.append(erasure.erase_everything(eraser).records["people"])
        except StoreBusyError:
            outcome.append("busy")

    def erased_meanwhile(conn: sqlite3.Connection):
        head = sealed_head(conn)
        if threading.current_thread() is threading.main_thread() and not outcome:
            thread = threading.Thread(target=erase)
            thread.start()
            thread.join()
        return head

    monkeypatch.setattr(audit_module, "sealed_head", erased_meanwhile)
    try:
        writer.append_audit("retention_change", details={"kind": "analyses", "days": 7})
    finally:
        monkeypatch.undo()
        writer.close()
        eraser.close()
    assert outcome in ([1], ["busy"])
    with h.open_store(tmp_path) as store:
        assert store.verify_audit().ok and store.check() == []
        assert [entry.event for entry in store.audit_entries()][-1] == ("erase_all" if outcome == [1] else
                                                                         "retention_change")


def test_a_key_destroyed_while_the_sweeps_checks_run_is_not_damage(tmp_path):
    """A session that erased something destroys the keys once unveil.db committed, after its lock is released: a
    retention sweep may be checking the store under the lock by then. Its census of keys read keys.db's keys,
    then unveil.db, then keys.db's notes: a key read before it was destroyed and its note read after seemed a key
    that nothing uses and nothing explains, and the sweep was refused as damage (for a day in unveil serve)."""
    with h.new_store(tmp_path) as store:
        kept = store.add_analysis({"faces": 1})
    eraser, checker = h.open_store(tmp_path), h.open_store(tmp_path)
    bookkeeping = []
    eraser._after_commit = lambda: bookkeeping.append(list(eraser._shred_after_commit))  # held back: done below
    assert eraser.delete_analysis(kept)
    assert len(bookkeeping) == 1 and len(bookkeeping[0]) == 1
    owner_column = checker._thumbnail_owner_column

    def keys_destroyed_meanwhile(conn: sqlite3.Connection) -> str:
        while bookkeeping:
            eraser._delete_keys(bookkeeping.pop())  # the key and its note, as _after_commit destroys them
        return owner_column(conn)

    checker._thumbnail_owner_column = keys_destroyed_meanwhile
    try:
        checker.require_intact()
    finally:
        eraser.close()
        checker.close()
    assert bookkeeping == []
    with h.open_store(tmp_path) as store:
        assert store.analyses() == [] and store.check() == []


def test_a_check_while_another_session_deletes_a_kept_result_finds_no_damage(tmp_path):
    """`unveil family check` (or the Family page's "Check the store") reads the rows on a read snapshot and each
    key as it comes to it. A kept result deleted in another session meanwhile, its key destroyed after the commit,
    was read with no key to open it: "the data key ... has been destroyed", and the household was told the store
    was damaged and to restore it from a backup."""
    with h.new_store(tmp_path) as store:
        kept = store.add_analysis({"faces": 1})
    eraser, checker = h.open_store(tmp_path), h.open_store(tmp_path)
    unseal = checker._unseal
    deleted = []

    def deleted_meanwhile(owner: str, table: str, *args):
        if table == "analyses" and not deleted:
            deleted.append(eraser.delete_analysis(kept))
        return unseal(owner, table, *args)

    checker._unseal = deleted_meanwhile
    try:
        assert checker.check() == []
    finally:
        eraser.close()
        checker.close()
    assert deleted == [True]


def test_an_unlock_that_cannot_finish_another_sessions_rotation_leaves_the_session_locked(tmp_path):
    """A rotation that committed but could not yet re-wrap keys.db's data keys (keys.db busy in another session) is
    finished by the next unlock with the new passphrase. Busy there too, that unlock raised StoreBusyError but left
    the session unlocked under the new master, which opens none of the keys still wrapped under the old one:
    check() then called every data key "altered, corrupted or moved" (tampering), and a rotation from it failed."""
    new_passphrase = h.PASSPHRASE + " rotated"
    with h.new_store(tmp_path) as store:
        h.enrol(store, "Ana Lima")
    holder = sqlite3.connect(tmp_path / KEYS_FILE, isolation_level=None)
    rotating = FamilyStore(tmp_path, busy_timeout=0.1)
    rotating.unlock(h.PASSPHRASE)
    commit = rotating._commit

    def commit_then_keys_busy(conn: sqlite3.Connection) -> None:
        commit(conn)
        if not holder.in_transaction:
            holder.execute("BEGIN IMMEDIATE")

    rotating._commit = commit_then_keys_busy
    try:
        with pytest.raises(RotationUnfinishedError):
            rotating.rotate_master_key(new_passphrase, scrypt=h.FAST_SCRYPT)
        with FamilyStore(tmp_path, busy_timeout=0.1) as other:
            with pytest.raises(StoreBusyError):
                other.unlock(new_passphrase)
            assert not other.is_unlocked
            with pytest.raises(StoreLockedError):
                other.check()
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()
        rotating.close()
    with FamilyStore(tmp_path) as store:
        store.unlock(new_passphrase)  # finishes the rotation
        assert store.check() == [] and store.verify_audit().ok and len(store.people()) == 1
