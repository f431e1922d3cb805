"""A household's first run: no family store exists yet. The pages that need one say to create it on the Family
page, never to unlock a store that is not there; once it exists and is locked, they say to unlock it."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from fer_core.store import MIN_PASSPHRASE_CHARS
from tests.support.app import STRANGER, photo_bytes
from tests.support.paths import REPO
from unveil.app import enrolment as app_enrolment
from unveil.app import session as app_session
from unveil.app import widgets
from unveil.app.live import NO_CAMERA, VIDEO_STAYS_HERE

PASSPHRASE = "correct horse battery staple"
TIMEOUT = 120  # model loading and scrypt take seconds on a loaded 2-core machine


def _page(at: AppTest, page: str) -> AppTest:
    return at.switch_page(f"unveil/app/pages/{page}.py").run()


def _infos(at: AppTest) -> list[str]:
    return [i.value for i in at.info]


def test_a_first_run_says_to_create_the_store_and_a_locked_store_says_to_unlock_it(app_env, faces_dir):
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert [i.value for i in at.sidebar.info] == [widgets.NO_STORE_SIDEBAR]
    at.file_uploader[0].set_value(("stranger.jpg", photo_bytes(faces_dir, STRANGER, 2), "image/jpeg")).run()
    assert "Names are not checked: there is no family store yet. Create it on the Family page to name members." in [
        c.value for c in at.caption]
    assert widgets.NEEDS_CREATING in _infos(_page(at, "kept"))
    assert _infos(_page(at, "governance"))[:3] == [widgets.NEEDS_CREATING] * 3
    everything = " ".join(_infos(at) + [i.value for i in at.sidebar.info] + [c.value for c in at.caption])
    assert "nlock" not in everything

    _page(at, "family")
    at.text_input(key="create_passphrase").input(PASSPHRASE)
    at.text_input(key="create_passphrase_again").input(PASSPHRASE)
    at.button[0].click().run()
    at.button(key="sidebar_lock").click().run()
    assert [i.value for i in at.sidebar.info] == ["Family store locked: faces are not named. Unlock it on the Family page."]
    assert widgets.NEEDS_UNLOCKING in _infos(_page(at, "kept"))
    assert _infos(_page(at, "governance"))[:3] == [widgets.NEEDS_UNLOCKING] * 3
    _page(at, "analyze")
    assert "Names are not checked: unlock the family store (Family page) to recognise members." in [
        c.value for c in at.caption]


def test_the_live_page_says_what_a_missing_or_refused_camera_looks_like(app_env, monkeypatch, tmp_path):
    """No camera on the machine: the WebRTC component answers "Requested device not found" in its frame; the
    page says beforehand what that means and where photos and videos can still be analysed."""
    monkeypatch.setenv("UNVEIL_MODELS_DIR", str(tmp_path / "no_models"))  # the WebRTC stack is never loaded
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    _page(at, "live")
    assert NO_CAMERA in [c.value for c in at.caption]
    assert "Requested device not found" in NO_CAMERA and "Analyze and Video pages" in NO_CAMERA
    # Where the video goes, in words a household reads (not "over WebRTC").
    assert VIDEO_STAYS_HERE in [c.value for c in at.caption] and "WebRTC" not in VIDEO_STAYS_HERE


def test_the_passphrase_rules_are_said_before_the_store_is_created(app_env):
    """The length the store asks for and that a lost passphrase cannot be recovered are said on the form, before
    any try: the length was said only by the error after a passphrase too short."""
    at = _page(AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT), "family")
    assert not at.exception and not at.error
    intro = app_enrolment.CREATE_STORE_INTRO.format(minimum=MIN_PASSPHRASE_CHARS)
    assert intro in [m.value for m in at.markdown]
    assert f"at least {MIN_PASSPHRASE_CHARS} characters" in intro and "cannot be recovered" in intro
    assert at.text_input(key="create_passphrase").help == app_enrolment.PASSPHRASE_HELP.format(
        minimum=MIN_PASSPHRASE_CHARS)


def test_a_new_session_on_an_empty_store_does_not_ask_to_unlock_it_for_nothing(app_env):
    at = _page(AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT), "family")
    at.text_input(key="create_passphrase").input(PASSPHRASE)
    at.text_input(key="create_passphrase_again").input(PASSPHRASE)
    at.button[0].click().run()
    assert not at.exception and at.button(key="sidebar_lock")
    reloaded = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()  # a reload: a new session
    assert not reloaded.exception
    assert _infos(reloaded)[0] == app_session.NEW_SESSION_NOTHING_KEPT
    assert not any("nlock the store on the Family page to use them" in i for i in _infos(reloaded))


def test_locking_the_store_does_not_call_the_session_new_or_count_what_it_kept_before(app_env):
    """A session's first page says what a reload kept (members, kept results), until the store is unlocked. Locking
    it again later brought that notice back: 'This is a new session (a reload or a new tab starts one)' in the same
    session, with the counts read at its start (3 members after two of them had been erased). Seen in Chromium."""
    from governance import family
    from tests.support import privacy_harness as h

    at = _page(AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT), "family")
    at.text_input(key="create_passphrase").input(PASSPHRASE)
    at.text_input(key="create_passphrase_again").input(PASSPHRASE)
    at.button[0].click().run()
    with h.open_store(app_env) as other:
        family.enroll(other, "Halle Berry", h.person_embeddings("Halle Berry"), h.consent_for(other, "Halle Berry"))
    reloaded = _page(AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT), "family")
    assert _infos(reloaded)[0].startswith("This is a new session") and "1 member and 0 kept results" in _infos(reloaded)[0]
    reloaded.text_input(key="unlock_passphrase").input(PASSPHRASE)
    reloaded.button[0].click().run()
    assert not reloaded.exception and not any("new session" in i for i in _infos(reloaded))
    reloaded.button(key="sidebar_lock").click().run()
    for page in ("family", "analyze", "kept"):
        assert not any("new session" in i for i in _infos(_page(reloaded, page))), page
