"""Family: unlock the encrypted store, enrol members with their consent, withdraw consent, purge."""
from datetime import date, datetime, timedelta, timezone

import streamlit as st

from app_pages import _ui
from fer_core import embed_enrollment_photos, load_image
from governance import app_services as svc
from governance import consent, erasure, family

PHOTO_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff"]
SHOTS = "family_camera_shots"  # camera shots taken for the enrolment in progress (memory only)
RECEIPT = _ui.RECEIPT
FLASH = "family_flash"  # a success message that outlives the rerun after enrolment

st.title("Family")
st.caption("Members' names, face embeddings and consent records are encrypted on this machine with a key "
           "that only your passphrase unlocks. Enrolment photos themselves are not kept.")

# ----------------------------------------------------------------------------------- unlock / create
if _ui.store() is None:
    if not _ui.store_exists():
        st.subheader("Create the family store")
        st.write("First run: choose a passphrase. It cannot be recovered: without it the store stays sealed.")
        with st.form("create_store"):
            first = st.text_input("Passphrase", type="password", key="create_passphrase")
            second = st.text_input("Repeat the passphrase", type="password", key="create_passphrase_again")
            if st.form_submit_button("Create the store", type="primary"):
                if first != second:
                    st.error("The two passphrases differ; nothing was created.")
                else:
                    with _ui.friendly_errors("Creating the store"), st.spinner("Deriving the key..."):
                        _ui.create_store(first)
                        st.rerun()
    else:
        st.subheader("Unlock the family store")
        with st.form("unlock_store"):
            passphrase = st.text_input("Passphrase", type="password", key="unlock_passphrase")
            if st.form_submit_button("Unlock", type="primary"):
                with _ui.friendly_errors("Unlocking the store"), st.spinner("Checking the passphrase..."):
                    _ui.unlock_store(passphrase)
                    st.rerun()
    st.stop()

store = _ui.store()
sweep = st.session_state.get(_ui.SWEEP_REPORT)
if sweep is not None and sweep.total:
    removed = ", ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in sweep.removed.items() if count)
    st.info(f"Retention sweep at unlock removed: {removed}.")

if FLASH in st.session_state:
    st.success(st.session_state.pop(FLASH))

members_tab, enrol_tab, remove_tab = st.tabs(["Members", "Enrol a member", "Withdraw consent or purge"])

# ----------------------------------------------------------------------------------- members
with members_tab:
    members = []
    with _ui.friendly_errors("Reading the members"):
        members = family.members(store)
    if not members:
        st.info("No one is enrolled yet.")
    else:
        st.dataframe(svc.members_table(members), hide_index=True)
        for member in members:
            if member.thumbnails:
                with st.expander(f"{member.name}: {member.thumbnails} thumbnail(s)"):
                    st.image([t.image for t in store.thumbnails(member.person_id)], width=96)

# ----------------------------------------------------------------------------------- enrol
with enrol_tab:
    loaded = None
    with _ui.friendly_errors("Loading the models"):
        loaded = _ui.models()
    if loaded is None:
        pass
    elif loaded.identity is None:
        st.error("No identity model is installed (models/face_recognition_dlib.onnx): enrolment is not possible.")
    else:
        st.write("Several photos of one person, each showing only their face, give the best recognition (4 or more).")
        name = st.text_input("Name", key="enrol_name")
        uploads = st.file_uploader("Photos of this person", type=PHOTO_TYPES, accept_multiple_files=True,
                                   key="enrol_photos")
        shots: list[bytes] = st.session_state.setdefault(SHOTS, [])
        if st.toggle("Add camera shots", key="enrol_camera_on"):
            shot = st.camera_input("Camera", key="enrol_camera")
            if shot is not None and st.button("Keep this shot", key="enrol_keep_shot"):
                shots.append(shot.getvalue())
            if shots:
                st.caption(f"{len(shots)} camera shot(s) kept for this enrolment (in memory).")
                if st.button("Discard the camera shots", key="enrol_clear_shots"):
                    shots.clear()
                    st.rerun()

        st.markdown("**Consent**")
        guardian = st.checkbox("Consent is given by a guardian (for example for a child)", key="consent_guardian")
        given_by = st.text_input("Guardian's name", key="consent_given_by") if guardian else ""
        child = st.checkbox("This person is a child", key="consent_child")
        purpose = st.text_input("Purpose", "Recognise family members in our own photos", key="consent_purpose")
        scope = st.radio("Scope", list(consent.SCOPES), format_func=lambda s: f"{s}: {consent.SCOPES[s]}",
                         key="consent_scope")
        expires_on = st.date_input("Consent expires on", date.today() + timedelta(days=365),
                                   min_value=date.today(), key="consent_expires")
        agreed = st.checkbox("The person (or their guardian) has read what is stored and why, and agrees",
                             key="consent_agreed")

        if st.button("Enrol", type="primary", key="enrol_submit"):
            photos = {upload.name: upload.getvalue() for upload in uploads or []}
            photos.update({f"camera shot {i}": data for i, data in enumerate(shots, start=1)})
            if not name.strip():
                st.error("Enter the person's name.")
            elif not photos:
                st.error("Add at least one photo or camera shot of the person.")
            elif not agreed:
                st.error("Enrolment needs the person's (or their guardian's) agreement: tick the consent box.")
            else:
                with _ui.friendly_errors(f"Enrolling {name.strip()}"), st.status("Enrolling...") as status:
                    record = svc.consent_from_form(name=name, given_by=given_by, guardian=guardian, child=child,
                                                   purpose=purpose, scope=scope, expires_on=expires_on,
                                                   now=datetime.now(timezone.utc))
                    record.validate(now=consent.store_now(store))
                    status.write(f"Reading {len(photos)} photo(s)...")
                    images = {label: load_image(data) for label, data in photos.items()}
                    status.write("Finding the face in each photo and computing embeddings...")
                    embeddings = embed_enrollment_photos(images, detect=loaded.detector.detect, model=loaded.identity)
                    thumbnails = (svc.enrolment_thumbnails(images, loaded.detector.detect, loaded.identity)
                                  if record.allows_thumbnails else [])
                    done = family.enroll(store, name, embeddings, record, thumbnails=thumbnails,
                                         model=loaded.identity.name)
                    shots.clear()
                    status.update(label=f"Enrolled {done.name}", state="complete")
                    st.session_state[FLASH] = (f"Enrolled {done.name} with {done.embeddings} embedding(s) and "
                                               f"{done.thumbnails} thumbnail(s). They will be named in analysed "
                                               "photos from now on.")
                    st.rerun()

# ----------------------------------------------------------------------------------- withdraw / purge
with remove_tab:
    if members:
        chosen = st.selectbox("Member", [m.name for m in members], key="remove_member")
        person = next(m for m in members if m.name == chosen)
        withdraw_col, purge_col = st.columns(2)
        with withdraw_col:
            st.write("Withdrawing consent erases the member's data at once.")
            if st.button("Withdraw consent", key="withdraw_submit"):
                with _ui.friendly_errors(f"Withdrawing {chosen}'s consent"):
                    st.session_state[RECEIPT] = (chosen, consent.withdraw(store, person.person_id))
                    _ui.forget_results()
                    st.rerun()
        with purge_col:
            st.write("Purging deletes everything stored about the member and destroys their key.")
            sure = st.checkbox(f"Yes, erase {chosen} for good", key="purge_confirm")
            if st.button("Purge", type="primary", disabled=not sure, key="purge_submit"):
                with _ui.friendly_errors(f"Purging {chosen}"):
                    st.session_state[RECEIPT] = (chosen, family.purge(store, person.person_id))
                    _ui.forget_results()
                    st.rerun()
    else:
        st.info("No one is enrolled.")

    receipt = st.session_state.get(RECEIPT)
    if receipt is not None:
        who, receipt = receipt
        st.success(f"{who} was erased: {sum(receipt.records.values())} record(s) deleted, their key destroyed. "
                   f"Receipt hash {receipt.digest[:16]}..., logged as audit entry {receipt.audit_seq}.")
        st.json(receipt.to_dict())
        st.download_button("Download the deletion receipt", receipt.to_json(), file_name="unveil_deletion_receipt.json",
                           mime="application/json", on_click="ignore", key="receipt_download")

    with st.expander("Delete everything"):
        st.write("Erases every member, saved result and the audit log, leaving an empty store.")
        typed = st.text_input('Type "delete everything" to confirm', key="erase_all_confirm")
        if st.button("Delete everything", disabled=typed.strip().lower() != "delete everything", key="erase_all_submit"):
            with _ui.friendly_errors("Deleting everything"):
                st.session_state[RECEIPT] = ("Everyone", erasure.erase_everything(store))
                _ui.forget_results()
                st.rerun()
