"""Unveil, the local web app: `streamlit run app.py`.

Everything runs on this machine: photos are analysed in memory and never sent anywhere. This file only
declares the pages; each page (app_pages/) lays out results computed by fer_core/ and governance/.
"""
import streamlit as st

from app_pages import _ui

# An emoji favicon is drawn in the browser; a ":material/...:" one would be fetched from Google's servers.
st.set_page_config(page_title="Unveil", page_icon="🎭", layout="wide")

PAGES = [
    st.Page("app_pages/analyze.py", title="Analyze", icon=":material/photo_camera:", default=True),
    st.Page("app_pages/video.py", title="Video", icon=":material/movie:"),
    st.Page("app_pages/kept.py", title="Kept results", icon=":material/inventory_2:"),
    st.Page("app_pages/family.py", title="Family", icon=":material/group:"),
    st.Page("app_pages/governance.py", title="Governance", icon=":material/policy:"),
    st.Page("app_pages/explain.py", title="Explain", icon=":material/insights:"),
]

page = st.navigation(PAGES)
_ui.sidebar_status()
_ui.new_session_notice()
page.run()
