"""Explain: where in the face the emotion model found its evidence, for each emotion."""
import streamlit as st

from unveil.app import alt_text, explain_view, tables
from unveil.app import widgets as _ui
from unveil.app.text import shown

st.title("Explain")
st.caption(explain_view.HOW_TO_READ)

photos = st.session_state.get(_ui.LAST_ANALYSIS) or []
# Two photos may share a file name (two camera shots are both camera.jpg): each is named apart, as on the
# Analyze page, so that no two choices read alike (Streamlit would take either for the last).
titles = tables.distinct([result.source for result in photos])
# A face whose emotion was not read (its mouth outside the photo) has no reading to explain.
choices = [(p, f) for p, result in enumerate(photos) for f, face in enumerate(result.faces) if face.emotion is not None]
if not choices:
    st.info(explain_view.NO_FACE_READ if any(result.faces for result in photos) else explain_view.NO_FACE_YET)
    st.stop()

photo_index, face_index = st.selectbox(
    "Face", choices, key="explain_face",
    format_func=lambda c: f"{titles[c[0]]}, face {c[1] + 1} ({photos[c[0]].faces[c[1]].emotion})")
methods, card_problem = _ui.explain_methods()
if card_problem:
    st.warning(f"How faithful each method is could not be read: {card_problem}")
by_method = {choice.method: choice for choice in methods}  # measured faithful first, less than random last
method = st.radio("Method", list(by_method), format_func=lambda m: by_method[m].label, horizontal=True,
                  key="explain_method", help=explain_view.METHOD_HELP)
# How far to trust the map in plain words first; the measured figures, and where they come from, on request.
chosen = by_method[method]
{True: st.caption, None: st.info, False: st.warning}[chosen.trusted](chosen.summary)
with st.expander(explain_view.MEASURED_HOW):
    st.caption(chosen.note)
    if chosen.trusted is not None:
        st.caption(explain_view.MEASURED_WHERE)

result = photos[photo_index]
face = result.faces[face_index]
with _ui.friendly_errors("Explaining the face"), st.spinner("Computing the heatmaps..."):
    maps = explain_view.explain_photo_face(_ui.cam_model(), result.image, face, _ui.analyzer().emotion_model.template, method=method)
    st.markdown(f"**{shown(titles[photo_index])}, face {face_index + 1}**: read as **{face.emotion}**")
    for column, heatmap in zip(st.columns(len(maps)), maps):
        marker = " (predicted)" if heatmap.emotion == face.emotion else ""
        column.image(heatmap.picture, caption=f"{heatmap.emotion} {heatmap.probability:.0%}{marker}",
                     width="stretch", alt=alt_text.heatmap(
                         heatmap.emotion, heatmap.probability, face=f"{titles[photo_index]}, face {face_index + 1}",
                         predicted=heatmap.emotion == face.emotion))
