"""Video: sample frames, follow each face across them, chart its emotions over time."""
import functools

import streamlit as st

from fer_core import video
from governance import family
from unveil.app import alt_text, charts
from unveil.app import widgets as _ui
from unveil.app.text import shown

st.title("Analyze a video")
st.caption("The video is decoded in memory, frame by frame; nothing is saved.")

upload = st.file_uploader("Video", type=[*video.VIDEO_SUFFIXES, *video.ANIMATION_SUFFIXES], key="video_upload")
every_s = st.slider("Analyse one frame every (seconds)", 0.1, 2.0, video.DEFAULT_SAMPLE_EVERY_S, 0.1, key="video_every")
max_frames = st.number_input("At most this many frames", 5, 600, video.DEFAULT_MAX_FRAMES, key="video_max_frames")

result = None
with _ui.friendly_errors("Reading the family gallery"):
    result = _ui.video_result()
if upload is None and result is None:
    st.info("Upload a short video or an animated GIF or WebP (a minute or less works best).")
    st.stop()

if upload is not None and st.button("Analyze video", type="primary", key="video_run"):
    st.session_state.pop(_ui.VIDEO_RESULT, None)
    with _ui.friendly_errors(f"Analysing {upload.name}"):
        engine, gallery = _ui.analyzer(), _ui.gallery()
        recognition = gallery is not None
        bar = st.progress(0.0, text="Reading frames...")

        def progress(done: int, time_s: float) -> None:
            bar.progress(min(1.0, done / max_frames), text=f"{done} frame(s) analysed, at {time_s:.1f} s")

        identity = engine.identity_model
        same_person = None if identity is None else video.SamePerson(identity.threshold, identity.distance)
        analysis = video.analyze_video(upload.getvalue(), functools.partial(engine.analyze, gallery=gallery),
                                       every_s=every_s, max_frames=int(max_frames), same_person=same_person,
                                       progress=progress)
        bar.progress(1.0, text=f"Done: {len(analysis.frames)} frame(s)")
        current = _ui.store()
        if recognition and current is not None and analysis.tracks:
            # One audit entry for the video, counting faces followed (not frames); never images.
            family.count_recognitions(current, [track.person_id for track in analysis.tracks])
        st.session_state[_ui.VIDEO_RESULT] = (upload.name, analysis, recognition)

# The last result stays in this session while other pages are shown (the uploader comes back empty);
# a new upload replaces it once analysed.
result = st.session_state.get(_ui.VIDEO_RESULT)
if result is None or (upload is not None and result[0] != upload.name):
    st.stop()
name, analysis, recognition = result
tracks, coverage = analysis.tracks, analysis.coverage
frame_count = coverage.frames
st.caption(f"Results for {shown(name)}: {frame_count} frame(s) analysed.")
# Said as a warning when part of the video was left out or the file stops before its stated end, so nobody reads
# the results as the whole.
(st.caption if coverage.complete else st.warning)(coverage.note())
if not tracks:
    st.warning(f"No face found in the {frame_count} frame(s) sampled from {shown(name)}.")
    st.stop()

st.header("Dominant emotion per person")
st.dataframe(video.dominant_emotions(tracks, recognition=recognition), hide_index=True)

st.header("Emotion timeline")
timeline = video.emotion_timeline(tracks, recognition=recognition)
classes = [c for c in timeline.columns if c not in ("time_s", "face", "emotion")]
for track in tracks:
    label = track.label(recognition=recognition)
    rows = timeline[timeline["face"] == label]
    st.markdown(f"**{shown(label)}**: seen in {len(rows)} frame(s)")
    described = alt_text.timeline(label, list(rows["time_s"]), list(rows["emotion"]))
    st.vega_lite_chart(rows, charts.timeline(classes, coverage.axis_end_s, described), height=220)
