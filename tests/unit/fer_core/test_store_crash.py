"""kill -9 during enrolment, purge, sweep, passphrase change and master-key rotation: the store opens,
holds each operation whole or not at all, and the audit chain verifies. Random kills here (12, to stay
fast; benchmarks/privacy_figures.py does 50), plus kills placed exactly in the windows between the two
files' commits."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from fer_core.store import KEYS_FILE
from tests.support import privacy_harness as h
from tests.support.paths import REPO


def test_random_kills_during_enrol_and_purge(tmp_path):
    trials = h.crash_trials(tmp_path, n=12, seed=7)
    assert [t for t in trials if not t.opened] == []
    assert [t.half_done for t in trials if t.half_done] == []
    assert all(t.chain_ok for t in trials)


def _die_at(data_dir, patch: str, action: str) -> None:
    """Run `action` in a subprocess whose FamilyStore kills itself (SIGKILL) where `patch` says."""
    code = textwrap.dedent(f"""
        import os, signal, sys
        from tests.support import privacy_harness as h
        from fer_core.store._store import FamilyStore
        from governance import erasure
        def die(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)
        store = h.open_store(__import__('pathlib').Path({str(data_dir)!r}))
        {patch}
        {action}
        print("survived")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == -9, proc.stdout + proc.stderr


def _consistent(data_dir):
    opened, half_done, chain_ok = h.check_consistency(data_dir)
    assert (opened, half_done, chain_ok) == (True, [], True)


@pytest.fixture
def store_dir(tmp_path):
    with h.new_store(tmp_path) as store:
        h.enrol(store, "Halle Berry")
        h.enrol(store, "Hamid Karzai")
    return tmp_path


def test_killed_after_the_key_but_before_the_rows_enrols_no_one(store_dir):
    # The new data key is committed to keys.db first; die before unveil.db commits the person.
    patch = ("orig = FamilyStore._new_data_key\n"
             "        FamilyStore._new_data_key = lambda self, owner: (orig(self, owner), die())")
    keys = h.query(store_dir / KEYS_FILE, "SELECT owner FROM data_keys ORDER BY owner")
    _die_at(store_dir, patch, "h.enrol(store, 'Jackie Chan')")
    assert len(h.query(store_dir / KEYS_FILE, "SELECT owner FROM data_keys")) == len(keys) + 1  # the orphan key, for now
    _consistent(store_dir)  # opening deleted it
    with h.open_store(store_dir) as store:
        assert sorted(p.name for p in store.people()) == ["Halle Berry", "Hamid Karzai"]
    assert h.query(store_dir / KEYS_FILE, "SELECT owner FROM data_keys ORDER BY owner") == keys


def test_killed_after_the_rows_but_before_the_key_completes_the_purge(store_dir):
    # The purge commits in unveil.db; die before its key is deleted from keys.db.
    with h.open_store(store_dir) as store:
        victim = store.find_person("Halle Berry").id
    _die_at(store_dir, "FamilyStore._delete_keys = die", f"erasure.purge_person(store, {victim!r})")
    assert (victim,) in h.query(store_dir / KEYS_FILE, "SELECT owner FROM data_keys")
    _consistent(store_dir)  # opening destroyed the key the purge had not reached
    assert (victim,) not in h.query(store_dir / KEYS_FILE, "SELECT owner FROM data_keys")
    with h.open_store(store_dir) as store:
        assert [p.name for p in store.people()] == ["Hamid Karzai"]
        assert [e.event for e in store.audit_entries()][-1] == "purge"


def test_killed_while_scrubbing_keeps_the_purge(store_dir):
    with h.open_store(store_dir) as store:
        victim = store.find_person("Hamid Karzai").id
    _die_at(store_dir, "FamilyStore._scrub_connection = die", f"erasure.purge_person(store, {victim!r})")
    _consistent(store_dir)
    with h.open_store(store_dir) as store:
        assert [p.name for p in store.people()] == ["Halle Berry"]


def test_killed_mid_transaction_leaves_nothing(store_dir):
    # Die after the person and consent rows are written but before the embeddings: one transaction.
    patch = "FamilyStore.add_embeddings = die"
    _die_at(store_dir, patch, "h.enrol(store, 'Jackie Chan')")
    _consistent(store_dir)
    with h.open_store(store_dir) as store:
        assert store.counts()["people"] == 2 and len(store.audit_entries()) == 5

