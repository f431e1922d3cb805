"""The Governance page checks a deletion receipt pasted or uploaded, as `unveil audit receipt FILE` does: before, a
person holding a receipt (or the household, later) had no way in the app to tell it genuine, or to see that the store
holds nothing under its id. It never shows a name."""
from __future__ import annotations

import json
import shutil

from fer_core.store import FamilyStore
from governance import family, receipts
from tests.support.app import FAMILY_PASSPHRASE, unlocked_family_page
from unveil.app import receipt_check
from unveil.app.text import shown


def test_a_receipt_pasted_or_uploaded_on_the_governance_page_is_checked(app_env, family_store_dir):
    shutil.copytree(family_store_dir, app_env)
    with FamilyStore.open(app_env) as store:
        store.unlock(FAMILY_PASSPHRASE)
        receipt = family.purge(store, "Colin Powell")
    at = unlocked_family_page()
    at.switch_page("unveil/app/pages/governance.py").run()
    assert receipt_check.TITLE in [s.value for s in at.subheader] and at.button(key="receipt_check").disabled

    at.text_area(key="receipt_text").input(receipt.to_json()).run()
    at.button(key="receipt_check").click().run()
    with FamilyStore.open(app_env) as store:  # as the page checks it: the unlock's sweep has been logged since
        store.unlock(FAMILY_PASSPHRASE)
        expected = "\n\n".join(shown(line) for line in receipts.check(store, receipt).lines())
    assert not at.exception and [s.value for s in at.success if s.value.startswith("receipt")] == [expected]
    assert "Colin" not in expected and receipt.subject in expected

    edited = json.loads(receipt.to_json()) | {"reason": "consent withdrawn"}
    at.text_area(key="receipt_text").input(json.dumps(edited)).run()
    at.button(key="receipt_check").click().run()
    assert [e.value for e in at.error][0].startswith(shown(receipts.EDITED))

    at.text_area(key="receipt_text").input("").run()
    (uploader,) = [w for w in at.get("file_uploader") if w.key == "receipt_file"]
    uploader.set_value(("receipt.json", receipt.to_json().encode(), "application/json")).run()
    at.button(key="receipt_check").click().run()
    assert not at.exception and [s.value for s in at.success if s.value.startswith("receipt")] == [expected]

    (uploader,) = [w for w in at.get("file_uploader") if w.key == "receipt_file"]
    uploader.set_value(None).run()
    at.text_area(key="receipt_text").input("Colin Powell was erased").run()
    at.button(key="receipt_check").click().run()
    assert not at.exception and at.error[0].value.startswith("This cannot be checked: this is not a deletion receipt: it is not JSON")
