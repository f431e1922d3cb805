"""Family enrolment and membership, with consent enforced.

    record = ConsentRecord.new(subject="Ana", purpose="name family in our photos", days=365)
    photos = [enrolment.read_photo(data, label, analyzer.detector.detect) for label, data in files.items()]
    done = enrol_from_photos(store, "Ana", photos, record, model=analyzer.identity_model)
    done.left_out                                   # a note for each photo not used
    members(store); rename(store, "Ana", "Ana María"); purge(store, "Ana María")

Enrolment is one transaction: the person, their consent record, their embeddings (and thumbnails if
the consent's scope allows them) and the audit entries commit together or not at all.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Sized
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from fer_core import UnveilError
from fer_core.identity import Gallery
from fer_core.store import (
    FamilyStore,
    KeyDestroyedError,
    Person,
    PersonExistsError,
    PersonNameError,
    PersonNotFoundError,
    TamperedDataError,
    clean_name,
    same_name,
)
from governance import audit_log, consent, enrolment, erasure, kept_results
from governance.consent import ConsentError, ConsentRecord


@dataclass(frozen=True)
class Enrolment:
    """What an enrolment stored, and a note (governance.enrolment.LEFT_OUT_*) for each photo not used."""

    person_id: str
    name: str
    embeddings: int
    thumbnails: int
    left_out: tuple[str, ...] = ()


@dataclass(frozen=True)
class Member:
    person_id: str
    name: str
    consent_status: str  # "active", "expired", consent.NOT_YET_IN_FORCE or "missing"
    consent: ConsentRecord | None
    embeddings: int
    thumbnails: int
    enrolled_at: datetime
    last_seen_at: datetime
    models: frozenset[str] = frozenset()  # the identity models their embeddings were made by

    def must_reenrol(self, model: str) -> bool:
        """Whether they have no embedding of `model` (the identity model loaded now): recognition
        compares faces with that model's embeddings only, so it cannot name them until re-enrolled."""
        return model not in self.models

    def can_reembed(self, model: str) -> bool:
        """Whether `reembed_from_thumbnails` may spare them re-enrolling for `model`: they must be re-enrolled,
        and thumbnails are kept under a consent in force that covers them."""
        return (self.must_reenrol(model) and self.thumbnails > 0 and self.consent_status == "active"
                and self.consent.allows_thumbnails)


# What the front ends say of a member recognition cannot name with the identity model loaded now. In words both
# the app and the CLI can keep to: neither asks for a new enrolment (enrolment refuses a name already enrolled);
# the app's "Update ... face prints" forms and `unveil family reembed` make new face prints (embeddings) for them.
MUST_REENROL = ("{name} is not recognised: their face prints were made by another face-recognition model "
                "({theirs}) than the one installed ({model}); new face prints must be made for them, from their "
                "thumbnails where their consent keeps them, or from new photos of them")


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


# A member called "unknown" would be called what every face no member matches is called, in everything that names
# faces (the Analyze page, annotated photos, CSV and JSON downloads, the API, `unveil watch`): told from a stranger
# nowhere, and left out of the members a kept result names (kept_results.UNKNOWN). Names kept by older versions that
# read so still open, and are renamed or erased as any other.
NAME_READS_AS_UNKNOWN = ("a person's name must not read as \"{label}\": every face that no member matches is called "
                         "so, and they could not be told from a stranger; add to it (a surname, an initial)")


def check_name(name: str) -> str:
    """The name as enrolment stores it (NFC, single spaces, nothing around it), or PersonNameError whose
    message says why not: a fer_core.store NAME_* constant (empty, longer than MAX_NAME_CHARS, nothing
    visible, a control, format, line-break or blank character, or a word mixing Latin, Cyrillic and Greek letters:
    fer_core.store._names), or NAME_READS_AS_UNKNOWN.
    Enrolment and renaming check it before the consent and the photos; a front end may call it to say so before
    asking for more."""
    name = clean_name(name)
    if same_name(name, kept_results.UNKNOWN):
        raise PersonNameError(NAME_READS_AS_UNKNOWN.format(label=kept_results.UNKNOWN))
    return name


def resolve(store: FamilyStore, who: str) -> Person:
    """The enrolled person with this id or this name (read as fer_core.store.same_name does: case, spacing,
    Unicode forms and the Turkish i folded); PersonNotFoundError otherwise, AmbiguousNameError (naming their
    ids, choosing no one) when several members' names read the same, as older versions let in.

    Only for what a user types (the command line): faces and results carry ids, never a name to look up."""
    if who in store.person_ids():
        return store.person(who)
    person = store.find_person(who)
    if person is None:
        raise PersonNotFoundError(who, by_name=True)
    return person


def resolve_id(store: FamilyStore, who: str) -> str:
    """The id of the enrolled person with this id or this name (as `resolve`); PersonNotFoundError
    or AmbiguousNameError otherwise. An id is taken as it is, reading nothing of theirs: a member whose name or rows are
    damaged still resolves, to be erased."""
    return who if who in store.person_ids() else resolve(store, who).id


def enroll(store: FamilyStore, name: str, embeddings: np.ndarray, record: ConsentRecord, *,
           thumbnails: Sequence[bytes] = (), model: str = "default") -> Enrolment:
    """Enrol `name` with these embeddings ((n, d), e.g. from fer_core.identity.embed_enrollment_photos)
    under a consent record that must be valid now, be for this person, and cover thumbnails if any
    are given. PersonNameError for a name that cannot be enrolled (`check_name`), ConsentError (and nothing
    stored) otherwise, DateInQuestionError while the date is in question. From photos, use `enrol_from_photos`."""
    name = check_name(name)
    _check_consent(store, name, record, thumbnails=bool(thumbnails))
    return _store_enrolment(store, name, embeddings, record, thumbnails=thumbnails, model=model)


def enrol_from_photos(store: FamilyStore, name: str, photos: Sequence[enrolment.EnrolmentPhoto],
                      record: ConsentRecord, *, model: Any, picks: Mapping[str, int | None] | None = None,
                      not_the_same_as: str | None = None) -> Enrolment:
    """Enrol `name` from photos read once (governance.enrolment.read_photo): the one path of the app and
    the command line.

    The consent is checked once, first. Each photo gives its one face, or the face picked in `picks`
    (label -> face index) when it shows several; the others are left out, each with a note in the
    result's `left_out`. Every chosen face is aligned once for the identity `model`
    (fer_core.identity.EmbeddingModel), giving its embedding and, when the consent's scope allows it,
    its thumbnail. The face prints are compared with the members' (`enrolled_lookalike`): photos that look like
    a member already enrolled raise LooksEnrolledError, unless `not_the_same_as` is that member's id (the user
    says the person is someone else, a twin say: logged as not_the_same_person in the "enrol" entry). Everything
    is stored in one audit-logged transaction, the embeddings tagged with the model's name. PersonNameError
    (`check_name`, before anything else), ConsentError, NoFaceToEnrolError when no photo gives a face, or
    LooksEnrolledError: nothing is stored."""
    name = check_name(name)
    _check_consent(store, name, record, thumbnails=False)
    chosen, left_out = enrolment.pick_faces(photos, picks)
    if not chosen:
        raise enrolment.NoFaceToEnrolError(left_out)
    crops = enrolment.aligned_faces(chosen, model)
    thumbnails = enrolment.thumbnails(crops, template=model.template) if record.allows_thumbnails else []
    embeddings = model.embed(crops)
    with store.transaction():  # compared under the write lock: a member enrolled meanwhile is compared too
        lookalike = enrolled_lookalike(gallery(store, model), embeddings)
        if lookalike is not None and lookalike[0] != not_the_same_as:
            raise LooksEnrolledError(*lookalike)
        done = _store_enrolment(store, name, embeddings, record, thumbnails=thumbnails, model=model.name,
                                not_the_same_person=lookalike is not None)
    return Enrolment(done.person_id, done.name, done.embeddings, done.thumbnails, tuple(left_out))


# Said when an enrolment's photos look like a member already enrolled; nothing is stored. A person enrolled twice
# under two names is mostly not named at all (recognition finds two members about as close and says "unknown":
# 23 of 32 probes on the development set, python experiments/duplicate_enrolment.py). Each front end adds how to
# say the person is someone else (`unveil family enroll --not-the-same-as`, the Family page's tick box).
LOOKS_ENROLLED = ("These photos look like {name}, who is already enrolled: nothing was stored. If they are {name}, "
                  "they are recognised already (a mistyped name is changed by renaming them, not by a second "
                  "enrolment); if they are someone else who looks like {name} (a twin, a sibling), enrol them again "
                  "saying they are not the same person")


class LooksEnrolledError(UnveilError, ValueError):
    """An enrolment's photos look like a member already enrolled (LOOKS_ENROLLED); nothing was stored.
    `person_id` and `name` are that member's."""

    def __init__(self, person_id: str, name: str) -> None:
        self.person_id, self.name = person_id, name
        super().__init__(LOOKS_ENROLLED.format(name=name))


def enrolled_lookalike(members: Gallery | None, embeddings: np.ndarray) -> tuple[str, str] | None:
    """(id, name) of the member whom one person's new enrolment embeddings look like, or None.

    They are compared as recognition will compare them once enrolled: their centre (Gallery's representation of
    a person) with each member's, in the members' `gallery` (the installed identity model's embeddings only: a
    member who must be re-embedded cannot be compared). Within the model's threshold of the nearest member (its
    card's operating point, as Gallery.identify names a face) they look like that member, whether recognition
    would name them or find them about as close to a second member (Gallery's margin): enrolled, such a person
    would take away the recognition of the member they look like."""
    if members is None:
        return None
    centre = Gallery({"new": embeddings}, threshold=members.threshold, distance=members.distance).centre("new")
    match = members.identify(centre)
    return (match.nearest, members.labels[match.nearest]) if match.distance <= members.threshold else None


def _check_consent(store: FamilyStore, name: str, record: ConsentRecord, *, thumbnails: bool) -> None:
    consent.require_settled_date(store)  # the person, their consent and embeddings would carry the doubtful date
    record.validate(now=consent.store_now(store))
    if not same_name(record.subject, name):
        raise ConsentError(f"the consent record is for {record.subject}, not for {name}; nothing was stored")
    if thumbnails and not record.allows_thumbnails:
        raise ConsentError(f"the consent's scope {record.scope!r} does not cover thumbnails; nothing was stored")


def _store_enrolment(store: FamilyStore, name: str, embeddings: np.ndarray, record: ConsentRecord, *,
                     thumbnails: Sequence[bytes], model: str, not_the_same_person: bool = False) -> Enrolment:
    # Only a flag: the member they look like is not named, nor their id (the log names the member enrolled).
    override = {"not_the_same_person": True} if not_the_same_person else {}
    with store.transaction():
        person_id = store.add_person(name)
        consent.add_validated(store, person_id, record)
        count = store.add_embeddings(person_id, embeddings, model=model)
        for image in thumbnails:
            store.add_thumbnail(person_id, image)
        audit_log.record(store, "enrol", person_id=person_id,
                         details={"embeddings": count, "thumbnails": len(thumbnails), **override})
    return Enrolment(person_id, store.person(person_id).name, count, len(thumbnails))


def add_embeddings(store: FamilyStore, who: str, embeddings: np.ndarray, *, model: str = "default") -> int:
    """More embeddings for an enrolled person whose consent is in force."""
    person = resolve(store, who)
    if _consent_in_force(store, person.id) is None:
        raise ConsentError(f"{person.name} has no consent in force; nothing was stored")
    return _store_embeddings(store, person.id, embeddings, model=model)


def _consent_in_force(store: FamilyStore, person_id: str) -> ConsentRecord | None:
    record = consent.latest(store, person_id)
    return record if consent.status(record, consent.store_now(store)) == "active" else None


def _store_embeddings(store: FamilyStore, person_id: str, embeddings: np.ndarray, *, model: str,
                      details: Mapping[str, str] | None = None) -> int:
    """Store embeddings of an enrolled person and audit-log it, in one transaction; how many were stored."""
    with store.transaction():
        count = store.add_embeddings(person_id, embeddings, model=model)
        audit_log.record(store, "embeddings_added", person_id=person_id, details={"embeddings": count, **(details or {})})
    return count


# Re-embedding is quicker, re-enrolling is better: after the move from dlib to MobileFaceNet, enrolment
# embeddings from dlib's thumbnails named 2 of 50 strangers where a fresh enrolment from the photos named 1,
# both naming all 64 family photos rightly (python experiments/thumbnail_reembedding.py).
REEMBED_OR_REENROL = ("Updating face prints from thumbnails is quick; from new photos they recognise a little more "
                      "reliably (fewer strangers taken for family), where you have them.")

# How a member already enrolled is re-enrolled from photos: `family enroll` refuses a name that is enrolled,
# and erasing them to enrol them again would take the kept results that name them too.
REENROL_HOW = " (unveil family reembed NAME PHOTO...: from photos, under the consent they gave)"

# Why a member cannot be re-embedded from thumbnails; each names what to do instead.
REEMBED_NEEDS_THUMBNAIL_CONSENT = ("{name}'s consent in force does not cover thumbnails, so their face is not kept: "
                                   "re-enrol them from photos" + REENROL_HOW)
# Retention deletes thumbnails after its set days (90 by default), as narrowing a consent to recognition does.
REEMBED_NO_THUMBNAILS = ("{name} has no thumbnail kept (retention deletes them after the days it is set to): "
                         "re-enrol them from photos" + REENROL_HOW)
REEMBED_NO_USABLE_THUMBNAIL = ("{name} has no thumbnail that records where its face lies (thumbnails kept before "
                               "version 0.3.0 do not): re-enrol them from photos" + REENROL_HOW)


class NoUsableThumbnailError(UnveilError, ValueError):
    """A member has no thumbnail that records its alignment (REEMBED_NO_USABLE_THUMBNAIL); nothing stored."""


def reembed_from_thumbnails(store: FamilyStore, who: str, *, model: Any) -> int:
    """Embeddings of the identity `model` (fer_core.identity.EmbeddingModel) for a member, made from their
    own encrypted thumbnails: after a model change, a member whose consent covers thumbnails need not
    come back with photos. Each thumbnail's face is warped from the landmarks it records onto the model's
    template (on the development set, with the same model, this names the household as embedding the photos
    does; from dlib's thumbnails into MobileFaceNet it names one more stranger, see REEMBED_OR_REENROL).
    Unlike `reembed_from_photos`, no comparison with the other members: the thumbnails are the faces this member
    was enrolled from, so no new face enters the store. ConsentError when their consent in force does not
    cover thumbnails, NoUsableThumbnailError when none is kept or none records its alignment; nothing is stored then.
    Returns how many embeddings were added (audit-logged as embeddings_added, from thumbnails)."""
    person = resolve(store, who)
    record = _consent_in_force(store, person.id)
    if record is None or not record.allows_thumbnails:
        raise ConsentError(REEMBED_NEEDS_THUMBNAIL_CONSENT.format(name=person.name))
    thumbnails = store.thumbnails(person.id)
    if not thumbnails:
        raise NoUsableThumbnailError(REEMBED_NO_THUMBNAILS.format(name=person.name))
    faces = [found for found in (enrolment.thumbnail_landmarks(t.image) for t in thumbnails) if found]
    if not faces:
        raise NoUsableThumbnailError(REEMBED_NO_USABLE_THUMBNAIL.format(name=person.name))
    crops = np.stack([model.align(pixels, landmarks) for pixels, landmarks in faces])
    return _store_embeddings(store, person.id, model.embed(crops), model=model.name,
                             details={"from": "thumbnails", "model": model.name})


def reembed_from_photos(store: FamilyStore, who: str, photos: Sequence[enrolment.EnrolmentPhoto], *, model: Any,
                        picks: Mapping[str, int | None] | None = None, not_the_same_as: str | None = None) -> int:
    """Embeddings of the identity `model` for an enrolled member from photos read once (as for
    `enrol_from_photos`: one face each, or the one in `picks`), under the consent in force: the re-enrolment
    of a member the installed model cannot name and whose thumbnails cannot be used, without erasing them.
    New photos can be of someone else, so they are compared with the other members as an enrolment's are
    (`enrolled_lookalike`): photos that look like another member raise LooksEnrolledError, unless
    `not_the_same_as` is that member's id (logged as not_the_same_person in the "embeddings_added" entry).
    ConsentError when no consent is in force, NoFaceToEnrolError when no photo gives a face, or
    LooksEnrolledError; nothing is stored then. Returns how many embeddings were added (audit-logged as
    embeddings_added, from photos)."""
    person = resolve(store, who)
    if _consent_in_force(store, person.id) is None:
        raise ConsentError(f"{person.name} has no consent in force; nothing was stored")
    chosen, left_out = enrolment.pick_faces(photos, picks)
    if not chosen:
        raise enrolment.NoFaceToEnrolError(left_out)
    crops = enrolment.aligned_faces(chosen, model)
    embeddings = model.embed(crops)
    with store.transaction():  # compared under the write lock, as enrol_from_photos
        lookalike = enrolled_lookalike(gallery(store, model, leaving_out=person.id), embeddings)
        if lookalike is not None and lookalike[0] != not_the_same_as:
            raise LooksEnrolledError(*lookalike)
        override = {"not_the_same_person": True} if lookalike is not None else {}  # a flag only, as for "enrol"
        return _store_embeddings(store, person.id, embeddings, model=model.name,
                                 details={"from": "photos", "model": model.name, **override})


def members(store: FamilyStore) -> list[Member]:
    """Everyone enrolled, with consent status and expiry."""
    now = consent.store_now(store)
    models = store.embedding_models()
    out = []
    for person in store.people(errors="skip"):
        try:
            record = consent.latest(store, person.id)
        except PersonNotFoundError:  # erased since the list was read (a retention sweep's thread, another session)
            continue
        out.append(Member(person.id, person.name, consent.status(record, now), record, person.embeddings,
                          person.thumbnails, _utc(person.created_at), _utc(person.last_seen_at),
                          frozenset(models.get(person.id, ()))))
    return out


def unread_count(store: FamilyStore, members: Sized) -> int:
    """How many of those enrolled in `store` are not in `members` (members(store) leaves out a member whose row is
    damaged or whose key is destroyed): their ids are stored in the clear (random, they say nothing), so they are
    counted even when nothing else of them can be read."""
    # Not below 0: someone enrolled in another session between the two reads.
    return max(0, len(store.person_ids()) - len(members))


def must_reenrol_notes(members: Iterable[Member], model: str) -> list[str]:
    """MUST_REENROL for each member with no embedding of `model`, the identity model loaded now."""
    return [MUST_REENROL.format(name=m.name, theirs=", ".join(sorted(m.models)) or "none", model=model)
            for m in members if m.must_reenrol(model)]


@dataclass(frozen=True)
class ErasurePreview:
    """What erasing one member deletes, counted before anything is deleted."""

    name: str
    consents: int
    embeddings: int
    thumbnails: int
    analyses: int  # kept analysis results that name them: each is erased whole
    also_named: tuple[str, ...]  # other members named in those results, sorted


def erasure_preview(store: FamilyStore, person_id: str) -> ErasurePreview:
    """What purging or withdrawing this person erases (store.delete_person deletes every kept result
    that names them, whoever else it names): for the page to say before the click."""
    person = store.person(person_id)
    naming = [entry for entry in store.analyses() if person_id in entry.person_ids]
    enrolled = set(store.person_ids())
    others = {pid for entry in naming for pid in entry.person_ids if pid != person_id and pid in enrolled}
    also_named = tuple(sorted(store.person(pid).name for pid in others))
    return ErasurePreview(person.name, len(store.consents(person_id)), person.embeddings, person.thumbnails,
                          len(naming), also_named)


def purge(store: FamilyStore, who: str) -> erasure.ErasureReceipt:
    """Erase a person on request (by name or id) and return the receipt. By id it needs nothing of
    theirs to be readable: a member whose name or rows are damaged can still be erased."""
    return erasure.purge_person(store, resolve_id(store, who), reason="request")


# Why a member is not renamed; nothing is changed. NAME_TAKEN names the member who has the name already: enrolment
# refuses a second member whose name reads the same (fer_core.store._names), and so does renaming.
NAME_TAKEN = "{name!r} reads as the name of {other}, another member; nothing was changed"
NAME_UNCHANGED = "{name} already has that name; nothing was changed"


class RenameError(UnveilError, ValueError):
    """A member is not renamed (NAME_TAKEN, NAME_UNCHANGED); nothing was changed."""


@dataclass(frozen=True)
class Renamed:
    person_id: str
    before: str
    name: str
    consent_restated: bool  # False for a member with no consent record (enrolled by a version that kept none)


def rename(store: FamilyStore, who: str, name: str) -> Renamed:
    """Give a member (by name or id) another name: a name mistyped at enrolment, or one that changed (marriage, a
    nickname), without erasing them (which would take their consent history, their face prints and the results
    kept that name them, and need their photos again). Their id stays, and with it everything keyed on it: face prints,
    thumbnails, consent records, kept results, erasure receipts and the audit log's entries.

    One transaction: the name (as enrolment stores it, `check_name`), the governing consent record restated under the
    new name (the same consent, its dates, purpose, scope and giver kept, given by the member themself under their
    new name when it was theirs; earlier records stay as they were given), and a "renamed" audit entry, which names
    them as every entry does (by id, the name sealed under their key), with no name in its details.
    PersonNameError for a name enrolment refuses, RenameError when another member's name reads the same
    (NAME_TAKEN) or it is their name already (NAME_UNCHANGED), PersonNotFoundError or AmbiguousNameError for `who`;
    nothing is changed then."""
    name = check_name(name)
    with store.transaction():  # read under the write lock: a member enrolled meanwhile under that name is seen
        person = resolve(store, who)
        if name == person.name:
            raise RenameError(NAME_UNCHANGED.format(name=person.name))
        try:
            store.rename_person(person.id, name)
        except PersonExistsError as taken:  # the store compares every other member's name, as for a new member
            raise RenameError(NAME_TAKEN.format(name=name, other=taken.name)) from None
        record = consent.latest(store, person.id)
        if record is not None:
            restated = consent.restated_for(record, name)
            store.add_consent(person.id, restated.to_details())
        audit_log.record(store, "renamed", person_id=person.id, details={"consent_restated": record is not None})
    return Renamed(person.id, person.name, name, record is not None)


def note_recognition(store: FamilyStore, person_ids: Iterable[str], *, faces: int, named: int | None = None,
                     seen_at: float | None = None, period_s: int | None = None) -> None:
    """After recognising `faces` faces of which these people (ids, as the faces' matches carry them) were
    named: keep their "last seen" time fresh for retention and log the counts (only counts) in one
    transaction. Counts summed over a period (governance.recognition_tally) give `named` (default: how many people),
    `seen_at` (the last recognition, on the store's clock; default now) and `period_s` (audit_log.record_recognition)."""
    person_ids = list(dict.fromkeys(person_ids))
    with store.transaction():
        store.mark_seen(person_ids, when=seen_at)
        audit_log.record_recognition(store, faces=faces, named=len(person_ids) if named is None else named,
                                     period_s=period_s)


def gallery(store: FamilyStore, model: Any, *, leaving_out: str | None = None) -> Gallery | None:
    """The household's gallery for the identity `model` (fer_core.identity.EmbeddingModel): each member's
    embeddings made by that model, by id, labelled with their names, at the model's threshold and
    distance. Only members whose consent is in force now: retention's sweep erases the others, but only when
    it runs (the app runs it at unlock), and a front end that runs meanwhile must not name them. None when
    nobody is left to compare a face with. What the app, `unveil watch` and `unveil serve` name faces with.
    `leaving_out`: a member's id left out (a member re-embedded is compared with the others only)."""
    entries = [entry for entry in store.gallery(model=model.name, errors="skip")
               if entry.person_id != leaving_out and _may_be_named(store, entry.person_id)]
    return Gallery.from_entries(entries, threshold=model.threshold, distance=model.distance) if entries else None


def _may_be_named(store: FamilyStore, person_id: str) -> bool:
    """Whether recognition may name this member now: a consent in force that can be read. A consent record
    that fails authentication, or a member erased by another session since the gallery was read, names
    nobody (as store.gallery(errors="skip") leaves out a damaged member) rather than failing every face."""
    try:
        return _consent_in_force(store, person_id) is not None
    except (TamperedDataError, KeyDestroyedError, PersonNotFoundError):
        return False


def consent_ends(store: FamilyStore, person_ids: Iterable[str]) -> datetime | None:
    """When the first consent of these members ends (None when none ends): a gallery of them built now
    must be built again then, as `gallery` names only members whose consent is in force."""
    ends = [record.ends_at for record in (consent.latest(store, pid) for pid in person_ids) if record]
    return min(ends, default=None)


def gallery_rebuilt_at(store: FamilyStore, person_ids: Iterable[str]) -> datetime | None:
    """When a gallery of these members built now must be built again, as `gallery` names only members whose consent
    is in force (None: only once the store changes): the first end of their consents, or the first start of a
    member's consent not yet in force, whichever comes first. Such a consent was dated ahead of a clock put back
    since (an NTP step): left out of a gallery kept for days, its member was never named however long it ran."""
    now = consent.store_now(store)
    starts = []
    for person in store.people(errors="skip"):
        try:
            record = consent.latest(store, person.id)
        except (TamperedDataError, KeyDestroyedError, PersonNotFoundError):  # names nobody, as in `gallery`
            continue
        if record is not None and consent.status(record, now) == consent.NOT_YET_IN_FORCE:
            starts.append(record.starts_at)
    ends = consent_ends(store, person_ids)
    return min([*starts, *([ends] if ends is not None else [])], default=None)


def count_recognitions(store: FamilyStore, person_ids: Sequence[str | None]) -> None:
    """After faces were compared with the family gallery (one entry per face, or per face followed in a
    video or a live stream: the member's id its match carries, or None for "unknown"): `note_recognition`
    for the named members, one audit entry. What the app's Analyze and Video pages call after naming a batch of photos
    or a video; `unveil watch`, `unveil serve` and the Live page sum theirs into one entry a minute
    (governance.recognition_tally). The ids come from the matches, so no name is decrypted or looked up."""
    note_recognition(store, sorted({pid for pid in person_ids if pid}), faces=len(person_ids))
