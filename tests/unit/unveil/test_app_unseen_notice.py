"""What the app says above its pages of the members the sweep erases soon for not being recognised
(unveil.app.consents.unseen_notice), without Streamlit: who, since when, on which day, what follows and how to keep
them; names shown as written, never as Markdown."""
from __future__ import annotations

from datetime import date

from governance.retention import Unseen
from unveil.app import consents


def test_the_notice_says_who_since_when_on_which_day_what_follows_and_how_to_keep_them():
    unseen = [Unseen("a1", "Ana *Lima*", date(2025, 12, 13), date(2026, 12, 13), 5, 365),
              Unseen("c1", "Caio Lima", date(2025, 12, 19), date(2026, 12, 19), 11, 365)]
    assert consents.unseen_notice([]) is None
    assert consents.unseen_notice(unseen) == (
        "**Members not recognised for a long time.** A member not recognised for 365 days (the retention of unseen "
        "people) is erased by a retention sweep from that day: their face prints, thumbnails and the kept results that "
        "name them. To keep them, let the app recognise them again: a photo of them on the Analyze page, a video of "
        "them on the Video page, the Live page, or `unveil watch` or `unveil serve` seeing them. Or lengthen that "
        "period, or switch it off, on the Governance page (Retention).\n\n"
        "- Ana \\*Lima\\*, last seen on 2025-12-13, reaches 365 days in 5 days, on 2026-12-13.\n"
        "- Caio Lima, last seen on 2025-12-19, reaches 365 days in 11 days, on 2026-12-19.")
    assert consents.UNSEEN_LINK == "Analyse a photo of them on the Analyze page"
