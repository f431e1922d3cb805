"""Tampering: 100 randomised single-byte corruptions of stored ciphertexts are all detected and
refused, and the rest of the store keeps working; a damaged key slot is told apart from a wrong
passphrase."""
from __future__ import annotations

import sqlite3

import pytest

from fer_core.store import DATA_FILE, FamilyStore, TamperedDataError
from tests.support import privacy_harness as h


@pytest.fixture(scope="module")
def corrupted_trials(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("tamper")
    expected = h.build_corruption_store(data_dir)
    return h.corruption_trials(data_dir, expected, n=100, seed=20240605), h.sealed_cells(data_dir)


def test_every_corruption_is_detected(corrupted_trials):
    trials, _ = corrupted_trials
    assert len(trials) == 100
    assert [t for t in trials if not t.detected] == []


def test_every_corrupted_value_is_refused_not_decrypted(corrupted_trials):
    trials, _ = corrupted_trials
    assert [t for t in trials if not t.refused] == []


def test_the_rest_of_the_store_keeps_working(corrupted_trials):
    trials, _ = corrupted_trials
    assert [t for t in trials if not t.rest_ok] == []
    assert [t for t in trials if not t.restored_ok] == []


def test_corruptions_cover_every_kind_of_ciphertext(corrupted_trials):
    trials, cells = corrupted_trials
    kinds = {"people", "embeddings", "thumbnails", "consents", "analyses", "audit", "data_keys"}
    assert {c.table for c in cells} == kinds
    assert {t.cell.table for t in trials} == kinds
    assert len({(t.cell.table, t.cell.key) for t in trials}) >= 25  # most stored values, not a few over and over


def test_damaged_key_slot_is_not_called_a_wrong_passphrase(tmp_path):
    h.new_store(tmp_path).close()
    with sqlite3.connect(tmp_path / DATA_FILE, isolation_level=None) as conn:
        wrapped = bytearray(conn.execute("SELECT wrapped_master FROM slots").fetchone()[0])
        wrapped[-1] ^= 0x01
        conn.execute("UPDATE slots SET wrapped_master = ?", (bytes(wrapped),))
    conn.close()
    with FamilyStore(tmp_path) as store, pytest.raises(TamperedDataError) as err:
        store.unlock(h.PASSPHRASE)
    assert str(err.value) == "the passphrase slot failed authentication: it was altered, corrupted or moved, and was not decrypted"


def test_gallery_can_skip_a_damaged_person(tmp_path):
    with h.new_store(tmp_path) as store:
        good, bad = h.enrol(store, "Halle Berry"), h.enrol(store, "Hamid Karzai")
    with sqlite3.connect(tmp_path / DATA_FILE, isolation_level=None) as conn:
        conn.execute("UPDATE people SET name = substr(name, 1, 20) || x'00' || substr(name, 22) WHERE id = ?", (bad,))
    conn.close()
    with h.open_store(tmp_path) as store:
        with pytest.raises(TamperedDataError):
            store.gallery()
        assert [entry.name for entry in store.gallery(errors="skip")] == ["Halle Berry"]
        assert [(d.table, d.row) for d in store.check()] == [("people", bad)]
        assert store.person(good).name == "Halle Berry"


def test_byte_flips_anywhere_are_detected_or_harmless_and_delete_nothing(tmp_path):
    # One flip in every table and index of both files (benchmarks/privacy_figures.py does 200).
    expected = h.build_campaign_store(tmp_path / "pristine")
    trials = h.flip_trials(tmp_path / "pristine", expected, tmp_path / "work", n=35, seed=11)
    assert len({(t.file, t.tree) for t in trials}) == 35
    assert [t for t in trials if t.outcome == "silent" or t.untyped or t.destructive] == []
