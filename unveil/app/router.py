"""The app's pages, declared once for `streamlit run app.py` and for `unveil app` alike.

Everything runs on this machine: photos are analysed in memory and never sent anywhere. Each page
(unveil/app/pages/) lays out results computed by fer_core/ and governance/.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from unveil._core_dumps import forbid_core_dumps
from unveil.app import launch, peer, widgets

# Absolute paths: the entry script is app.py in a checkout and unveil/app/streamlit_app.py in an
# installed wheel, and st.Page resolves a relative path against the entry script.
_PAGES = Path(__file__).resolve().parent / "pages"


def run() -> None:
    """Lay out the current page of this browser session (Streamlit calls the entry script on every rerun)."""
    # `unveil app` did this before the server started; `streamlit run app.py` reaches it here, at the first page.
    launch.never_look_up_the_public_address()
    launch.media_never_cached()  # before this run makes the session's first picture or download
    forbid_core_dumps()  # `unveil app` did this too; for `streamlit run app.py`, before any page unlocks the store
    # An emoji favicon is drawn in the browser; a ":material/...:" one would be fetched from Google's servers.
    st.set_page_config(page_title="Unveil", page_icon="🎭", layout="wide")
    # Before anything reads the store or a page is drawn: another user's browser gets this line and nothing else.
    # Through st.navigation all the same, as every run of this script calls it: until one does, Streamlit runs the
    # files of a pages/ folder beside the entry script directly, without this check (launch.pages_through_the_router).
    refused = peer.refusal()
    if refused:

        def refusal() -> None:
            st.error(refused)

        st.navigation([st.Page(refusal, title="Unveil", url_path="unveil")], position="hidden").run()
        return
    analyze = st.Page(_PAGES / "analyze.py", title="Analyze", icon=":material/photo_camera:", default=True)
    family = st.Page(_PAGES / "family.py", title="Family", icon=":material/group:")
    page = st.navigation([
        analyze,
        st.Page(_PAGES / "video.py", title="Video", icon=":material/movie:"),
        st.Page(_PAGES / "live.py", title="Live", icon=":material/live_tv:"),
        st.Page(_PAGES / "kept.py", title="Kept results", icon=":material/inventory_2:"),
        family,
        st.Page(_PAGES / "governance.py", title="Governance", icon=":material/policy:"),
        st.Page(_PAGES / "explain.py", title="Explain", icon=":material/insights:"),
    ])
    widgets.idle_lock_check()  # before anything uses the store: one left idle is locked, not used again
    with widgets.page_running():  # not locked for idleness under a long run
        widgets.sweep_if_due()
        widgets.sidebar_status()
        widgets.new_session_notice()
        widgets.erasure_notices(family, analyze)  # on every page, after the day's sweep (which may settle the date)
        page.run()
