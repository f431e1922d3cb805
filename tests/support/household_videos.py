"""Videos as households have them, made with PyAV (installed with streamlit-webrtc and aiortc): a WebM recorded
in a browser that does not state its length, an MP4 cut short part way through a copy or a download."""
from __future__ import annotations

import io
import struct
from fractions import Fraction
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


# The MP4 track header's display matrix (a, b, u, c, d, v, x, y, w; 16.16 fixed point, w 2.30) of a phone that
# recorded its sensor's frames turned, to show them turned back by `degrees` clockwise.
_ONE = 0x10000
_DISPLAY_MATRIX = {0: (_ONE, 0, 0, 0, _ONE, 0, 0, 0, 0x40000000), 90: (0, _ONE, 0, -_ONE, 0, 0, 0, 0, 0x40000000),
                   180: (-_ONE, 0, 0, 0, -_ONE, 0, 0, 0, 0x40000000), 270: (0, -_ONE, 0, _ONE, 0, 0, 0, 0, 0x40000000)}


def phone_mp4(upright: np.ndarray, degrees: int, *, frames: int = 5, fps: int = 10) -> bytes:
    """An MP4 as a phone records one held in portrait (or upside down): the frames stored turned by `degrees`
    anticlockwise, with the rotation to show them `upright` (RGB, even sides) in the track's display matrix."""
    stored = np.ascontiguousarray(np.rot90(upright, degrees // 90))
    height, width = stored.shape[:2]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for _ in range(frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(stored, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    data = bytearray(buffer.getvalue())
    tkhd = data.index(b"tkhd")  # version 0: flags, 2 times, track id, reserved, duration, 8 reserved, 4 shorts
    assert data[tkhd + 4] == 0
    matrix = tkhd + 4 + 4 + 20 + 8 + 8
    assert struct.unpack(">9i", data[matrix:matrix + 36]) == _DISPLAY_MATRIX[0]
    data[matrix:matrix + 36] = struct.pack(">9i", *_DISPLAY_MATRIX[degrees])
    return bytes(data)


def webm_kept_from_a_stream(start_s: float, seconds: float, *, fps: int = 10) -> bytes:
    """A VP9 WebM whose frames keep the times they had in a longer stream (saved from a camera's stream, or cut from
    a recording without re-timing): the first comes at `start_s`, and the duration its header states counts from 0."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="webm") as container:
        stream = container.add_stream("libvpx-vp9", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for index in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), index * 10 % 256, np.uint8), format="rgb24")
            frame.pts, frame.time_base = round((start_s + index / fps) * 1000), Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def mpegts_clip(seconds: float, shade: int, *, fps: int = 10) -> bytes:
    """An MPEG-TS clip (a camcorder's .MTS, a stream saved as it came) of frames of one grey `shade`, timed from 0:
    two of them joined end to end (`cat a.mts b.mts`) make a video whose timestamps go back to 0 halfway."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mpegts") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), shade, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()
