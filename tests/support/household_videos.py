"""Videos as households have them, made with PyAV (installed with streamlit-webrtc and aiortc): a WebM recorded
in a browser that does not state its length, an MP4 cut short part way through a copy or a download."""
from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np


def webm_as_recorded_live(seconds: float, *, fps: int = 10) -> bytes:
    """A VP9 WebM written as a browser records one (MediaRecorder) or a stream is saved as it comes: no duration
    and no index in its header, so the container does not state its length."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="webm", options={"live": "1"}) as container:
        stream = container.add_stream("libvpx-vp9", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), index * 10 % 256, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def cut_short_mp4(folder: Path, *, frames: int, kept: int, fps: int = 10) -> bytes:
    """An MP4 of `frames` frames whose header comes first (as saved for streaming, so it states the whole length)
    cut after its first `kept` frames: a copy or a download that stopped part way."""
    path = folder / "whole.mp4"  # the header is moved to the front by rewriting the file: PyAV needs a path
    with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), index * 10 % 256, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    whole = path.read_bytes()
    with av.open(io.BytesIO(whole)) as container:
        starts = [packet.pos for packet in container.demux(video=0) if packet.size]
    assert len(starts) == frames and starts == sorted(starts)
    return whole[:starts[kept]]
