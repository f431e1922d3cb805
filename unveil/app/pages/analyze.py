"""Analyze: photos in, numbered faces with their emotion and family name out; results downloadable."""
import functools

import pandas as pd
import streamlit as st

from fer_core import render
from fer_core.images import PHOTO_SUFFIXES
from governance import kept_results
from unveil.app import alt_text, photos, tables
from unveil.app import session as app_session
from unveil.app import widgets as _ui
from unveil.app.text import shown

PHOTO_TYPES = [suffix.removeprefix(".") for suffix in PHOTO_SUFFIXES]  # HEIC and AVIF included
# One bar per emotion on a fixed 0-100% axis, so a 30% reading does not look like a certain one.
PROBABILITY_BARS = {
    "mark": {"type": "bar", "tooltip": True},
    "encoding": {
        "y": {"field": "emotion", "type": "nominal", "sort": None, "title": None},
        "x": {"field": "probability", "type": "quantitative", "scale": {"domain": [0, 1]},
              "axis": {"format": "%"}, "title": None},
    },
}

st.title("Analyze photos")
st.caption("Photos are read in this browser session's memory and never saved or sent anywhere.")

state = st.session_state
batch = _ui.photo_batch()
uploads = st.file_uploader("Photos", type=PHOTO_TYPES, accept_multiple_files=True,
                           key=app_session.widget_key(state, "analyze_inputs", "uploads"))
# The camera widget asks the browser for the camera as soon as it is drawn: only on request.
shot = (st.camera_input("Camera", key=app_session.widget_key(state, "analyze_inputs", "camera"))
        if st.toggle("Use the camera", key="analyze_camera_on") else None)

inputs = [(upload.name, upload.getvalue()) for upload in uploads or []]
if shot is not None:
    inputs.append(("camera.jpg", shot.getvalue()))
if inputs:
    # The uploader is an inbox: its photos join this session's batch (listed below, each removable)
    # and it is drawn again empty, so what it shows never disagrees with the results.
    batch.add(inputs)
    _ui.release_uploads([*(uploads or []), shot])  # the batch holds their bytes now; Streamlit would until the tab closes
    app_session.renew(state, "analyze_inputs")
    st.rerun()
if not len(batch):
    st.info("Upload one or several photos, or take one with the camera.")
    st.stop()

count_col, clear_col = st.columns([4, 1])
count_col.caption(f"{app_session.plural(len(batch), 'photo')} in this session. They stay while you use the other "
                  "pages, until you remove them; a reload or closing the tab drops them.")
if clear_col.button("Clear all", key="analyze_clear"):
    _ui.clear_photos()
    st.rerun()

results = []
with _ui.friendly_errors("Analysing the photos"):
    results = _ui.analyze_batch()
store = _ui.store()

records, named_ids = [], []
for _, result in results:
    if not result.error:
        records += render.face_records(result.faces, source=result.source, recognition=result.recognition)
        named_ids += [face.person_id for face in result.faces]
# Two photos may share a file name (two camera shots are both camera.jpg): each is titled apart.
titles = tables.distinct([result.source for _, result in results])
shown_page = _ui.page_picker("Photos shown", len(results), tables.PHOTOS_PER_PAGE, "analyze_photo_page")
if len(shown_page) < len(results):
    st.caption(tables.PHOTOS_SHOWN.format(first=shown_page.start + 1, last=shown_page.stop, total=len(results)))
for index in shown_page:
    key, result = results[index]
    title_col, remove_col = st.columns([4, 1])
    title_col.header(shown(titles[index]))
    if remove_col.button("Remove", key=f"analyze_remove_{key}", help=f"Remove {shown(titles[index])} and its result"):
        batch.remove(key)
        st.rerun()
    if result.error:
        st.error(shown(result.error))
        continue
    if result.not_read:  # a warning, as the Video page's for a video partly analysed: the results are not the file's
        st.warning(shown(f"{titles[index]}: {result.not_read}"))
    if not result.faces:
        st.warning(f"No face found in {shown(titles[index])}.")
        st.image(result.view, width=400, alt=alt_text.annotated_photo(titles[index], [], recognition=False))
        continue
    photo_col, faces_col = st.columns([3, 2])
    with photo_col:
        # The view is a small JPEG made once per result; the full-size PNG is made only when downloaded.
        st.image(result.view, caption=app_session.plural(len(result.faces), "face"), width="stretch",
                 alt=alt_text.annotated_photo(titles[index], result.faces, recognition=result.recognition))
        st.download_button("Annotated image (PNG)", functools.partial(photos.annotated_png, result), key=f"png_{index}",
                           file_name=f"{result.source.rsplit('.', 1)[0]}_annotated.png", mime="image/png",
                           on_click="ignore")
    with faces_col:
        if not result.recognition:
            st.caption(photos.names_not_checked(store_unlocked=store is not None, store_exists=_ui.store_exists()))
        for number, face in enumerate(result.faces, start=1):
            who = f" · **{shown(face.identity or render.UNKNOWN)}**" if result.recognition else ""
            # A face whose mouth is outside the photo has no reading, so no chart.
            read = render.EMOTION_NOT_READ if face.emotion is None else (
                f"{face.emotion} ({face.emotion_probs[face.emotion]:.0%})")
            st.markdown(f"**Face {number}**: {read}{who}")
            if why := photos.not_named_why(face.match):
                st.caption(why)
            if face.emotion is not None:
                probs = pd.DataFrame({"emotion": list(face.emotion_probs),
                                      "probability": list(face.emotion_probs.values())})
                st.vega_lite_chart(probs, {**PROBABILITY_BARS,
                                           "description": alt_text.probabilities(number, face.emotion_probs)},
                                   height=150)

if records:
    st.divider()
    st.header("Results")
    st.dataframe(pd.DataFrame(records), hide_index=True)
    csv_col, json_col = st.columns(2)
    csv_col.download_button("Download CSV", render.records_csv(records), file_name="unveil_results.csv",
                            mime="text/csv", on_click="ignore")
    json_col.download_button("Download JSON", render.records_json(records), file_name="unveil_results.json",
                             mime="application/json", on_click="ignore")
    if store is not None:
        if state.get(_ui.KEPT_ROWS) == records:
            st.success("These results are kept in the encrypted store: see the Kept results page.")
        elif st.button("Keep these results in the encrypted store", key="analyze_keep",
                       help="Only the numbers and names above are kept, never the photos. They are deleted "
                            "after the retention period for analyses."):
            with _ui.friendly_errors("Keeping the results"):
                _, created = kept_results.keep_analysis(store, records, person_ids=named_ids)
                state[_ui.KEPT_ROWS] = records
                if created:
                    st.success(f"Kept {app_session.plural(len(records), 'face result')}, encrypted: "
                               "see the Kept results page.")
                else:
                    st.info("These results were kept before: no second copy was stored.")
