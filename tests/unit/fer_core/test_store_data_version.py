"""FamilyStore.data_version: what a long-running front end (unveil watch) checks on every frame to notice
that the family changed, in this session or another, without decrypting anything."""
from __future__ import annotations

from governance import family
from tests.support import privacy_harness as h


def test_the_data_version_moves_with_every_change_and_only_then(tmp_path):
    with h.new_store(tmp_path) as store, h.open_store(tmp_path) as other:
        ana = h.enrol(store, "Ana Lima")
        start = store.data_version()
        store.gallery()
        store.consents(ana)
        assert store.data_version() == start  # reads change nothing

        family.purge(other, "Ana Lima")  # another session (the app, in another process)
        after_other = store.data_version()
        assert after_other != start

        h.enrol(store, "Bruno Lima")  # this session's own write
        assert store.data_version() != after_other


def test_the_data_version_is_readable_while_locked(tmp_path):
    with h.new_store(tmp_path) as store, h.open_store(tmp_path) as other:
        store.lock()
        before = store.data_version()
        h.enrol(other, "Ana Lima")
        assert store.data_version() != before


def test_a_key_another_session_destroyed_is_wiped_from_this_ones_memory_at_the_next_check(tmp_path):
    """A front end that runs for weeks (unveil watch, unveil serve) kept in memory the data key of a member erased in
    the app or the CLI for as long as it ran: the key material the erasure exists to destroy. The next data_version
    check (every frame, every request) wipes it; the other members' keys stay, and they are still read."""
    with h.new_store(tmp_path) as store, h.open_store(tmp_path) as other:
        ana, bruno = h.enrol(store, "Ana Lima"), h.enrol(store, "Bruno Lima")
        store.gallery()  # reads both members' embeddings: both keys are now held
        held = {owner: store._data_keys[owner] for owner in (ana, bruno)}  # what is held is the point

        family.purge(other, "Ana Lima")
        store.data_version()

        assert ana not in store._data_keys and not any(held[ana])  # forgotten, and overwritten
        assert store._data_keys[bruno] is held[bruno]
        assert [person.name for person in store.people()] == ["Bruno Lima"]
