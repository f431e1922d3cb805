"""Live: the browser's webcam with boxes, emotions and names drawn on it as it plays."""
import time

import av
import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from unveil.app import live
from unveil.app import widgets as _ui
from unveil.app.session import plural

st.title("Live camera")
st.caption("Your webcam's frames are analysed in memory on this machine, one at a time, and never saved. "
           "The video travels from the browser to this app over WebRTC and back, on this machine only.")

engine, recognition = _ui.analyzer()
overlay = live.LiveOverlay(engine.analyze, recognition=recognition)


def _on_frame(frame: av.VideoFrame) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(overlay.process(frame.to_ndarray(format="rgb24")), format="rgb24")


stream = webrtc_streamer(key="live", mode=WebRtcMode.SENDRECV, rtc_configuration=live.RTC_CONFIGURATION,
                         media_stream_constraints={"video": True, "audio": False},
                         video_frame_callback=_on_frame, async_processing=True)
if not recognition:
    st.info("Faces are not named: unlock the family store (Family page) to recognise members.")
status = st.empty()
while stream.state.playing:
    now = overlay.stats()
    faces = "; ".join(f"{n}. {label}" for n, label in enumerate(now.labels, start=1)) or "no face"
    status.markdown(f"**{now.frames_per_s:.1f} frames/s** · {plural(now.frames, 'frame')} analysed · {faces}")
    time.sleep(0.5)
