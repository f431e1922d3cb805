"""Two sessions on one store (the app, `unveil watch`, `unveil serve`, a CLI command), one of them writing or
rotating the master key while the other reads or unlocks. What the reader was doing began before the other's
commit: it must never call that damage (a data key "altered", an audit log "cut or rolled back"), and a key
rotated under it is MasterKeyChangedError, never a misleading "unlock it first".

The other session's work is run at an exact point of the reader's call (an injected step, as in
test_store_crash.py), not raced with timing. The races themselves were seen with real processes: `check()` in a
loop beside `rotate_master_key` in a loop reported 20 of 260 checks as damaged data keys; `verify_audit()` beside
`unveil watch`'s recognition counts reported 1 in 1,225 verifications as a log rolled back."""
from __future__ import annotations

import pytest

from fer_core.store import FamilyStore, MasterKeyChangedError, StoreLockedError
from governance import erasure, family
from tests.support import privacy_harness as h

ROTATED = h.PASSPHRASE + " rotated"


@pytest.fixture
def data_dir(tmp_path):
    with h.new_store(tmp_path) as store:
        h.enrol(store, "Ana Lima")
        h.enrol(store, "Bruno Costa")
    return tmp_path


def _once(monkeypatch, method: str, session: FamilyStore, step, *, after: bool = False) -> None:
    """Run `step` the first time `session` calls FamilyStore.`method` (before the call, or just after it)."""
    original = getattr(FamilyStore, method)
    done = []

    def patched(self, *args, **kwargs):
        if self is not session or done:
            return original(self, *args, **kwargs)
        done.append(True)
        if not after:
            step()
            return original(self, *args, **kwargs)
        result = original(self, *args, **kwargs)
        step()
        return result

    monkeypatch.setattr(FamilyStore, method, patched)


def _rotate(data_dir, passphrase: str = h.PASSPHRASE):
    def step():
        # A short busy timeout: the scrub after the rotation waits for the reader's open read, paused here.
        with FamilyStore(data_dir, busy_timeout=0.2) as other:
            other.unlock(h.PASSPHRASE)
            other.rotate_master_key(passphrase, scrypt=h.FAST_SCRYPT)
    return step


def _intact(data_dir, passphrase: str = h.PASSPHRASE) -> None:
    with FamilyStore(data_dir) as store:
        store.unlock(passphrase)
        assert store.check() == [] and store.verify_audit().ok
        assert sorted(p.name for p in store.people()) == ["Ana Lima", "Bruno Costa"]


def test_a_read_that_began_before_another_session_rotated_the_key_is_a_changed_key_not_damage(data_dir, monkeypatch):
    reader = h.open_store(data_dir)
    # The reader's read has begun (its snapshot holds the old master's id) when the rotation commits and
    # re-wraps the data keys: the first key it then unwraps is wrapped under the new master.
    _once(monkeypatch, "_data_key", reader, _rotate(data_dir))
    with reader:
        with pytest.raises(MasterKeyChangedError):
            reader.people()  # was TamperedDataError: "the data key of ... was altered, corrupted or moved"
        assert not reader.is_unlocked
        with pytest.raises(MasterKeyChangedError):  # what it is asked next says so too, not "unlock it first"
            family.count_recognitions(reader, [None])
        reader.unlock(h.PASSPHRASE)
        assert len(reader.people()) == 2
        reader.lock()
        with pytest.raises(StoreLockedError) as locked:
            reader.people()
        assert not isinstance(locked.value, MasterKeyChangedError)
    _intact(data_dir)


def test_a_check_made_while_another_session_rotates_the_key_reports_no_damage(data_dir, monkeypatch):
    reader = h.open_store(data_dir)
    # check() reads keys.db's wrapped keys at once and unwraps them one by one: the rotation lands in between.
    _once(monkeypatch, "_keys_conn", reader, _rotate(data_dir), after=True)
    with reader, pytest.raises(MasterKeyChangedError):
        reader.check()  # was a list of Damage: every data key "failed authentication"
    _intact(data_dir)


def test_a_verification_beside_another_sessions_audit_entry_is_no_rollback(data_dir, monkeypatch):
    reader, writer = h.open_store(data_dir), h.open_store(data_dir)
    # The writer commits an entry and then anchors it in keys.db: an anchor read after the reader's log was
    # read names an entry that log does not hold yet.
    _once(monkeypatch, "_audit_anchor", reader, lambda: family.count_recognitions(writer, [None]))
    with reader, writer:
        verification = reader.verify_audit()
        assert verification.ok, verification.reason  # was "keys.db records entry N of the log, which ... rolled back"
        assert reader.verify_audit().ok


@pytest.mark.parametrize("reset", ["erase everything", "rotate"])
def test_a_verification_beside_a_log_reset_or_resealed_is_made_again(data_dir, monkeypatch, reset):
    reader, writer = h.open_store(data_dir), h.open_store(data_dir)
    # Between the reader's anchor read and its log read, another session starts a new log or reseals it.
    step = (lambda: erasure.erase_everything(writer)) if reset == "erase everything" else (
        lambda: writer.rotate_master_key(h.PASSPHRASE, scrypt=h.FAST_SCRYPT))
    _once(monkeypatch, "_audit_anchor", reader, step, after=True)
    with reader, writer:
        if reset == "rotate":
            with pytest.raises(MasterKeyChangedError):
                reader.verify_audit()
        else:
            verification = reader.verify_audit()
            assert verification.ok, verification.reason


def test_an_unlock_while_another_session_rotates_the_key_opens_the_new_slot(data_dir, monkeypatch):
    reader = FamilyStore(data_dir)
    # The slot was read (and opened) just before the rotation committed, with the same passphrase.
    _once(monkeypatch, "_open_slot", reader, _rotate(data_dir), after=True)
    with reader:
        reader.unlock(h.PASSPHRASE)  # was unlocked under the old master: its first read raised StoreLockedError
        assert sorted(p.name for p in reader.people()) == ["Ana Lima", "Bruno Costa"]
    _intact(data_dir)


def test_an_unlock_while_another_session_rotates_to_a_new_passphrase_is_no_failed_attempt(data_dir, monkeypatch):
    reader = FamilyStore(data_dir)
    _once(monkeypatch, "_open_slot", reader, _rotate(data_dir, ROTATED), after=True)
    with reader:
        with pytest.raises(MasterKeyChangedError):
            reader.unlock(h.PASSPHRASE)
        assert not reader.is_unlocked
        assert "unlock_failed" not in [e.event for e in reader.audit_entries()]
    _intact(data_dir, ROTATED)
