"""governance.family.gallery: what every front end names faces with holds only members whose consent is
in force now, also between two retention sweeps, and a damaged consent record leaves out only its member."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import timedelta

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


def test_a_member_erased_while_the_members_are_read_is_left_out_not_an_error(store, monkeypatch):
    """family.members lists the people, then reads each one's consent: a member erased in between (by the daily
    retention sweep's thread beside /v1/people in `unveil serve`, or another session) raised PersonNotFoundError, which
    the API answered as 503 'the family store cannot be used now', and the Family page and `family list` failed."""
    from governance import erasure

    _enrol(store, "Ana Lima", 0, days=30)
    bruno = _enrol(store, "Bruno Lima", 1, days=30)
    listed = store.people

    def people_then_bruno_erased(**options):
        people = listed(**options)
        erasure.purge_person(store, bruno, reason="consent expired")  # the sweep, between the two reads
        return people

    monkeypatch.setattr(store, "people", people_then_bruno_erased)
    assert [member.name for member in family.members(store)] == ["Ana Lima"]


def test_a_gallery_is_built_again_when_a_consent_in_it_ends_or_one_left_out_comes_into_force(store, clock):
    """A consent dated an hour ahead (the clock put back since) is left out of the gallery until it counts, from
    5 minutes before its date: a gallery kept meanwhile is due then, before Bruno's consent ends."""
    bruno = _enrol(store, "Bruno Lima", 1, days=365)
    bruno_ends = consent.latest(store, bruno).ends_at
    assert family.gallery_rebuilt_at(store, [bruno]) == bruno_ends
    clock.now += 3600
    ana = _enrol(store, "Ana Lima", 0, days=30)
    clock.now -= 3600
    assert _named(store) == ["Bruno Lima"]
    ana_counts_from = consent.latest(store, ana).given_at - timedelta(minutes=5)
    assert family.gallery_rebuilt_at(store, [bruno]) == ana_counts_from
    assert family.gallery_rebuilt_at(store, []) == ana_counts_from  # nobody named yet: an empty gallery is due too
    clock.now = ana_counts_from.timestamp()
    assert _named(store) == ["Ana Lima", "Bruno Lima"]
    assert family.gallery_rebuilt_at(store, [ana, bruno]) == consent.latest(store, ana).ends_at
