"""fer_core.video on real encoded videos: which frames are sampled, and when a video is refused."""
from __future__ import annotations

import io
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from fer_core import video
from fer_core.images import VIDEO_PAGE_FORMATS
from tests.support.household_videos import (
    cut_short_mp4,
    mpegts_clip,
    phone_mp4,
    webm_as_recorded_live,
    webm_kept_from_a_stream,
)


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
    length = video.video_length(clip)
    assert length.stated_end_s < 3.0  # what its header says: 9 mean frame intervals of 0.32 s
    assert length.end_s == 3.2 and not length.cut_short  # what its packets say: its last frame
    coverage = video.analyze_video(clip, lambda image: []).coverage
    assert coverage.last_s == 3.0 and coverage.axis_end_s == 3.2  # the charts no longer end before it
    assert coverage.note() == "Analysed 4 frame(s), one every 0.50 s, over the whole video (0-3.2 s)."


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


def test_a_video_that_does_not_state_its_length_is_sampled_over_all_of_it():
    clip = webm_as_recorded_live(8.0)  # frames every 0.1 s from 0 to 7.9 s
    analysis = video.analyze_video(clip, lambda image: [], every_s=0.5, max_frames=5)
    # Its packets say where it ends, so 5 frames are spread over all of it (they were the first 2 s, and the
    # page said that anything after 2.0 s was left out).
    assert [time_s for time_s, _ in analysis.frames] == [0.0, 2.0, 4.0, 6.0, 7.9]
    assert video.video_length(clip).stated_end_s is None  # OpenCV reads no frame count from its header
    assert analysis.coverage.complete
    assert analysis.coverage.note() == ("Analysed 5 frame(s), one every 1.98 s instead of every 0.50 s, so that at "
                                        "most 5 frames cover the whole video (0-7.9 s).")


def test_a_short_video_that_does_not_state_its_length_is_not_said_to_be_cut():
    # Read to its last frame (1.9 s) within max_frames: nothing was left out, and the note no longer said there was.
    coverage = video.analyze_video(webm_as_recorded_live(2.0), lambda image: []).coverage
    assert coverage.note() == "Analysed 4 frame(s), one every 0.50 s, over the whole video (0-1.9 s)."
    assert coverage.complete


def test_a_file_cut_short_is_sampled_over_what_it_holds_and_the_note_says_it_stops_early(tmp_path):
    # The header states 60 s (600 frames at 10 a second); the file holds the first 60 frames (0-5.9 s).
    clip = cut_short_mp4(tmp_path, frames=600, kept=60)
    analysis = video.analyze_video(clip, lambda image: [], every_s=0.5, max_frames=10)
    # Sampled over the 5.9 s it holds (it was one frame every 6.66 s: the frame at 0 s alone).
    assert [time_s for time_s, _ in analysis.frames] == [0.0, 0.7, 1.4, 2.0, 2.7, 3.3, 4.0, 4.6, 5.3, 5.9]
    length = video.video_length(clip)
    assert (length.stated_frames, length.stated_end_s, length.frames) == (600, 59.9, 60)
    assert length.end_s == pytest.approx(5.9) and length.cut_short
    coverage = analysis.coverage
    assert coverage.whole and not coverage.complete  # the Video page shows its note as a warning
    assert coverage.note() == (
        video.COVERAGE_SPREAD.format(frames=10, every=5.9 / 9, asked=0.5, max_frames=10, end=5.9) + " "
        + video.COVERAGE_FILE_CUT_SHORT.format(end=5.9, stated=59.9))
    assert coverage.note() == (
        "Analysed 10 frame(s), one every 0.66 s instead of every 0.50 s, so that at most 10 frames cover the whole "
        "video (0-5.9 s). The file stops at 5.9 s although its header states 59.9 s: it may have been cut short "
        "(an interrupted copy or download), so 5.9-59.9 s could not be read.")


def test_a_whole_file_is_not_said_to_be_cut_short(tmp_path):
    clip = cut_short_mp4(tmp_path, frames=30, kept=29)  # the last frame (2.9 s) missing: under CUT_SHORT_MIN_S
    assert not video.video_length(clip).cut_short
    assert not video.video_length(_video([i / 10 for i in range(30)])).cut_short


def test_a_video_whose_frames_start_late_on_its_clock_is_not_said_to_be_cut_short():
    # Frames from 3.0 s to 5.9 s of the stream's clock, timed from 0 to 2.9 s; the header's 6 s count from 0.
    clip = webm_kept_from_a_stream(3.0, 3.0)
    length = video.video_length(clip)
    assert length.end_s == 2.9 and length.stated_end_s == 2.9 and not length.cut_short
    coverage = video.analyze_video(clip, lambda image: []).coverage
    # It was said to stop at 2.9 s of 5.9 s (before video_length, 'Only 0.0-2.5 s of the 5.9 s video...').
    assert coverage.note() == "Analysed 6 frame(s), one every 0.50 s, over the whole video (0-2.9 s)."
    cut = video.video_length(_first_bytes_of(clip, kept_frames=10))  # cut short, the same stream is said to be
    assert cut.end_s == 0.9 and cut.cut_short


def _first_bytes_of(clip: bytes, *, kept_frames: int) -> bytes:
    """`clip` up to the start of its frame number `kept_frames`: a copy stopped part way."""
    with av.open(io.BytesIO(clip)) as container:
        starts = [packet.pos for packet in container.demux(video=0) if packet.size]
    return clip[:starts[kept_frames]]


def test_two_clips_joined_end_to_end_are_analysed_one_after_the_other():
    # Two 4 s camcorder clips joined with `cat`: the second's timestamps go back to 0. Its frames were all skipped as
    # already past (the frame at 4.0 s alone was taken) and the note said the whole video (0-4.0 s) was analysed.
    joined = mpegts_clip(4.0, shade=40) + mpegts_clip(4.0, shade=200)
    assert video.video_length(joined).end_s == 7.9
    frames = list(video.sample_frames(joined, every_s=0.5))
    assert [f.time_s for f in frames] == [i / 2 for i in range(16)]
    assert [round(float(f.image.mean()) / 80) for f in frames] == [0] * 8 + [2] * 8  # dark, then the bright clip
    coverage = video.analyze_video(joined, lambda image: []).coverage
    assert coverage.note() == "Analysed 16 frame(s), one every 0.50 s, over the whole video (0-7.9 s)."


def test_frames_reordered_in_a_slow_video_are_not_taken_for_clips_joined():
    # H.264 at 1 frame a second with up to 16 B-frames: in decoding order a packet's time goes back by up to 15 s
    # (more than TIMESTAMP_JUMP_S), but only at a key frame does a jump back start a new stretch of the timeline.
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=1, options={"bf": "16", "b_strategy": "2"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        noise = np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8)
        for index in range(60):
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.roll(noise, index, axis=1), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    clip = buffer.getvalue()
    assert video.video_length(clip).end_s == 59.0
    assert [f.time_s for f in video.sample_frames(clip, every_s=10)] == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]


# How the devices that make each kind of file the Video page accepts write it: (container, codec, muxer options).
_HOUSEHOLD_FILES = {
    "mp4": ("mp4", "libx264", {}), "mov": ("mov", "libx264", {}), "m4v": ("ipod", "libx264", {}),
    "3gp": ("3gp", "h263", {}),  # older phones
    "mts": ("mpegts", "libx264", {"mpegts_m2ts_mode": "1"}), "m2ts": ("mpegts", "libx264", {"mpegts_m2ts_mode": "1"}),
    "mpg": ("mpeg", "mpeg2video", {}), "mpeg": ("vob", "mpeg2video", {}), "wmv": ("asf", "wmv2", {}),
    "avi": ("avi", "mpeg4", {}), "mkv": ("matroska", "libx264", {}), "webm": ("webm", "libvpx-vp9", {}),
}


def test_the_video_page_accepts_the_kinds_of_file_households_have():
    # A camcorder's AVCHD clip (.mts, .m2ts), an older phone's .3gp, an older camera's .mpg and a .wmv were refused by
    # the page's uploader, though OpenCV reads them all.
    assert sorted(video.VIDEO_SUFFIXES) == sorted(_HOUSEHOLD_FILES)


@pytest.mark.parametrize("suffix", sorted(_HOUSEHOLD_FILES))
def test_each_kind_of_file_the_video_page_accepts_is_read(suffix):
    container_format, codec, options = _HOUSEHOLD_FILES[suffix]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container_format, options=options) as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = 176, 144, "yuv420p"  # H.263 takes a few sizes only
        for index in range(25):
            frame = av.VideoFrame.from_ndarray(np.full((144, 176, 3), index * 10, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    frames = list(video.sample_frames(buffer.getvalue()))
    assert [f.time_s for f in frames] == [0.0, 0.52]  # 25 a second
    # H.263 stores QCIF frames (176x144) of pixels 12:11 wide, shown 4:3 (192x144).
    assert frames[0].image.shape == ((144, 192, 3) if codec == "h263" else (144, 176, 3))
    # The last frame comes at 0.96 s; an MPEG program stream's packets are read one frame early (0.92 s).
    assert video.video_length(buffer.getvalue()).end_s == pytest.approx(0.96, abs=0.041)


@pytest.mark.parametrize("suffix", video.ANIMATION_SUFFIXES)
@pytest.mark.parametrize("alpha", [False, True])
def test_an_animated_gif_or_webp_is_read_as_a_video_every_frame_at_its_time(suffix, alpha):
    """What the photo pages' note on an animation (fer_core.images.FRAMES_ON_THE_VIDEO_PAGE) promises: the Video page
    takes the file and reads each frame, at the time it is shown (a messaging app's sticker has transparency)."""
    fmt = Image.registered_extensions()[f".{suffix}"]
    assert fmt in VIDEO_PAGE_FORMATS
    levels = [40, 200, 120, 240]
    frames = [Image.new("RGBA" if alpha else "RGB", (64, 48), (level,) * 3 + ((255,) if alpha else ()))
              for level in levels]
    buffer = io.BytesIO()
    frames[0].save(buffer, format=fmt, save_all=True, append_images=frames[1:], duration=500, loop=0,
                   **({"lossless": True} if fmt == "WEBP" else {}))
    sampled = list(video.sample_frames(buffer.getvalue()))
    assert [f.time_s for f in sampled] == [0.0, 0.5, 1.0, 1.5]
    assert [round(float(f.image.mean())) for f in sampled] == levels  # each frame, not the first again


def test_the_animations_the_video_page_takes_are_those_the_photo_note_sends_there():
    assert {Image.registered_extensions()[f".{suffix}"] for suffix in video.ANIMATION_SUFFIXES} == VIDEO_PAGE_FORMATS


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_a_phone_video_recorded_in_portrait_or_upside_down_is_read_upright(degrees):
    # A portrait picture, 48 wide and 64 high, with a bright block at its top left: the face detector finds no face
    # in a frame turned on its side, so the rotation the phone wrote in the file's metadata must be applied.
    upright = np.full((64, 48, 3), 40, np.uint8)
    upright[:24, :16] = 230
    frames = list(video.sample_frames(phone_mp4(upright, degrees)))
    assert frames and all(frame.image.shape == (64, 48, 3) for frame in frames)
    assert np.abs(frames[0].image.astype(int) - upright).mean() < 4


@pytest.mark.parametrize(("stored", "aspect", "shown"), [
    ((1440, 1080), Fraction(4, 3), (1920, 1080)),  # a camcorder's AVCHD (LP modes) or HDV
    ((720, 576), Fraction(64, 45), (1024, 576)),  # DV or a DVD, 16:9 PAL
    ((720, 480), Fraction(8, 9), (720, 540)),  # DV or a DVD, 4:3 NTSC: tall pixels
])
def test_frames_of_wide_or_tall_pixels_are_stretched_to_square_pixels_as_a_player_shows_them(stored, aspect, shown):
    # A circle stored squeezed, as the camera writes it: OpenCV returned it squeezed, and a face the same (in a
    # 1440x1080 AVCHD clip, Colin_Powell_0001 at 3/4 of his width read neutral 0.46, as shown 0.53; stretched 0.56).
    width, height = stored
    picture = np.full((shown[1], shown[0], 3), 30, np.uint8)
    cv2.circle(picture, (shown[0] // 2, shown[1] // 2), shown[1] // 3, (220, 220, 220), -1)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mpegts") as container:
        stream = container.add_stream("mpeg2video", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.sample_aspect_ratio = aspect
        squeezed = cv2.resize(picture, (width, height), interpolation=cv2.INTER_AREA)
        for packet in [*stream.encode(av.VideoFrame.from_ndarray(squeezed, format="rgb24")), *stream.encode()]:
            container.mux(packet)
    frame = next(video.sample_frames(buffer.getvalue()))
    assert frame.image.shape == (shown[1], shown[0], 3)
    assert np.abs(frame.image.astype(int) - picture).mean() < 6  # the circle round again
