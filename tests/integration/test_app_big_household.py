"""The app's pages on a household bigger than one test makes it: what a page decrypts and draws on every click must not
grow with everything the store holds (docs/reports/heavy_use.md)."""
from __future__ import annotations

import io
import shutil

from PIL import Image
from streamlit.testing.v1 import AppTest

from fer_core.store import FamilyStore
from governance import family, kept_results
from governance.consent import ConsentRecord
from tests.support.app import FAMILY_PASSPHRASE
from tests.support.paths import REPO
from tests.support.store import jpeg_thumbnail
from unveil.app import tables

# Scrypt on unlock and the models on first use take seconds on a loaded 2-core machine.
TIMEOUT = 120


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
            ids[name] = family.enroll(store, name, store.embeddings(colin.id), record, thumbnails=[jpeg_thumbnail()] * 3,
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


def _plain_photo(number: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (number, 200 - number, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_analyze_page_draws_one_page_of_photos_and_says_how_many_there_are(app_env):
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.switch_page("unveil/app/pages/analyze.py").run()
    uploads = [(f"IMG_{n:02d}.png", _plain_photo(n), "image/png") for n in range(1, 46)]
    next(w for w in at.get("file_uploader") if w.key and w.key.startswith("analyze_inputs")).set_value(uploads).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [h.value for h in at.header] == [f"IMG_{n:02d}.png" for n in range(1, 21)]
    assert tables.PHOTOS_SHOWN.format(first=1, last=20, total=45) in [c.value for c in at.caption]
    picker = at.selectbox(key="analyze_photo_page")
    assert picker.options == ["1-20 of 45", "21-40 of 45", "41-45 of 45"]
    picker.select_index(2).run()
    assert [h.value for h in at.header] == [f"IMG_{n:02d}.png" for n in range(41, 46)]
    assert tables.PHOTOS_SHOWN.format(first=41, last=45, total=45) in [c.value for c in at.caption]

    # A photo removed from the last page: that page is still shown (it showed the first, its range gone from the
    # picker's options); once the last page's photos are all removed, the one before it.
    for removed in range(41, 46):
        next(b for b in at.button if b.key and b.key.startswith("analyze_remove_")).click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert [h.value for h in at.header] == [f"IMG_{n:02d}.png" for n in range(removed + 1, 46)] or removed == 45
    assert at.selectbox(key="analyze_photo_page").options == ["1-20 of 40", "21-40 of 40"]
    assert [h.value for h in at.header] == [f"IMG_{n:02d}.png" for n in range(21, 41)]


def test_the_kept_results_page_lists_one_page_of_kept_results_and_offers_only_those(app_env, family_store_dir):
    """The page drew every kept result in its table and offered every one in its "Open" picker on every click: 5,000
    were 395 KiB, 50,000 about 4 MB (docs/reports/heavy_use.md). It now draws one page of them, newest first."""
    shutil.copytree(family_store_dir, app_env)
    total = 2 * tables.KEPT_PER_PAGE + 5
    with FamilyStore(app_env) as store:
        store.unlock(FAMILY_PASSPHRASE)
        for n in range(1, total + 1):
            kept_results.keep_analysis(store, [{"source": f"IMG_{n:03d}.jpg", "face": 1, "emotion": "happy"}],
                                       person_ids=[None])

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.switch_page("unveil/app/pages/family.py").run()
    at.text_input(key="unlock_passphrase").input(FAMILY_PASSPHRASE)
    at.button[0].click().run()
    at.switch_page("unveil/app/pages/kept.py").run()
    assert not at.exception, [e.value for e in at.exception]
    newest = [f"IMG_{n:03d}.jpg" for n in range(total, 0, -1)]
    assert list(at.dataframe[0].value["photos"]) == newest[:tables.KEPT_PER_PAGE]
    assert len(at.selectbox(key="kept_open").options) == tables.KEPT_PER_PAGE
    picker = at.selectbox(key="kept_page")
    assert picker.options == ["1-50 of 105", "51-100 of 105", "101-105 of 105"]
    assert tables.KEPT_SHOWN.format(first=1, last=50, total=total) in [c.value for c in at.caption]

    picker.select_index(2).run()
    assert not at.exception, [e.value for e in at.exception]
    assert list(at.dataframe[0].value["photos"]) == newest[-5:]
    opened = at.selectbox(key="kept_open")
    assert [option.split(": ")[1] for option in opened.options] == [f"{photo} (1 face)" for photo in newest[-5:]]
    assert at.header[0].value == opened.options[0]  # the page's first result is the one open
    assert tables.KEPT_SHOWN.format(first=101, last=105, total=total) in [c.value for c in at.caption]

    for photo in newest[-5:]:  # a deletion keeps the page shown; once the last page is gone, the one before it
        next(w for w in at.checkbox if w.key and w.key.startswith("kept_delete_")).check().run()
        at.button(key="kept_delete_submit").click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert photo in at.success[0].value
    assert at.selectbox(key="kept_page").options == ["1-50 of 100", "51-100 of 100"]
    assert list(at.dataframe[0].value["photos"]) == newest[50:100]
