"""unveil.app.backups without Streamlit: the folder typed must be a full path, and what the page says of a store
with a key file adds that the key file is not in the copy."""
from __future__ import annotations

import pytest

from fer_core.store import create_key_file
from governance import backup
from tests.support import privacy_harness as h
from unveil.app import backups
from unveil.app.typed_paths import TypedPathError


@pytest.mark.parametrize(("typed", "message"), [
    ("", backups.NO_FOLDER), ("  ", backups.NO_FOLDER),
    ("usb/copy", backups.NOT_A_FULL_PATH.format(path="usb/copy"))])
def test_a_folder_that_is_not_a_full_path_is_refused(typed, message):
    with pytest.raises(TypedPathError) as err:
        backups.folder_path(typed)
    assert str(err.value) == message


def test_a_store_with_a_key_file_is_told_the_key_file_is_not_in_the_copy(tmp_path):
    with h.new_store(tmp_path / "data") as store:
        h.enrol(store, "Halle Berry")
        store.set_key_file(create_key_file(tmp_path / "unveil.key"))
        said = backups.back_up(store, str(tmp_path / "copy"))
    assert said == (backups.DONE.format(path=tmp_path / "copy", people=1, embeddings=5, thumbnails=1, consents=1,
                                        analyses=0)
                    + backups.KEY_FILE_APART + f" Note: {backup.BACKUP_REACH}.")
    assert not list((tmp_path / "copy").glob("*.key"))


def test_the_erasure_preview_says_a_backup_made_before_still_holds_the_member(tmp_path):
    # It said "no backup of the store can be read for them either": a purge destroys the data key in the store only.
    from fer_core.store import FamilyStore
    from governance import family
    from unveil.app import tables

    with h.new_store(tmp_path / "data") as store:
        person_id = h.enrol(store, "Halle Berry")
        line = tables.erasure_lines(family.erasure_preview(store, person_id))[1]
        backup.back_up(store, tmp_path / "before")
        family.purge(store, person_id)
    with FamilyStore.open(tmp_path / "before") as copy:
        copy.unlock(h.PASSPHRASE)
        assert [p.name for p in copy.people()] == ["Halle Berry"]  # what the line must not deny
    assert line == tables.ERASED_KEY.format(name="Halle Berry")
    assert line == ("Halle Berry's data key, so nothing of theirs can be read in the store again; a backup made before "
                    "now still holds them (delete it for the erasure to reach it)")
