"""fer_core.video on real encoded videos: which frames are sampled, and when a video is refused."""
from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
import pytest

from fer_core import video


def _video(times_s: list[float], *, width: int = 64, height: int = 48) -> bytes:
    """An MPEG-4 video in MP4 whose frames are shown at `times_s` (any spacing: variable frame rate)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for index, time_s in enumerate(times_s):
            frame = av.VideoFrame.from_ndarray(np.full((height, width, 3), index * 10 % 256, np.uint8), format="rgb24")
            frame.pts, frame.time_base = round(time_s * 1000), Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def test_after_a_gap_in_a_variable_frame_rate_video_sampling_goes_on_from_the_frame_after_it():
    # 10 frames a second, none from 0.2 s to 1.5 s nor from 1.7 s to 2.9 s (a phone in low light, a screen
    # recording of a still screen): the frames right after a gap are not all taken to fill the slots it held.
    times = [0.0, 0.1, 0.2, 1.5, 1.6, 1.7, 2.9, 3.0, 3.1, 3.2]
    frames = list(video.sample_frames(_video(times), every_s=0.5))
    assert [f.time_s for f in frames] == [0.0, 1.5, 2.9, 3.0]


def test_the_coverage_of_a_variable_frame_rate_video_reaches_its_last_frame_analysed():
    clip = _video([0.0, 0.1, 0.2, 1.5, 1.6, 1.7, 2.9, 3.0, 3.1, 3.2])
    assert video.video_end(clip) < 3.0  # 9 mean frame intervals of 0.32 s
    coverage = video.analyze_video(clip, lambda image: []).coverage
    assert coverage.last_s == 3.0 and coverage.axis_end_s == 3.0  # the charts no longer end before it
    assert coverage.note() == "Analysed 4 frame(s), one every 0.50 s, over the whole video (0-3.0 s)."


def test_a_constant_frame_rate_video_is_sampled_every_interval():
    frames = list(video.sample_frames(_video([i / 10 for i in range(25)]), every_s=0.5))
    assert [f.time_s for f in frames] == [0.0, 0.5, 1.0, 1.5, 2.0]


def test_frames_above_the_pixel_limit_are_refused_from_the_header():
    clip = _video([0.0, 0.1])  # 64x48 frames
    with pytest.raises(video.VideoError) as refused:
        next(video.sample_frames(clip, max_pixels=64 * 48 - 1))
    assert str(refused.value) == video.FRAMES_TOO_LARGE.format(width=64, height=48, pixels=3072, limit=3071)
    assert str(refused.value) == "its frames are too large (64x48 = 3,072 pixels, limit 3,071)"
    assert len(list(video.sample_frames(clip, max_pixels=64 * 48))) == 1
