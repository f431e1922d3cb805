"""Video: frames sampled over a whole video, faces followed from frame to frame, and each face's
emotion over time. Plain functions on bytes and arrays: the video is decoded in memory (OpenCV reads it
from a memory stream) and nothing of it is kept.
"""
from __future__ import annotations

import contextlib
import io
import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import cv2
import numpy as np
import pandas as pd

from fer_core._errors import UnveilError
from fer_core.identity import pairwise_distances
from fer_core.images import MAX_PIXELS
from fer_core.render import EMOTION_NOT_READ, UNKNOWN, FaceLike

# Video sampling defaults: two frames a second follow a change of expression (which lasts 0.5-4 s)
# while keeping a 1-minute clip to 120 analysed frames (about 10 s of work on 2 cores). A longer
# video is sampled more sparsely rather than cut: the frames are spread over its whole length.
DEFAULT_SAMPLE_EVERY_S = 0.5


DEFAULT_MAX_FRAMES = 120


# Two boxes in consecutive sampled frames belong to the same face if they overlap at least this much
# (intersection over union). At 2 frames/s a face that moves or turns keeps well above 0.3 with itself,
# while two people side by side stay near 0.
DEFAULT_MIN_IOU = 0.3


# A track survives this long without a matching face (a turned head, a hand or another person passing
# in front) before a face at that place starts a new track. In seconds, not frames, because the
# sampling interval grows with the video's length.
DEFAULT_MAX_GAP_S = 3.0


COVERAGE_WHOLE = "Analysed {frames} frame(s), one every {every:.2f} s, over the whole video (0-{end:.1f} s)."


COVERAGE_SPREAD = ("Analysed {frames} frame(s), one every {every:.2f} s instead of every {asked:.2f} s, so that "
                   "at most {max_frames} frames cover the whole video (0-{end:.1f} s).")


COVERAGE_CUT = ("Only {first:.1f}-{last:.1f} s of the {end:.1f} s video was analysed ({frames} frame(s)): "
                "{left:.1f}-{end:.1f} s was left out.")


COVERAGE_UNKNOWN_LENGTH = ("Analysed {frames} frame(s) from {first:.1f} s to {last:.1f} s; the video does not state "
                           "its length, so anything after {last:.1f} s was left out.")


# Added to the note when the file holds fewer frames than its header states and its last one comes well before the
# stated end: a copy or download that stopped part way (the header of an MP4 saved for streaming comes first).
COVERAGE_FILE_CUT_SHORT = ("The file stops at {end:.1f} s although its header states {stated:.1f} s: it may have been "
                           "cut short (an interrupted copy or download), so {end:.1f}-{stated:.1f} s could not be read.")


# A file is said to be cut short only when its frames stop this many seconds, at least, before the stated end: a
# variable frame rate video's stated end is an estimate (its frame count over its mean frame rate).
CUT_SHORT_MIN_S = 1.0


# Timestamps that go back by more than this (recordings joined end to end, a camera's stream saved across a
# restart) start a new stretch of the timeline after the frame before, as a player shows them; less is left as it is.
# Read from packets, in decoding order, only a key frame's counts: the frames a decoder reorders (B-frames) go back
# too, by up to 16 frames (15 s in an H.264 video of 1 frame a second), and a joined clip starts with a key frame.
TIMESTAMP_JUMP_S = 1.0


# Frames above the photo limit (fer_core.images.MAX_PIXELS) are refused from the video's header, before any is
# decoded: a 20 KB video of 8000x7000 frames took 825 MB (the decoded frame, its BGR and RGB copies) before the
# analyzer refused its first frame.
FRAMES_TOO_LARGE = "its frames are too large ({width}x{height} = {pixels:,} pixels, limit {limit:,})"


# File name endings the Video page accepts (its uploader refuses any other), all read by OpenCV's FFmpeg: phones' and
# cameras' MP4/MOV/M4V, 3GP of older phones, camcorders' AVCHD (.mts, .m2ts: H.264 in MPEG-TS), MPEG-1/2 of older
# cameras and DVD copies (.mpg, .mpeg), Windows Media (.wmv), AVI, and MKV/WebM (browsers, screen recorders).
VIDEO_SUFFIXES = ("mp4", "mov", "m4v", "3gp", "mts", "m2ts", "mpg", "mpeg", "wmv", "avi", "mkv", "webm")
# Animations the Video page accepts as well (fer_core.images.VIDEO_PAGE_FORMATS): OpenCV's FFmpeg reads an animated
# GIF or WebP (a messaging app's moving picture) as a video, each frame at its time, where the photo pages read its
# first frame only.
ANIMATION_SUFFIXES = ("gif", "webp")


class VideoError(UnveilError, ValueError):
    """The upload is not a video this machine can decode (corrupt, empty, or an unsupported codec)."""


@dataclass(frozen=True)
class Frame:
    """One sampled video frame: its time from the start in seconds and its RGB uint8 pixels."""

    time_s: float
    image: np.ndarray


@contextlib.contextmanager
def _opened(video: bytes) -> Iterator[cv2.VideoCapture]:
    """An OpenCV capture reading `video` from memory (no temporary file); VideoError if it cannot."""
    if not video:
        raise VideoError("the video is empty")
    # The stream must outlive the capture: OpenCV reads it lazily and keeps no reference of its own.
    stream = io.BytesIO(video)
    capture = cv2.VideoCapture(stream, cv2.CAP_FFMPEG, [])
    try:
        if not capture.isOpened():
            raise VideoError("this file cannot be read as a video (corrupt or an unsupported format)")
        yield capture
    finally:
        capture.release()
        stream.close()


class _Timeline:
    """A video's frame times on one timeline that does not go back (see TIMESTAMP_JUMP_S): after a jump back,
    the times go on from one frame (at the stated rate) after the latest time seen. Without it every frame after
    the jump was skipped as already past, and the note said the whole video had been analysed."""

    def __init__(self, fps: float | None) -> None:
        self._step = 0.0 if fps is None else 1.0 / fps
        self._offset = 0.0
        self._latest: float | None = None

    def __call__(self, time_s: float, *, may_jump: bool = True) -> float:
        """`time_s` on the timeline; `may_jump` False: a time that goes back is not a jump (a reordered frame)."""
        if may_jump and self._latest is not None and time_s + self._offset < self._latest - TIMESTAMP_JUMP_S:
            self._offset = self._latest + self._step - time_s
        time_s += self._offset
        self._latest = time_s if self._latest is None else max(self._latest, time_s)
        return time_s


def _pixel_aspect(capture: cv2.VideoCapture) -> float:
    """How wide one decoded pixel is shown, over how high (1.0: square). Camcorders' AVCHD at 1440x1080 and DV or
    DVD video at 720x576 or 720x480 store wide pixels that a player stretches; OpenCV reports their ratio (the
    sample aspect ratio) but returns the frames unstretched, so faces would be read squeezed. The ratio is of the
    stored frame: for a frame OpenCV turns a quarter (a rotated phone video) it applies to the other side."""
    num, den = capture.get(cv2.CAP_PROP_SAR_NUM), capture.get(cv2.CAP_PROP_SAR_DEN)
    if not (math.isfinite(num) and math.isfinite(den) and num > 0 and den > 0):
        return 1.0
    aspect = num / den
    if not 0.25 <= aspect <= 4.0 or abs(aspect - 1.0) < 0.01:
        return 1.0  # unset, or not a ratio any camera writes
    turned = round(capture.get(cv2.CAP_PROP_ORIENTATION_META)) % 180 == 90
    if turned and capture.get(cv2.CAP_PROP_ORIENTATION_AUTO):
        aspect = 1.0 / aspect
    return aspect


def _shown_size(width: int, height: int, aspect: float) -> tuple[int, int]:
    """The size a frame of `width` x `height` pixels of `aspect` is shown at, stretched (never shrunk) to square
    pixels: wide pixels widen the frame, tall ones heighten it."""
    if aspect > 1.0:
        return round(width * aspect), height
    if aspect < 1.0:
        return width, round(height / aspect)
    return width, height


def _frame_rate(capture: cv2.VideoCapture) -> float | None:
    fps = capture.get(cv2.CAP_PROP_FPS)
    return fps if math.isfinite(fps) and fps > 0 else None


@dataclass(frozen=True)
class VideoLength:
    """How long a video is: `end_s`, the time of the last frame the file holds, found by reading its packets
    (without decoding them), and `frames`, how many it holds; then what its header states: `stated_end_s`
    (its frame count over its frame rate, counted from the first frame as `end_s` is) and `stated_frames`,
    None where the header does not say."""

    end_s: float | None
    frames: int
    stated_end_s: float | None
    stated_frames: int | None

    @property
    def cut_short(self) -> bool:
        """The file holds fewer frames than its header states, the last of them well before the stated end."""
        return (self.end_s is not None and self.stated_end_s is not None and self.stated_frames is not None
                and self.frames < self.stated_frames and self.stated_end_s - self.end_s >= CUT_SHORT_MIN_S)


def video_length(video: bytes) -> VideoLength:
    """The video's length from its packets' timestamps rather than from its header, which can be missing (a
    WebM recorded in a browser, a stream saved as it came) or wrong (a file cut short). Packets are read, not
    decoded: this costs little beside the decoding that follows. VideoError if the bytes cannot be opened."""
    with _opened(video) as capture:
        fps = _frame_rate(capture)
        count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
        stated_frames = int(count) if math.isfinite(count) and 1 <= count < 2**53 else None
        stated_end = None if fps is None or stated_frames is None else (stated_frames - 1) / fps
        # Raw mode: grab() reads the video stream's next packet and decodes nothing.
        if not capture.set(cv2.CAP_PROP_FORMAT, -1):
            return VideoLength(stated_end, stated_frames or 0, stated_end, stated_frames)
        frames, last_s, start_s, timeline = 0, 0.0, 0.0, _Timeline(fps)
        while capture.grab():
            frames += 1
            time_s = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if math.isfinite(time_s):
                # Packets come in decoding order, not in display order.
                key = bool(capture.get(cv2.CAP_PROP_LRF_HAS_KEY_FRAME))
                last_s = max(last_s, timeline(time_s, may_jump=key))
            if frames == 1 and fps is not None:
                # Frames are timed from the first (POS_MSEC), a Matroska header from the container's 0: its frames
                # can start later (a WebM cut from a stream), and its stated end counts that time as well.
                pts = capture.get(cv2.CAP_PROP_PTS)  # the container's time, in frames at the stated rate
                if math.isfinite(pts) and math.isfinite(time_s):
                    start_s = max(0.0, pts / fps - time_s)
    if stated_end is not None:
        stated_end = round(max(0.0, stated_end - start_s), 3)
    if frames == 0:
        end_s = None
    elif last_s > 0 or frames == 1:
        end_s = round(last_s, 3)  # to the millisecond, as sample_frames times frames
    else:  # no timestamps (a raw H.264 stream): frames at the stated rate, as sample_frames times them
        end_s = None if fps is None else round((frames - 1) / fps, 3)
    return VideoLength(end_s, frames, stated_end, stated_frames)


def sampling_interval(end_s: float | None, every_s: float, max_frames: int) -> float:
    """`every_s`, or the longer interval that lets `max_frames` frames reach the video's last frame at
    `end_s`: a long video is sampled more sparsely rather than cut after `max_frames` frames."""
    if end_s is None or max_frames < 2:
        return every_s
    return max(every_s, end_s / (max_frames - 1))


def sample_frames(
    video: bytes, *, every_s: float = DEFAULT_SAMPLE_EVERY_S, max_frames: int = DEFAULT_MAX_FRAMES,
    max_pixels: int = MAX_PIXELS,
) -> Iterator[Frame]:
    """Frames of `video` (the file's bytes) at 0, `every_s`, 2 x `every_s`... seconds, at most `max_frames`.

    Decoded in memory by OpenCV's FFmpeg backend. Frames are taken by their timestamps, so variable
    frame rate videos are sampled evenly in time; each is the first frame at or after its scheduled
    time, and the schedule does not drift by those small delays. Times that fall in a gap between
    frames are skipped: the frame after the gap stands for the first of them; times that jump back go on
    from the frame before (see _Timeline). Frames come as a player shows them: turned upright by OpenCV from
    the rotation a phone records, and stretched to square pixels (see _pixel_aspect). VideoError if the bytes
    cannot be opened as a video, its frames have more than `max_pixels` pixels (FRAMES_TOO_LARGE), or it
    holds no decodable frame.
    """
    if every_s <= 0:
        raise ValueError(f"every_s must be > 0, got {every_s}")
    if max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames}")
    with _opened(video) as capture:
        aspect = _pixel_aspect(capture)
        width, height = _shown_size(int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                                    int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)), aspect)
        if width * height > max_pixels:
            raise VideoError(FRAMES_TOO_LARGE.format(width=width, height=height, pixels=width * height,
                                                     limit=max_pixels))
        fps = _frame_rate(capture)
        index, taken, due_s, timeline = 0, 0, 0.0, _Timeline(fps)
        while taken < max_frames and capture.grab():
            time_s = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if fps is not None and (not math.isfinite(time_s) or time_s <= 0) and index > 0:
                time_s = index / fps  # some containers report no timestamps
            time_s = timeline(time_s)
            index += 1
            if time_s + 1e-6 < due_s:
                continue
            ok, bgr = capture.retrieve()
            if not ok or bgr is None:
                continue
            if aspect != 1.0:  # to square pixels, as a player shows the frame
                bgr = cv2.resize(bgr, _shown_size(bgr.shape[1], bgr.shape[0], aspect), interpolation=cv2.INTER_LINEAR)
            yield Frame(round(time_s, 3), cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            taken += 1
            # The next multiple of every_s after this frame, not the next slot counted: after a gap (a phone
            # lowering its frame rate, a screen recording that adds a frame only on a change) the frames
            # just after it would otherwise all be taken, every_s apart in the schedule but not in time.
            due_s = (math.floor(time_s / every_s + 1e-6) + 1) * every_s
        if taken == 0:
            raise VideoError("the video holds no frame that could be decoded")


@dataclass(frozen=True)
class Coverage:
    """Which part of a video its sampled frames cover, and how to say so.

    Each sampled frame stands for the interval after it, so the video is covered as a whole when the
    last sampled frame plus one interval reaches the video's last frame (`end_s`, None when it cannot be
    found: see `video_length`). `cut_short`: the file stops before the end its header states
    (`stated_end_s`; see VideoLength.cut_short), which the note then says."""

    frames: int
    first_s: float
    last_s: float
    every_s: float
    asked_every_s: float
    max_frames: int
    end_s: float | None
    stated_end_s: float | None = None
    cut_short: bool = False

    @property
    def whole(self) -> bool:
        return self.end_s is not None and self.last_s + self.every_s >= self.end_s - 1e-6

    @property
    def axis_end_s(self) -> float:
        """Where a time axis shared by every face's chart ends: the video's end, or the last frame seen."""
        return self.end_s if self.end_s is not None else self.last_s

    def note(self) -> str:
        """One sentence for the page: what was analysed and, plainly, what was left out."""
        values = {"frames": self.frames, "first": self.first_s, "last": self.last_s, "every": self.every_s,
                  "asked": self.asked_every_s, "max_frames": self.max_frames, "end": self.end_s}
        if self.end_s is None:
            return COVERAGE_UNKNOWN_LENGTH.format(**values)
        if not self.whole:
            note = COVERAGE_CUT.format(left=self.last_s + self.every_s, **values)
        elif self.every_s > self.asked_every_s + 1e-9:
            note = COVERAGE_SPREAD.format(**values)
        else:
            note = COVERAGE_WHOLE.format(**values)
        if self.cut_short and self.stated_end_s is not None:
            note += " " + COVERAGE_FILE_CUT_SHORT.format(end=self.end_s, stated=self.stated_end_s)
        return note

    @property
    def complete(self) -> bool:
        """Nothing to warn about: the frames cover the whole video and the file holds all its header states."""
        return self.whole and not self.cut_short


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x, y, w, h) boxes; 0.0 when they do not overlap."""
    ax, ay, aw, ah = (float(v) for v in a)
    bx, by, bw, bh = (float(v) for v in b)
    iw = min(ax + aw, bx + bw) - max(ax, bx)
    ih = min(ay + ah, by + bh) - max(ay, by)
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / (aw * ah + bw * bh - inter)


def match_boxes(
    old: Sequence[Sequence[float]],
    new: Sequence[Sequence[float]],
    *,
    min_iou: float,
    allowed: Callable[[int, int], bool] | None = None,
) -> list[tuple[int, int]]:
    """Greedy one-to-one matching of `old` boxes to `new` ones (both (x, y, w, h)): (old index, new
    index) pairs taken from the highest IoU down, each with IoU >= `min_iou` and, when given,
    `allowed(old index, new index)` true."""
    pairs = sorted(((box_iou(a, b), i, j) for i, a in enumerate(old) for j, b in enumerate(new)),
                   key=lambda p: -p[0])
    used_old: set[int] = set()
    used_new: set[int] = set()
    matched = []
    for iou, i, j in pairs:
        if iou < min_iou:
            break
        if i in used_old or j in used_new or (allowed is not None and not allowed(i, j)):
            continue
        matched.append((i, j))
        used_old.add(i)
        used_new.add(j)
    return matched


@dataclass(frozen=True)
class SamePerson:
    """How the tracker tells whether two faces may be one person: the identity model's calibrated
    `threshold` on `distance` ("euclidean" or "cosine") between embeddings. Family matches, when given,
    decide first: faces matched to two different members are two people."""

    threshold: float
    distance: str = "euclidean"

    def between(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(pairwise_distances(a[None], b[None], self.distance)[0, 0])

    def between_tracks(self, a: np.ndarray, b: np.ndarray) -> float:
        """How far apart two tracks' faces are, from their (n, d) embeddings: the distance of their means, or,
        when less, the median over one track's faces of the distance to the nearest face of the other. One
        face can embed in two places a frame apart (a 41-px face whose box the detector draws shorter in some
        frames: 0.77 from the rest of its track, 0.16 from the few frames drawn alike, on
        docs/reports/video_tracking.md's video), and a track of those frames is still the same person."""
        means = self.between(a.mean(axis=0), b.mean(axis=0))
        nearest = pairwise_distances(a, b, self.distance)
        return min(means, float(np.median(nearest.min(axis=1))), float(np.median(nearest.min(axis=0))))


@dataclass
class Track:
    """One face followed across sampled frames: (time_s, face) observations in time order."""

    number: int
    observations: list[tuple[float, FaceLike]] = field(default_factory=list)

    @property
    def last_box(self) -> tuple[float, float, float, float]:
        return self.observations[-1][1].box

    @property
    def person_id(self) -> str | None:
        """The family member this face was matched to in most frames where it was named, else None."""
        ids = Counter(face.person_id for _, face in self.observations if face.person_id)
        return ids.most_common(1)[0][0] if ids else None

    @property
    def identity(self) -> str | None:
        """The display name of `person_id`, else None."""
        person_id = self.person_id
        if person_id is None:
            return None
        return next(face.identity for _, face in self.observations if face.person_id == person_id)

    @property
    def embeddings(self) -> np.ndarray | None:
        """The identity embeddings of the frames that have one, (n, d), else None."""
        rows = [face.embedding for _, face in self.observations if face.embedding is not None]
        return np.stack(rows) if rows else None

    @property
    def times(self) -> set[float]:
        return {time_s for time_s, _ in self.observations}

    def label(self, *, recognition: bool) -> str:
        """"Face 1", or "Face 1 (Ana)" / "Face 1 (unknown)" when a family gallery was consulted."""
        if not recognition:
            return f"Face {self.number}"
        return f"Face {self.number} ({self.identity or UNKNOWN})"


def _different_people(a: FaceLike, b: FaceLike, same_person: SamePerson | None) -> bool:
    """True when two faces cannot be one person: matched to different members, or (unless both were
    matched to the same member) embeddings too far apart."""
    if a.person_id and b.person_id:
        return a.person_id != b.person_id
    ea, eb = a.embedding, b.embedding
    if same_person is None or ea is None or eb is None:
        return False
    return same_person.between(ea, eb) > same_person.threshold


def track_faces(
    frames: Sequence[tuple[float, Sequence[FaceLike]]],
    *,
    min_iou: float = DEFAULT_MIN_IOU,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    same_person: SamePerson | None = None,
) -> list[Track]:
    """Link the faces of consecutive sampled frames into tracks, then join the tracks of one person.

    `frames` is [(time_s, faces)] in time order. In each frame, the (track, face) pairs are matched
    greedily from the highest box IoU down, each pair needing IoU >= `min_iou` with the track's last
    box and not being two different people (see `_different_people`): two people crossing keep their
    own tracks. A face left over starts a new track; a track unmatched for more than `max_gap_s`
    seconds ends. The tracks of one person (who left and came back, or was hidden) are then joined
    by `merge_tracks`. Tracks are numbered in order of first appearance.
    """
    if not 0 < min_iou <= 1:
        raise ValueError(f"min_iou must be in (0, 1], got {min_iou}")
    tracks: list[Track] = []
    for time_s, faces in frames:
        live = [t for t in tracks if time_s - t.observations[-1][0] <= max_gap_s + 1e-6]
        pairs = match_boxes([t.last_box for t in live], [f.box for f in faces], min_iou=min_iou,
                            allowed=lambda ti, fi, live=live, faces=faces: not _different_people(
                                live[ti].observations[-1][1], faces[fi], same_person))
        used_faces = set()
        for ti, fi in pairs:
            live[ti].observations.append((time_s, faces[fi]))
            used_faces.add(fi)
        for fi, face in enumerate(faces):
            if fi not in used_faces:
                tracks.append(Track(number=len(tracks) + 1, observations=[(time_s, face)]))
    return merge_tracks(tracks, same_person=same_person)


def _join_distance(a: Track, b: Track, same_person: SamePerson | None) -> float | None:
    """How close two tracks are as one person, or None when they cannot be one: they share a frame,
    are matched to different members, or (without a shared member) their faces are beyond the threshold
    (SamePerson.between_tracks). The same member ranks first (distance 0)."""
    if a.times & b.times:
        return None
    if a.person_id and b.person_id:
        return 0.0 if a.person_id == b.person_id else None
    ea, eb = a.embeddings, b.embeddings
    if same_person is None or ea is None or eb is None:
        return None
    distance = same_person.between_tracks(ea, eb)
    return distance if distance <= same_person.threshold else None


def merge_tracks(tracks: Sequence[Track], *, same_person: SamePerson | None = None) -> list[Track]:
    """Join tracks of one person, closest pair first, until no pair qualifies (see `_join_distance`):
    by family member, and for strangers by embedding. Without embeddings and names nothing is joined.
    The result is renumbered from 1 in order of first appearance."""
    groups = [Track(number=0, observations=list(t.observations)) for t in tracks]
    while True:
        candidates = [(d, i, j) for i, j in combinations(range(len(groups)), 2)
                      if (d := _join_distance(groups[i], groups[j], same_person)) is not None]
        if not candidates:
            break
        _, i, j = min(candidates)
        joined = groups[i].observations + groups.pop(j).observations
        groups[i] = Track(number=0, observations=sorted(joined, key=lambda obs: obs[0]))
    groups.sort(key=lambda t: t.observations[0][0])
    return [Track(number=n, observations=t.observations) for n, t in enumerate(groups, start=1)]


def emotion_timeline(tracks: Sequence[Track], *, recognition: bool) -> pd.DataFrame:
    """Long table for charts: one row per (track, frame) with time_s, face (track label), emotion,
    and one column per emotion class with its probability."""
    rows = []
    for track in tracks:
        label = track.label(recognition=recognition)
        for time_s, face in track.observations:
            rows.append({"time_s": time_s, "face": label, "emotion": face.emotion,
                         **{k: float(v) for k, v in face.emotion_probs.items()}})
    return pd.DataFrame(rows)


def dominant_emotions(tracks: Sequence[Track], *, recognition: bool) -> pd.DataFrame:
    """One row per track: face, frames, first and last seen (s), dominant emotion and its mean probability.

    The dominant emotion is the class with the highest probability averaged over the track's frames
    (the soft vote: a face 55% happy in every frame is "happy" even if another class wins a frame or
    two), and "share of frames" is the fraction of frames whose own top emotion is that class. Frames where
    the face's emotion was not read (its mouth outside the frame) are left out of the mean; a face read in no
    frame gets fer_core.render.EMOTION_NOT_READ and no figures.
    """
    rows = []
    for track in tracks:
        mean = pd.DataFrame([face.emotion_probs for _, face in track.observations]).astype(float).mean().dropna()
        dominant = str(mean.idxmax()) if len(mean) else None
        share = sum(face.emotion == dominant for _, face in track.observations) / len(track.observations)
        rows.append({
            "face": track.label(recognition=recognition),
            "frames": len(track.observations),
            "first seen (s)": track.observations[0][0],
            "last seen (s)": track.observations[-1][0],
            "dominant emotion": EMOTION_NOT_READ if dominant is None else dominant,
            "mean probability": None if dominant is None else round(float(mean[dominant]), 4),
            "share of frames": None if dominant is None else round(share, 4),
        })
    return pd.DataFrame(rows, columns=["face", "frames", "first seen (s)", "last seen (s)", "dominant emotion",
                                       "mean probability", "share of frames"])


@dataclass(frozen=True)
class VideoAnalysis:
    """What analyze_video found: [(time_s, faces)] per sampled frame, the tracks, and the coverage."""

    frames: list[tuple[float, list[FaceLike]]]
    tracks: list[Track]
    coverage: Coverage


def analyze_video(
    video: bytes,
    analyze: Callable[[np.ndarray], Sequence[FaceLike]],
    *,
    every_s: float = DEFAULT_SAMPLE_EVERY_S,
    max_frames: int = DEFAULT_MAX_FRAMES,
    same_person: SamePerson | None = None,
    progress: Callable[[int, float], None] | None = None,
) -> VideoAnalysis:
    """Sample `video` over its whole length, run `analyze` (e.g. FaceAnalyzer.analyze) on each frame,
    and track the faces.

    Frames are taken every `every_s` seconds, or further apart when `max_frames` frames at that pace
    would not reach the end (see `sampling_interval`). `same_person` (from the identity model) keeps
    two people apart and joins one person's tracks; without it only family names join tracks.
    `progress(frames_done, time_s)` is called after each frame so a page can show progress.
    """
    length = video_length(video)
    end_s = length.end_s
    interval = sampling_interval(end_s, every_s, max_frames)
    per_frame: list[tuple[float, list[FaceLike]]] = []
    for frame in sample_frames(video, every_s=interval, max_frames=max_frames):
        per_frame.append((frame.time_s, list(analyze(frame.image))))
        if progress is not None:
            progress(len(per_frame), frame.time_s)
    last_s = per_frame[-1][0]
    # The video lasts at least to the last frame analysed, which the charts' time axis must show: the end found
    # from packets agrees with the decoder's timestamps, but one taken from the header alone (where packets
    # cannot be read on their own) can fall before a variable frame rate video's last frames.
    coverage = Coverage(frames=len(per_frame), first_s=per_frame[0][0], last_s=last_s, every_s=interval,
                        asked_every_s=every_s, max_frames=max_frames,
                        end_s=None if end_s is None else max(end_s, last_s), stated_end_s=length.stated_end_s,
                        cut_short=length.cut_short)
    return VideoAnalysis(per_frame, track_faces(per_frame, same_person=same_person), coverage)
