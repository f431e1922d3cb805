"""Live: the browser's webcam with boxes, emotions and names drawn on it as it plays."""
import streamlit as st

from fer_core.live import LiveTracker
from unveil.app import idle_lock, live, photos
from unveil.app import widgets as _ui
from unveil.app.session import plural
from unveil.app.text import shown
from unveil.watch.household import Household

STARTING = "Starting the live camera"

st.title("Live camera")
st.caption(live.VIDEO_STAYS_HERE)
st.caption(live.NO_CAMERA)


def _started() -> live.LiveOverlay:
    # Made in a function so that the page's globals, which `_on_frame` keeps alive (LiveOverlay.retire says how
    # long), hold the overlay, not the gallery or the household.
    models, gallery = _ui.analyzer(), _ui.gallery()
    # The stream may play for hours: its household follows the store, as `unveil watch`'s does, so a member
    # erased elsewhere, or whose consent ends, is unnamed within a frame.
    household = Household(_ui.store(), models.identity_model) if gallery is not None else None
    tracker = LiveTracker(detect=_ui.live_detector().detect, emotion_model=models.emotion_model, identify=household)
    return live.LiveOverlay(tracker, recognition=household is not None,
                            departed=household.departed if household is not None else None)


overlay = None
with _ui.friendly_errors(STARTING):
    overlay = _started()
if overlay is None:
    _ui.live_overlay_made(None)  # no stream here this run: the component is not drawn
    st.stop()

# The WebRTC stack (aiortc with its native libsrtp, PyAV's ffmpeg) loads only once the page can run. Its
# page test without models then never loads it: importing libsrtp inside the test process crashed it once
# (a segmentation fault in srtp_init, fresh-clone .ci/run, 2026-12-06).
import av  # noqa: E402
from streamlit_webrtc import WebRtcMode, webrtc_streamer  # noqa: E402


def _on_frame(frame: av.VideoFrame) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(overlay.process(frame.to_ndarray(format="rgb24")), format="rgb24")


stream = webrtc_streamer(key="live", mode=WebRtcMode.SENDRECV, rtc_configuration=live.RTC_CONFIGURATION,
                         media_stream_constraints={"video": True, "audio": False},
                         video_frame_callback=_on_frame, async_processing=True)
# streamlit-webrtc 0.79's webrtc_streamer hands a playing stream's worker this run's `_on_frame`
# (WebRtcWorker.update_video_callbacks, at each run), and a worker it starts later gets it too: from here on only a
# frame already begun goes through an earlier run's overlay, which a retired overlay hands back unchanged.
_ui.live_overlay_made(overlay)
if not overlay.recognition:
    st.info(photos.names_not_checked(store_unlocked=_ui.store() is not None,
                                     store_exists=_ui.store_exists()))
elif (minutes := _ui.idle_minutes()[0]) is not None:
    st.caption(idle_lock.LIVE_KEEPS_UNLOCKED.format(period=idle_lock.period_text(minutes)))
status = st.empty()
if not stream.state.playing:
    live.give_back_freed_memory()  # what a stream that stopped freed (its worker is stopped in webrtc_streamer)


def _shown() -> None:
    now = overlay.stats()
    faces = "; ".join(f"{n}. {shown(label)}" for n, label in enumerate(now.labels, start=1)) or "no face"
    status.markdown(f"**{now.frames_per_s:.1f} frames/s** · {plural(now.frames, 'frame')} analysed · {faces}")
    _ui.still_in_use()  # a kiosk: the idle lock waits for the stream to stop
    # The page does not run again while the stream plays: the session's own gallery, kept for its next run, would
    # hold a member erased elsewhere meanwhile (the household above follows the store itself).
    _ui.let_go_of_outdated_gallery()
    _ui.sweep_if_due()  # a stream may play for days


live.while_playing(lambda: stream.state.playing, overlay, _ui.store() if overlay.recognition else None, _shown)
