"""The Family page's enrolment form, without Streamlit: the consent record the form describes.

Reading the photos, picking the faces and storing the enrolment are the same for every front end
(governance.enrolment, governance.family.enrol_from_photos).
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any


def consent_from_form(
    *, name: str, given_by: str, guardian: bool, child: bool, purpose: str, scope: str, expires_on: date,
    now: datetime,
) -> Any:
    """The ConsentRecord the Family page's form describes, given now: by the person themself, or by
    `given_by` as their guardian.

    The consent lasts to the end of `expires_on` (UTC): a person picks a day, not an instant. The
    record is not validated here; governance.family.enrol_from_photos validates it and refuses it with a message
    that says what is missing."""
    from governance.consent import ConsentRecord

    return ConsentRecord(subject=name.strip(), given_by=given_by.strip() if guardian else name.strip(),
                         relation="guardian" if guardian else "self", purpose=purpose.strip(), scope=scope,
                         given_at=now, expires_at=datetime.combine(expires_on, time.max, tzinfo=UTC),
                         subject_is_child=child)
