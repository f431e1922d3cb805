"""Streamlit glue shared by the pages: the analyzer loaded once per process, the per-session family
store and its gallery (decrypted once per unlock), and errors shown as messages instead of tracebacks.
Logic lives in fer_core/ and governance/."""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import streamlit as st

from fer_core import FaceAnalyzer, FaceDetector, Gallery, UnveilError
from fer_core.model_files import models_dir
from fer_core.store import (
    DATA_FILE,
    STRAY_COPIES_WARNING,
    FamilyStore,
    StoreTooNewError,
    default_data_dir,
    file_system,
    others_can_write,
    stray_copies,
)
from governance import consent, enrolment, family, retention
from governance.scheduled_sweeps import ScheduledSweeps
from unveil.app import consents as app_consents
from unveil.app import idle_lock, photos, tables
from unveil.app import session as app_session
from unveil.app.enrolment import CameraShots, user_zone
from unveil.app.live import LiveOverlay
from unveil.app.text import shown

log = logging.getLogger("unveil.app")

# Session-state keys. Photos and results live only here, in this browser session's memory.
STORE = "unveil_store"  # the unlocked FamilyStore, or absent
LAST_ANALYSIS = "unveil_last_analysis"  # list[photos.PhotoResult] of the Analyze page
VIDEO_RESULT = "unveil_video_result"  # (file name, VideoAnalysis, recognition) of the Video page
RECEIPT = "unveil_last_receipt"  # (who, ErasureReceipt) of the last purge, shown on the Family page
# [(who, ErasureReceipt)] of the members the retention sweeps erased (at unlock, "Sweep now", the date confirmed), named
# as the sweep read them before erasing: shown on the Family and Governance pages until dismissed or the store is locked
SWEEP_RECEIPTS = "unveil_sweep_receipts"
KEPT_ROWS = "unveil_kept_rows"  # the Analyze rows last kept in the store, so the page says they are kept
NOTICE = "unveil_new_session_notice"  # what this session said about what was kept, or None
_PHOTO_BATCH = "unveil_photo_batch"  # app_session.PhotoBatch: the Analyze page's photos and results
# form -> photo key -> EnrolmentPhoto, for each Family page form's current photos only (the enrolment form,
# "enrol", and the form that re-embeds a member from new photos, one per member)
_ENROL_PHOTOS = "unveil_enrol_photos"
# form -> enrolment.CameraShots: the camera shots kept for a Family page form in progress, until it is done,
# they are discarded, or the store is locked or unlocked (they are not for the next person, nor another store)
_ENROL_SHOTS = "unveil_enrol_shots"
# (generation, Gallery or None, the store's data_version, when the first consent in it ends, its labels) of the unlocked
# store: decrypted once per unlock, dropped when the store is locked or unlocked and when the family changes
# (family_changed), built again after another session's commit or when that consent ends. The generation
# counts the member sets this session has named with, so a result made for one is never taken for the next; the
# labels (id -> name) are what the next gallery is compared with, kept when an outdated gallery is let go of.
_GALLERY = "unveil_gallery"
_GALLERY_GENERATION = "unveil_gallery_generation"
# (the store's data_version, _members_digest) at this session's last page run: what its periodic check
# (_changed_meanwhile) compares the store with, so that a page showing members (the Family page) runs again when one
# is erased, renamed or their consent narrowed elsewhere, whether or not it named faces
_MEMBERS_SHOWN = "unveil_members_shown"
# The unveil.app.live.LiveOverlay the Live page's latest run made, retired by its next run and by locking the store
LIVE_OVERLAY = "unveil_live_overlay"
# Why the idle lock (unveil.app.idle_lock) locked this session's store: said above its pages until it is unlocked again
IDLE_LOCKED = "unveil_idle_locked"


@st.cache_resource(show_spinner="Loading the models (once per app start)...")
def _load_analyzer(folder: str) -> FaceAnalyzer:
    # `folder` is the cache key: a changed UNVEIL_MODELS_DIR loads the models found there. The
    # analyzer's own defaults (read from that folder) decide which models and settings are used. One
    # analyzer serves every session: it holds no gallery (each call is given the session's own).
    return FaceAnalyzer()


@st.cache_resource(show_spinner=False)
def _live_detector(folder: str) -> FaceDetector:
    return FaceDetector(min_face_size=20, neck_check=True)


def live_detector() -> FaceDetector:
    """The Live page's detector, shared by every stream: it sees frames scaled down to 320 px wide
    (fer_core.live), where the analyzer's 40 px smallest face would miss faces under 80 px of a 640 px
    frame, so it searches from 20 px, with the analyzer's neck check."""
    return _live_detector(str(models_dir()))


def analyzer() -> FaceAnalyzer:
    """The process's one FaceAnalyzer (detector, emotion and identity models), loaded on first use."""
    return _load_analyzer(str(models_dir()))


def store() -> FamilyStore | None:
    """This session's unlocked store, or None."""
    current = st.session_state.get(STORE)
    return current if current is not None and current.is_unlocked else None


def data_dir_label() -> str:
    return str(default_data_dir())


def gallery() -> Gallery | None:
    """The open family gallery of this session, or None when the store is locked, no identity model is
    installed or nobody is enrolled. Decrypted from the store once, then kept in this session's memory
    until the store is locked or unlocked, the family changes (family_changed, or a commit by another
    session: another tab, the CLI, `unveil watch`), or a member's consent ends: a page reruns on every
    click, and decrypting every member each time is what made clicks slow."""
    return _gallery_state()[1]


def _gallery_state() -> tuple[int, Gallery | None]:
    current = store()
    if current is None:
        return 0, None
    # Commits by other sessions only (PRAGMA data_version): this session's own writes, such as the
    # recognition counts that naming a photo logs, must not make it name the photo again.
    version = current.data_version()[0]
    cached = st.session_state.get(_GALLERY)
    if cached is not None and _still_current(cached, current, version):
        return cached[0], cached[1]
    identity = analyzer().identity_model
    built = None if identity is None else family.gallery(current, identity)
    until = None if identity is None else family.gallery_rebuilt_at(current, built.person_ids if built else ())
    labels = None if built is None else dict(built.labels)
    if cached is not None and cached[4] == labels:
        generation = cached[0]  # another session's write that changed no member: nothing to name again
    else:
        generation = st.session_state.get(_GALLERY_GENERATION, 0) + 1
        st.session_state[_GALLERY_GENERATION] = generation
    st.session_state[_GALLERY] = (generation, built, version, until, labels)
    return generation, built


def _still_current(cached: tuple[Any, ...], current: FamilyStore, version: int) -> bool:
    """Whether the kept gallery is the store's now: no other session committed since, no consent in it ended, and
    none left out came into force (family.gallery_rebuilt_at)."""
    return cached[2] == version and (cached[3] is None or consent.store_now(current) < cached[3])


def let_go_of_outdated_gallery() -> bool:
    """When another session committed since this session's gallery was built (an erasure, a consent withdrawn, a
    rename: another tab, the CLI, `unveil watch`), or a consent in it ended: let go of its embeddings now, not at
    the next page run, which an idle tab or the Live page's stream may not have for days. Reads the store's
    data_version only (which also wipes the data keys of the members erased since, FamilyStore.data_version);
    the gallery is decrypted again when next needed. True when it let go of one."""
    current, cached = store(), st.session_state.get(_GALLERY)
    if current is None or cached is None or cached[2] is None or _still_current(cached, current,
                                                                                 current.data_version()[0]):
        return False
    st.session_state[_GALLERY] = (cached[0], None, None, None, cached[4])
    return True


def _members_digest(current: FamilyStore) -> str:
    """A digest of the members' ids, names and counts of face prints, thumbnails and consents: what the pages show of
    who is enrolled and what is stored about them (a consent narrowed deletes the thumbnails), kept without their
    names. Not when they were last seen, which every recognition anywhere writes."""
    rows = sorted((person.id, person.name, person.embeddings, person.thumbnails, person.consents)
                  for person in current.people(errors="skip"))
    return hashlib.sha256(json.dumps(rows).encode("utf-8")).hexdigest()


def _members_shown_now() -> None:
    """At each page run, before the page: the store's data_version and the members' digest it shows, for the periodic
    check to compare with (read again only when the store changed since the last run)."""
    current = store()
    if current is None:
        st.session_state.pop(_MEMBERS_SHOWN, None)
        return
    version = current.data_version()
    shown_before = st.session_state.get(_MEMBERS_SHOWN)
    if shown_before is None or shown_before[0] != version:
        try:
            st.session_state[_MEMBERS_SHOWN] = (version, _members_digest(current))
        except UnveilError:  # the page's run says why
            st.session_state.pop(_MEMBERS_SHOWN, None)


def _members_changed_meanwhile() -> bool:
    """Whether what the page showed of the members is out of date since its run: a member erased (or their consent
    withdrawn), renamed, enrolled or their consent narrowed or renewed elsewhere, or the faces it named with a gallery
    whose members changed since (a consent ended, too). The outdated gallery is let go of either way, and built
    again when the members' list is unchanged, to compare. Reads the store's data_version only while nothing
    changed."""
    current = store()
    if current is None:
        return False
    generation = st.session_state.get(_GALLERY, (None,))[0]
    let_go = let_go_of_outdated_gallery()
    shown_before, version = st.session_state.get(_MEMBERS_SHOWN), current.data_version()
    if shown_before is not None and shown_before[0] != version:
        try:
            digest = _members_digest(current)
        except UnveilError:
            return let_go  # the page's run says why
        if digest != shown_before[1]:
            return True
        st.session_state[_MEMBERS_SHOWN] = (version, digest)
    if not let_go:
        return False
    try:
        return _gallery_state()[0] != generation
    except UnveilError:
        return True


def family_changed() -> None:
    """After an enrolment or an erasure (or a retention sweep): the gallery is decrypted again when next
    needed, and the Analyze page's photos are named again with it."""
    st.session_state.pop(_GALLERY, None)


@contextlib.contextmanager
def friendly_errors(what: str) -> Iterator[None]:
    """Show an Unveil error as a red message naming `what` was being done; never a traceback.

    Unveil's own errors carry messages written for people (what went wrong, what was not changed).
    Anything else is a bug: the server log gets its type and where it was raised (UNEXPECTED_LOGGED),
    and the page a short message instead of the stack."""
    try:
        yield
    except UnveilError as exc:
        st.error(f"{shown(what)}: {shown(exc)}")
    except Exception as exc:  # the page must stay usable whatever broke
        # Neither `what` nor the error's message: either can hold a member's name or a photo's file name.
        log.error(UNEXPECTED_LOGGED, type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)))
        st.error(f"{shown(what)}: unexpected error ({type(exc).__name__}). Nothing was saved; details are in the app's log.")


UNEXPECTED_LOGGED = "unexpected %s in a page, raised at:\n%s"


def sidebar_status() -> None:
    """Where the store lives and whether it is unlocked, on every page."""
    with st.sidebar:
        if store() is not None:
            st.success("Family store unlocked", icon=":material/lock_open:")
            if st.button("Lock the store", key="sidebar_lock"):
                lock_store()
                if (session_id := _session_id()) is not None:
                    idle_locks().lock_all(but=session_id)
                st.rerun()
            minutes, problem = idle_minutes()
            st.caption(idle_lock.NEVER_LOCKS_ITSELF.format(setting=idle_lock.SETTING) if minutes is None
                       else idle_lock.LOCKS_ITSELF.format(period=idle_lock.period_text(minutes)))
            if problem:
                st.warning(problem, icon=":material/warning:")
            _members_shown_now()  # before the check, which this run then finds up to date
            _changed_meanwhile()
        elif store_exists():
            st.info("Family store locked: faces are not named. Unlock it on the Family page.",
                    icon=":material/lock:")
        else:
            st.info(NO_STORE_SIDEBAR, icon=":material/lock:")
        st.caption(f"Data folder: `{data_dir_label()}`. Photos are analysed in memory and never saved.")
        # Shown while it holds: a store there is opened all the same (refusing would lock the household out).
        if (exposed := others_can_write(default_data_dir())) is not None and store_exists():
            st.warning(shown(exposed.warning()), icon=":material/warning:")
        mounted = file_system(default_data_dir()) if store_exists() else None
        if mounted is not None and (warning := mounted.warning(default_data_dir())) is not None:
            st.warning(shown(warning), icon=":material/warning:")
        if store_exists() and (copies := stray_copies(default_data_dir())):
            st.warning(shown(STRAY_COPIES_WARNING.format(data_dir=default_data_dir(), names=", ".join(copies))),
                       icon=":material/warning:")


def lock_store() -> None:
    """Forget the store's keys, every result that may name a member and the camera shots kept for an enrolment
    or a re-embedding, and retire the Live page's overlay."""
    current = st.session_state.pop(STORE, None)
    if current is not None:
        current.close()
    st.session_state.pop(_GALLERY, None)
    st.session_state.pop(_MEMBERS_SHOWN, None)
    forget_results()
    st.session_state.pop(RECEIPT, None)  # it names the person erased
    st.session_state.pop(SWEEP_RECEIPTS, None)  # so do these
    st.session_state.pop(SCHEDULED_SWEEPS, None)
    st.session_state.pop(_ENROL_SHOTS, None)
    live_overlay_made(None)  # its tracker may hold the gallery


def _session_id() -> str | None:
    """This browser session's id, or None outside a script run."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    return None if context is None else context.session_id


def _tab_connected(session_id: str) -> bool:
    """Whether the session's tab is connected to the server now (its WebSocket open)."""
    from streamlit.runtime import Runtime

    # AppTest runs the pages with no server: its session is the test's, connected while it runs.
    return not Runtime.exists() or Runtime.instance().is_active_session(session_id)


def _close_session(session_id: str) -> None:
    """Ask the server to close the session of a tab gone DISCONNECTED_S: Streamlit drops its uploaded files and stops
    keeping it, with its session state (photos, results naming members), for a reconnection, which gets a new
    session. Not a session whose tab reconnected meanwhile: that is checked on the server's event loop, where
    reconnections happen too and Runtime.close_session must run."""
    import asyncio

    from streamlit.runtime import Runtime

    if not Runtime.exists():  # AppTest runs the pages with no server: nothing to close
        return
    runtime = Runtime.instance()

    def close_if_gone() -> None:
        if not runtime.is_active_session(session_id):
            runtime.close_session(session_id)

    # Runtime.stopped is a future of the server's event loop (ensure_future returns it as it is, typed).
    asyncio.ensure_future(runtime.stopped).get_loop().call_soon_threadsafe(close_if_gone)


def idle_minutes() -> tuple[int | None, str | None]:
    """The idle lock's period in minutes (None: off) and what is wrong with its setting (None: nothing); a setting
    that is not a period gives the default, which locks, rather than never."""
    try:
        return idle_lock.minutes_set(), None
    except idle_lock.IdleLockSettingError as exc:
        return idle_lock.DEFAULT_MINUTES, str(exc)


@st.cache_resource(show_spinner=False)
def _process_idle_locks() -> idle_lock.IdleLocks:
    minutes = idle_minutes()[0]
    locks = idle_lock.IdleLocks(after_s=None if minutes is None else minutes * 60.0, connected=_tab_connected,
                                close=_close_session)
    locks.start()
    return locks


def idle_locks() -> idle_lock.IdleLocks:
    """The idle locks of every session of this server (unveil.app.idle_lock), checked by a thread started with them."""
    return _process_idle_locks()


def idle_lock_check() -> None:
    """At the start of each page run: this session's store is locked first if the idle lock says it is due, and
    when the idle lock locked it since the last run, what lock_store drops goes too and why is said above the page
    until the store is unlocked again; otherwise the store counts as used now."""
    session_id = _session_id()
    if session_id is None:
        return
    why = idle_locks().used(session_id, store())
    if why is not None:
        _locked_by_idle_lock(why)
    if store() is None and st.session_state.get(IDLE_LOCKED):
        st.warning(st.session_state[IDLE_LOCKED], icon=":material/lock_clock:")


@contextlib.contextmanager
def page_running() -> Iterator[None]:
    """Around the router's whole page run: the idle lock leaves this session's store alone while the run lasts (an
    analysis of many photos may outlast the period), and the period starts again when it ends."""
    session_id = _session_id()
    if session_id is None:
        yield
        return
    with idle_locks().running(session_id):
        yield


def still_in_use() -> None:
    """The Live page's stream plays (a kiosk may show it for days): the store counts as used now. When it was locked
    meanwhile (in another tab), the page runs again, locked."""
    session_id = _session_id()
    why = None if session_id is None else idle_locks().used(session_id, store())
    if why is not None:
        _locked_by_idle_lock(why)
        st.rerun()


def _locked_by_idle_lock(why: str) -> None:
    lock_store()
    st.session_state[IDLE_LOCKED] = why


@st.fragment(run_every=idle_lock.CHECK_EVERY_S)
def _changed_meanwhile() -> None:
    """Every CHECK_EVERY_S while a page shows the store unlocked, the whole page runs again when the idle lock locked
    the store since (idle_lock_check), or when the members it names changed in another session (an erasure in
    another tab or by the CLI): what it showed of them leaves the screen, and their embeddings this session's
    memory, within CHECK_EVERY_S rather than at the next click, which a tab left open may not get for days. Draws
    nothing, and is not a use of the store."""
    session_id = _session_id()
    if session_id is not None and idle_locks().locked_why(session_id):
        st.rerun()
    if _members_changed_meanwhile():
        st.rerun()


def live_overlay_made(overlay: LiveOverlay | None) -> None:
    """Keep the overlay the Live page's run made (None: it made none) and retire the one kept before (its
    LiveOverlay.retire says why)."""
    earlier = st.session_state.pop(LIVE_OVERLAY, None)
    if earlier is not None and earlier is not overlay:
        earlier.retire()
    if overlay is not None:
        st.session_state[LIVE_OVERLAY] = overlay


def forget_results() -> None:
    """Drop this session's analysis results: after a purge or a lock they may name someone who must no
    longer be named. The photos added on the Analyze page stay, to be analysed again."""
    photo_batch().forget_results()
    st.session_state.pop(LAST_ANALYSIS, None)
    st.session_state.pop(VIDEO_RESULT, None)
    st.session_state.pop(KEPT_ROWS, None)


def video_result() -> tuple[str, Any, bool] | None:
    """The Video page's last result (file name, VideoAnalysis, recognition), or None. A result that names a member
    the gallery no longer names so (erased, their consent withdrawn or ended, renamed: in this session, another tab,
    the CLI or a sweep) is dropped first: it was made with the gallery of its time and kept naming them on every
    click. When the gallery cannot be read, the result is dropped before the error is raised: an erasure that
    cannot be checked must not keep anyone named."""
    result = st.session_state.pop(VIDEO_RESULT, None)
    if result is None:
        return None
    if result[2] and (named := {(face.person_id, face.identity) for track in result[1].tracks
                                for _, face in track.observations if face.person_id is not None}):
        labels = {} if (current := gallery()) is None else current.labels
        if any(labels.get(person_id) != name for person_id, name in named):
            return None
    st.session_state[VIDEO_RESULT] = result
    return result


def kept_result_deleted() -> None:
    """After a kept result is deleted: the Analyze page no longer says its results are kept, and offers to
    keep them again."""
    st.session_state.pop(KEPT_ROWS, None)


def release_uploads(files: Iterable[Any]) -> None:
    """Drop Streamlit's own copy of these uploaded files (st.file_uploader's or st.camera_input's UploadedFile;
    None is skipped) once the app has taken what it needs of them.

    Streamlit keeps the bytes of every file uploaded in a browser session until the user takes it out of its
    uploader (its x), or the session ends: not when the app draws the uploader again under a new key, which the
    Analyze page does after each upload (its inbox) and the Family page's forms once they are used. So every photo
    uploaded in a tab stayed in the server's memory until the tab was closed, after "Clear all" and after the
    enrolment too: 5.4 MB more for each 12 MP photo (benchmarks/soak.py app; docs/reports/soak.md)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    if context is None:  # not in a script run (a bare import): Streamlit holds nothing for it
        return
    for upload in files:
        if upload is not None:
            context.uploaded_file_mgr.remove_file(session_id=context.session_id, file_id=upload.file_id)


def clear_photos() -> None:
    """Remove every photo and result of the Analyze page from this session."""
    photo_batch().clear()
    st.session_state.pop(LAST_ANALYSIS, None)
    st.session_state.pop(KEPT_ROWS, None)


def page_picker(label: str, total: int, per_page: int, key: str) -> range:
    """The items (indexes) of the page shown of `total` items, `per_page` a page, with a picker `label` (keyed `key`)
    when there are several pages. The picker holds the page's number, not its range: a range that changed (an item
    removed from the last page) was no longer among the picker's options, and Streamlit showed the first page. Once
    the last page is gone, the one before it is shown."""
    pages = tables.page_ranges(total, per_page)
    st.session_state[key] = min(st.session_state.get(key, 0), max(len(pages) - 1, 0))
    if len(pages) < 2:
        return pages[0] if pages else range(0)
    return pages[st.selectbox(label, range(len(pages)), key=key,
                              format_func=lambda number: tables.page_label(pages[number], total))]


def photo_batch() -> app_session.PhotoBatch:
    """The photos and results of this session's Analyze page: they stay while other pages are shown."""
    return st.session_state.setdefault(_PHOTO_BATCH, app_session.PhotoBatch())


def analyze_batch() -> list[tuple[str, photos.PhotoResult]]:
    """Analyse the batch's photos never analysed, with progress, and name the faces of those without a
    result for the current gallery; returns (key, result) of every photo.

    A photo is decoded and searched once, whatever the gallery; its faces are named (and the recognition
    audit-logged) once per gallery state, not on each of the reruns Streamlit does on every click."""
    generation, current_gallery = _gallery_state()
    batch = photo_batch()
    todo = batch.pending(generation)
    unanalysed = [(key, name, data) for key, name, data in todo if batch.analysis(key) is None]
    if unanalysed:
        engine = analyzer()
        with st.status(f"Analysing {app_session.plural(len(unanalysed), 'photo')}...", expanded=False) as status:
            bar = st.progress(0.0)
            for done, (key, name, data) in enumerate(unanalysed, start=1):
                # No gallery here: the analysis is kept across gallery changes, so it must name nobody.
                batch.set_analysis(key, photos.analyze_photo(data, name, engine.analyze, recognition=False))
                bar.progress(done / len(unanalysed), text=f"{done}/{len(unanalysed)}: {shown(name)}")
            status.update(label=f"Analysed {app_session.plural(len(unanalysed), 'photo')}", state="complete")
    person_ids = []
    for key, _, _ in todo:
        result = photos.named(batch.analysis(key), current_gallery)
        batch.set_result(key, result)
        person_ids += [face.person_id for face in result.faces]
    current = store()
    if current_gallery is not None and current is not None and person_ids:
        family.count_recognitions(current, person_ids)
    results = batch.results()
    st.session_state[LAST_ANALYSIS] = [result for _, result in results]
    return results


def enrolment_photos(photos: dict[str, bytes], form: str = "enrol") -> list[enrolment.EnrolmentPhoto]:
    """The photos ({label: bytes}) of the Family page's `form` read and searched for faces, once per photo:
    the form reruns on every click, the face picker needs the faces before the Enrol (or Re-embed) button,
    and the enrolment itself (governance.family.enrol_from_photos, reembed_from_photos) uses these same
    detections. Each form keeps its own: two forms drawn on one run do not read each other's photos again."""
    detect = analyzer().detector.detect
    cache: dict = st.session_state.setdefault(_ENROL_PHOTOS, {}).setdefault(form, {})
    keys = {label: app_session.photo_key(label, data) for label, data in photos.items()}
    for label, data in photos.items():
        if keys[label] not in cache:
            cache[keys[label]] = enrolment.read_photo(data, label, detect)
    for stale in set(cache) - set(keys.values()):
        del cache[stale]
    return [cache[keys[label]] for label in photos]


def enrol_shots(form: str = "enrol") -> CameraShots:
    """The camera shots kept for the Family page's `form` in progress (in this session's memory)."""
    return st.session_state.setdefault(_ENROL_SHOTS, {}).setdefault(form, CameraShots())


def forget_photo_form(form: str) -> None:
    """Drop the photos read and the camera shots kept for the Family page's `form`: it is done."""
    st.session_state.get(_ENROL_PHOTOS, {}).pop(form, None)
    st.session_state.get(_ENROL_SHOTS, {}).pop(form, None)


def new_session_notice() -> None:
    """On a session's pages, until the store is first unlocked or a photo first added: what a reload (or a new tab)
    kept and what it did not. Worked out once per session; the counts are readable while locked."""
    if NOTICE not in st.session_state:
        st.session_state[NOTICE] = None  # a store that cannot be read says so once, on this first run
        with friendly_errors("Reading what this machine keeps"):
            counts = None
            if store_exists():
                with FamilyStore.open(default_data_dir()) as locked:
                    counts = locked.counts()
            st.session_state[NOTICE] = app_session.new_session_notice(counts)
    if store() is not None or len(photo_batch()):
        # Said for the last time: locking the store or clearing the photos later in this session must not bring
        # back 'This is a new session', nor the counts read at its start (members erased since were counted).
        st.session_state[NOTICE] = None
    message = st.session_state[NOTICE]
    if message:
        st.info(message, icon=":material/restart_alt:")


def erasure_notices(family_page: Any, analyze_page: Any) -> None:
    """Above every page while the store is unlocked, who the sweep erases soon (days of the user's calendar): the
    members whose consent ends soon (app.consents.ending_notice), with a link to `family_page`, whose consent form
    renews it; those who reach the unseen_people period soon (app.consents.unseen_notice), with a link to
    `analyze_page`, where a photo of them recognised keeps them. Drawn in one container on every run, so that a notice
    that comes or goes (a renewal) does not move what the page draws after it: the Family page's tabs would be drawn
    as new ones, back on the first."""
    with st.container():
        current = store()
        if current is None:
            return
        zone = user_zone(st.context.timezone)
        with friendly_errors("Reading the consents ending soon"):
            notice = app_consents.ending_notice(consent.ending_soon(current, zone=zone))
            if notice:
                st.warning(notice, icon=":material/event_busy:")
                st.page_link(family_page, label=app_consents.ENDING_LINK, icon=":material/group:")
        with friendly_errors("Reading the members not recognised for a long time"):
            notice = app_consents.unseen_notice(retention.unseen_soon(current, zone=zone))
            if notice:
                st.warning(notice, icon=":material/person_off:")
                st.page_link(analyze_page, label=app_consents.UNSEEN_LINK, icon=":material/photo_camera:")


SCHEDULED_SWEEPS = "unveil_scheduled_sweeps"  # governance.scheduled_sweeps.ScheduledSweeps of the unlocked store (sweep_if_due)
SWEEP_REPORT = "unveil_sweep_report"  # the session's latest retention sweep (the one at unlock, or "Sweep now")
DATE_IS_RIGHT = "The date is right: apply retention"


def store_exists() -> bool:
    return (default_data_dir() / DATA_FILE).is_file()


# A first run has no store to unlock: the pages that need one say to create it, not to unlock it.
NO_STORE_SIDEBAR = ("No family store yet: faces are analysed but not named. To name family members, create the "
                    "store on the Family page.")
NEEDS_UNLOCKING = "Unlock the family store on the Family page to see this."
NEEDS_CREATING = "There is no family store yet: create it on the Family page (it asks for a passphrase) to see this."


def store_needed() -> str:
    """What a page that needs the store says while this session has none unlocked: unlock it, or, on a
    first run, create it."""
    return NEEDS_UNLOCKING if store_exists() else NEEDS_CREATING


def _opened(new_store: FamilyStore) -> None:
    """Apply the retention policy, as at every app start, then keep the unlocked store for this session.
    A store the sweep finds damaged (StoreDamagedError) is closed again: the page shows what to do, and
    nobody works on in a store that failed its checks."""
    from governance import retention

    lock_store()
    try:
        report = retention.sweep(new_store)
    except BaseException:
        new_store.close()
        raise
    st.session_state[STORE] = new_store
    st.session_state.pop(IDLE_LOCKED, None)
    if (session_id := _session_id()) is not None:
        idle_locks().used(session_id, new_store)  # its idle period starts now
    _kept_sweep(report)
    st.session_state[SCHEDULED_SWEEPS] = ScheduledSweeps(new_store, swept_at=datetime.fromisoformat(report.ran_at).timestamp())


def sweep_if_due() -> None:
    """A session kept unlocked for days (a tab left open, the Live page as a kiosk) sweeps as `unveil watch` and
    `unveil serve` do, once a day after the sweep at unlock (governance.scheduled_sweeps), when a page runs and while
    the Live page's stream plays; what it removed and erased is shown as after "Sweep now"."""
    sweeps = st.session_state.get(SCHEDULED_SWEEPS)
    report = sweeps.run_if_due() if sweeps is not None and store() is not None else None
    if report is not None:
        _applied_sweep(report)


def _applied_sweep(report) -> None:
    """After a sweep of the unlocked store ("Sweep now", the date confirmed, the day's sweep): its report kept, and
    what it removed no longer named nor shown in this session's results."""
    _kept_sweep(report)
    if report.total:
        family_changed()
        forget_results()


def _kept_sweep(report) -> None:
    """Keep a sweep's report as the session's latest and the receipts of the members it erased with the others
    not yet dismissed (SWEEP_RECEIPTS), so that they stay shown past the next click."""
    st.session_state[SWEEP_REPORT] = report
    st.session_state.pop(_SWEEP_DISMISSED, None)  # a new sweep's summary is shown, whatever became of the last one's
    kept = [*st.session_state.get(SWEEP_RECEIPTS, []), *tables.sweep_receipts(report)]
    if kept:
        st.session_state[SWEEP_RECEIPTS] = kept


def sweep(*, date_confirmed: bool = False) -> None:
    """Run the retention sweep on the unlocked store and say what it removed; the report is kept as the session's
    latest (SWEEP_REPORT), whose date question sweep_date_question shows, and the receipts of the members it erased
    are kept for sweep_receipts to show."""
    from governance import retention

    report = retention.sweep(store(), date_confirmed=date_confirmed)
    _applied_sweep(report)
    st.success(tables.sweep_text(report))


SWEEP_RECEIPTS_DISMISS = "Dismiss these receipts"
# Set when the receipts are dismissed: the Family page's summary of the same sweep goes with them.
_SWEEP_DISMISSED = "unveil_sweep_dismissed"


def sweep_summary() -> str | None:
    """What the session's latest sweep removed, for the Family page, or None when it removed nothing or its
    receipts were dismissed."""
    report = st.session_state.get(SWEEP_REPORT)
    if report is None or not report.total or st.session_state.get(_SWEEP_DISMISSED):
        return None
    return f"The retention sweep removed: {tables.counted(report.removed, skip_zero=True)}."


def _dismiss_sweep_receipts() -> None:
    st.session_state.pop(SWEEP_RECEIPTS, None)
    st.session_state[_SWEEP_DISMISSED] = True


def sweep_receipts(key: str) -> None:
    """The receipts of the members the retention sweeps erased in this session, each naming the member as the
    sweep read them, with its download, until they are dismissed (the button keyed `key`: before the page runs
    again, so neither they nor the Family page's summary of the sweep are drawn once more) or the store locked."""
    kept = st.session_state.get(SWEEP_RECEIPTS)
    if not kept:
        return
    st.success(tables.sweep_erased_text(kept))
    for who, receipt in kept:
        st.markdown(tables.receipt_text(who, receipt))
        st.download_button("Download this receipt", receipt.to_json(), mime="application/json",
                           file_name=receipt.file_name(), on_click="ignore",
                           key=f"sweep_receipt_{receipt.digest}")
    st.button(SWEEP_RECEIPTS_DISMISS, key=key, on_click=_dismiss_sweep_receipts)


def sweep_date_question(key: str) -> None:
    """When the session's latest sweep waits for the date to be confirmed (the clock jumped far past the store's
    last use): say what waits now, with a button that confirms the date and sweeps again. What waits is counted
    again on each run (retention.date_check): a member the sweep counted may since have been erased or renewed."""
    from governance import retention

    report = st.session_state.get(SWEEP_REPORT)
    if report is None or report.date_check is None:
        return
    with friendly_errors("Reading what waits for the date"):
        report = replace(report, date_check=retention.date_check(store()))
        st.session_state[SWEEP_REPORT] = report
    if report.date_check is None:
        return  # nothing waits any more (the Family page's consent form still offers to confirm the date)
    question = st.empty()
    with question.container():
        st.warning(report.date_check.text(user_zone(st.context.timezone)))  # the dates of the user's calendar
        confirmed = st.button(DATE_IS_RIGHT, key=key)
    if confirmed:
        with friendly_errors("Applying the retention policy"):
            sweep(date_confirmed=True)
            question.empty()  # answered: drawn before the click was read


def create_store(passphrase: str) -> None:
    _opened(FamilyStore.create(default_data_dir(), passphrase=passphrase))


def start_over(passphrase: str, *, key_file_lost: bool):
    """governance.starting_over.start_over on the data folder's store, whose passphrase is forgotten; the new store
    is this session's, unlocked. Returns what start_over returns."""
    from governance import starting_over

    done = starting_over.start_over(default_data_dir(), passphrase, key_file_lost=key_file_lost)
    _opened(done.store)
    return done


def restore(folder: Path, *, passphrase: str | None = None, key_file: Path | None = None):
    """governance.restoring.restore of the backup in `folder` into the data folder, which holds no store; the
    restored store is this session's, unlocked (and swept, as at every unlock). Returns what restore returns."""
    from governance import restoring

    done = restoring.restore(default_data_dir(), folder, passphrase=passphrase, key_file=key_file)
    _opened(done.store)
    return done


@dataclass(frozen=True)
class UnlockWays:
    """What can unlock the data folder's store, read from its key slots while it is locked."""

    passphrase: bool
    key_file: bool


def newer_version_refusal() -> str | None:
    """The store's own refusal (fer_core.store.TOO_NEW_MESSAGE) when the data folder's store was written by a later
    version of Unveil, which this one neither unlocks nor sets aside; None otherwise (any other error is left to the
    steps that meet it)."""
    try:
        with FamilyStore.open(default_data_dir()):
            return None
    except StoreTooNewError as exc:
        return str(exc)
    except UnveilError:
        return None


def unlock_ways() -> UnlockWays:
    with FamilyStore.open(default_data_dir()) as locked:
        return UnlockWays(locked.has_passphrase, locked.has_key_file)


def unlock_store(passphrase: str | None = None, *, key_file: Path | None = None) -> None:
    """Unlock with the passphrase or the key file at `key_file`, read there by fer_core.store (a 0600 file, as
    for `--key-file`): WrongPassphraseError, or KeyFileError (logged by the store when a key file was tried
    against its slot, nothing changed) if it does not open the store."""
    candidate = FamilyStore.open(default_data_dir())
    try:
        candidate.unlock(passphrase, key_file=key_file)
    except BaseException:
        candidate.close()
        raise
    _opened(candidate)


@st.cache_resource(show_spinner="Loading the explanation model...")
def _load_cam_model(path: str):
    from governance.explain import load_cam_model

    return load_cam_model(path)


def cam_model():
    """The shipped emotion model with its Grad-CAM outputs (governance.explain), loaded once."""
    from governance.explain import DEFAULT_MODEL

    return _load_cam_model(str(models_dir() / DEFAULT_MODEL))


@st.cache_data(show_spinner=False)
def _explain_methods(path: str):
    from unveil.app.explain_view import method_choices

    return method_choices(path)


def explain_methods():
    """The Explain page's methods for the shipped emotion model, with what its card measured of each, read once."""
    from governance.explain import DEFAULT_MODEL

    return _explain_methods(str(models_dir() / DEFAULT_MODEL))
