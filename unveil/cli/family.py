"""`unveil family init|enroll|list|show|reembed|rename|purge|passwd|check|backup|start-over|destroy-old`: the encrypted
family store from the shell."""
from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from fer_core import UnveilError
from fer_core.store import (
    DATA_FILE,
    KEYS_FILE,
    FamilyStore,
    ScryptParams,
    StoreExistsError,
    create_key_file,
    resolve_data_dir,
)
from governance import access, backup, checking, erasure, family, restoring, starting_over
from governance.consent import (
    MAX_CONSENT_DAYS,
    SCOPES,
    STATUS_WIDTH,
    ConsentRecord,
    decides_for_themself,
    local_day,
    store_now,
    until_day,
)
from unveil.cli._store_args import (
    NEW_PASSPHRASE_ENV,
    PASSPHRASE_ENV,
    PassphraseInputError,
    add_store_arguments,
    confirm,
    finish_before_stopping,
    member_to_erase,
    open_locked,
    open_unlocked,
    print_receipt,
    read_new_passphrase,
    reports_errors,
    unlock_secret,
    warn_of_folder,
)
from unveil.cli._terminal import padded, shown
from unveil.cli.consent import calendar_day, consent_days, ending_marks, note_endings, note_missing_adult_on


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("family", help="enrol, list and erase family members (encrypted store)")
    commands = parser.add_subparsers(dest="family_command", required=True)

    init = commands.add_parser("init", help="create a new encrypted store")
    add_store_arguments(init)
    init.add_argument("--no-passphrase", action="store_true", help="unlock only with --key-file (created if missing)")
    init.set_defaults(handler=_init)

    enroll = commands.add_parser("enroll", help="enrol a person from photos, with their consent")
    add_store_arguments(enroll)
    enroll.add_argument("name")
    enroll.add_argument("photos", nargs="+", type=Path,
                        help="photos of the person (4 or more is best); a photo with no face, or with several and "
                             "no --pick, is left out with a note")
    enroll.add_argument("--pick", action="append", default=[], metavar="PHOTO=N", type=_pick,
                        help="in PHOTO (as given), which face is the person's: face N as `unveil analyze` numbers them "
                             "(rows top to bottom, each left to right; from 1; repeatable)")
    enroll.add_argument("--purpose", required=True, help="why their face is stored, as agreed with them")
    enroll.add_argument("--days", type=consent_days, default=365,
                        help=f"consent runs to the end of the day this many days from today (1 to "
                             f"{MAX_CONSENT_DAYS:,}; default 365)")
    enroll.add_argument("--given-by", default=None, help="who consented, if not the person themself (a guardian)")
    enroll.add_argument("--child", action="store_true", help="the person is a child: --given-by a guardian is required")
    enroll.add_argument("--adult-on", metavar="YYYY-MM-DD", type=calendar_day, default=None,
                        help="with --given-by: the day from which the person decides for themself (the age of digital "
                             "consent, or adulthood), after today; the guardian's consent ends then, and only their "
                             "own can follow it (unveil consent adult-on records it later)")
    enroll.add_argument("--scope", choices=list(SCOPES), default="recognition",
                        help="what the consent covers: recognition (face prints only, the default) or "
                             "recognition+thumbnails (also small pictures of their face, kept encrypted: the Family "
                             "page shows them, and reembed uses them after an identity model change)")
    enroll.add_argument("--not-the-same-as", metavar="WHO", default=None,
                        help="the member (name or id) these photos look like, when the person is someone else (a "
                             "twin, a sibling): enrolment refuses photos that look like a member already enrolled")
    enroll.set_defaults(handler=_enroll)

    listing = commands.add_parser("list", help="list members with consent status and expiry")
    add_store_arguments(listing)
    listing.set_defaults(handler=_list)

    show = commands.add_parser(
        "show", help="what is stored about one member (their consents, face prints, thumbnails, kept results, audit "
                     "entries): for them to see; never their face prints or pictures")
    add_store_arguments(show)
    show.add_argument("who", help="name or id")
    show.set_defaults(handler=_show)

    reembed = commands.add_parser(
        "reembed", help="after an identity model change, re-embed a member from their own encrypted thumbnails "
                        "(only with consent to thumbnails), or from new photos of them")
    add_store_arguments(reembed)
    reembed.add_argument("who", help="name or id")
    reembed.add_argument("photos", nargs="*", type=Path,
                         help="re-embed from these photos of them instead (when their thumbnails cannot be used)")
    reembed.add_argument("--pick", action="append", default=[], metavar="PHOTO=N", type=_pick,
                         help="in PHOTO (as given), which face is theirs: face N as `unveil analyze` numbers them "
                              "(rows top to bottom, each left to right; from 1)")
    reembed.add_argument("--not-the-same-as", metavar="WHO", default=None,
                         help="the member (name or id) these photos look like, when they are of the member re-embedded "
                              "(a twin, a sibling): photos that look like another member are refused")
    reembed.set_defaults(handler=_reembed)

    rename = commands.add_parser(
        "rename", help="give a member another name (mistyped at enrolment, or changed): their face prints, consent "
                       "and kept results stay theirs")
    add_store_arguments(rename)
    rename.add_argument("who", help="their name now, or their id")
    rename.add_argument("name", help="their new name")
    rename.set_defaults(handler=_rename)

    purge = commands.add_parser("purge", help="erase a member (or --all) and print the deletion receipt")
    add_store_arguments(purge)
    who = purge.add_mutually_exclusive_group(required=True)
    who.add_argument("who", nargs="?", help="name or id")
    who.add_argument("--all", action="store_true", help="erase everything, leaving an empty store")
    purge.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    purge.set_defaults(handler=_purge)

    passwd = commands.add_parser("passwd", help="change the passphrase (re-wraps the keys, re-encrypts nothing)")
    add_store_arguments(passwd)
    passwd.add_argument("--add-key-file", type=Path, default=None, help="also let this key file (created if missing) unlock")
    passwd.add_argument("--rotate", action="store_true",
                        help="the old passphrase leaked: also replace the master key, so old copies of the store "
                             "and the old passphrase open nothing of today's keys (an existing key file is dropped "
                             "unless given again with --add-key-file)")
    passwd.set_defaults(handler=_passwd)

    check = commands.add_parser("check", help="authenticate every encrypted value in the store")
    add_store_arguments(check)
    check.set_defaults(handler=_check)

    back_up = commands.add_parser(
        "backup", help="write a consistent copy of the store (unveil.db and keys.db) into a new folder, safe while "
                       "the app, unveil watch or unveil serve has it open")
    add_store_arguments(back_up)
    back_up.add_argument("folder", type=Path, help="a folder that does not exist yet (its parent must), e.g. on a USB disk")
    back_up.set_defaults(handler=_backup)

    restore = commands.add_parser(
        "restore", help="copy a backup (unveil family backup) into a data folder that holds no store, once it opens "
                        "with the passphrase or key file of its day and passes the store's checks")
    add_store_arguments(restore)
    restore.add_argument("folder", type=Path, help="the backup's folder (holding unveil.db and keys.db); only read")
    restore.set_defaults(handler=_restore)

    damaged = commands.add_parser(
        "set-aside-damaged", help="move a store that fails its checks, unchanged, into a folder of its own in the data "
                                  "folder (nothing is deleted), so that a backup can be restored there")
    add_store_arguments(damaged)
    damaged.set_defaults(handler=_set_aside_damaged)

    start = commands.add_parser(
        "start-over", help="the passphrase is forgotten and no key file opens the store: set it aside unopened in the "
                           "data folder and make a new, empty store (nothing is deleted; see destroy-old)")
    add_store_arguments(start)
    start.add_argument("--key-file-lost", action="store_true",
                       help="a key file can open the store, and it is lost (too, for a store with a passphrase)")
    start.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    start.set_defaults(handler=_start_over)

    destroy = commands.add_parser(
        "destroy-old", help="delete a store that start-over set aside (unlocks the current store, whose audit log "
                            "records it)")
    add_store_arguments(destroy)
    destroy.add_argument("folder", type=Path, help="the set-aside folder, as start-over and `family list` name it")
    destroy.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    destroy.set_defaults(handler=_destroy_old)


KEY_FILE_MADE = "created key file {path} (mode 0600): keep it apart from backups of the store"


@contextlib.contextmanager
def _key_file_for(store: FamilyStore, path: str | Path) -> Iterator[Path]:
    """`path` as a key file for the key change made in the block: made first when it does not exist (a path where
    none can be made fails before anything changes), and said only once the block succeeded. When the block fails,
    a key file made here is removed unless the store's key-file slot takes it by then (the change committed before
    it was interrupted): otherwise it unlocks nothing. A key file that was there before is never removed, nor one
    when the store cannot be read to tell."""
    path = Path(path)
    made = not path.exists()
    if made:
        create_key_file(path)
    try:
        yield path
    except BaseException:
        if made:
            needed = True
            with contextlib.suppress(Exception):
                needed = store.key_file_unlocks(path)
            if not needed:
                path.unlink(missing_ok=True)
        raise
    if made:
        print(KEY_FILE_MADE.format(path=path))


# `family init --key-file F` given no passphrase: the error says how to have the key file alone unlock.
KEY_FILE_ALONE = "{message} (for a store that only the key file {key_file} unlocks, add --no-passphrase)"


@reports_errors
def _init(args: argparse.Namespace) -> int:
    if args.no_passphrase and not args.key_file:
        print("error: --no-passphrase needs --key-file", file=sys.stderr)
        return 2
    # The passphrase is read before the key file is made, and a key file made here is removed when no store comes
    # of it: made first, it stayed behind (with 'keep it apart from backups' printed) unlocking nothing.
    try:
        passphrase = None if args.no_passphrase else read_new_passphrase()
    except PassphraseInputError as exc:
        if not args.key_file:
            raise
        raise PassphraseInputError(KEY_FILE_ALONE.format(message=exc, key_file=args.key_file)) from None
    key_file = Path(args.key_file) if args.key_file else None
    made_key_file = key_file is not None and not key_file.exists()
    if made_key_file:
        create_key_file(key_file)
    try:
        store = FamilyStore.create(args.data_dir, passphrase=passphrase, key_file=key_file, scrypt=ScryptParams())
    except BaseException as exc:
        data_dir = resolve_data_dir(args.data_dir)
        # Unless a store of ours is in place (it would need the key file), the new key file unlocks nothing.
        ours = not isinstance(exc, StoreExistsError) and any((data_dir / name).exists() for name in (DATA_FILE, KEYS_FILE))
        if made_key_file and not ours:
            key_file.unlink(missing_ok=True)
        raise
    with store:
        if made_key_file:
            print(KEY_FILE_MADE.format(path=key_file))
        print(f"created an encrypted store in {store.data_dir}")
        warn_of_folder(store)
    return 0


PICK_FORMAT = ("--pick must be PHOTO=N, N a face number from 1 (as `unveil analyze` numbers them: rows top to bottom, "
               "each left to right), got {value!r}")


def _pick(value: str) -> tuple[str, int]:
    """--pick PHOTO=N as (photo, face index from 0); a usage error for anything else."""
    photo, _, number = value.rpartition("=")
    if not photo or not number.isdigit() or int(number) < 1:
        raise argparse.ArgumentTypeError(PICK_FORMAT.format(value=value))
    return photo, int(number) - 1


def _photos_with_a_face(args: argparse.Namespace, picks: dict[str, int | None]) -> list:
    """args.photos read and searched with the analyzer's detector, each photo left out or read by its first picture
    only said on stderr; NoFaceToEnrolError when none gives a face. Done before the passphrase is asked for (photos
    without a usable face cost no prompt), after opening the store locked (a wrong --data-dir fails before any photo
    is read)."""
    from fer_core.analyzer import default_detector
    from governance import enrolment

    open_locked(args).close()
    detect = default_detector().detect
    photos = [enrolment.read_photo(path, str(path), detect) for path in args.photos]
    chosen, left_out = enrolment.pick_faces(photos, picks)
    for note in [*filter(None, map(enrolment.first_picture_note, photos)), *left_out]:
        print(shown(note), file=sys.stderr)
    if not chosen:
        raise enrolment.NoFaceToEnrolError(left_out)
    return photos


# What `family enroll` adds to family.LOOKS_ENROLLED: the commands that rename that member, or enrol someone else.
NOT_THE_SAME_HOW = " (unveil family rename {who} NEW_NAME renames them; for someone else, add --not-the-same-as {who})"


@reports_errors
def _enroll(args: argparse.Namespace) -> int:
    # The enrolment path of the app (governance.enrolment, family.enrol_from_photos) with the analyzer's
    # detector settings, so both accept and refuse the same photos.
    from fer_core.identity import load_embedding_model

    name = family.check_name(args.name)  # a name that cannot be enrolled is said before any photo is read
    picks = dict(args.pick)
    photos = _photos_with_a_face(args, picks)
    model = load_embedding_model()
    with open_unlocked(args) as store:
        # Given by the store's clock, to the end of a day on this machine's calendar (ConsentRecord.new)
        record = ConsentRecord.new(subject=name, given_by=args.given_by, relation="guardian" if args.given_by else "self",
                                   purpose=args.purpose, scope=args.scope, days=args.days,
                                   subject_is_child=args.child, now=store_now(store), adult_on=args.adult_on)
        not_the_same_as = family.resolve_id(store, args.not_the_same_as) if args.not_the_same_as else None
        try:
            done = family.enrol_from_photos(store, name, photos, record, model=model, picks=picks,
                                            not_the_same_as=not_the_same_as)
        except family.LooksEnrolledError as exc:
            print(f"error: {exc}{NOT_THE_SAME_HOW.format(who=shlex.quote(exc.name))}", file=sys.stderr)
            return 1
    print(f"enrolled {done.name} ({done.person_id}) with {done.embeddings} embeddings and {done.thumbnails} "
          f"thumbnails; consent until {until_day(record)}")
    note_missing_adult_on(record, done.name)
    return 0


IDENTITY_MODEL_MISSING = ("note: the identity model {model} is not in {folder}, so no one can be named or enrolled "
                          "(UNVEIL_IDENTITY_MODEL names the file, UNVEIL_MODELS_DIR the folder)")
# Ends a member's line in `family list` when the installed identity model cannot name them; their note on stderr
# (family.MUST_REENROL) says why. Enrolling them again is refused (they are enrolled): reembed is what makes them
# recognisable, from their thumbnails or new photos.
NOT_RECOGNISED = "  not recognised: unveil family reembed"
MEMBERS_NOT_READ = ("warning: {count} member(s) could not be read (damaged or key destroyed): `unveil family check` "
                    "lists them by id, and `unveil family purge ID` still erases one")


@reports_errors
def _list(args: argparse.Namespace) -> int:
    from fer_core.identity import installed_model_name
    from fer_core.model_files import identity_model_name, models_dir

    # The name the identity model the app and `family enroll` load stores embeddings under (EmbeddingModel.name:
    # its file name and version); when it is not installed, nobody can be recognised and there is nothing to
    # compare with.
    model = installed_model_name()
    with open_unlocked(args) as store:
        members = family.members(store)
        damaged = family.unread_count(store, members)
        marks = ending_marks(store)
    if not members and not damaged:
        print("no one is enrolled")
    for m in members:
        expiry = f"until {until_day(m.consent)}" if m.consent else ""
        reenrol = NOT_RECOGNISED if model is not None and m.must_reenrol(model) else ""
        print(f"{padded(m.name, 28)} {m.person_id[:8]}  consent {m.consent_status:<{STATUS_WIDTH}} {expiry:<16} "
              f"{m.embeddings} embeddings  {m.thumbnails} thumbnails  last seen {local_day(m.last_seen_at)}{reenrol}"
              f"{marks.of(m.person_id)}")
    # Notes and warnings on stderr: stdout stays one line per member.
    note_endings(marks)
    for note in family.must_reenrol_notes(members, model) if model is not None else []:
        print(f"note: {note}", file=sys.stderr)
    if not (models_dir() / identity_model_name()).is_file() and members:
        # Without it no one is flagged, which would read as "everyone can be named".
        print(IDENTITY_MODEL_MISSING.format(model=identity_model_name(), folder=models_dir()), file=sys.stderr)
    if damaged:
        print(MEMBERS_NOT_READ.format(count=damaged), file=sys.stderr)
    for note in set_aside_notes(store.data_dir):
        print(note, file=sys.stderr)
    return 0


# `family show`: one member's account (governance.access), dates on this machine's calendar as `family list` gives
# them, audit entries as `audit list` prints them. Counts only of face prints and thumbnails: never the data.
SHOW_HEADER = "{name} ({person_id}): enrolled {enrolled}, last seen {last_seen}"
SHOW_FACE_PRINTS = "face prints: {count} ({models})"
SHOW_THUMBNAILS = "thumbnails: {count} (kept encrypted; the Family page shows them)"
SHOW_KEPT = "kept results that name them: {count}{days}"
SHOW_CONSENTS = "consent records, oldest first ({count}); the last one governs, now {status}:"
SHOW_CONSENT = ("  {n}. for {subject}{child}, given {given} by {given_by} ({relation}), until {until}; scope {scope}; "
                "purpose: {purpose}{themself}{governs}")
SHOW_THEMSELF = "; decides for themself: {when}"  # a guardian's consent: consent.decides_for_themself
SHOW_AUDIT = "audit log entries about them ({count}):"


def _day(when: datetime) -> str:
    return local_day(when).isoformat()


def account_lines(held: access.Account) -> list[str]:
    """`family show`'s lines for one member's account."""
    lines = [SHOW_HEADER.format(name=held.name, person_id=held.person_id, enrolled=_day(held.enrolled_at),
                                last_seen=_day(held.last_seen_at)),
             f"note: {access.RECOGNITIONS_NOT_COUNTED}",
             SHOW_FACE_PRINTS.format(count=sum(held.face_prints.values()),
                                     models=", ".join(f"{n} of {m}" for m, n in held.face_prints.items()) or "none"),
             SHOW_THUMBNAILS.format(count=held.thumbnails),
             SHOW_KEPT.format(count=len(held.kept_results),
                              days=", kept " + ", ".join(_day(when) for when in held.kept_results) if held.kept_results
                              else ""),
             SHOW_CONSENTS.format(count=len(held.consents), status=held.consent_status)]
    for n, held_consent in enumerate(held.consents, 1):
        record = held_consent.record
        lines.append(SHOW_CONSENT.format(
            n=n, subject=record.subject, child=" (a child)" if record.subject_is_child else "",
            given=_day(record.given_at), given_by=record.given_by, relation=record.relation,
            until=until_day(record).isoformat(), scope=record.scope, purpose=record.purpose,
            themself=SHOW_THEMSELF.format(when=decides_for_themself(record)) if record.relation == "guardian" else "",
            governs=" [governs]" if held_consent.governs else ""))
    lines.append(SHOW_AUDIT.format(count=len(held.audit)))
    lines += [f"  {e.seq:>5}  {e.time}  {e.event:<22} {e.who:<28} {e.details}".rstrip() for e in held.audit]
    return lines


@reports_errors
def _show(args: argparse.Namespace) -> int:
    with open_unlocked(args) as store:
        held = access.account(store, args.who)
    for line in account_lines(held):
        print(shown(line))
    return 0


REEMBED_DONE = "re-embedded {name} from {count} thumbnail(s) with {model}"
REEMBED_FROM_PHOTOS_DONE = "re-embedded {name} from {count} photo(s) with {model}"
# --not-the-same-as answers a refusal of new photos; thumbnails are the member's own faces and are not compared.
REEMBED_NOT_THE_SAME_NEEDS_PHOTOS = ("--not-the-same-as is for new photos that look like another member: give the "
                                     "photos, or leave it out to re-embed from the thumbnails; nothing was changed")
REEMBED_NOT_NEEDED = ("{name} already has face embeddings of {model}, the identity model installed: re-embedding is "
                      "for members it cannot name (unveil family list says 'not recognised'); nothing was changed")


@reports_errors
def _reembed(args: argparse.Namespace) -> int:
    from fer_core.identity import load_embedding_model

    if args.not_the_same_as and not args.photos:
        print(f"error: {REEMBED_NOT_THE_SAME_NEEDS_PHOTOS}", file=sys.stderr)
        return 2
    picks = dict(args.pick)
    photos = _photos_with_a_face(args, picks) if args.photos else []
    model = load_embedding_model()
    with open_unlocked(args) as store:
        person = family.resolve(store, args.who)
        # Embeddings of the installed model are already there: a second set from the thumbnails would add
        # copies of the same faces (4 embeddings became 8) on every run, which the Family page never offers.
        if model.name in store.embedding_models().get(person.id, ()):
            print(f"error: {REEMBED_NOT_NEEDED.format(name=person.name, model=model.file)}", file=sys.stderr)
            return 1
        if photos:
            not_the_same_as = family.resolve_id(store, args.not_the_same_as) if args.not_the_same_as else None
            try:
                count = family.reembed_from_photos(store, person.id, photos, model=model, picks=picks,
                                                   not_the_same_as=not_the_same_as)
            except family.LooksEnrolledError as exc:
                print(f"error: {exc}{NOT_THE_SAME_HOW.format(who=shlex.quote(exc.name))}", file=sys.stderr)
                return 1
        else:
            count = family.reembed_from_thumbnails(store, person.id, model=model)
    print((REEMBED_FROM_PHOTOS_DONE if photos else REEMBED_DONE).format(name=person.name, count=count, model=model.file))
    return 0


RENAMED = "renamed {before} to {name} ({person_id})"
# Their consent is the one they gave: the CLI says it is kept, now under the new name (governance.consent.restated_for).
CONSENT_RESTATED = "; their consent is kept, restated under the new name"


@reports_errors
def _rename(args: argparse.Namespace) -> int:
    family.check_name(args.name)  # a name that cannot be a member's is said before the passphrase is asked for
    with open_unlocked(args) as store:
        done = family.rename(store, args.who, args.name)
    said = RENAMED.format(before=done.before, name=done.name, person_id=done.person_id)
    print(shown(said + (CONSENT_RESTATED if done.consent_restated else "")))
    return 0


# Undone it can be, in a sense: a backup made before still holds the member, and restoring it brings them back.
PURGE_QUESTION = ("Erase {who} and destroy their data key? This cannot be undone in the store; a backup made before "
                  "still holds them.")


# A member may be named "--all" (the app enrols any name, the CLI one given after "--"): `unveil family purge --all
# --yes`, typed to erase them, read as the option and erased the whole household.
PURGE_ALL_NAMES_A_MEMBER = ("a member is named \"--all\": it is not clear whether they or everyone is to be erased, "
                            "and nothing was. To erase them, give their name after \"--\" (unveil family purge --yes "
                            "-- --all) or their id; to erase everyone, rename them first")


@reports_errors
def _purge(args: argparse.Namespace) -> int:
    with open_unlocked(args) as store:
        if args.all:
            if store.find_person("--all") is not None:
                print(f"error: {PURGE_ALL_NAMES_A_MEMBER}", file=sys.stderr)
                return 1
            if not confirm("Erase EVERYTHING in the store (all members, saved results, the audit log)?", args.yes):
                return 1
            finish_before_stopping()
            receipt = erasure.erase_everything(store)
        else:
            person_id, shown = member_to_erase(store, args.who)
            if not confirm(PURGE_QUESTION.format(who=shown), args.yes):
                return 1
            finish_before_stopping()
            receipt = erasure.purge_person(store, person_id, reason="request")
    print_receipt(receipt.to_json())
    if not receipt.storage_scrubbed:
        print(erasure.SCRUB_PENDING_NOTE.format(seq=receipt.audit_seq), file=sys.stderr)
    return 0


PASSWD_DONE = "passphrase changed"
ROTATED_DONE = ("passphrase changed and master key replaced: copies of the store made before now no longer open "
                "today's data keys, with either passphrase")
KEY_FILE_DROPPED = "the key file no longer unlocks the store: add it again with --add-key-file"
ROTATION_SCRUB_PENDING = ("note: the old key slot and wrapped keys are still in the store's files because another session "
                          "was reading or the disk is full; they are wiped the next time the store is opened")


@reports_errors
def _passwd(args: argparse.Namespace) -> int:
    with open_unlocked(args) as store:
        new_passphrase = read_new_passphrase(NEW_PASSPHRASE_ENV)
        finish_before_stopping()
        if args.rotate:
            had_key_file = store.has_key_file
            with contextlib.ExitStack() as stack:
                key_file = stack.enter_context(_key_file_for(store, args.add_key_file)) if args.add_key_file else None
                scrubbed = store.rotate_master_key(new_passphrase, key_file=key_file)
            print(ROTATED_DONE)
            if not scrubbed:
                print(ROTATION_SCRUB_PENDING, file=sys.stderr)
            if had_key_file and key_file is None:
                print(KEY_FILE_DROPPED)
            return 0
        if args.add_key_file:
            with _key_file_for(store, args.add_key_file) as key_file:
                store.change_passphrase(new_passphrase)
                store.set_key_file(key_file)
        else:
            store.change_passphrase(new_passphrase)
    print(PASSWD_DONE)
    return 0


@reports_errors
def _check(args: argparse.Namespace) -> int:
    with open_unlocked(args) as store:
        checked = checking.check(store)
    for line in checked.lines():
        print(line)
    return 0 if checked.ok else 1


BACKUP_DONE = ("backup written to {path}: {people} member(s), {embeddings} embedding(s), {thumbnails} thumbnail(s), "
               "{consents} consent record(s), {analyses} kept result(s), in unveil.db and keys.db (mode 0600). It opens "
               "with today's passphrase or key file: to restore, copy both files into an empty data folder with "
               "every Unveil program closed")


@reports_errors
def _backup(args: argparse.Namespace) -> int:
    with open_unlocked(args) as store:
        done = backup.back_up(store, args.folder)
    print(BACKUP_DONE.format(path=done.path, **done.counts))
    print(f"note: {backup.BACKUP_REACH}", file=sys.stderr)
    return 0


RESTORE_DONE = ("restored the backup in {folder} into {data_dir}, checked: {people} member(s), {embeddings} "
                "embedding(s), {thumbnails} thumbnail(s), {consents} consent record(s), {analyses} kept result(s); its "
                "audit log records it (entry {seq})")
SET_ASIDE_DAMAGED_DONE = ("the damaged store was set aside, unchanged, in {folder}; {data_dir} holds no store now: "
                          "restore a backup there (unveil family restore FOLDER), or make a new store (unveil family init)")


@reports_errors
def _restore(args: argparse.Namespace) -> int:
    done = restoring.restore(args.data_dir, args.folder.expanduser(), **unlock_secret(args))
    with done.store as store:
        print(RESTORE_DONE.format(folder=args.folder, data_dir=store.data_dir, seq=done.audit_seq, **done.counts))
        warn_of_folder(store)
    return 0


@reports_errors
def _set_aside_damaged(args: argparse.Namespace) -> int:
    old = restoring.set_aside_damaged(args.data_dir, **unlock_secret(args))
    print(SET_ASIDE_DAMAGED_DONE.format(folder=shlex.quote(str(old.folder)), data_dir=old.folder.parent))
    return 0


START_OVER_QUESTION = ("Set aside the store in {data_dir} ({held}) and make a new, empty store there? Nothing in it is "
                       "opened or deleted, but without its passphrase or key file no one will ever read it, and the "
                       "members must be enrolled again, with their consent.")
START_OVER_DONE = ("the old store was set aside, unopened, in {folder}; a new, empty store was made in {data_dir}, and "
                   "its audit log records this (entry {seq}). If the old passphrase or key file turns up, the old store "
                   "opens there (--data-dir {folder}); once you are sure it will not, delete it: "
                   "unveil family destroy-old {folder}")
DESTROY_QUESTION = ("Destroy the store set aside on {day} in {folder} ({held})? Its files are overwritten and "
                    "deleted: it can never be opened again, with its passphrase or key file either.")
DESTROYED = "destroyed the store set aside in {folder}; the audit log records it (entry {seq})"


def set_aside_notes(data_dir: Path) -> list[str]:
    """starting_over.SET_ASIDE_REMINDER for each store set aside in `data_dir`, with the command that destroys it."""
    return [f"note: {starting_over.SET_ASIDE_REMINDER.format(day=old.set_aside_at.date(), folder=old.folder, held=old.held())}"
            f": unveil family destroy-old {shlex.quote(str(old.folder))}" for old in starting_over.set_aside(data_dir)]


@reports_errors
def _start_over(args: argparse.Namespace) -> int:
    # No passphrase of the old store is asked for: it is forgotten. One configured ($UNVEIL_PASSPHRASE, --key-file)
    # is tried, and starting over refused if it opens the store.
    old = starting_over.current(args.data_dir)
    if old.has_key_file and not args.key_file_lost:
        raise UnveilError(starting_over.key_file_not_said_lost(has_passphrase=old.has_passphrase))
    if not confirm(START_OVER_QUESTION.format(data_dir=old.folder, held=old.held()), args.yes):
        return 1
    new_passphrase = read_new_passphrase(NEW_PASSPHRASE_ENV)
    finish_before_stopping()  # stopped while the new store's key is derived, the old one stayed set aside, unsaid
    done = starting_over.start_over(args.data_dir, new_passphrase, passphrase=os.environ.get(PASSPHRASE_ENV) or None,
                                    key_file=args.key_file, key_file_lost=args.key_file_lost, scrypt=ScryptParams())
    with done.store as store:
        print(START_OVER_DONE.format(folder=shlex.quote(str(done.old.folder)), data_dir=store.data_dir,
                                     seq=done.audit_seq))
    return 0


@reports_errors
def _destroy_old(args: argparse.Namespace) -> int:
    with open_unlocked(args) as store:
        folder = args.folder.expanduser().absolute()
        old = next((found for found in starting_over.set_aside(store.data_dir) if found.folder == folder), None)
        if old is None:
            raise UnveilError(starting_over.NOT_SET_ASIDE.format(folder=folder, data_dir=store.data_dir))
        if not confirm(DESTROY_QUESTION.format(day=old.set_aside_at.date(), folder=folder, held=old.held()), args.yes):
            return 1
        finish_before_stopping()
        seq = starting_over.destroy_old(store, folder)
    print(DESTROYED.format(folder=folder, seq=seq))
    return 0
