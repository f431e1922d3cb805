"""The Family page's enrolment form, without Streamlit: the photos it enrols, the camera shots it keeps,
and the consent record it describes; and the ways it offers to re-embed a member the installed identity
model cannot name (from their thumbnails, or from new photos).

Reading the photos, picking the faces and storing the enrolment are the same for every front end
(governance.enrolment, governance.family.enrol_from_photos).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from unveil.app import tables

if TYPE_CHECKING:
    from fer_core.store import FamilyStore
    from governance.enrolment import EnrolmentPhoto
    from governance.family import Member

# What the Family page says to a household: a face embedding is "a face print" (numbers computed from a face, not
# the photo), as in governance.consent.SCOPES.
FAMILY_CAPTION = ("Members' names, face prints (numbers computed from their photos, not the photos themselves), "
                  "consent records and, where a consent allows, small pictures of their face are encrypted on this "
                  "machine with a key that only your passphrase (or the store's key file, if it has one) unlocks. "
                  "The photos themselves are not kept.")
# Said before the store is created: the length fer_core.store.MIN_PASSPHRASE_CHARS asks, and that a lost
# passphrase cannot be recovered (the master key is derived from it; nothing else unlocks a store made here).
CREATE_STORE_INTRO = ("First run: choose a passphrase of at least {minimum} characters, and write it down somewhere "
                      "safe. It cannot be recovered: if it is lost, the store cannot be unlocked again.")
PASSPHRASE_HELP = "At least {minimum} characters. It cannot be recovered if lost."
ENROLLED = ("Enrolled {name} with {embeddings} face print(s) and {thumbnails} thumbnail(s). They will be named in "
            "analysed photos from now on.")
SHOTS_KEPT = "{count} camera shot(s) kept for this enrolment (in memory): they are enrolled with the photos."
# The form that re-embeds, from new photos, a member the installed identity model cannot name: enrolment refuses
# a name already enrolled, and erasing them to enrol them again would take the results kept that name them.
# The page says "update face prints" where the code says re-embed: a household knows the face prints (the Members
# table counts them), not embeddings.
REEMBED_FROM_PHOTOS_TITLE = "Update {name}'s face prints from new photos"
REEMBED_FROM_PHOTOS_HOW = ("Upload or take a few photos of {name}, each showing their face (4 or more recognise best): "
                           "their face prints are computed again with the face-recognition model installed, under the "
                           "consent they gave, and the results kept that name them stay. The photos are not kept.")
REEMBED_SHOTS_KEPT = "{count} camera shot(s) of {name} kept (in memory): they are used with the photos."
REEMBED_NO_PHOTO = "Add at least one photo or camera shot of {name}."
REEMBED_FROM_PHOTOS_BUTTON = "Update {name}'s face prints from these photos"
REEMBED_FROM_PHOTOS_DONE = ("{name}'s face prints were updated from {count} of {total} photo(s): they are named again "
                            "from now on.")
# The one-click way, for a member whose consent keeps usable thumbnails.
REEMBED_FROM_THUMBNAILS_BUTTON = "Update {name}'s face prints from their thumbnails"
REEMBED_FROM_THUMBNAILS_DONE = ("{name}'s face prints were updated from {count} thumbnail(s): they are named again "
                                "from now on.")
# What friendly_errors and the spinner say while it runs.
REEMBEDDING = "Updating {name}'s face prints"
# After an enrolment refused because its photos look like a member (governance.family.LOOKS_ENROLLED): where the page
# renames them, how it says the person is someone else, and the tick box that says it, for the photos refused only.
# (The Members tab's renaming form is unveil.app.renaming.RENAME_TITLE.)
NOT_THE_SAME_HOW = (" (to rename them: \"Correct or change a member's name\" on the Members tab; for someone else, "
                    "tick the box below, then Enrol)")
NOT_THE_SAME_TICK = "This person is not {name}: they are someone else who looks like {name}"
# The same refusal when new photos of a member being updated look like another member (the button is the form's).
REEMBED_NOT_THE_SAME_HOW = " (if these photos are of {member}, tick the box below, then update their face prints)"
# The Enrol tab when models/ has no identity model.
NO_IDENTITY_MODEL = "No face-recognition model is installed (models/{file}): enrolment is not possible."


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


@dataclass(frozen=True)
class Lookalike:
    """An enrolment refused because its photos look like a member (governance.family.LooksEnrolledError): that
    member's id, and `photos_key` of the photos and faces refused. The page offers NOT_THE_SAME_TICK while the form
    holds those photos: photos changed since were not compared, and a tick given for others must not count."""

    person_id: str
    photos: str


def photos_key(photos: Mapping[str, bytes], picks: Mapping[str, int | None]) -> str:
    """One digest of a form's photos (labels and bytes) and the faces picked in them."""
    digest = hashlib.sha256()
    for label, data in photos.items():
        digest.update(f"{label}\0{picks.get(label)}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def looked_like(refused: Lookalike | None, photos: Mapping[str, bytes], picks: Mapping[str, int | None],
                members: Iterable[Any]) -> Any | None:
    """The member (of `members`, each with a person_id) whose look-alike refusal still stands for the photos and
    faces the form holds now, or None: no refusal, or the photos changed since it (NOT_THE_SAME_TICK is offered
    for the very photos refused only)."""
    if refused is None or refused.photos != photos_key(photos, picks):
        return None
    return next((member for member in members if member.person_id == refused.person_id), None)


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
    from governance.consent import local_day

    return local_day(now, zone)


# Asked when a guardian gives the consent: optional, but said why it matters (governance.consent.ConsentRecord.adult_on).
ADULT_ON_LABEL = "From which day does this person decide for themself? (the age of digital consent, or adulthood)"
ADULT_ON_ASK = ("Without this day the guardian's consent counts for as long as it is renewed, also once the person "
                "could give their own. From it, only their own consent counts. It can be recorded later too.")


def consent_from_form(
    *, name: str, given_by: str, guardian: bool, child: bool, purpose: str, scope: str, expires_on: date,
    now: datetime, zone: tzinfo | None = None, adult_on: date | None = None,
) -> Any:
    """The ConsentRecord the Family page's form describes, given now: by the person themself, or by
    `given_by` as their guardian until `adult_on` (the day the person decides for themself, in `zone`; a guardian's
    consent only, so left out of the person's own).

    The consent lasts to the end of `expires_on` in the user's time zone `zone` (None: this machine's): a
    person picks a day of their own calendar, not an instant, and today is the first day they can pick. The
    record is not validated here; governance.family.enrol_from_photos validates it and refuses it with a message
    that says what is missing."""
    from governance.consent import ConsentRecord, end_of_day, start_of_day

    return ConsentRecord(subject=name.strip(), given_by=given_by.strip() if guardian else name.strip(),
                         relation="guardian" if guardian else "self", purpose=purpose.strip(), scope=scope,
                         given_at=now, expires_at=end_of_day(expires_on, zone), subject_is_child=child,
                         adult_on=start_of_day(adult_on, zone) if guardian and adult_on is not None else None)


@dataclass(frozen=True)
class Reembedding:
    """A member the identity model loaded now cannot name ("must be re-enrolled"), whose consent is in force:
    the page re-embeds them from new photos, and in one click from their own thumbnails when `from_thumbnails`."""

    member: Member
    from_thumbnails: bool


def reembeddings(store: FamilyStore, members: Sequence[Member], model: str) -> list[Reembedding]:
    """The members with no embedding of `model` (the identity model loaded now) that the page can re-embed, in
    the order given: those with a consent in force (governance.family.reembed_from_photos needs one). Each can
    be re-embedded from their thumbnails when their consent keeps thumbnails and one of them records where its
    face lies (thumbnails kept before version 0.3.0 do not: governance.family.reembed_from_thumbnails refuses
    those); the others only from new photos."""
    from governance import enrolment

    def usable_thumbnail(member: Member) -> bool:
        return member.can_reembed(model) and any(
            enrolment.thumbnail_landmarks(thumbnail.image) is not None for thumbnail in store.thumbnails(member.person_id))

    return [Reembedding(member, usable_thumbnail(member)) for member in members
            if member.must_reenrol(model) and member.consent_status == "active"]


def reembed_from_photos(store: FamilyStore, member: Member, photos: Sequence[EnrolmentPhoto],
                        picks: Mapping[str, int | None] | None, *, model: Any, not_the_same_as: str | None = None) -> str:
    """Re-embed `member` from the form's photos, read once (governance.family.reembed_from_photos: one face
    each, or the one picked in `picks`, under their consent in force), and say so: from how many of the
    photos, then which were read by their first picture only (governance.enrolment.FIRST_PICTURE_ONLY) and why
    each photo left out was not used (LEFT_OUT_*). ConsentError, NoFaceToEnrolError or LooksEnrolledError (unless
    `not_the_same_as` is that member's id), nothing stored, as governance.family.reembed_from_photos."""
    from governance import enrolment, family

    count = family.reembed_from_photos(store, member.person_id, photos, model=model, picks=picks,
                                       not_the_same_as=not_the_same_as)
    _, left_out = enrolment.pick_faces(photos, picks)
    return " ".join([REEMBED_FROM_PHOTOS_DONE.format(name=member.name, count=count, total=len(photos)),
                     *filter(None, map(enrolment.first_picture_note, photos)), *left_out])
