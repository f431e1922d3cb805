"""governance.family.gallery: what every front end names faces with holds only members whose consent is
in force now, also between two retention sweeps, and a damaged consent record leaves out only its member."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np

from fer_core.store import DATA_FILE
from governance import consent, family
from governance.consent import ConsentRecord

VECTORS = np.eye(4, dtype=np.float32) * 5


@dataclass(frozen=True)
class Model:
    """What family.gallery reads of an identity model."""

    name: str = "fake"
    threshold: float = 1.0
    distance: str = "euclidean"


def _enrol(store, name: str, row: int, days: int) -> str:
    record = ConsentRecord.new(subject=name, purpose="name family members", days=days, now=consent.store_now(store))
    return family.enroll(store, name, VECTORS[row:row + 1], record, model=Model.name).person_id


def _named(store) -> list[str]:
    built = family.gallery(store, Model())
    return [] if built is None else sorted(built.labels.values())


def test_a_member_is_named_only_while_their_consent_is_in_force(store, clock):
    _enrol(store, "Ana Lima", 0, days=30)
    _enrol(store, "Bruno Lima", 1, days=365)
    assert _named(store) == ["Ana Lima", "Bruno Lima"]
    clock.advance(days=31)  # no sweep has run: Ana is still stored, but may not be named
    assert _named(store) == ["Bruno Lima"]
    assert [m.name for m in family.members(store)] == ["Ana Lima", "Bruno Lima"]
    clock.advance(days=365)
    assert family.gallery(store, Model()) is None


def test_a_member_without_a_consent_record_is_not_named(store):
    _enrol(store, "Ana Lima", 0, days=30)
    stray = store.add_person("Caio Lima")  # written past governance: no consent
    store.add_embeddings(stray, VECTORS[2:3], model=Model.name)
    assert _named(store) == ["Ana Lima"]


def test_a_damaged_consent_record_leaves_out_only_its_member(store):
    ana = _enrol(store, "Ana Lima", 0, days=30)
    _enrol(store, "Bruno Lima", 1, days=30)
    with sqlite3.connect(store.data_dir / DATA_FILE, isolation_level=None) as conn:
        (sealed,) = conn.execute("SELECT details FROM consents WHERE person_id = ?", (ana,)).fetchone()
        conn.execute("UPDATE consents SET details = ? WHERE person_id = ?", (sealed[:-1] + bytes([sealed[-1] ^ 1]), ana))
    conn.close()
    assert _named(store) == ["Bruno Lima"]
