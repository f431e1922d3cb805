"""Keys: the key slot's KDF parameters are bound and bounded, failed unlocks cannot grow the log,
keys do not outlive lock(), the master key can be rotated (crash-safely) so that an old copy of the
store and a leaked passphrase open nothing of today's keys, and older stores still open."""
from __future__ import annotations

import contextlib
import gc
import shutil
import sqlite3
import time
import types

import pytest

from fer_core.store import (
    DATA_FILE,
    KEYS_FILE,
    WRONG_PASSPHRASE_UNLOGGED,
    FamilyStore,
    TamperedDataError,
    WrongPassphraseError,
    _crypto,  # noqa: PLC2701 (these tests rebuild the key slots by hand to check their format)
    create_key_file,
)
from tests.support import privacy_harness as h
from unveil.cli import main

NEW_PASS = "a completely new passphrase"


@pytest.fixture
def data_dir(tmp_path):
    with h.new_store(tmp_path / "data") as store:
        h.enrol(store, "Halle Berry")
    return tmp_path / "data"


def _sql(path, sql: str, params: tuple = ()) -> None:
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute(sql, params)


def test_an_edited_scrypt_cost_is_refused_before_any_derivation(data_dir):
    # Within the old bounds (n <= 2**20, r <= 32, p <= 16) but 8 times the default work.
    _sql(data_dir / DATA_FILE, "UPDATE slots SET n = ?, r = 32, p = 16 WHERE kind = 'passphrase'", (2**14,))
    with FamilyStore(data_dir) as store:
        start = time.perf_counter()
        with pytest.raises(TamperedDataError) as err:
            store.unlock(h.PASSPHRASE)
        assert time.perf_counter() - start < 0.5
    assert str(err.value) == "the passphrase slot failed authentication: it was altered, corrupted or moved, and was not decrypted"
    with pytest.raises(ValueError, match=r"scrypt n\*r\*p must be at most 2\*\*21 \(twice the default cost\), got 8388608"):
        _crypto.ScryptParams(n=2**14, r=32, p=16)


def test_the_slot_binds_its_parameters(data_dir):
    salt, n, r, p, tag, wrapped = h.query(data_dir / DATA_FILE, "SELECT salt, n, r, p, check_tag, wrapped_master FROM slots")[0]
    kek = _crypto.passphrase_kek(h.PASSPHRASE, salt, _crypto.ScryptParams(n=n, r=r, p=p))
    assert _crypto.same(tag, _crypto.kek_check(kek, f"scrypt n={n} r={r} p={p}"))
    store_id = h.query(data_dir / DATA_FILE, "SELECT value FROM meta WHERE key = 'store_id'")[0][0]
    bound = _crypto.aad(store_id, "slots", "passphrase", "wrapped_master", "v2", f"scrypt n={n} r={r} p={p}")
    assert len(_crypto.unseal(kek, wrapped, bound, what="slot")) == 32


def _downgrade_to_format_1(data_dir, master: bytes) -> None:
    """Rewrite the passphrase slot and schema as a version 1 store had them."""
    store_id = h.query(data_dir / DATA_FILE, "SELECT value FROM meta WHERE key = 'store_id'")[0][0]
    salt, params = b"s" * 16, h.FAST_SCRYPT
    kek = _crypto.passphrase_kek(h.PASSPHRASE, salt, params)
    wrapped = _crypto.seal(kek, master, _crypto.aad(store_id, "slots", "passphrase", "wrapped_master"))
    with contextlib.closing(sqlite3.connect(data_dir / DATA_FILE, isolation_level=None)) as conn:
        conn.execute("UPDATE slots SET salt = ?, check_tag = ?, wrapped_master = ? WHERE kind = 'passphrase'",
                     (salt, _crypto.kek_check(kek), wrapped))
        conn.execute("DROP TABLE manifests")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        conn.execute("DELETE FROM meta WHERE key = 'master_id'")
    with contextlib.closing(sqlite3.connect(data_dir / KEYS_FILE, isolation_level=None)) as conn:
        conn.execute("DROP TABLE pending")
        conn.execute("DROP TABLE rewrap")


def _version_1_store_with_colin(data_dir):
    """A store as version 1 wrote it, with one member enrolled; returns their id."""
    with h.new_store(data_dir) as store:
        pid = h.enrol(store, "Colin Powell")
        master = bytes(store._master)
    _downgrade_to_format_1(data_dir, master)
    return pid


def test_a_version_1_store_opens_and_is_migrated_on_unlock(tmp_path):
    pid = _version_1_store_with_colin(tmp_path)
    with FamilyStore(tmp_path) as store:
        store.unlock(h.PASSPHRASE)
        assert store.person(pid).embeddings == 5
        assert h.query(tmp_path / DATA_FILE, "SELECT value FROM meta WHERE key = 'schema_version'") == [("3",)]
        assert h.query(tmp_path / DATA_FILE, "SELECT COUNT(*) FROM manifests") == [(1,)]
        h.enrol(store, "Laura Bush")  # keys.db gets its bookkeeping tables on the first new key
        assert store.check() == [] and store.verify_audit().ok
    salt, n, r, p, tag = h.query(tmp_path / DATA_FILE, "SELECT salt, n, r, p, check_tag FROM slots")[0]
    kek = _crypto.passphrase_kek(h.PASSPHRASE, salt, _crypto.ScryptParams(n=n, r=r, p=p))
    assert _crypto.same(tag, _crypto.kek_check(kek, f"scrypt n={n} r={r} p={p}"))  # rewritten in format 2
    with FamilyStore(tmp_path) as store:
        store.unlock(h.PASSPHRASE)
        assert sorted(p.name for p in store.people()) == ["Colin Powell", "Laura Bush"]


def test_a_version_1_store_can_rotate_its_master_key_before_any_other_key_change(tmp_path):
    # Its keys.db has no bookkeeping tables until its first key is made or destroyed; a rotation as the
    # first such change (after a leaked passphrase, right after upgrading) said the store could not be read.
    pid = _version_1_store_with_colin(tmp_path)
    with FamilyStore(tmp_path) as store:
        store.unlock(h.PASSPHRASE)
        store.rotate_master_key(NEW_PASS, scrypt=h.FAST_SCRYPT)
    with FamilyStore(tmp_path) as store:
        with pytest.raises(WrongPassphraseError):
            store.unlock(h.PASSPHRASE)
        store.unlock(NEW_PASS)
        assert store.person(pid).embeddings == 5
        assert store.check() == [] and store.verify_audit().ok


def test_repeated_wrong_passphrases_update_one_entry(data_dir):
    with FamilyStore(data_dir) as store:
        before = store.counts()["audit"]
        for _ in range(5):
            with pytest.raises(WrongPassphraseError):
                store.unlock("not the passphrase")
        assert store.counts()["audit"] == before + 1
        last = store.audit_entries()[-1]
        assert (last.event, last.sealed, last.details["method"], last.details["attempts"]) == ("unlock_failed", False, "passphrase", 5)
        assert last.details["last_at"] >= last.ts
        store.unlock(h.PASSPHRASE)
        assert store.verify_audit().ok


def test_a_failed_unlock_entry_with_an_edited_count_is_followed_not_rewritten(data_dir):
    # Its details are not sealed (whoever failed had no key): an edited count must not make the next
    # wrong passphrase raise something untyped.
    with FamilyStore(data_dir) as store:
        with pytest.raises(WrongPassphraseError):
            store.unlock("not the passphrase")
        seq = store.audit_entries()[-1].seq
    _sql(data_dir / DATA_FILE, "UPDATE audit SET details = ? WHERE seq = ?",
         ('{"attempts": "many", "method": "passphrase"}', seq))
    with FamilyStore(data_dir) as store:
        with pytest.raises(WrongPassphraseError):
            store.unlock("not the passphrase")
        last = store.audit_entries()[-1]
        assert (last.seq, last.event, last.details.get("attempts", 1)) == (seq + 1, "unlock_failed", 1)
        assert not store.verify_audit().ok  # the edit itself breaks the chain at that entry


def test_a_wrong_passphrase_that_cannot_be_logged_says_nothing_changed(tmp_path):
    with h.new_store(tmp_path, busy_timeout=0.1):
        pass
    with contextlib.closing(sqlite3.connect(tmp_path / DATA_FILE, isolation_level=None)) as writer:
        writer.execute("BEGIN IMMEDIATE")  # another session holds the write lock
        with FamilyStore(tmp_path, busy_timeout=0.1) as store, pytest.raises(WrongPassphraseError) as err:
            store.unlock("not the passphrase")
        writer.execute("ROLLBACK")
    assert str(err.value) == WRONG_PASSPHRASE_UNLOGGED == "wrong passphrase: the store stays locked and nothing was changed"


def _reachable(root: object) -> list[object]:
    """Every object reachable from `root`, not following modules, classes or functions."""
    seen, stack, out = set(), [root], []
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (types.ModuleType, type, types.FunctionType)):
            continue
        seen.add(id(obj))
        out.append(obj)
        stack.extend(gc.get_referents(obj))
    return out


@pytest.mark.parametrize("action", ["lock", "close"])
def test_lock_and_close_leave_no_key_in_the_store(data_dir, action):
    store = h.open_store(data_dir)
    store.gallery()  # loads the data keys
    held = [store._master, store._audit_key, *store._data_keys.values()]
    secrets = [bytes(key) for key in held]
    getattr(store, action)()
    assert all(isinstance(key, bytearray) and not any(key) for key in held)  # overwritten, not just dropped
    for obj in _reachable(store):
        if isinstance(obj, (bytes, bytearray)):
            assert not any(secret in obj for secret in secrets)
    store.close()


def test_rotation_locks_out_an_old_copy_and_the_old_passphrase(data_dir, tmp_path):
    old_copy = tmp_path / "old"
    old_copy.mkdir()
    with h.open_store(data_dir) as store:
        pid = store.person_ids()[0]
        store.set_retention("analyses", 7)  # sealed under the master key: re-sealed by the rotation
        store.scrub()
        shutil.copy2(data_dir / DATA_FILE, old_copy / DATA_FILE)  # a backup holding the old slot
        assert store.rotate_master_key(NEW_PASS, scrypt=h.FAST_SCRYPT)
        assert store.person(pid).name == "Halle Berry"
        assert store.verify_audit().ok and store.check() == []
        assert store.audit_entries()[-1].details == {"slot": "master", "action": "rotated", "key_file": "none"}
    with FamilyStore(data_dir) as store:
        with pytest.raises(WrongPassphraseError):
            store.unlock(h.PASSPHRASE)
        store.unlock(NEW_PASS)
        assert store.person(pid).embeddings == 5
    shutil.copy2(data_dir / KEYS_FILE, old_copy / KEYS_FILE)  # the thief's old copy with today's keys
    with FamilyStore(old_copy) as old:
        old.unlock(h.PASSPHRASE)  # the old slot still opens the old master key ...
        with pytest.raises(TamperedDataError) as err:
            old.person(pid)  # ... which unwraps none of today's data keys
        assert str(err.value).startswith(f"the data key of {pid} failed authentication")


def test_rotation_drops_or_rewraps_the_key_file(data_dir, tmp_path):
    key = create_key_file(tmp_path / "k.key")
    with h.open_store(data_dir) as store:
        store.set_key_file(key)
        store.rotate_master_key(NEW_PASS, scrypt=h.FAST_SCRYPT, key_file=key)
        assert store.has_key_file
        store.rotate_master_key(NEW_PASS + "!", scrypt=h.FAST_SCRYPT)
        assert not store.has_key_file and store.audit_entries()[-1].details["key_file"] == "removed"


def test_a_rotation_interrupted_after_its_commit_is_finished_at_unlock(data_dir, monkeypatch):
    def crash(self, master_id):
        raise KeyboardInterrupt

    with h.open_store(data_dir) as store:
        pid = store.person_ids()[0]
        monkeypatch.setattr(FamilyStore, "_finish_rewrap", crash)
        with pytest.raises(KeyboardInterrupt):
            store.rotate_master_key(NEW_PASS, scrypt=h.FAST_SCRYPT)
        monkeypatch.undo()
    # Every data key (the member's and their thumbnail's) staged, wrapped under the new master key.
    assert h.query(data_dir / KEYS_FILE, "SELECT COUNT(*) FROM rewrap") == h.query(data_dir / KEYS_FILE, "SELECT COUNT(*) FROM data_keys") == [(2,)]
    with FamilyStore(data_dir) as store:
        store.unlock(NEW_PASS)
        assert store.person(pid).name == "Halle Berry" and store.check() == []
    assert h.query(data_dir / KEYS_FILE, "SELECT COUNT(*) FROM rewrap") == [(0,)]


def test_a_rotation_interrupted_before_its_anchor_moved_still_verifies(data_dir, monkeypatch):
    # The new slot and the re-sealed log committed; the copy of the head in keys.db still carries
    # the old key's seal. The next unlock puts the anchor sealed under the new key in its place.
    def crash(self):
        raise KeyboardInterrupt

    with h.open_store(data_dir) as store:
        monkeypatch.setattr(FamilyStore, "_write_anchor", crash)
        with pytest.raises(KeyboardInterrupt):
            store.rotate_master_key(NEW_PASS, scrypt=h.FAST_SCRYPT)
        monkeypatch.undo()
    with FamilyStore(data_dir) as store:
        store.unlock(NEW_PASS)
        result = store.verify_audit()
        assert (result.ok, result.anchored) == (True, True)
        assert store.check() == []


def test_a_rotation_that_never_committed_leaves_the_old_keys(data_dir, monkeypatch):
    with h.open_store(data_dir) as store:
        pid = store.person_ids()[0]
        monkeypatch.setattr(FamilyStore, "_write_passphrase_slot", classmethod(lambda *a: (_ for _ in ()).throw(OSError("boom"))))
        with pytest.raises(OSError):
            store.rotate_master_key(NEW_PASS, scrypt=h.FAST_SCRYPT)
        monkeypatch.undo()
        assert store.person(pid).name == "Halle Berry"
    assert h.query(data_dir / KEYS_FILE, "SELECT COUNT(*) FROM rewrap") == [(0,)]
    with h.open_store(data_dir) as store:
        assert store.check() == []


def test_passwd_rotate_from_the_shell(data_dir, monkeypatch, capsys):
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    monkeypatch.setenv("UNVEIL_NEW_PASSPHRASE", NEW_PASS)
    assert main(["family", "passwd", "--rotate", "--data-dir", str(data_dir)]) == 0
    assert capsys.readouterr().out == ("passphrase changed and master key replaced: copies of the store made before now "
                                       "no longer open today's data keys, with either passphrase\n")
    monkeypatch.setenv("UNVEIL_PASSPHRASE", NEW_PASS)
    assert main(["family", "check", "--data-dir", str(data_dir)]) == 0


def test_passwd_rotate_that_fails_leaves_no_key_file_it_made(data_dir, tmp_path, monkeypatch, capsys):
    """`family passwd --rotate --add-key-file F` made F (and said to keep it apart from backups) before rotating: a
    rotation that failed (a busy store) left F behind, unlocking nothing. F is removed unless the rotation committed
    (then F unlocks the store and stays); a key file that was there before is kept."""
    from fer_core.store import StoreBusyError

    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    monkeypatch.setenv("UNVEIL_NEW_PASSPHRASE", NEW_PASS)
    key = tmp_path / "new.key"
    args = ["family", "passwd", "--rotate", "--add-key-file", str(key), "--data-dir", str(data_dir)]

    def busy(self, *args, **kwargs):
        raise StoreBusyError(5)

    monkeypatch.setattr(FamilyStore, "_stage_rewrap", busy)
    assert main(args) == 1
    assert capsys.readouterr().out == "" and not key.exists()
    create_key_file(key)  # a key file of the user's own, there before: never removed
    assert main(args) == 1 and key.exists()
    key.unlink()
    monkeypatch.undo()

    def crash(self, master_id):
        raise KeyboardInterrupt

    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    monkeypatch.setenv("UNVEIL_NEW_PASSPHRASE", NEW_PASS)
    monkeypatch.setattr(FamilyStore, "_finish_rewrap", crash)  # after the new slots committed: F is needed
    assert main(args) == 130 and key.exists()
    monkeypatch.undo()
    with FamilyStore(data_dir) as store:
        store.unlock(key_file=key)
        assert store.check() == []
    capsys.readouterr()

    monkeypatch.setenv("UNVEIL_PASSPHRASE", NEW_PASS)
    monkeypatch.setenv("UNVEIL_NEW_PASSPHRASE", NEW_PASS + "!")
    other = tmp_path / "other.key"
    assert main([*args[:4], str(other), *args[5:]]) == 0
    assert capsys.readouterr().out.startswith(f"created key file {other} (mode 0600)")
    with FamilyStore(data_dir) as store:
        store.unlock(key_file=other)
        assert store.person_ids()


def test_passwd_add_key_file_that_fails_leaves_no_key_file_it_made(data_dir, tmp_path, monkeypatch, capsys):
    from fer_core.store import StoreBusyError

    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    monkeypatch.setenv("UNVEIL_NEW_PASSPHRASE", NEW_PASS)
    key = tmp_path / "new.key"
    args = ["family", "passwd", "--add-key-file", str(key), "--data-dir", str(data_dir)]

    def busy(self, *args, **kwargs):
        raise StoreBusyError(5)

    monkeypatch.setattr(FamilyStore, "set_key_file", busy)
    assert main(args) == 1
    assert capsys.readouterr().out == "" and not key.exists()
    monkeypatch.undo()
    monkeypatch.setenv("UNVEIL_PASSPHRASE", NEW_PASS)
    monkeypatch.setenv("UNVEIL_NEW_PASSPHRASE", NEW_PASS)
    assert main(args) == 0
    assert capsys.readouterr().out == f"created key file {key} (mode 0600): keep it apart from backups of the store\n" \
                                      "passphrase changed\n"
    with FamilyStore(data_dir) as store:
        store.unlock(key_file=key)
        assert store.key_file_unlocks(key) and not store.key_file_unlocks(create_key_file(tmp_path / "other.key"))
