"""The store's schema version across upgrades and downgrades.

A version 2 store as the code of 4-6 December wrote it is opened and unlocked by this code, and marked version 3:
the code of 4-6 December read only versions 1 and 2, and misread what this code writes into a version 2 store
(thumbnails and kept results under keys of their own, audit heads of format 2) as damage, and its erasure left
those thumbnail keys behind. A store of a version newer than this code reads is refused as too new, not as damaged.
"""
from __future__ import annotations

import contextlib
import sqlite3

import pytest

from fer_core.store import (
    DATA_FILE,
    TOO_NEW_MESSAGE,
    FamilyStore,
    StoreCorruptError,
    StoreTooNewError,
)
from tests.support import privacy_harness as h

# What the code of 4-6 December accepted when it opened a store (fer_core/store/_schema.py then).
VERSIONS_READ_BEFORE_3 = ("1", "2")


def _schema_version(data_dir) -> str:
    return h.query(data_dir / DATA_FILE, "SELECT value FROM meta WHERE key = 'schema_version'")[0][0]


def _set_schema_version(data_dir, version: str) -> None:
    with contextlib.closing(sqlite3.connect(data_dir / DATA_FILE, isolation_level=None)) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (version,))


@pytest.fixture
def version_2_store(tmp_path):
    """A store with a member and their thumbnail, its meta saying version 2 as the code of 4-6 December wrote it."""
    data_dir = tmp_path / "data"
    with h.new_store(data_dir) as store:
        pid = h.enrol(store, "Halle Berry")
    _set_schema_version(data_dir, "2")
    return data_dir, pid


def test_a_new_store_is_one_that_code_reading_only_versions_1_and_2_refuses(tmp_path):
    with h.new_store(tmp_path / "data"):
        pass
    assert _schema_version(tmp_path / "data") not in VERSIONS_READ_BEFORE_3


def test_a_version_2_store_opens_locked_as_it_is_and_is_marked_version_3_at_unlock(version_2_store):
    data_dir, pid = version_2_store
    with FamilyStore(data_dir) as store:
        assert _schema_version(data_dir) == "2"  # opening alone writes nothing of this code's
        store.unlock(h.PASSPHRASE)
        assert _schema_version(data_dir) not in VERSIONS_READ_BEFORE_3
        assert store.person(pid).thumbnails == 1 and len(store.thumbnails(pid)) == 1
        assert store.check() == [] and store.verify_audit().ok
        h.enrol(store, "Laura Bush")
    with FamilyStore(data_dir) as store:
        store.unlock(h.PASSPHRASE)
        assert [p.name for p in store.people()] == ["Halle Berry", "Laura Bush"]


def test_a_version_1_store_is_marked_version_3_at_unlock(version_2_store):
    data_dir, pid = version_2_store
    with contextlib.closing(sqlite3.connect(data_dir / DATA_FILE, isolation_level=None)) as conn:
        conn.execute("DROP TABLE manifests")
    _set_schema_version(data_dir, "1")
    with FamilyStore(data_dir) as store:
        store.unlock(h.PASSPHRASE)
        assert _schema_version(data_dir) not in VERSIONS_READ_BEFORE_3
        assert h.query(data_dir / DATA_FILE, "SELECT COUNT(*) FROM manifests") == [(1,)]
        assert store.check() == []


@pytest.mark.parametrize("version", ["4", "12"])
def test_a_store_of_a_newer_version_is_refused_as_too_new_and_left_as_it_is(version_2_store, version):
    data_dir, _ = version_2_store
    _set_schema_version(data_dir, version)
    before = h.query(data_dir / DATA_FILE, "SELECT seq, hash FROM audit")
    with pytest.raises(StoreTooNewError) as refused:
        FamilyStore(data_dir)
    assert str(refused.value) == TOO_NEW_MESSAGE.format(data_dir=data_dir, found=version, known="3")
    assert not isinstance(refused.value, StoreCorruptError)  # not 'restore it from a backup'
    assert _schema_version(data_dir) == version
    assert h.query(data_dir / DATA_FILE, "SELECT seq, hash FROM audit") == before


@pytest.mark.parametrize("version", ["", "two", "-1", "0", "2.5"])
def test_a_schema_version_that_is_no_version_is_damage(version_2_store, version):
    data_dir, _ = version_2_store
    _set_schema_version(data_dir, version)
    with pytest.raises(StoreCorruptError):
        FamilyStore(data_dir)
