"""unveil.app.new_passphrase without Streamlit: the passphrase changes only once the current secret is proved again,
on a store of its own; every refusal changes nothing, and the store audit-logs the change as for `unveil family
passwd`."""
from __future__ import annotations

import pytest

from fer_core.store import (
    FamilyStore,
    KeyFileError,
    MasterKeyChangedError,
    WeakPassphraseError,
    WrongPassphraseError,
    create_key_file,
)
from fer_core.store._errors import MASTER_KEY_CHANGED_MESSAGE  # noqa: PLC2701 (the message under test)
from tests.support import privacy_harness as h
from unveil.api import STORE_KEY_CHANGED
from unveil.app import new_passphrase
from unveil.watch.household import GALLERY_KEY_CHANGED

NEW = "the household's new passphrase"


def _events(data_dir) -> list[tuple[str, dict]]:
    with FamilyStore.open(data_dir) as store:
        return [(e.event, e.details) for e in store.audit_entries() if e.event in ("key_change", "unlock_failed")]


@pytest.fixture
def store(tmp_path):
    with h.new_store(tmp_path / "data") as made:
        h.enrol(made, "Halle Berry")
    unlocked = h.open_store(tmp_path / "data")
    yield unlocked
    unlocked.close()


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"again": NEW + "!"}, new_passphrase.NewPassphraseError, new_passphrase.DIFFER),
    ({"new": "short", "again": "short"}, WeakPassphraseError,
     "a passphrase needs at least 8 characters; nothing was changed"),
    ({"current": ""}, new_passphrase.NewPassphraseError, new_passphrase.NO_PROOF),
    ({"current": "a wrong guess"}, new_passphrase.NewPassphraseError, new_passphrase.WRONG_CURRENT),
])
def test_each_refusal_changes_nothing(store, kwargs, error, message):
    given = {"current": h.PASSPHRASE, "key_file": None, "new": NEW, "again": NEW, "rotate": False, **kwargs}
    with pytest.raises(error) as err:
        new_passphrase.change(store, **given)
    assert str(err.value) == message
    assert [event for event, _ in _events(store.data_dir)] == (
        ["unlock_failed"] if kwargs.get("current") == "a wrong guess" else [])  # only a secret tried is counted
    with FamilyStore.open(store.data_dir) as again:
        again.unlock(h.PASSPHRASE)


def test_the_change_is_the_stores_own_and_logged_as_for_passwd(store):
    assert new_passphrase.change(store, current=h.PASSPHRASE, key_file=None, new=NEW, again=NEW,
                                 rotate=False) == new_passphrase.CHANGED
    assert _events(store.data_dir) == [("key_change", {"slot": "passphrase", "action": "replaced"})]
    with FamilyStore.open(store.data_dir) as reopened:
        with pytest.raises(WrongPassphraseError):
            reopened.unlock(h.PASSPHRASE)
        reopened.unlock(NEW)


def test_rotating_keeps_the_session_store_working_under_the_new_master_key(store):
    assert new_passphrase.change(store, current=h.PASSPHRASE, key_file=None, new=NEW, again=NEW,
                                 rotate=True) == new_passphrase.ROTATED
    assert [p.name for p in store.people()] == ["Halle Berry"]  # no MasterKeyChangedError in this session
    assert _events(store.data_dir)[-1] == ("key_change", {"slot": "master", "action": "rotated", "key_file": "none"})


def test_another_session_is_told_the_app_may_have_rotated_the_key(store):
    # Before, another tab, `unveil watch` or `unveil serve` was told "(unveil family passwd --rotate)" only, also
    # after a rotation done on the app's Family page.
    other = h.open_store(store.data_dir)
    try:
        new_passphrase.change(store, current=h.PASSPHRASE, key_file=None, new=NEW, again=NEW, rotate=True)
        with pytest.raises(MasterKeyChangedError) as err:
            other.people()
    finally:
        other.close()
    assert str(err.value) == MASTER_KEY_CHANGED_MESSAGE
    for message in (MASTER_KEY_CHANGED_MESSAGE, GALLERY_KEY_CHANGED, STORE_KEY_CHANGED):
        assert "(by the app's Family page or `unveil family passwd --rotate`)" in message


def test_a_key_file_proves_it_and_a_wrong_one_is_refused_by_the_store(store, tmp_path):
    key = create_key_file(tmp_path / "unveil.key")
    store.set_key_file(key)
    wrong = create_key_file(tmp_path / "another.key")
    with pytest.raises(new_passphrase.NewPassphraseError) as err:
        new_passphrase.change(store, current="", key_file=wrong, new=NEW, again=NEW, rotate=False)
    assert str(err.value) == new_passphrase.WRONG_KEY_FILE.format(path=wrong)
    assert _events(store.data_dir)[-1] == ("unlock_failed", {"method": "key_file"})  # as at unlock
    with pytest.raises(KeyFileError):  # no key file at all: the store's own words
        new_passphrase.change(store, current="", key_file=tmp_path / "missing.key", new=NEW, again=NEW, rotate=False)
    with pytest.raises(new_passphrase.NewPassphraseError) as err:
        new_passphrase.change(store, current=h.PASSPHRASE, key_file=key, new=NEW, again=NEW, rotate=False)
    assert str(err.value) == new_passphrase.BOTH_GIVEN
    said = new_passphrase.change(store, current="", key_file=key, new=NEW, again=NEW, rotate=True)
    assert said == new_passphrase.ROTATED + new_passphrase.KEY_FILE_DROPPED
    assert not store.has_key_file
