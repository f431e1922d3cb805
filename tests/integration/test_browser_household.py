"""The app as a household uses it, in headless Chromium: several members, kept results, reloads, erasure.

One browser session: enrol two members (the second from a group photo, picking her face), check that the
form comes back empty after each enrolment, shorten one member's consent (the Member box follows), keep results once, open and delete kept results, switch
pages without losing the Analyze results, clear them in one click, reload (F5) and read what was kept,
withdraw one member's consent after being told which kept result goes with her, and check that the tick
given for her does not carry over to the next member.

Runs its own app and data folder (the fixtures of tests/integration/test_browser.py are module-scoped), with the
public-domain photos of tests/fixtures/public_domain only: its screenshots (kept_results, family_erase) go
where test_browser.py puts its own.
"""
from __future__ import annotations

import pytest

from tests.integration.test_browser import (  # noqa: F401 - fixtures are found by name
    PASSPHRASE,
    _create_store,
    _go,
    _no_exception,
    _settled,
    _shot,
    _upload,
    app_url,
    browser_page,
    expect,
    people,
    screenshots,
)
from tests.support.app import side_by_side

pytestmark = pytest.mark.browser

GRACE, EILEEN = "Grace Hopper", "Eileen Collins"
CONSENT = "The person (or their guardian) has read what is stored and why, and agrees"


def _jpegs(paths, names=None):
    return [(name or path.name, path.read_bytes(), "image/jpeg") for path, name in zip(paths, names or [None] * len(paths))]


def _enrol(page, name: str, files) -> None:
    page.get_by_role("tab", name="Enrol a member").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Name", exact=True).press("Enter")
    _settled(page)
    _upload(page, "Photos of this person", files)
    _settled(page)


def _agree_and_enrol(page) -> None:
    page.get_by_text(CONSENT).click()
    _settled(page)
    page.get_by_role("button", name="Enrol", exact=True).click()


def test_a_household_keeps_its_work_and_erases_one_member_at_a_time(browser_page, app_url, people,  # noqa: F811
                                                                     screenshots):  # noqa: F811
    page = browser_page
    member, stranger = people["member"], people["stranger"]
    page.goto(app_url)
    _create_store(page)

    # Enrolment: after success the form is empty again, so the next person starts from nothing.
    _enrol(page, GRACE, _jpegs(member[:3]))
    _agree_and_enrol(page)
    expect(page.get_by_text(f"Enrolled {GRACE} with 3 face print(s)")).to_be_visible()
    _settled(page)
    page.get_by_role("tab", name="Enrol a member").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("")
    expect(page.get_by_text(member[0].name)).to_have_count(0)
    expect(page.get_by_label(CONSENT)).not_to_be_checked()

    # A photo of Eileen beside Grace: Eileen's face is picked instead of the enrolment being refused.
    group = side_by_side(stranger[2], member[2])
    _enrol(page, EILEEN, _jpegs([stranger[0], stranger[3]]) + [("two people.jpg", group, "image/jpeg")])
    expect(page.get_by_text(f"two people.jpg shows 2 faces: which one is {EILEEN}?")).to_be_visible()
    page.get_by_role("radiogroup", name="two people.jpg shows 2 faces").get_by_text("Face 1", exact=True).click()
    _settled(page)
    _agree_and_enrol(page)
    expect(page.get_by_text(f"Enrolled {EILEEN} with 3 face print(s)")).to_be_visible()
    _settled(page)

    # Eileen's consent shortened to 100 days: warned first; the Member box then shows her new end date and stays on
    # her at the next click (it showed the old date, and that click put the form back on Grace).
    page.get_by_role("tab", name="Renew consent or change scope").click()
    member_box = page.get_by_role("combobox", name="Member").filter(visible=True)
    member_box.click()
    page.get_by_role("option", name=f"{EILEEN} (consent until ").click()
    _settled(page)
    days = page.get_by_label("Days from today")
    days.fill("100")
    days.press("Enter")
    expect(page.get_by_text(f"This shortens the consent of {EILEEN}")).to_be_visible()
    _settled(page)
    page.get_by_role("button", name=f"Renew the consent of {EILEEN}").click()
    renewed = page.get_by_text(f"The consent of {EILEEN} now runs until ")
    expect(renewed).to_be_visible()
    _settled(page)
    until = renewed.inner_text().split(" now runs until ")[1][:10]
    expect(member_box).to_have_value(f"{EILEEN} (consent until {until})")
    page.get_by_text("This person is a child").filter(visible=True).click()
    _settled(page)
    expect(member_box).to_have_value(f"{EILEEN} (consent until {until})")
    expect(page.get_by_text(f"The consent of {EILEEN} runs until {until}")).to_be_visible()
    expect(page.get_by_label("This person is a child").filter(visible=True)).to_be_checked()

    # Analyze: both named; keeping stores one copy, and the button is gone once they are kept.
    _go(page, "Analyze")
    _upload(page, "Photos", [("party.jpg", side_by_side(member[5], stranger[5]), "image/jpeg")])
    expect(page.get_by_text(f"· {GRACE}")).to_be_visible()
    _settled(page)
    expect(page.get_by_text(f"· {EILEEN}")).to_be_visible()
    page.get_by_role("button", name="Keep these results in the encrypted store").click()
    expect(page.get_by_text("Kept 2 face results, encrypted: see the Kept results page.")).to_be_visible()
    _settled(page)

    # Other pages do not empty Analyze.
    _go(page, "Family")
    _go(page, "Analyze")
    expect(page.get_by_role("heading", name="party.jpg")).to_be_visible()
    expect(page.get_by_text("These results are kept in the encrypted store: see the Kept results page.")).to_be_visible()
    expect(page.get_by_role("button", name="Keep these results in the encrypted store")).to_have_count(0)

    # One click clears every photo; a second kept result is then kept and deleted on the Kept results page.
    page.get_by_role("button", name="Clear all").click()
    expect(page.get_by_text("Upload one or several photos, or take one with the camera.")).to_be_visible()
    _settled(page)
    _upload(page, "Photos", _jpegs([stranger[6]], ["eileen.jpg"]))
    expect(page.get_by_text(f"· {EILEEN}")).to_be_visible()
    _settled(page)
    page.get_by_role("button", name="Keep these results in the encrypted store").click()
    expect(page.get_by_text("Kept 1 face result, encrypted: see the Kept results page.")).to_be_visible()
    _settled(page)
    _go(page, "Kept results")
    expect(page.get_by_text("2 kept results, newest first.")).to_be_visible()
    expect(page.get_by_role("heading", name="eileen.jpg (1 face)")).to_be_visible()  # the newest, opened
    _shot(page, "kept_results", screenshots)
    delete = page.get_by_role("button", name="Delete", exact=True)
    expect(delete).to_be_disabled()
    page.get_by_text("Yes, delete this kept result").click()
    _settled(page)
    delete.click()
    expect(page.get_by_text("1 kept result, newest first.")).to_be_visible()
    _settled(page)
    expect(page.get_by_role("heading", name="party.jpg (2 faces)")).to_be_visible()

    # F5: a new session says what was kept; the store is locked again.
    page.reload()
    expect(page.get_by_text("This is a new session (a reload or a new tab starts one)")).to_be_visible()
    expect(page.get_by_text("encrypted: 2 members and 1 kept result.")).to_be_visible()
    _settled(page)
    _go(page, "Family")
    page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
    page.get_by_role("button", name="Unlock").click()
    expect(page.get_by_text("Family store unlocked")).to_be_visible()
    _settled(page)

    # Withdrawing Grace's consent: told first that the kept result naming Eileen goes too; needs the tick.
    page.get_by_role("tab", name="Withdraw consent or erase").click()
    page.get_by_text("They withdraw their consent").click()
    _settled(page)
    expect(page.get_by_text(f"1 kept result naming {GRACE}, which also names {EILEEN}")).to_be_visible()
    _shot(page, "family_erase", screenshots)
    withdraw = page.get_by_role("button", name="Withdraw consent and erase")
    expect(withdraw).to_be_disabled()
    page.get_by_text(f"Yes, erase {GRACE} for good").click()
    _settled(page)
    withdraw.click()
    expect(page.get_by_text(f"{GRACE} was erased")).to_be_visible()
    _settled(page)

    # The Member box now shows Eileen: nothing is ticked for her, neither action is enabled.
    expect(page.get_by_text(f"Yes, erase {EILEEN} for good")).to_be_visible()
    expect(page.get_by_label(f"Yes, erase {EILEEN} for good")).not_to_be_checked()
    expect(page.get_by_role("button", name="Erase", exact=True)).to_be_disabled()
    page.get_by_text("They withdraw their consent").click()
    _settled(page)
    expect(page.get_by_role("button", name="Withdraw consent and erase")).to_be_disabled()
    _no_exception(page)
