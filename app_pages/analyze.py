"""Analyze: photos in, numbered faces with their emotion and family name out; results downloadable."""
import pandas as pd
import streamlit as st

from app_pages import _ui
from governance import app_services as svc

PHOTO_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff", "gif"]
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

uploads = st.file_uploader("Photos", type=PHOTO_TYPES, accept_multiple_files=True, key="analyze_uploads")
# The camera widget asks the browser for the camera as soon as it is drawn: only on request.
shot = st.camera_input("Camera", key="analyze_camera") if st.toggle("Use the camera", key="analyze_camera_on") else None

inputs = [(upload.name, upload.getvalue()) for upload in uploads or []]
if shot is not None:
    inputs.append(("camera.jpg", shot.getvalue()))
if not inputs:
    st.info("Upload one or several photos, or take one with the camera.")
    st.stop()

results = []
with _ui.friendly_errors("Analysing the photos"):
    results = _ui.analyze_photos(inputs)

records = []
for index, result in enumerate(results):
    st.subheader(result.source)
    if result.error:
        st.error(result.error)
        continue
    if not result.faces:
        st.warning(f"No face found in {result.source}.")
        st.image(result.image, width=400)
        continue
    records += svc.face_records(result.faces, source=result.source, recognition=result.recognition)
    annotated = svc.annotate(result.image, result.faces, recognition=result.recognition)
    photo_col, faces_col = st.columns([3, 2])
    with photo_col:
        st.image(annotated, caption=f"{len(result.faces)} face(s)", width="stretch")
        st.download_button("Annotated image (PNG)", svc.png_bytes(annotated), key=f"png_{index}",
                           file_name=f"{result.source.rsplit('.', 1)[0]}_annotated.png", mime="image/png",
                           on_click="ignore")
    with faces_col:
        if not result.recognition:
            st.caption("Names are not checked: unlock the family store (Family page) to recognise members.")
        for number, face in enumerate(result.faces, start=1):
            who = f" · **{face.identity or svc.UNKNOWN}**" if result.recognition else ""
            st.markdown(f"**Face {number}**: {face.emotion} ({face.emotion_probs[face.emotion]:.0%}){who}")
            probs = pd.DataFrame({"emotion": list(face.emotion_probs), "probability": list(face.emotion_probs.values())})
            st.vega_lite_chart(probs, PROBABILITY_BARS, height=150)

if records:
    st.divider()
    st.subheader("Results")
    st.dataframe(pd.DataFrame(records), hide_index=True)
    csv_col, json_col = st.columns(2)
    csv_col.download_button("Download CSV", svc.records_csv(records), file_name="unveil_results.csv",
                            mime="text/csv", on_click="ignore")
    json_col.download_button("Download JSON", svc.records_json(records), file_name="unveil_results.json",
                             mime="application/json", on_click="ignore")
    store = _ui.store()
    if store is not None and st.button("Keep these results in the encrypted store", key="analyze_keep",
                                       help="Only the numbers and names above are kept, never the photos. "
                                            "They are deleted after the retention period for analyses."):
        with _ui.friendly_errors("Keeping the results"):
            svc.keep_results(store, records)
            st.success(f"Kept {len(records)} face result(s), encrypted.")
