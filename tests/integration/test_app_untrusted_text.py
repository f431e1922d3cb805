"""File names and member names reach the pages as text, never as Markdown (unveil.app.text.shown): a name that
holds a link, a picture or a web address shows as written, with no link to follow and nothing fetched from the
internet. Driven through streamlit.testing.v1.AppTest with real photos from ../shared/data."""
from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

from tests.support.app import MEMBER, STRANGER, photo_bytes, photo_path, side_by_side
from tests.support.paths import REPO
from unveil.app.text import shown

TIMEOUT = 180
PASSPHRASE = "correct horse battery staple"
LINK_NAME = "[Unlock the family store](https://example.org/login).jpg"
PICTURE_NAME = "![x](https://tracker.example/p.png).jpg"
MEMBER_NAME = "[Ada](https://example.org) www.example.org"
# Markdown that Streamlit would make a link or a picture of (escapes do not stop a bare web address).
_LIVE_MARKUP = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(|https?://|www\.")


def _texts(at: AppTest) -> list[str]:
    """Everything a page shows through Markdown: messages, titles, captions, and widget labels and helps."""
    texts = [e.value for kind in ("markdown", "header", "subheader", "caption", "success", "info", "warning", "error")
             for e in at.get(kind)]
    for kind in ("button", "checkbox", "radio", "file_uploader", "expander"):
        texts += [w.proto.label for w in at.get(kind)] + [w.proto.help for w in at.get(kind) if hasattr(w.proto, "help")]
    return texts + _image_captions(at)


def _image_captions(at: AppTest) -> list[str]:
    """The captions of the pictures (st.image reads them as Markdown too)."""
    return [image.caption for element in at.get("image") for image in element.proto.imgs if image.caption]


def _assert_no_live_markup(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    live = [text for text in _texts(at) if _LIVE_MARKUP.search(text)]
    assert not live, live


def test_an_uploaded_file_name_is_shown_as_written_never_as_a_link_or_a_picture(app_env, faces_dir):
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    (uploads,) = [w for w in at.get("file_uploader") if w.key.startswith("analyze_inputs_uploads_")]
    uploads.set_value([(LINK_NAME, photo_bytes(faces_dir, MEMBER, 1), "image/jpeg"),
                       (PICTURE_NAME, b"not a photo", "image/jpeg")]).run()
    _assert_no_live_markup(at)
    assert [s.value for s in at.header] == [shown(LINK_NAME), shown(PICTURE_NAME), "Results"]
    assert [e.value for e in at.error] == [
        shown(f"{PICTURE_NAME} could not be read: not an image, or its header is corrupt (format not recognised)")]


def test_a_member_name_is_shown_as_written_on_the_family_page_and_in_the_deletion_receipt(app_env, faces_dir):
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.switch_page("unveil/app/pages/family.py").run()
    at.text_input(key="create_passphrase").input(PASSPHRASE)
    at.text_input(key="create_passphrase_again").input(PASSPHRASE)
    at.button[0].click().run()
    (name,) = [w for w in at.text_input if w.key.startswith("enrol_name_")]
    name.input(MEMBER_NAME)
    (photos,) = [w for w in at.get("file_uploader") if w.key.startswith("enrol_photos_")]
    photos.set_value([(f"c{n}.jpg", photo_bytes(faces_dir, MEMBER, n), "image/jpeg") for n in (1, 2)])
    (agreed,) = [w for w in at.checkbox if w.key.startswith("enrol_agreed_")]
    agreed.check()
    at.button(key="enrol_submit").click().run()
    _assert_no_live_markup(at)
    assert at.success[0].value.startswith(f"Enrolled {shown(MEMBER_NAME)} with 2 face print(s)")

    (sure,) = [w for w in at.checkbox if w.key.startswith("erase_request_")]
    assert sure.label == f"Yes, erase {shown(MEMBER_NAME)} for good"
    sure.check().run()
    at.button(key="erase_submit").click().run()
    _assert_no_live_markup(at)
    assert at.success[0].value.startswith(f"{shown(MEMBER_NAME)} was erased: ")
    receipt = next(m.value for m in at.markdown if m.value.startswith("**Deletion receipt**"))
    assert receipt.startswith(f"**Deletion receipt**: {shown(MEMBER_NAME)} (id ")


def test_a_group_photo_on_the_enrolment_form_is_captioned_with_its_name_as_written(app_env, faces_dir):
    """The face picker shows the group photo captioned with its file name: a caption is Markdown, so a file named
    as a picture made the browser fetch it from the internet."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.switch_page("unveil/app/pages/family.py").run()
    at.text_input(key="create_passphrase").input(PASSPHRASE)
    at.text_input(key="create_passphrase_again").input(PASSPHRASE)
    at.button[0].click().run()
    (photos,) = [w for w in at.get("file_uploader") if w.key.startswith("enrol_photos_")]
    group = side_by_side(photo_path(faces_dir, STRANGER, 2), photo_path(faces_dir, MEMBER, 2))
    photos.set_value([(PICTURE_NAME, group, "image/jpeg")]).run()
    _assert_no_live_markup(at)
    assert _image_captions(at) == [shown(PICTURE_NAME)]
