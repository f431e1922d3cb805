"""Stores and backups that earlier releases wrote, opened by this code: tests/fixtures/stores, made by those releases
themselves (tools/make_store_fixture.py; how, in tests/fixtures/stores/README.md). test_store_versions marks a store
of this code version 2 to stand for an old one; these are the old releases' own files (their audit heads, slots,
manifests, key bookkeeping and kept results as written then), so a change here that stops reading them fails.

Each holds three members (Ana with two thumbnails, Ben, Dora whose consent was narrowed to recognition), two kept
results (one naming Caio), and Caio erased with his deletion receipt; its backup was made after that."""
from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import zlib
from pathlib import Path

import numpy as np
import pytest

from fer_core.identity import load_embedding_model
from fer_core.store import DATA_FILE, KEYS_FILE, FamilyStore
from governance import family, kept_results, receipts, restoring
from tests.support import privacy_harness as h
from tests.support.paths import REPO

FIXTURES = REPO / "tests" / "fixtures" / "stores"
STORES = sorted(path.name for path in FIXTURES.iterdir() if path.is_dir())


def _embeddings(name: str, count: int) -> np.ndarray:
    """As tools/make_store_fixture.py made them."""
    return np.random.default_rng(zlib.crc32(name.encode())).standard_normal((count, 192)).astype(np.float32)


@pytest.fixture(params=STORES)
def old(request, tmp_path) -> tuple[Path, dict]:
    """A copy of one release's store and backup (the committed files are never opened), and what it holds."""
    shutil.copytree(FIXTURES / request.param, tmp_path / request.param)
    folder = tmp_path / request.param
    return folder, json.loads((folder / "expected.json").read_text())


def _holds_what_it_held(store: FamilyStore, expected: dict) -> None:
    store.require_intact()
    assert store.check() == [] and store.verify_audit().ok
    members = {m.person_id: [m.name, m.embeddings, m.thumbnails] for m in family.members(store)}
    assert members == expected["members"]
    for person_id, (name, count, _) in expected["members"].items():
        np.testing.assert_array_equal(store.embeddings(person_id, model=expected["model"]), _embeddings(name, count))
    assert [result.faces for result in kept_results.kept(store)] == expected["kept"]


def test_there_are_stores_of_both_versions_before_this_one():
    assert {name.split("_")[0] for name in STORES} == {"v2", "v3"}


def test_an_old_store_opens_whole_and_its_receipt_still_verifies(old):
    folder, expected = old
    with FamilyStore(folder / "data") as store:
        store.unlock(expected["passphrase"])
        _holds_what_it_held(store, expected)
        check = receipts.check(store, receipts.read((folder / "receipt.json").read_text()))
        assert check.ok and check.receipt.subject == expected["erased"]
        # The shipped identity model names them: their prints were tagged with its file name alone.
        model = load_embedding_model()
        assert model.name == expected["model"] and not any(m.must_reenrol(model.name) for m in family.members(store))
        assert {entry.person_id for entry in store.gallery(model=model.name)} == set(expected["members"])


def test_an_old_backup_restores_checked(old, tmp_path):
    folder, expected = old
    done = restoring.restore(tmp_path / "new-computer", folder / "backup", passphrase=expected["passphrase"])
    with done.store as store:
        _holds_what_it_held(store, expected)
        assert store.audit_entries()[-1].event == restoring.RESTORED_EVENT
    assert sorted(p.name for p in (tmp_path / "new-computer").iterdir()) == sorted([DATA_FILE, KEYS_FILE])


def _layout(data_dir: Path) -> dict[str, dict[str, list[str] | str]]:
    """Each file's tables (their columns, in order) and indexes."""
    layout = {}
    for file in (DATA_FILE, KEYS_FILE):
        with contextlib.closing(sqlite3.connect(f"file:{data_dir / file}?mode=ro", uri=True)) as conn:
            layout[file] = {name: [row[1] for row in conn.execute(f"PRAGMA table_info({name})")] if kind == "table"
                            else "index" for name, kind in conn.execute(
                                "SELECT name, type FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")}
    return layout


def test_a_new_store_has_the_tables_the_release_that_wrote_store_version_3_reads(tmp_path):
    """The releases since 7 December 2026 read store version 3 as 5d085ac wrote it. A table or column this code
    writes that they do not know could be misread, or lost when they change the store: then SCHEMA_VERSION must go
    up (fer_core/store/_schema.py), so that they refuse the store as too new, and a fixture of the new version
    be made (tests/fixtures/stores/README.md) to compare with here."""
    with h.new_store(tmp_path / "data"):
        pass
    assert h.query(tmp_path / "data" / DATA_FILE, "SELECT value FROM meta WHERE key = 'schema_version'") == [("3",)]
    shutil.copytree(FIXTURES / "v3_5d085ac" / "data", tmp_path / "v3")  # SQLite leaves -shm files where it reads
    assert _layout(tmp_path / "data") == _layout(tmp_path / "v3")

