"""The Family page's enrolment form, without Streamlit: the photos it enrols, the camera shots it keeps,
and the consent record it describes.

Reading the photos, picking the faces and storing the enrolment are the same for every front end
(governance.enrolment, governance.family.enrol_from_photos).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from unveil.app import tables

SHOTS_KEPT = "{count} camera shot(s) kept for this enrolment (in memory): they are enrolled with the photos."


@dataclass
class CameraShots:
    """The camera shots kept for the enrolment in progress, in this session's memory only, in the order
    kept. A frame is kept once: "Keep this shot" clicked again on the same frame adds nothing."""

    _shots: dict[str, bytes] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._shots)

    def keep(self, data: bytes) -> None:
        self._shots.setdefault(hashlib.sha256(data).hexdigest(), data)

    def shots(self) -> list[bytes]:
        return list(self._shots.values())

    def clear(self) -> None:
        self._shots.clear()


def form_photos(uploads: Iterable[tuple[str, bytes]], shots: Iterable[bytes]) -> dict[str, bytes]:
    """{label: bytes} of every photo of the form: the uploads by file name, then the camera shots ("camera
    shot 1", ...). A name used again gets a number ("IMG_0001.jpg (2)"): two phones name their photos
    alike, and each upload is enrolled and shown under a label of its own."""
    named = [*uploads, *((f"camera shot {n}", data) for n, data in enumerate(shots, start=1))]
    labels = tables.distinct((name for name, _ in named), numbered="{label} ({number})")
    return {label: data for label, (_, data) in zip(labels, named, strict=True)}


def user_zone(name: str | None) -> tzinfo | None:
    """The time zone of the user's days: their browser's (the IANA name Streamlit reports), or None, this
    machine's own, when the browser's is not known or not in this machine's time zone database."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return None


def today(now: datetime, zone: tzinfo | None) -> date:
    """The user's date at `now` in `zone` (None: this machine's): the first day a consent may end on."""
    return now.astimezone(zone).date()


def consent_from_form(
    *, name: str, given_by: str, guardian: bool, child: bool, purpose: str, scope: str, expires_on: date,
    now: datetime, zone: tzinfo | None = None,
) -> Any:
    """The ConsentRecord the Family page's form describes, given now: by the person themself, or by
    `given_by` as their guardian.

    The consent lasts to the end of `expires_on` in the user's time zone `zone` (None: this machine's): a
    person picks a day of their own calendar, not an instant, and today is the first day they can pick. The
    record is not validated here; governance.family.enrol_from_photos validates it and refuses it with a message
    that says what is missing."""
    from governance.consent import ConsentRecord

    end = datetime.combine(expires_on, time.max)
    return ConsentRecord(subject=name.strip(), given_by=given_by.strip() if guardian else name.strip(),
                         relation="guardian" if guardian else "self", purpose=purpose.strip(), scope=scope,
                         given_at=now, expires_at=end.replace(tzinfo=zone) if zone else end.astimezone(),
                         subject_is_child=child)
