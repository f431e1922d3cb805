"""The Family page's "What is stored about NAME", without Streamlit: one member's account (governance.access), as
`unveil family show` prints it, in sentences and tables for the page to draw. Dates are days of the user's calendar
(their browser's time zone), as on the rest of the page; audit entries as the Governance page's table shows them."""
from __future__ import annotations

import dataclasses
from datetime import datetime, tzinfo

import pandas as pd

from governance import access, audit_log
from governance.consent import decides_for_themself, local_day, until_day
from unveil.app.text import shown

TITLE = "What is stored about {name}"
# Said first: what the account is, and that reading it changes nothing.
INTRO = ("Everything this store holds about {name}, for them to see. Reading it changes nothing and is not written "
         "to the audit log.")
FACE_PRINTS = "**Face prints:** {count} ({models}); the numbers themselves are never shown."
NO_FACE_PRINTS = "none"
THUMBNAILS = "**Thumbnails:** {count}"
KEPT = "**Kept results that name them:** {count}{days}"
ENROLLED = "**Enrolled** {enrolled}; **last seen** {last_seen}"
RECOGNITIONS = "**Recognitions:** " + access.RECOGNITIONS_NOT_COUNTED
CONSENTS = "**Consent records**, oldest first: the last one governs, and is {status} now."
AUDIT = "**Audit log entries about them:** {count}"


def summary_lines(held: access.Account, zone: tzinfo | None = None) -> list[str]:
    """The account's sentences (Markdown), names shown literally (unveil.app.text.shown)."""
    def day(when: datetime) -> str:
        return local_day(when, zone).isoformat()

    models = ", ".join(f"{n} of {shown(m)}" for m, n in held.face_prints.items()) or NO_FACE_PRINTS
    return [INTRO.format(name=shown(held.name)),
            ENROLLED.format(enrolled=day(held.enrolled_at), last_seen=day(held.last_seen_at)),
            RECOGNITIONS,
            FACE_PRINTS.format(count=sum(held.face_prints.values()), models=models),
            THUMBNAILS.format(count=held.thumbnails),
            KEPT.format(count=len(held.kept_results),
                        days=", kept " + ", ".join(day(when) for when in held.kept_results) if held.kept_results else ""),
            CONSENTS.format(status=held.consent_status)]


def consents_table(held: access.Account, zone: tzinfo | None = None) -> pd.DataFrame:
    """Every consent record of theirs, oldest first, the governing one marked."""
    rows = [{
        "given": local_day(c.record.given_at, zone).isoformat(),
        "until": until_day(c.record, zone).isoformat(),
        "for": c.record.subject,
        "child": c.record.subject_is_child,
        "given by": c.record.given_by,
        "relation": c.record.relation,
        "decides for themself": decides_for_themself(c.record, zone) or "",
        "scope": c.record.scope,
        "purpose": c.record.purpose,
        "governs": c.governs,
    } for c in held.consents]
    return pd.DataFrame(rows, columns=["given", "until", "for", "child", "given by", "relation", "decides for themself",
                                       "scope", "purpose", "governs"])


def audit_table(held: access.Account) -> pd.DataFrame:
    """The audit entries about them, newest first, as the Governance page's table shows entries."""
    columns = [field.name for field in dataclasses.fields(audit_log.ShownEntry)]
    return pd.DataFrame([dataclasses.asdict(entry) for entry in reversed(held.audit)], columns=columns)
