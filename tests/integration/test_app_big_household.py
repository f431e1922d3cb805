"""The app's pages on a household bigger than one test makes it: what a page decrypts and draws on every click must not
grow with everything the store holds (docs/reports/heavy_use.md)."""
from __future__ import annotations

import io
import shutil

from PIL import Image
from streamlit.testing.v1 import AppTest

from fer_core.store import FamilyStore
from governance import family
from governance.consent import ConsentRecord
from tests.support.app import FAMILY_PASSPHRASE
from tests.support.paths import REPO

# Scrypt on unlock and the models on first use take seconds on a loaded 2-core machine.
TIMEOUT = 120


def _thumbnail() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (112, 112), (150, 120, 100)).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_the_family_page_decrypts_a_members_thumbnails_only_while_their_list_is_open(app_env, family_store_dir,
                                                                                    monkeypatch):
    shutil.copytree(family_store_dir, app_env)
    with FamilyStore(app_env) as store:
        store.unlock(FAMILY_PASSPHRASE)
        (colin,) = store.people()
        model = next(iter(store.embedding_models()[colin.id]))
        ids = {}
        for name in ("Ana", "Ben"):
            record = ConsentRecord.new(subject=name, purpose="family photos", days=365, scope="recognition+thumbnails")
            ids[name] = family.enroll(store, name, store.embeddings(colin.id), record, thumbnails=[_thumbnail()] * 3,
                                      model=model).person_id
    read = []
    real_thumbnails = FamilyStore.thumbnails
    monkeypatch.setattr(FamilyStore, "thumbnails", lambda self, person_id: read.append(person_id) or real_thumbnails(
        self, person_id))

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.switch_page("unveil/app/pages/family.py").run()
    at.text_input(key="unlock_passphrase").input(FAMILY_PASSPHRASE)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    lists = [e for e in at.expander if e.label.endswith(" thumbnail(s)")]
    assert [e.label for e in lists] == ["Ana: 3 thumbnail(s)", "Ben: 3 thumbnail(s)"]
    assert not at.image and not read  # nobody's thumbnails decrypted for a list nobody opened

    at.session_state[f"family_thumbnails_{ids['Ana']}"] = True  # Ana's list opened
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [len(image.proto.imgs) for image in at.image] == [3] and set(read) == {ids["Ana"]}
