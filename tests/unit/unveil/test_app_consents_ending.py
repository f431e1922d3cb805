"""What the app says above its pages of the consents ending soon (unveil.app.consents.ending_notice), without
Streamlit: who, on which day, what happens then and how to keep them; names shown as written, never as Markdown."""
from __future__ import annotations

from datetime import date

from governance.consent import Ending
from unveil.app import consents


def test_the_notice_says_who_on_which_day_what_follows_and_who_renews():
    endings = [Ending("a1", "Ana *Lima*", date(2026, 12, 8), 1, "Ana *Lima*", by_themself=False),
               Ending("c1", "Caio Lima", date(2026, 12, 19), 12, "[Bea](https://example.org)", by_themself=True)]
    assert consents.ending_notice([]) is None
    assert consents.ending_notice(endings) == (
        "**Consents ending soon.** The day after a member's consent ends they are no longer named, and the next "
        "retention sweep erases them: their face prints, thumbnails and the kept results that name them. To keep them, "
        "renew it on the Family page (\"Renew consent or change scope\").\n\n"
        "- The consent of Ana \\*Lima\\* ends tomorrow, on 2026-12-08.\n"
        "- Caio Lima decides for themself from 2026-12-20, so the consent given by \\[Bea\\](https\u2060://example.org) "
        "(guardian) ends in 12 days, on 2026-12-19: from then only their own consent keeps them (renewed as given by "
        "Caio Lima).")
    assert consents.ENDING_LINK == "Renew a consent on the Family page"
