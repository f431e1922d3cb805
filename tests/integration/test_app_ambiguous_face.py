"""The Analyze page says why a face close to the family is not named: Colin Powell enrolled a second time under
another name (as an older version let a household do, or twins enrolled with the tick box), a photo of him is about as
close to both members and was shown "unknown" with no word, as a stranger is. Now a line under it says why, naming
neither member; the stranger beside him gets none."""
from __future__ import annotations

import shutil

from streamlit.testing.v1 import AppTest

from fer_core.store import FamilyStore
from governance import family
from governance.consent import ConsentRecord
from tests.support.app import FAMILY_PASSPHRASE, MEMBER, STRANGER, photo_path, side_by_side
from tests.support.paths import REPO
from unveil.app import photos

# Scrypt on unlock and the models on first use take seconds on a loaded 2-core machine.
TIMEOUT = 120


def test_a_face_about_as_close_to_two_members_is_said_not_named_and_why(app_env, family_store_dir, faces_dir):
    shutil.copytree(family_store_dir, app_env)
    with FamilyStore(app_env) as store:
        store.unlock(FAMILY_PASSPHRASE)
        (colin,) = store.people()
        model = next(iter(store.embedding_models()[colin.id]))
        record = ConsentRecord.new(subject="Colin Again", purpose="family photos", days=365)
        family.enroll(store, "Colin Again", store.embeddings(colin.id), record, model=model)

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.switch_page("unveil/app/pages/family.py").run()
    at.text_input(key="unlock_passphrase").input(FAMILY_PASSPHRASE)
    at.button[0].click().run()
    at.switch_page("unveil/app/pages/analyze.py").run()
    group = side_by_side(photo_path(faces_dir, MEMBER, 6), photo_path(faces_dir, STRANGER, 5))
    uploads = next(w for w in at.get("file_uploader") if w.key and w.key.startswith("analyze_inputs"))
    uploads.set_value([("group.jpg", group, "image/jpeg")]).run()
    assert not at.exception, [e.value for e in at.exception]
    lines = [m.value for m in at.markdown if m.value.startswith("**Face ")]
    assert [line.endswith("· **unknown**") for line in lines] == [True, True]
    captions = [c.value for c in at.caption]
    assert captions.count(photos.NOT_NAMED_AMBIGUOUS) == 1  # Colin's face; the stranger is beyond the threshold
    assert not any("Colin" in caption for caption in captions)
