"""Every household action done with the keyboard alone, in a real browser: a table of the keys each one took.

    .venv/bin/python benchmarks/accessibility_keyboard.py

`streamlit run app.py` of this checkout is started with a fresh data folder and this checkout's models/
(bench_app_big_photo.start_app) and driven through Debian's Chromium (/usr/bin/chromium) by Playwright's keyboard
only: Tab and Shift+Tab move the focus, Enter and Space press, the arrow keys move between tabs as ARIA tabs ask,
text is typed. No mouse click: a control is reached by pressing Tab until the focused element is the one named
(its role and accessible text, looked up inside an iframe that has the focus, such as the live video's). A file
chooser opened by a key is answered with a file, as a person picks one in the system dialog. The people are the
public-domain photos of tests/fixtures/public_domain (tests.support.app.photo_views).

The actions: go to the Family page, create the store, lock it and unlock it, enrol a member from 4 photos with
their consent, go to Analyze and upload a photo, start and stop the live camera (Chromium's fake camera), erase
the member after ticking the confirmation. Each row gives the keys pressed and whether the action happened (the
text the app shows after it). A control Tab never reaches fails its row, and the script goes on with the next
action where it can.
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_app_big_photo import CHROMIUM, OBSERVE_RUNS, app_in_chromium, idle  # noqa: E402
from tests.support.app import PUBLIC_DOMAIN, photo_views  # noqa: E402

PASSPHRASE = "correct horse battery staple"
MEMBER = "Grace Hopper"
WAIT_MS = 180_000
CHOOSER_MS = 15_000  # the system's file dialog opens at once, or not at all
# Enough to go round a page once: the sidebar's links, its buttons and the page's widgets.
MAX_TABS = 120
# The focused element, through iframes that hold the focus: its role and the text a screen reader would say.
_FOCUSED = """() => {
  let el = document.activeElement, inFrame = false;
  while (el && el.tagName === 'IFRAME') {
    try { el = el.contentDocument.activeElement; inFrame = true; } catch (e) { break; }
  }
  if (!el) return null;
  const label = (el.labels && el.labels.length ? el.labels[0].innerText : '') || el.getAttribute('aria-label') || '';
  return {tag: el.tagName.toLowerCase(), role: el.getAttribute('role') || '', type: el.getAttribute('type') || '',
          text: ((el.innerText || '') + ' ' + label).replace(/\\s+/g, ' ').trim().slice(0, 120), inFrame};
}"""


class NotReached(Exception):
    """Tab went round without reaching the control."""


def tab_to(page, kind: str, text: str, keys: list[str], *, backwards: bool = False, from_top: bool = False,
           in_frame: bool = False) -> None:
    """Press Tab (Shift+Tab if `backwards`) until the focus is on a `kind` ("button", "link", "textbox",
    "checkbox", "tab") whose accessible text contains `text`, inside a component's iframe if `in_frame`; the keys
    pressed are added to `keys`. With `from_top`, from the top of the page (the focus taken away first) rather than
    from the focused element."""
    if from_top:
        page.evaluate("document.activeElement && document.activeElement.blur()")
    key = "Shift+Tab" if backwards else "Tab"
    for presses in range(1, MAX_TABS + 1):
        page.keyboard.press(key)
        focused = page.evaluate(_FOCUSED)
        if focused and _is(focused, kind) and text.lower() in focused["text"].lower() and (
                focused["inFrame"] or not in_frame):
            keys.append(f"{key} x{presses} to {kind} '{focused['text'][:40]}'")
            return
    raise NotReached(f"{key} x{MAX_TABS} never reached the {kind} {text!r}")


def _is(focused: dict, kind: str) -> bool:
    tag, role, kind_of_input = focused["tag"], focused["role"], focused["type"]
    return {"button": tag == "button" or role == "button", "link": tag == "a" or role == "link",
            "tab": role == "tab", "checkbox": kind_of_input == "checkbox" or role == "checkbox",
            "textbox": tag == "textarea" or (tag == "input" and kind_of_input in ("text", "password", ""))}[kind]


def press(page, key: str, keys: list[str]) -> None:
    page.keyboard.press(key)
    keys.append(key)


def type_text(page, text: str, keys: list[str]) -> None:
    page.keyboard.type(text)
    keys.append(f"type {len(text)} characters")


def actions(page, url: str, folder: Path) -> list[tuple[str, Callable[[list[str]], None]]]:
    from playwright.sync_api import Error, expect

    member = photo_views(PUBLIC_DOMAIN / "grace_hopper.jpg", folder / "people", 6)

    def settled() -> None:
        page.wait_for_timeout(300)
        idle(page)

    def go(title: str, heading: str, keys: list[str]) -> None:
        tab_to(page, "link", title, keys, from_top=True)
        press(page, "Enter", keys)
        # Seen, not pressed: the page's own title, so that Tab does not go through the page being left.
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        settled()

    def choose_files(paths: list[Path], keys: list[str], key: str = "Enter") -> None:
        # A second press is allowed, and shown in the keys, should the first open no dialog.
        page.wait_for_timeout(1000)  # a person's pause
        for attempt in (1, 2):
            try:
                with page.expect_file_chooser(timeout=CHOOSER_MS) as chooser:
                    press(page, key, keys)
                break
            except Error:
                if attempt == 2:
                    raise
                keys.append("(no dialog)")
        chooser.value.set_files([str(path) for path in paths])
        # The browser window gets the focus back when a system dialog closes; Playwright's stand-in dialog gives none,
        # and the uploader (react-dropzone) waits for that focus before it opens another dialog.
        page.evaluate("window.dispatchEvent(new Event('focus'))")
        keys.append(f"pick {len(paths)} file(s) in the dialog")
        settled()

    def family(keys: list[str]) -> None:
        page.goto(url)
        expect(page.get_by_role("heading", name="Analyze photos")).to_be_visible()
        page.evaluate(OBSERVE_RUNS)
        go("Family", "Family", keys)

    def unlock(keys: list[str], *, repeated: bool) -> None:
        # The passphrase typed (and `repeated` in its second box, for a new store), then Enter submits the form.
        for box in ("Passphrase", "Repeat the passphrase")[:2 if repeated else 1]:
            tab_to(page, "textbox", box, keys)
            type_text(page, PASSPHRASE, keys)
        press(page, "Enter", keys)
        expect(page.get_by_text("Family store unlocked")).to_be_visible()
        settled()

    def create(keys: list[str]) -> None:
        unlock(keys, repeated=True)

    def lock_and_unlock(keys: list[str]) -> None:
        tab_to(page, "button", "Lock the store", keys, from_top=True)
        press(page, "Enter", keys)
        settled()
        unlock(keys, repeated=False)

    def enrol(keys: list[str]) -> None:
        tab_to(page, "tab", "Members", keys, from_top=True)
        press(page, "ArrowRight", keys)
        settled()
        focused = page.evaluate(_FOCUSED)
        if "Enrol a member" not in focused["text"]:
            raise NotReached(f"ArrowRight on the tabs focused {focused}")
        press(page, "Enter", keys)
        tab_to(page, "textbox", "Name", keys)
        type_text(page, MEMBER, keys)
        press(page, "Enter", keys)
        settled()
        tab_to(page, "button", "Upload", keys)
        choose_files(member[:4], keys)
        tab_to(page, "checkbox", "has read what is stored and why", keys)
        press(page, "Space", keys)
        settled()
        tab_to(page, "button", "Enrol", keys)
        press(page, "Enter", keys)
        expect(page.get_by_text(f"Enrolled {MEMBER} with 4 face print(s)")).to_be_visible()
        settled()

    def analyze(keys: list[str]) -> None:
        go("Analyze", "Analyze photos", keys)
        tab_to(page, "button", "Upload", keys)
        choose_files([member[5]], keys)
        expect(page.get_by_text(MEMBER, exact=True).first).to_be_visible()

    def live(keys: list[str]) -> None:
        go("Live", "Live camera", keys)
        # The camera's component (an iframe) is drawn once the models are loaded.
        expect(page.frame_locator('iframe[title*="streamlit_webrtc"]').get_by_role(
            "button", name=re.compile("start", re.IGNORECASE))).to_be_visible()
        # The camera's own buttons, in its iframe: while the script reruns, Streamlit's status widget shows a "Stop"
        # button too (it stops the run, not the camera), which Shift+Tab met first on a busy machine.
        tab_to(page, "button", "start", keys, in_frame=True)
        press(page, "Enter", keys)
        page.wait_for_function("() => /frames? analysed/.test(document.body.innerText)")
        tab_to(page, "button", "stop", keys, backwards=True, in_frame=True)
        press(page, "Enter", keys)
        expect(page.frame_locator('iframe[title*="streamlit_webrtc"]').get_by_role(
            "button", name=re.compile("start", re.IGNORECASE))).to_be_visible()

    def erase(keys: list[str]) -> None:
        go("Family", "Family", keys)
        tab_to(page, "tab", "Members", keys)
        for _ in range(3):  # Members, Enrol a member, Consent, Withdraw consent or erase
            press(page, "ArrowRight", keys)
        focused = page.evaluate(_FOCUSED)
        if "Withdraw consent or erase" not in focused["text"]:
            raise NotReached(f"ArrowRight on the tabs focused {focused}")
        press(page, "Enter", keys)
        settled()
        tab_to(page, "checkbox", f"Yes, erase {MEMBER} for good", keys)
        press(page, "Space", keys)
        settled()
        tab_to(page, "button", "Erase", keys)
        press(page, "Enter", keys)
        expect(page.get_by_text(f"{MEMBER} was erased")).to_be_visible()

    return [("Go to the Family page", family), ("Create the store", create),
            ("Lock, then unlock with the passphrase", lock_and_unlock), ("Enrol a member (4 photos, consent)", enrol),
            ("Analyze: upload a photo", analyze), ("Live: start, then stop the camera", live),
            ("Erase the member (tick the confirmation, press Erase)", erase)]


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    if not CHROMIUM.is_file():
        raise SystemExit(f"{CHROMIUM} not found: apt-get install -y chromium")
    from playwright.sync_api import Error

    rows = []
    with tempfile.TemporaryDirectory(prefix="unveil-keyboard-") as tmp, \
            app_in_chromium(REPO, Path(tmp), WAIT_MS) as (page, url):
        for name, action in actions(page, url, Path(tmp)):
            keys: list[str] = []
            try:
                action(keys)
                rows.append((name, "yes", keys))
            except (NotReached, AssertionError, Error) as failed:
                rows.append((name, f"no: {str(failed).splitlines()[0][:160]}", keys))
            print(f"{name}: {rows[-1][1]}", file=sys.stderr, flush=True)
    print("| Action | Done by keyboard | Keys |")
    print("|---|---|---|")
    for name, done, keys in rows:
        print(f"| {name} | {done} | {', '.join(keys)} |")


if __name__ == "__main__":
    main()
