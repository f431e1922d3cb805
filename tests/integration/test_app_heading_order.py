"""Headings go down one level at a time (axe-core's heading-order): each page's title is its h1, and the
sections under it are h2 (st.header), not h3 (st.subheader), which screen readers announced as a sub-section of
a section that is not there (Analyze's photos and Results, the Family page's store forms)."""
from __future__ import annotations

import re

from streamlit.testing.v1.element_tree import HeadingBase

from tests.support.app import FAMILY_PASSPHRASE, MEMBER, photo_bytes, run_app, widget
from tests.support.paths import REPO

LEVELS = {"title": 1, "header": 2, "subheader": 3}


def _headings(at) -> list[tuple[int, str]]:
    """The page's headings in the order drawn: (level, text)."""
    return [(LEVELS[node.type], node.value) for node in at.main if isinstance(node, HeadingBase)]


def _assert_in_order(headings: list[tuple[int, str]]) -> None:
    levels = [level for level, _ in headings]
    assert levels[0] == 1 and levels.count(1) == 1, headings
    assert all(after <= before + 1 for before, after in zip(levels, levels[1:], strict=False)), headings


def test_the_analyze_page_titles_each_photo_and_the_results_as_h2(app_env, faces_dir):
    at = run_app()
    widget(at, "file_uploader", "analyze_inputs_uploads_").set_value(
        [("colin.jpg", photo_bytes(faces_dir, MEMBER, 1), "image/jpeg")]).run()
    assert not at.exception
    headings = _headings(at)
    assert headings == [(1, "Analyze photos"), (2, "colin.jpg"), (2, "Results")]
    _assert_in_order(headings)


def test_the_family_page_store_forms_are_h2(app_env):
    at = run_app("family")
    assert _headings(at) == [(1, "Family"), (2, "Create the family store")]
    at.text_input(key="create_passphrase").input(FAMILY_PASSPHRASE)
    at.text_input(key="create_passphrase_again").input(FAMILY_PASSPHRASE)
    at.button[0].click().run()
    assert not at.exception
    fresh = run_app("family")  # a new browser session: the store is locked
    assert _headings(fresh) == [(1, "Family"), (2, "Unlock the family store")]


def test_no_page_draws_an_h3_without_an_h2_above_it():
    """No page has a section with sub-sections: st.subheader (h3) would follow the title (h1) directly.
    A page that comes to need one draws its st.header first, and this test learns of it."""
    for page in sorted((REPO / "unveil" / "app" / "pages").glob("*.py")):
        source = page.read_text(encoding="utf-8")
        assert not re.search(r"\.subheader\(", source) or re.search(r"\.header\(", source), page.name
