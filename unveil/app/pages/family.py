"""Family: unlock the encrypted store, enrol members with their consent, renew it or change its scope,
withdraw consent, purge; change the passphrase (rotating the master key), back the store up, check it; set a damaged
store aside, restore a backup."""
from datetime import UTC, datetime, timedelta

import streamlit as st

from fer_core import render
from fer_core.images import PHOTO_SUFFIXES
from fer_core.model_files import identity_model_name
from fer_core.store import MIN_PASSPHRASE_CHARS
from governance import access, clock, consent, enrolment, erasure, family
from unveil.app import (
    alt_text,
    backups,
    damaged,
    forgotten,
    member_account,
    new_passphrase,
    peer,
    renaming,
    store_check,
    tables,
    unlocking,
)
from unveil.app import consents as app_consents
from unveil.app import enrolment as app_enrolment
from unveil.app import session as app_session
from unveil.app import widgets as _ui
from unveil.app.text import shown

# The photo formats read everywhere (fer_core.images.PHOTO_SUFFIXES), less GIF, as before HEIC and AVIF were added.
PHOTO_TYPES = [suffix.removeprefix(".") for suffix in PHOTO_SUFFIXES if suffix != ".gif"]
RECEIPT = _ui.RECEIPT
FLASH = "family_flash"  # a success message that outlives the rerun after enrolment
# The two ways to erase a member: the audit log and the receipt record which one it was.
# The page says "erase" throughout (the command line's `unveil family purge` is the same erasure on request).
ERASE_ACTIONS = {"request": "They ask to be erased", "withdrawn": "They withdraw their consent"}
ERASE_BUTTONS = {"request": "Erase", "withdrawn": "Withdraw consent and erase"}
ERASE_TAB = "Withdraw consent or erase"

st.title("Family")
st.caption(app_enrolment.FAMILY_CAPTION)

# ----------------------------------------------------------------------------------- unlock / create
if _ui.store() is None:
    if not _ui.store_exists():
        st.header("Create the family store")
        if FLASH in st.session_state:  # a damaged store just set aside
            st.success(shown(st.session_state.pop(FLASH)))
        forgotten.set_aside_stores(destroyable=False)
        # The rules come before the first try: the length, and that nothing can bring a lost passphrase back.
        st.write(app_enrolment.CREATE_STORE_INTRO.format(minimum=MIN_PASSPHRASE_CHARS))
        with st.form("create_store"):
            first = st.text_input("Passphrase", type="password", key="create_passphrase",
                                  help=app_enrolment.PASSPHRASE_HELP.format(minimum=MIN_PASSPHRASE_CHARS))
            second = st.text_input("Repeat the passphrase", type="password", key="create_passphrase_again")
            if st.form_submit_button("Create the store", type="primary"):
                if first != second:
                    st.error("The two passphrases differ; nothing was created.")
                else:
                    with _ui.friendly_errors("Creating the store"), st.spinner("Deriving the key..."):
                        _ui.create_store(first)
                        st.rerun()
        damaged.restore_form(FLASH)
    else:
        st.header("Unlock the family store")
        # A store a later version wrote (a downgrade): an unlock form and a start-over offer would only meet the same
        # refusal, and starting over is no answer to a store that is not damaged; it is said once, and nothing more.
        if (refusal := _ui.newer_version_refusal()) is not None:
            st.error(shown(refusal))
            st.stop()
        forgotten.set_aside_stores(destroyable=False)
        ways = _ui.UnlockWays(passphrase=True, key_file=False)  # what an unreadable store's error leaves to try
        with _ui.friendly_errors("Reading what unlocks the store"), unlocking.noting_damage():
            ways = _ui.unlock_ways()
        unlocking.unlock_form(ways)
        damaged.what_to_do(ways, FLASH)
        if not damaged.known():  # a damaged store is set aside by what_to_do's form, not as a forgotten passphrase
            how = unlocking.key_file_how(ways)
            forgotten.wrong_passphrase_hint(how)
            forgotten.start_over_form(FLASH, has_passphrase=ways.passphrase, key_file_how=how)
    st.stop()

store = _ui.store()
unlocking.forget_damage()  # a store is open now: the damage met before is no longer this one's
# Messages go in one container drawn on every run: an element that comes and goes above the tabs would
# make Streamlit draw them as new tabs, back on the first one, in the middle of an enrolment.
with st.container():
    if summary := _ui.sweep_summary():
        st.info(summary)
    _ui.sweep_date_question("family_date_confirm")
    _ui.sweep_receipts("family_sweep_dismiss")
    if FLASH in st.session_state:
        st.success(shown(st.session_state.pop(FLASH)))
    forgotten.set_aside_stores(destroyable=True, flash=FLASH)

members_tab, enrol_tab, consent_tab, remove_tab, passphrase_tab, backup_tab, check_tab = st.tabs(
    ["Members", "Enrol a member", "Renew consent or change scope", ERASE_TAB, new_passphrase.TITLE, backups.TITLE,
     store_check.TITLE])


def _photo_inputs(form: str, key, *, label: str, who: str, shots_kept, keep_key: str, clear_key: str):
    """The photos and camera shots of a form (the enrolment form, or re-embedding one member): uploads, kept
    shots shown with their Discard button, each photo's faces, a note for each photo left out, and which face
    is `who` in a photo with several (`shots_kept`: what the kept shots are, given their count). Returns the
    photos ({label: bytes}), the photos read, the faces picked ({label: index or None}) and the uploader's and
    camera's files, for _ui.release_uploads once the form is done (it is drawn again under new keys)."""
    uploads = st.file_uploader(label, type=PHOTO_TYPES, accept_multiple_files=True, key=key("photos"))
    shots = _ui.enrol_shots(form)
    shot = None
    if st.toggle("Add camera shots", key=key("camera_on")):
        shot = st.camera_input("Camera", key=key("camera"))
        if shot is not None and st.button("Keep this shot", key=keep_key):
            shots.keep(shot.getvalue())
    # Kept shots are used with the photos: they are shown, with their Discard button, whether the camera is
    # on or not, so none is used unseen (turning the camera off does not discard them).
    if shots:
        st.caption(shots_kept(len(shots)))
        st.image(shots.shots(), width=96, alt=alt_text.numbered("Camera shot kept", len(shots)))
        if st.button("Discard the camera shots", key=clear_key):
            shots.clear()
            st.rerun()

    photos = app_enrolment.form_photos(((upload.name, upload.getvalue()) for upload in uploads or []),
                                       shots.shots())
    read = []
    with _ui.friendly_errors("Reading the photos"):
        read = _ui.enrolment_photos(photos, form)
    picks: dict[str, int | None] = {}
    for photo in read:
        if first_only := enrolment.first_picture_note(photo):
            st.warning(shown(first_only))
        if photo.image is None or not photo.faces:
            st.warning(shown(enrolment.left_out_note(photo)))
        elif len(photo.faces) > 1:
            picture_col, pick_col = st.columns([1, 2])
            picture_col.image(render.number_faces(photo.image, photo.boxes), caption=shown(photo.label),
                              width="stretch", alt=alt_text.faces_to_pick(photo.label, photo.boxes, photo.image.shape[1]))
            picks[photo.label] = pick_col.radio(
                f"{shown(photo.label)} shows {len(photo.faces)} faces: which one is {shown(who)}?",
                [None, *range(len(photo.faces))], key=key(f"pick_{photo.label}"),
                format_func=lambda i: "None: leave this photo out" if i is None else f"Face {i + 1}")
    return photos, read, picks, [*(uploads or []), shot]


def _reembed_from_photos_form(member, identity, members, *, expanded: bool) -> None:
    """New photos of a member the installed identity model cannot name, and the button that re-embeds them; photos
    that look like another of `members` are refused, then taken once ticked as the member's (as enrolment)."""
    form = f"reenrol_{member.person_id}"  # renewed after the re-embedding: drawn again empty

    def key(field: str) -> str:
        return app_session.widget_key(st.session_state, form, field)

    name = shown(member.name)
    with st.expander(app_enrolment.REEMBED_FROM_PHOTOS_TITLE.format(name=name), expanded=expanded):
        st.caption(app_enrolment.REEMBED_FROM_PHOTOS_HOW.format(name=name))
        photos, read, picks, uploaded = _photo_inputs(
            form, key, label=f"Photos of {name}", who=member.name,
            shots_kept=lambda count: app_enrolment.REEMBED_SHOTS_KEPT.format(count=count, name=name),
            keep_key=f"reenrol_keep_shot_{member.person_id}", clear_key=f"reenrol_clear_shots_{member.person_id}")
        # Offered only after these very photos were refused for looking like another member, for that member only.
        looks_like = app_enrolment.looked_like(st.session_state.get(key("lookalike")), photos, picks, members)
        not_the_same = False
        if looks_like is not None:
            st.warning(shown(family.LOOKS_ENROLLED.format(name=looks_like.name)
                             + app_enrolment.REEMBED_NOT_THE_SAME_HOW.format(member=member.name)))
            not_the_same = st.checkbox(app_enrolment.NOT_THE_SAME_TICK.format(name=shown(looks_like.name)),
                                       key=key(f"not_the_same_{looks_like.person_id}"))
        if st.button(app_enrolment.REEMBED_FROM_PHOTOS_BUTTON.format(name=name), type="primary",
                     key=f"reenrol_submit_{member.person_id}"):
            if not photos:
                st.error(app_enrolment.REEMBED_NO_PHOTO.format(name=name))
            elif not enrolment.pick_faces(read, picks)[0]:
                st.error(enrolment.NO_FACE_TO_ENROL)
            else:
                with _ui.friendly_errors(app_enrolment.REEMBEDDING.format(name=member.name)), \
                        st.spinner(app_enrolment.REEMBEDDING.format(name=name) + "..."):
                    try:
                        done = app_enrolment.reembed_from_photos(
                            store, member, read, picks, model=identity,
                            not_the_same_as=looks_like.person_id if not_the_same else None)
                    except family.LooksEnrolledError as exc:
                        st.session_state[key("lookalike")] = app_enrolment.Lookalike(
                            exc.person_id, app_enrolment.photos_key(photos, picks))
                        st.rerun()
                    _ui.family_changed()
                    _ui.forget_photo_form(form)
                    _ui.release_uploads(uploaded)
                    app_session.renew(st.session_state, form)
                    st.session_state[FLASH] = done
                    st.rerun()


# ----------------------------------------------------------------------------------- members
with members_tab:
    members, unread = [], 0
    with _ui.friendly_errors("Reading the members"):
        members = family.members(store)
        unread = family.unread_count(store, members)
    if unread:
        st.warning(tables.MEMBERS_NOT_READ.format(count=unread))
    if not members:
        if not unread:  # someone is enrolled, unreadable: not "no one"
            st.info("No one is enrolled yet.")
    else:
        st.dataframe(tables.members_table(members, app_enrolment.user_zone(st.context.timezone)), hide_index=True)
        with st.expander(renaming.RENAME_TITLE):
            st.caption(renaming.RENAME_HOW)
            named = {member.person_id: member for member in members}
            renamed_id = st.selectbox("Member", list(named), format_func=lambda pid: named[pid].name, key="rename_member")
            # Keyed by the member and renewed after a rename: a name typed for one is never given to another.
            new_name = st.text_input(renaming.NEW_NAME,
                                     key=app_session.widget_key(st.session_state, "rename", "name", renamed_id))
            renamed = named[renamed_id]
            if st.button(renaming.RENAME_BUTTON.format(name=shown(renamed.name)), key="rename_submit"):
                if not new_name.strip():
                    st.error(renaming.ENTER_NEW_NAME)
                else:
                    with _ui.friendly_errors(f"Renaming {renamed.name}"):
                        st.session_state[FLASH] = renaming.rename(store, renamed, new_name)
                        _ui.family_changed()  # the gallery's labels, and the names of the photos analysed
                        app_session.renew(st.session_state, "rename")
                        st.rerun()
        identity, reembeddings = None, []
        with _ui.friendly_errors("Loading the models"):
            identity = _ui.analyzer().identity_model
            for note in family.must_reenrol_notes(members, identity.name) if identity is not None else []:
                st.warning(shown(note))
        if identity is not None:
            with _ui.friendly_errors("Reading the thumbnails"):
                reembeddings = app_enrolment.reembeddings(store, members, identity.name)
        # Members the new model cannot name, whose consent keeps usable thumbnails: no need to come back with photos.
        if any(way.from_thumbnails for way in reembeddings):
            st.caption(family.REEMBED_OR_REENROL)
        for member in (way.member for way in reembeddings if way.from_thumbnails):
            if st.button(app_enrolment.REEMBED_FROM_THUMBNAILS_BUTTON.format(name=shown(member.name)),
                         key=f"reembed_{member.person_id}"):
                with _ui.friendly_errors(app_enrolment.REEMBEDDING.format(name=member.name)):
                    count = family.reembed_from_thumbnails(store, member.person_id, model=identity)
                    _ui.family_changed()
                    st.session_state[FLASH] = app_enrolment.REEMBED_FROM_THUMBNAILS_DONE.format(name=member.name,
                                                                                                count=count)
                    st.rerun()
        # Every one of them can be re-embedded from new photos, under the consent they gave: enrolment refuses
        # a name already enrolled, and erasing them first would take the results kept that name them.
        for way in reembeddings:
            _reembed_from_photos_form(way.member, identity, members, expanded=not way.from_thumbnails)
        for member in members:
            # The right of access: all that is held about them in one place. Read, as the thumbnails below, only
            # while open; reading it writes nothing (governance.access says why it is not audit-logged).
            stored = st.expander(member_account.TITLE.format(name=shown(member.name)),
                                 key=f"family_account_{member.person_id}", on_change="rerun")
            if stored.open:
                with stored, _ui.friendly_errors(f"Reading what is stored about {member.name}"):
                    held = access.account(store, member.person_id, thumbnails=True)
                    zone = app_enrolment.user_zone(st.context.timezone)
                    st.markdown("\n\n".join(member_account.summary_lines(held, zone)))
                    st.dataframe(member_account.consents_table(held, zone), hide_index=True)
                    st.markdown(member_account.AUDIT.format(count=len(held.audit)))
                    st.dataframe(member_account.audit_table(held), hide_index=True)
                    if held.thumbnail_images:
                        st.image(list(held.thumbnail_images), width=96,
                                 alt=alt_text.numbered(f"Thumbnail of {member.name}", len(held.thumbnail_images)))
            if member.thumbnails:
                # Decrypted and drawn only while open: a closed expander's content runs too, and drawing every
                # member's on every click took 4.8 s for 50 members with 50 each (docs/reports/heavy_use.md).
                thumbnails = st.expander(f"{shown(member.name)}: {member.thumbnails} thumbnail(s)",
                                         key=f"family_thumbnails_{member.person_id}", on_change="rerun")
                if thumbnails.open:
                    with thumbnails, _ui.friendly_errors("Reading the thumbnails"):
                        pictures = [t.image for t in store.thumbnails(member.person_id)]
                        st.image(pictures, width=96, alt=alt_text.numbered(f"Thumbnail of {member.name}", len(pictures)))

# ----------------------------------------------------------------------------------- enrol
def _key(*field: str) -> str:
    # Every widget of the enrolment form is keyed in the "enrol" group: renewing it after an enrolment
    # draws the form empty, so the next person cannot be enrolled with the previous one's photos or consent.
    return app_session.widget_key(st.session_state, "enrol", *field)


with enrol_tab:
    engine = None
    with _ui.friendly_errors("Loading the models"):
        engine = _ui.analyzer()
    if engine is None:
        pass
    elif engine.identity_model is None:
        st.error(app_enrolment.NO_IDENTITY_MODEL.format(file=identity_model_name()))
    else:
        # On a clock reset far back an enrolment is refused (consent.CLOCK_BEHIND), and no question is asked above the
        # tabs (the sweep removes nothing early on such a clock): the date is confirmed here, before the form is filled.
        behind = clock.behind(store, consent.store_now(store))
        if behind is not None:
            st.warning(app_consents.CLOCK_BEHIND_FORM.format(last=consent.local_day(
                datetime.fromtimestamp(behind, UTC), app_enrolment.user_zone(st.context.timezone))))
            if st.button(_ui.DATE_IS_RIGHT, key="enrol_date_confirm"):
                with _ui.friendly_errors("Applying the retention policy"):
                    _ui.sweep(date_confirmed=True)
                    st.rerun()
        st.write("Several photos of one person, each showing only their face, give the best recognition (4 or more).")
        name = st.text_input("Name", key=_key("name"))
        photos, read, picks, uploaded = _photo_inputs(
            "enrol", _key, label="Photos of this person", who=name.strip() or "the person",
            shots_kept=lambda count: app_enrolment.SHOTS_KEPT.format(count=count), keep_key="enrol_keep_shot",
            clear_key="enrol_clear_shots")

        st.markdown("**Consent**")
        guardian = st.checkbox("Consent is given by a guardian (for example for a child)", key=_key("guardian"))
        given_by = st.text_input("Guardian's name", key=_key("given_by")) if guardian else ""
        child = st.checkbox("This person is a child", key=_key("child"))
        purpose = st.text_input("Purpose", "Recognise family members in our own photos", key=_key("purpose"))
        scope = st.radio("Scope", list(consent.SCOPES), format_func=lambda s: f"{s}: {consent.SCOPES[s]}",
                         key=_key("scope"))
        # The user's own calendar (their browser's time zone): today is the first day a consent may end on,
        # and the day picked ends at their midnight.
        zone = app_enrolment.user_zone(st.context.timezone)
        today = app_enrolment.today(datetime.now(UTC), zone)
        expires_on = st.date_input("Consent expires on", today + timedelta(days=365), min_value=today,
                                   key=_key("expires"))
        # A guardian's consent counts until the person decides for themself: asked, not required (no day: none).
        adult_on = None
        if guardian:
            adult_on = st.date_input(app_enrolment.ADULT_ON_LABEL, value=None, min_value=today + timedelta(days=1),
                                     key=_key("adult_on"))
            if adult_on is None:
                st.caption(app_enrolment.ADULT_ON_ASK)
        agreed = st.checkbox("The person (or their guardian) has read what is stored and why, and agrees",
                             key=_key("agreed"))
        # Offered only after these very photos were refused for looking like a member, and for that member only.
        looks_like = app_enrolment.looked_like(st.session_state.get(_key("lookalike")), photos, picks, members)
        not_the_same = False
        if looks_like is not None:
            st.warning(shown(family.LOOKS_ENROLLED.format(name=looks_like.name) + app_enrolment.NOT_THE_SAME_HOW))
            not_the_same = st.checkbox(app_enrolment.NOT_THE_SAME_TICK.format(name=shown(looks_like.name)),
                                       key=_key("not_the_same", looks_like.person_id))

        if st.button("Enrol", type="primary", key="enrol_submit"):
            if not name.strip():
                st.error("Enter the person's name.")
            elif not photos:
                st.error("Add at least one photo or camera shot of the person.")
            elif not enrolment.pick_faces(read, picks)[0]:
                st.error(enrolment.NO_FACE_TO_ENROL)
            elif not agreed:
                st.error("Enrolment needs the person's (or their guardian's) agreement: tick the consent box.")
            else:
                with _ui.friendly_errors(f"Enrolling {name.strip()}"), st.spinner(f"Enrolling {shown(name.strip())}..."):
                    record = app_enrolment.consent_from_form(
                        name=name, given_by=given_by, guardian=guardian, child=child, purpose=purpose, scope=scope,
                        expires_on=expires_on, now=datetime.now(UTC), zone=zone, adult_on=adult_on)
                    try:
                        done = family.enrol_from_photos(store, name, read, record, model=engine.identity_model,
                                                        picks=picks,
                                                        not_the_same_as=looks_like.person_id if not_the_same else None)
                    except family.LooksEnrolledError as exc:
                        st.session_state[_key("lookalike")] = app_enrolment.Lookalike(
                            exc.person_id, app_enrolment.photos_key(photos, picks))
                        st.rerun()
                    _ui.family_changed()
                    _ui.enrol_shots("enrol").clear()
                    _ui.release_uploads(uploaded)
                    app_session.renew(st.session_state, "enrol")
                    enrolled = app_enrolment.ENROLLED.format(name=done.name, embeddings=done.embeddings,
                                                             thumbnails=done.thumbnails)
                    st.session_state[FLASH] = " ".join(
                        [enrolled, *filter(None, map(enrolment.first_picture_note, read)), *done.left_out])
                    st.rerun()

# ----------------------------------------------------------------------------------- renew / scope
def _consent_key(*parts: str) -> str:
    # Renewed after each change: the days, the scope and the tick are drawn again as they are stored now, and a
    # tick given for one member keys on their id, so it never counts for another.
    return app_session.widget_key(st.session_state, "consent", *parts)


with consent_tab:
    if members:
        by_id = {member.person_id: member for member in members}
        days_zone = app_enrolment.user_zone(st.context.timezone)  # dates said as days of the user's calendar
        labels = {pid: app_consents.member_label(member, days_zone) for pid, member in by_id.items()}
        chosen_id = st.selectbox("Member", list(by_id), index=app_consents.picked_index(
            list(by_id), st.session_state.get(app_consents.PICKED)), format_func=labels.__getitem__,
            key=app_consents.picker_key(labels.values()))
        st.session_state[app_consents.PICKED] = chosen_id
        member = by_id[chosen_id]
        # While the date is in question no consent is renewed or widened (consent.DATE_IN_QUESTION): the form says
        # so instead of offering what would be refused, and the sweep erases no one for the date's sake meanwhile.
        # Narrowing the consent to recognition gives data up, on the consent's own dates: it is offered.
        # A clock reset far back asks nothing above (the sweep removes nothing early on it), but renewing or widening
        # would be refused (consent.CLOCK_BEHIND): the same form, with its own warning and the date confirmed here.
        now = consent.store_now(store)
        date_in_question = clock.in_question(store, now)
        behind = None if date_in_question else clock.behind(store, now)
        st.write(shown(app_consents.consent_summary(member, date_in_question=date_in_question,
                                                    clock_behind=behind is not None, zone=days_zone)))
        if member.consent is not None and (date_in_question or behind is not None):
            st.warning(app_consents.DATE_IN_QUESTION_FORM if date_in_question
                       else app_consents.CLOCK_BEHIND_FORM.format(
                           last=consent.local_day(datetime.fromtimestamp(behind, UTC), days_zone)))
            report = st.session_state.get(_ui.SWEEP_REPORT)
            # The question above shows only while something waits for the date; when nothing does (what waited was
            # erased by hand, or the clock is behind), it is answered here.
            if (report is None or report.date_check is None) and st.button(_ui.DATE_IS_RIGHT, key="consent_date_confirm"):
                with _ui.friendly_errors("Applying the retention policy"):
                    _ui.sweep(date_confirmed=True)
                    st.rerun()
            st.markdown("**What the consent covers**")
            narrows = member.consent.allows_thumbnails
            st.caption(shown(app_consents.DATE_WAITS.format(name=member.name)
                             + (app_consents.NARROW_NOW if narrows else "")))
            if narrows:
                change = app_consents.scope_change(member, "recognition")
                sure = True
                if change.needs_tick:
                    st.warning(shown(change.warning()))
                    sure = st.checkbox(shown(change.tick_label()), key=_consent_key("narrow", chosen_id))
                if st.button(app_consents.NARROW_BUTTON.format(name=shown(member.name)), disabled=not sure,
                             key="consent_scope_submit"):
                    with _ui.friendly_errors(f"Changing the consent of {member.name}"):
                        st.session_state[FLASH] = app_consents.change_scope(store, member, "recognition")
                        _ui.family_changed()
                        app_session.renew(st.session_state, "consent")
                        st.rerun()
        elif member.consent is not None:
            st.markdown("**Renew the consent**")
            # As the enrolment form: the days count from the user's today, to the end of their day.
            zone = app_enrolment.user_zone(st.context.timezone)
            days = st.number_input("Days from today", min_value=1, max_value=consent.MAX_CONSENT_DAYS,
                                   value=app_consents.DEFAULT_DAYS, step=1, key=_consent_key("days", chosen_id))
            renewal = None
            with _ui.friendly_errors("Renewing the consent"):
                renewal = app_consents.renewal(member, int(days), now=consent.store_now(store), zone=zone)
            # Who gives the consent now, prefilled with the giver on record and editable as on the enrolment form:
            # a renewal is recorded as given by them (a new guardian, or a child now grown up, themself).
            # Keyed by the prefill too: the day the member decides for themself coming changes it, nothing clicked.
            on_record = app_consents.giver_on_record(member, consent.store_now(store))
            prefill = f"{on_record.guardian}{on_record.child}"
            guardian = st.checkbox(app_consents.GIVER_GUARDIAN, value=on_record.guardian,
                                   key=_consent_key("guardian", chosen_id, prefill))
            guardian_name = st.text_input(app_consents.GIVER_NAME, value=on_record.name,
                                          key=_consent_key("given_by", chosen_id, prefill)) if guardian else ""
            child = st.checkbox(app_consents.GIVER_CHILD, value=on_record.child,
                                key=_consent_key("child", chosen_id, prefill))
            giver = app_consents.Giver(guardian=guardian, name=guardian_name, child=child)
            if renewal is not None:
                st.caption(shown(renewal.preview(giver)))
                if renewal.shortens:
                    st.warning(shown(renewal.warning()))
                if st.button(f"Renew the consent of {shown(member.name)}", type="primary", key="consent_renew"):
                    with _ui.friendly_errors(f"Renewing the consent of {member.name}"):
                        st.session_state[FLASH] = app_consents.renew(store, member, int(days), zone=zone, giver=giver)
                        _ui.family_changed()
                        app_session.renew(st.session_state, "consent")
                        st.rerun()

            # A guardian's consent: the day the member decides for themself, recorded or moved (not once it has come).
            choice = app_consents.adult_on_choice(member, consent.store_now(store), zone)
            if choice is not None:
                first, recorded = choice
                st.markdown(app_consents.ADULT_ON_HEADING.format(name=shown(member.name)))
                adult_on = st.date_input(app_consents.ADULT_ON_DAY, value=recorded, min_value=first,
                                         key=_consent_key("adult_on", chosen_id))
                if st.button(app_consents.ADULT_ON_BUTTON.format(name=shown(member.name)), disabled=adult_on is None,
                             key="consent_adult_on_submit"):
                    with _ui.friendly_errors(f"Recording the day {member.name} decides for themself"):
                        st.session_state[FLASH] = app_consents.set_adult_on(store, member, adult_on, zone=zone)
                        _ui.family_changed()
                        app_session.renew(st.session_state, "consent")
                        st.rerun()

            st.markdown("**What the consent covers**")
            if member.consent_status == consent.NOT_YET_IN_FORCE:
                st.caption(app_consents.SCOPE_OF_CONSENT_NOT_YET)
            elif member.consent_status != "active":
                st.caption(app_consents.SCOPE_OF_ENDED_CONSENT)
            else:
                scopes = list(consent.SCOPES)
                scope = st.radio("Scope", scopes, index=scopes.index(member.consent.scope),
                                 format_func=lambda s: f"{s}: {consent.SCOPES[s]}", key=_consent_key("scope", chosen_id))
                change = app_consents.scope_change(member, scope)
                sure = True
                if change.needs_tick:
                    st.warning(shown(change.warning()))
                    sure = st.checkbox(shown(change.tick_label()), key=_consent_key("narrow", chosen_id))
                if st.button("Change the scope", disabled=not (change.changes and sure), key="consent_scope_submit"):
                    with _ui.friendly_errors(f"Changing the consent of {member.name}"):
                        st.session_state[FLASH] = app_consents.change_scope(store, member, scope)
                        _ui.family_changed()
                        app_session.renew(st.session_state, "consent")
                        st.rerun()
    elif not unread:
        st.info("No one is enrolled.")

# ----------------------------------------------------------------------------------- withdraw / purge
with remove_tab:
    # The receipt of the erasure just done comes first: below the picker it read as if it followed the next
    # member's "Erasing ... deletes, for good" list, which the picker shows at once after an erasure.
    receipt = st.session_state.get(RECEIPT)
    if receipt is not None:
        who, receipt = receipt
        st.success(f"{shown(who)} was erased: {sum(receipt.records.values())} record(s) deleted, their key destroyed. "
                   f"Receipt hash {receipt.digest[:16]}..., logged as audit entry {receipt.audit_seq}.")
        st.markdown(tables.receipt_text(who, receipt))
        st.download_button("Download the deletion receipt", receipt.to_json(), file_name=receipt.file_name(),
                           mime="application/json", on_click="ignore", key="receipt_download")
        st.divider()
    if unread:  # the page cannot erase them: the command line can, by id
        st.warning(tables.MEMBERS_NOT_READ.format(count=unread))
    if members:
        by_id = {member.person_id: member for member in members}
        chosen_id = st.selectbox("Member", list(by_id), format_func=lambda pid: by_id[pid].name, key="remove_member")
        person = by_id[chosen_id]
        preview = None
        with _ui.friendly_errors(f"Reading what is stored about {person.name}"):
            preview = family.erasure_preview(store, chosen_id)
        if preview is not None:
            st.markdown(f"**Erasing {shown(person.name)} deletes, for good:**\n"
                        + "\n".join(f"- {shown(line)}" for line in tables.erasure_lines(preview)))
            action = st.radio("Why", list(ERASE_ACTIONS), format_func=ERASE_ACTIONS.get, horizontal=True,
                              key=f"erase_action_{chosen_id}")
            # The tick belongs to this member and this action, and is renewed after any erasure: it can
            # never carry over to the member the box shows next.
            sure = st.checkbox(f"Yes, erase {shown(person.name)} for good",
                               key=app_session.widget_key(st.session_state, "erase", action, chosen_id))
            if st.button(ERASE_BUTTONS[action], type="primary", disabled=not sure, key="erase_submit"):
                with _ui.friendly_errors(f"Erasing {person.name}"):
                    receipt = (consent.withdraw(store, chosen_id) if action == "withdrawn"
                               else family.purge(store, chosen_id))
                    st.session_state[RECEIPT] = (person.name, receipt)
                    app_session.renew(st.session_state, "erase")
                    _ui.family_changed()
                    _ui.forget_results()
                    st.rerun()
    elif not unread:
        st.info("No one is enrolled.")

    with st.expander("Delete everything"):
        st.write("Erases every member, every kept result and the audit log, leaving an empty store.")
        typed = st.text_input('Type "delete everything" to confirm',
                              key=app_session.widget_key(st.session_state, "erase", "everything"))
        if st.button("Delete everything", disabled=typed.strip().lower() != "delete everything", key="erase_all_submit"):
            with _ui.friendly_errors("Deleting everything"):
                st.session_state[RECEIPT] = ("Everyone", erasure.erase_everything(store))
                app_session.renew(st.session_state, "erase")
                _ui.family_changed()
                _ui.forget_results()
                st.rerun()

# ----------------------------------------------------------------------------------- passphrase
with passphrase_tab:
    # What proves the current secret: as on the unlock form, the key file only where it is offered (unveil.app.unlocking).
    ways = _ui.UnlockWays(passphrase=True, key_file=False)
    with _ui.friendly_errors("Reading what unlocks the store"):
        ways = _ui.UnlockWays(passphrase=store.has_passphrase, key_file=store.has_key_file)
    key_file_offered = ways.key_file and peer.tells_whose_browser()
    st.caption(new_passphrase.HOW if ways.passphrase else new_passphrase.HOW_KEY_FILE_ONLY)
    with st.form("change_passphrase", clear_on_submit=True):
        current = st.text_input(new_passphrase.CURRENT, type="password",
                                key=new_passphrase.CURRENT_KEY) if ways.passphrase else ""
        typed_key_file = st.text_input(
            new_passphrase.CURRENT_KEY_FILE if ways.passphrase else new_passphrase.KEY_FILE_PROOF,
            key=new_passphrase.KEY_FILE_KEY, help=unlocking.KEY_FILE_HELP) if key_file_offered else ""
        first = st.text_input(new_passphrase.NEW, type="password", key=new_passphrase.NEW_KEY,
                              help=app_enrolment.PASSPHRASE_HELP.format(minimum=MIN_PASSPHRASE_CHARS))
        second = st.text_input(new_passphrase.AGAIN, type="password", key=new_passphrase.AGAIN_KEY)
        rotate = st.checkbox(new_passphrase.ROTATE, help=new_passphrase.ROTATE_HELP, key="change_passphrase_rotate")
        if ways.key_file:
            st.caption(new_passphrase.ROTATE_DROPS_KEY_FILE)
        if st.form_submit_button(new_passphrase.BUTTON):
            # clear_on_submit empties the fields in the browser only: what the server received is dropped from the
            # session's widget state as soon as it is read, right or wrong.
            for typed_key in new_passphrase.FIELD_KEYS:
                st.session_state.pop(typed_key, None)
            with _ui.friendly_errors("Changing the passphrase"), st.spinner("Deriving the keys..."):
                key_file = unlocking.key_file_path(typed_key_file) if typed_key_file.strip() else None
                st.session_state[FLASH] = new_passphrase.change(store, current=current, key_file=key_file, new=first,
                                                                again=second, rotate=rotate)
                st.rerun()

# ----------------------------------------------------------------------------------- backup
with backup_tab:
    st.caption(backups.HOW)
    with st.form("back_up", clear_on_submit=True):
        folder = st.text_input(backups.FOLDER, key="backup_folder", help=backups.FOLDER_HELP)
        if st.form_submit_button(backups.BUTTON):
            with _ui.friendly_errors("Backing up the store"), st.spinner("Writing the backup..."):
                st.session_state[FLASH] = backups.back_up(store, folder)
                st.rerun()

# ----------------------------------------------------------------------------------- check
with check_tab:
    st.caption(store_check.HOW)
    if st.button(store_check.BUTTON, key="check_store"):
        with _ui.friendly_errors("Checking the store"), st.spinner("Reading every encrypted value..."):
            intact, said = store_check.check(store)
            (st.success if intact else st.error)(said)
