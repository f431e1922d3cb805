"""Streamlit glue shared by the pages: models loaded once per process, the per-session family store,
and errors shown as messages instead of tracebacks. Logic lives in fer_core/ and governance/."""
from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import streamlit as st

from fer_core import EmbeddingModel, EmotionModel, FaceAnalyzer, FaceDetector, Gallery, UnveilError
from fer_core._paths import models_dir
from fer_core.store import DATA_FILE, FamilyStore, default_data_dir
from governance import app_services

log = logging.getLogger("unveil.app")

# Session-state keys. Photos and results live only here, in this browser session's memory.
STORE = "unveil_store"  # the unlocked FamilyStore, or absent
LAST_ANALYSIS = "unveil_last_analysis"  # list[app_services.PhotoResult] of the Analyze page
VIDEO_RESULT = "unveil_video_result"  # (file name, frames, tracks, recognition) of the Video page
RECEIPT = "unveil_last_receipt"  # (who, ErasureReceipt) of the last purge, shown on the Family page


@dataclass(frozen=True)
class Models:
    """The networks every session shares: read-only once loaded, so one copy serves all sessions."""

    detector: FaceDetector
    emotion: EmotionModel
    identity: EmbeddingModel | None  # None when no identity model is shipped


@st.cache_resource(show_spinner="Loading the models (once per app start)...")
def _load_models(folder: str) -> Models:
    # `folder` is the cache key: a changed UNVEIL_MODELS_DIR loads the models found there. The
    # analyzer's own defaults (read from that folder) decide which models and settings are used.
    probe = FaceAnalyzer()
    return Models(detector=probe.detector, emotion=probe.emotion_model, identity=probe.identity_model)


def models() -> Models:
    return _load_models(str(models_dir()))


def analyzer() -> tuple[FaceAnalyzer, bool]:
    """A FaceAnalyzer over the shared models with this session's gallery, and whether that gallery
    names faces (the store is unlocked and someone is enrolled).

    Built per call: the gallery belongs to one session and must never leak into another's results."""
    loaded = models()
    current = gallery()
    return FaceAnalyzer(detector=loaded.detector, emotion_model=loaded.emotion,
                        identity_model=loaded.identity if loaded.identity is not None else False,
                        gallery=current), current is not None


def store() -> FamilyStore | None:
    """This session's unlocked store, or None."""
    current = st.session_state.get(STORE)
    return current if current is not None and current.is_unlocked else None


def data_dir_label() -> str:
    return str(default_data_dir())


def gallery() -> Gallery | None:
    """The open family gallery of this session, or None when the store is locked or nobody is enrolled."""
    current = store()
    loaded = models()
    if current is None or loaded.identity is None:
        return None
    people = current.gallery(model=loaded.identity.name, errors="skip")
    if not people:
        return None
    return Gallery(people, threshold=loaded.identity.threshold, distance=loaded.identity.distance)


@contextlib.contextmanager
def friendly_errors(what: str) -> Iterator[None]:
    """Show an Unveil error as a red message naming `what` was being done; never a traceback.

    Unveil's own errors carry messages written for people (what went wrong, what was not changed).
    Anything else is a bug: it is logged with its traceback on the server (never with image data)
    and the page shows a short message instead of the stack."""
    try:
        yield
    except UnveilError as exc:
        st.error(f"{what}: {exc}")
    except Exception as exc:  # noqa: BLE001 - the page must stay usable whatever broke
        log.exception("unexpected error while %s", what)
        st.error(f"{what}: unexpected error ({type(exc).__name__}). Nothing was saved; details are in the app's log.")


def sidebar_status() -> None:
    """Where the store lives and whether it is unlocked, on every page."""
    with st.sidebar:
        if store() is not None:
            st.success("Family store unlocked", icon=":material/lock_open:")
            if st.button("Lock the store", key="sidebar_lock"):
                lock_store()
                st.rerun()
        else:
            st.info("Family store locked: faces are not named. Unlock it on the Family page.",
                    icon=":material/lock:")
        st.caption(f"Data folder: `{data_dir_label()}`. Photos are analysed in memory and never saved.")


def lock_store() -> None:
    """Forget the store's keys and every result that may name a member."""
    current = st.session_state.pop(STORE, None)
    if current is not None:
        current.close()
    forget_results()
    st.session_state.pop(RECEIPT, None)  # it names the person erased


def forget_results() -> None:
    """Drop this session's analysis results: after a purge or a lock they may name someone who must no
    longer be named."""
    st.session_state.pop(_PHOTO_CACHE, None)
    st.session_state.pop(LAST_ANALYSIS, None)
    st.session_state.pop(VIDEO_RESULT, None)


_PHOTO_CACHE = "unveil_photo_cache"


def analyze_photos(inputs: list[tuple[str, bytes]]) -> list[app_services.PhotoResult]:
    """Analyse uploaded photos [(name, bytes)] with progress, once per photo and gallery state.

    Results are kept in session memory keyed by the photo's hash, so the reruns Streamlit does on every
    click do not analyse (or audit-log) the same photo again; photos no longer uploaded are dropped."""
    engine, recognition = analyzer()
    gallery_key = tuple(engine.gallery.names) if recognition else ()
    cache: dict = st.session_state.setdefault(_PHOTO_CACHE, {})
    keys = [(name, hashlib.sha256(data).hexdigest(), gallery_key) for name, data in inputs]
    todo = [(key, data) for key, (_, data) in zip(keys, inputs) if key not in cache]
    if todo:
        with st.status(f"Analysing {len(todo)} photo(s)...", expanded=False) as status:
            bar = st.progress(0.0)
            for done, (key, data) in enumerate(todo, start=1):
                cache[key] = app_services.analyze_photo(data, key[0], engine.analyze, recognition=recognition)
                bar.progress(done / len(todo), text=f"{done}/{len(todo)}: {key[0]}")
            status.update(label=f"Analysed {len(todo)} photo(s)", state="complete")
        current = store()
        if recognition and current is not None:
            identities = [face.identity for key, _ in todo for face in cache[key].faces]
            if identities:
                app_services.log_recognition(current, identities)
    for stale in set(cache) - set(keys):
        del cache[stale]
    results = [cache[key] for key in keys]
    st.session_state[LAST_ANALYSIS] = results
    return results


SWEEP_REPORT = "unveil_sweep_report"  # the retention sweep run when this session unlocked the store


def store_exists() -> bool:
    return (default_data_dir() / DATA_FILE).is_file()


def _opened(new_store: FamilyStore) -> None:
    """Keep the unlocked store for this session and apply the retention policy, as at every app start."""
    from governance import retention

    lock_store()
    st.session_state[STORE] = new_store
    st.session_state[SWEEP_REPORT] = retention.sweep(new_store)


def create_store(passphrase: str) -> None:
    _opened(FamilyStore.create(default_data_dir(), passphrase=passphrase))


def unlock_store(passphrase: str) -> None:
    """Unlock with the passphrase; WrongPassphraseError (logged by the store, nothing changed) if wrong."""
    candidate = FamilyStore.open(default_data_dir())
    try:
        candidate.unlock(passphrase)
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
