"""Plain functions behind the Streamlit pages: results to CSV/JSON/annotated PNG, and video analysis.

Nothing here imports Streamlit, so every function is tested on its own (tests/test_app_services.py);
the pages only lay the results out. Faces are fer_core's `Face` objects (box as x, y, w, h in input
pixels; emotion; emotion_probs; identity), read by attribute only.

Privacy: photos and videos are handled as bytes and arrays in memory; nothing here writes them to
disk. (The files written are a bias audit's report and an uploaded audit set unpacked, each to a
private temporary folder deleted at once.)
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from itertools import combinations
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import pandas as pd
from PIL import Image

from fer_core import ImageError, UnveilError, load_image
from fer_core.identity import pairwise_distances
from governance import annotation
from governance.app_session import plural

UNKNOWN = "unknown"

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


class VideoError(UnveilError, ValueError):
    """The upload is not a video this machine can decode (corrupt, empty, or an unsupported codec)."""


class _FaceLike(Protocol):
    box: tuple[float, float, float, float]
    score: float
    emotion: str | None
    emotion_probs: dict[str, float]
    embedding: np.ndarray | None
    identity: str | None


# ---------------------------------------------------------------------------------------------------
# Photo results: rows, CSV, JSON, annotated image
# ---------------------------------------------------------------------------------------------------

def face_details(face: _FaceLike, *, recognition: bool) -> str:
    """What the legend beside an annotated photo says of a face: "happy 87%", plus the name (or
    "unknown") when a family gallery was consulted."""
    parts = []
    if face.emotion is not None:
        parts.append(f"{face.emotion} {face.emotion_probs.get(face.emotion, 0.0):.0%}")
    if recognition:
        parts.append(face.identity or UNKNOWN)
    return " ".join(parts)


def names_not_checked(*, store_unlocked: bool) -> str:
    """Why a photo's faces carry no names: the store is locked, or it is open with nobody enrolled."""
    if store_unlocked:
        return "Names are not checked: nobody is enrolled yet (Family page)."
    return "Names are not checked: unlock the family store (Family page) to recognise members."


def face_records(faces: Sequence[_FaceLike], *, source: str, recognition: bool) -> list[dict[str, Any]]:
    """One flat row per face, numbered from 1 in the analyzer's (reading) order.

    Columns: source, face, x, y, w, h (pixels of the photo as uploaded, after EXIF rotation), score
    (detector confidence), emotion, then one `p_<emotion>` column per class, then `identity` (the
    family member's name or "unknown") only when `recognition` is on: without an open gallery
    "unknown" would be a claim nobody checked.
    """
    rows = []
    for number, face in enumerate(faces, start=1):
        x, y, w, h = (float(v) for v in face.box)
        row: dict[str, Any] = {
            "source": source,
            "face": number,
            "x": round(x, 1),
            "y": round(y, 1),
            "w": round(w, 1),
            "h": round(h, 1),
            "score": round(float(face.score), 4),
            "emotion": face.emotion,
        }
        for label, p in face.emotion_probs.items():
            row[f"p_{label}"] = round(float(p), 4)
        if recognition:
            row["identity"] = face.identity or UNKNOWN
        rows.append(row)
    return rows


def records_csv(records: Sequence[dict[str, Any]]) -> bytes:
    """The rows as UTF-8 CSV with a header (columns in first-seen order)."""
    return pd.DataFrame(list(records)).to_csv(index=False).encode("utf-8")


def records_json(records: Sequence[dict[str, Any]]) -> bytes:
    """The rows as a UTF-8 JSON array, indented for reading."""
    return json.dumps(list(records), indent=2, ensure_ascii=False).encode("utf-8")


def annotate(image: np.ndarray | Image.Image, faces: Sequence[_FaceLike], *, recognition: bool) -> Image.Image:
    """A new picture of the RGB photo with a numbered box on every face, no number over any face, and
    the details of each face (see `face_details`) in a legend beside the photo (governance.annotation)."""
    return annotation.draw(image, [face.box for face in faces],
                           [face_details(face, recognition=recognition) for face in faces])


def number_faces(image: np.ndarray | Image.Image, boxes: Sequence[Sequence[float]]) -> Image.Image:
    """A new picture of the RGB photo with each (x, y, w, h) box drawn and numbered from 1, for picking a face."""
    return annotation.draw(image, boxes)


def png_bytes(image: Image.Image) -> bytes:
    """The image encoded as PNG, in memory."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------------
# Video: sampling, tracking, per-face emotion timeline
# ---------------------------------------------------------------------------------------------------

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


def _frame_rate(capture: cv2.VideoCapture) -> float | None:
    fps = capture.get(cv2.CAP_PROP_FPS)
    return fps if math.isfinite(fps) and fps > 0 else None


def video_end(video: bytes) -> float | None:
    """The time in seconds of the video's last frame, as its container states it (frame count and
    frame rate), or None when it states neither. VideoError if the bytes cannot be opened as a video."""
    with _opened(video) as capture:
        fps = _frame_rate(capture)
        count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
    if fps is None or not math.isfinite(count) or count < 1:
        return None
    return (count - 1) / fps


def sampling_interval(end_s: float | None, every_s: float, max_frames: int) -> float:
    """`every_s`, or the longer interval that lets `max_frames` frames reach the video's last frame at
    `end_s`: a long video is sampled more sparsely rather than cut after `max_frames` frames."""
    if end_s is None or max_frames < 2:
        return every_s
    return max(every_s, end_s / (max_frames - 1))


def sample_frames(
    video: bytes, *, every_s: float = DEFAULT_SAMPLE_EVERY_S, max_frames: int = DEFAULT_MAX_FRAMES
) -> Iterator[Frame]:
    """Frames of `video` (the file's bytes) at 0, `every_s`, 2 x `every_s`... seconds, at most `max_frames`.

    Decoded in memory by OpenCV's FFmpeg backend. Frames are taken by their timestamps, so variable
    frame rate videos are sampled evenly in time; each is the first frame at or after its scheduled
    time, and the schedule does not drift by those small delays. VideoError if the bytes cannot be
    opened as a video or hold no decodable frame.
    """
    if every_s <= 0:
        raise ValueError(f"every_s must be > 0, got {every_s}")
    if max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames}")
    with _opened(video) as capture:
        fps = _frame_rate(capture)
        index, taken = 0, 0
        while taken < max_frames and capture.grab():
            time_s = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if fps is not None and (not math.isfinite(time_s) or time_s <= 0) and index > 0:
                time_s = index / fps  # some containers report no timestamps
            index += 1
            if time_s + 1e-6 < taken * every_s:
                continue
            ok, bgr = capture.retrieve()
            if not ok or bgr is None:
                continue
            yield Frame(round(time_s, 3), cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            taken += 1
        if taken == 0:
            raise VideoError("the video holds no frame that could be decoded")


@dataclass(frozen=True)
class Coverage:
    """Which part of a video its sampled frames cover, and how to say so.

    Each sampled frame stands for the interval after it, so the video is covered as a whole when the
    last sampled frame plus one interval reaches the video's last frame (`end_s`, None when the
    container does not state it)."""

    frames: int
    first_s: float
    last_s: float
    every_s: float
    asked_every_s: float
    max_frames: int
    end_s: float | None

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
            return COVERAGE_CUT.format(left=self.last_s + self.every_s, **values)
        if self.every_s > self.asked_every_s + 1e-9:
            return COVERAGE_SPREAD.format(**values)
        return COVERAGE_WHOLE.format(**values)


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


@dataclass(frozen=True)
class SamePerson:
    """How the tracker tells whether two faces may be one person: the identity model's calibrated
    `threshold` on `distance` ("euclidean" or "cosine") between embeddings. Family names, when given,
    decide first: two different names are two people."""

    threshold: float
    distance: str = "euclidean"

    def between(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(pairwise_distances(a[None], b[None], self.distance)[0, 0])


@dataclass
class Track:
    """One face followed across sampled frames: (time_s, face) observations in time order."""

    number: int
    observations: list[tuple[float, _FaceLike]] = field(default_factory=list)

    @property
    def last_box(self) -> tuple[float, float, float, float]:
        return self.observations[-1][1].box

    @property
    def identity(self) -> str | None:
        """The family name given to this face in most frames where it was named, else None."""
        names = Counter(face.identity for _, face in self.observations if face.identity)
        return names.most_common(1)[0][0] if names else None

    @property
    def embedding(self) -> np.ndarray | None:
        """The mean identity embedding of the frames that have one, else None."""
        rows = [face.embedding for _, face in self.observations if face.embedding is not None]
        return np.mean(rows, axis=0) if rows else None

    @property
    def times(self) -> set[float]:
        return {time_s for time_s, _ in self.observations}

    def label(self, *, recognition: bool) -> str:
        """"Face 1", or "Face 1 (Ana)" / "Face 1 (unknown)" when a family gallery was consulted."""
        if not recognition:
            return f"Face {self.number}"
        return f"Face {self.number} ({self.identity or UNKNOWN})"


def _different_people(a: _FaceLike, b: _FaceLike, same_person: SamePerson | None) -> bool:
    """True when two faces cannot be one person: different names, or (unless both carry the same
    name) embeddings too far apart."""
    if a.identity and b.identity:
        return a.identity != b.identity
    ea, eb = a.embedding, b.embedding
    if same_person is None or ea is None or eb is None:
        return False
    return same_person.between(ea, eb) > same_person.threshold


def track_faces(
    frames: Sequence[tuple[float, Sequence[_FaceLike]]],
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
        pairs = sorted(
            ((box_iou(t.last_box, f.box), ti, fi) for ti, t in enumerate(live) for fi, f in enumerate(faces)),
            key=lambda p: -p[0],
        )
        used_tracks: set[int] = set()
        used_faces: set[int] = set()
        for iou, ti, fi in pairs:
            if iou < min_iou:
                break
            if ti in used_tracks or fi in used_faces:
                continue
            if _different_people(live[ti].observations[-1][1], faces[fi], same_person):
                continue
            live[ti].observations.append((time_s, faces[fi]))
            used_tracks.add(ti)
            used_faces.add(fi)
        for fi, face in enumerate(faces):
            if fi not in used_faces:
                tracks.append(Track(number=len(tracks) + 1, observations=[(time_s, face)]))
    return merge_tracks(tracks, same_person=same_person)


def _join_distance(a: Track, b: Track, same_person: SamePerson | None) -> float | None:
    """How close two tracks are as one person, or None when they cannot be one: they share a frame,
    carry different names, or (without a shared name) their mean embeddings are beyond the threshold.
    A shared name ranks first (distance 0)."""
    if a.times & b.times:
        return None
    if a.identity and b.identity:
        return 0.0 if a.identity == b.identity else None
    ea, eb = a.embedding, b.embedding
    if same_person is None or ea is None or eb is None:
        return None
    distance = same_person.between(ea, eb)
    return distance if distance <= same_person.threshold else None


def merge_tracks(tracks: Sequence[Track], *, same_person: SamePerson | None = None) -> list[Track]:
    """Join tracks of one person, closest pair first, until no pair qualifies (see `_join_distance`):
    by family name, and for strangers by embedding. Without embeddings and names nothing is joined.
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
    two), and "share of frames" is the fraction of frames whose own top emotion is that class.
    """
    rows = []
    for track in tracks:
        probs = pd.DataFrame([face.emotion_probs for _, face in track.observations]).astype(float)
        mean = probs.mean()
        dominant = str(mean.idxmax())
        share = sum(face.emotion == dominant for _, face in track.observations) / len(track.observations)
        rows.append({
            "face": track.label(recognition=recognition),
            "frames": len(track.observations),
            "first seen (s)": track.observations[0][0],
            "last seen (s)": track.observations[-1][0],
            "dominant emotion": dominant,
            "mean probability": round(float(mean[dominant]), 4),
            "share of frames": round(share, 4),
        })
    return pd.DataFrame(rows, columns=["face", "frames", "first seen (s)", "last seen (s)", "dominant emotion",
                                       "mean probability", "share of frames"])


@dataclass(frozen=True)
class VideoAnalysis:
    """What analyze_video found: [(time_s, faces)] per sampled frame, the tracks, and the coverage."""

    frames: list[tuple[float, list[_FaceLike]]]
    tracks: list[Track]
    coverage: Coverage


def analyze_video(
    video: bytes,
    analyze: Callable[[np.ndarray], Sequence[_FaceLike]],
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
    end_s = video_end(video)
    interval = sampling_interval(end_s, every_s, max_frames)
    per_frame: list[tuple[float, list[_FaceLike]]] = []
    for frame in sample_frames(video, every_s=interval, max_frames=max_frames):
        per_frame.append((frame.time_s, list(analyze(frame.image))))
        if progress is not None:
            progress(len(per_frame), frame.time_s)
    coverage = Coverage(frames=len(per_frame), first_s=per_frame[0][0], last_s=per_frame[-1][0], every_s=interval,
                        asked_every_s=every_s, max_frames=max_frames, end_s=end_s)
    return VideoAnalysis(per_frame, track_faces(per_frame, same_person=same_person), coverage)


# ---------------------------------------------------------------------------------------------------
# One photo, start to finish
# ---------------------------------------------------------------------------------------------------

@dataclass
class PhotoResult:
    """What the Analyze page shows for one photo, kept in the session's memory only.

    image: the decoded RGB photo (upright), None when it could not be read.
    faces: the analyzer's faces in reading order (empty for a photo without a face).
    recognition: whether a family gallery named the faces (else identity means nothing).
    error: why the photo could not be read, for the page to show; None when it was analysed.
    view: the picture the page shows (see `with_view`), JPEG bytes at display size; None until made.
    """

    source: str
    image: np.ndarray | None
    faces: list[_FaceLike]
    recognition: bool
    error: str | None = None
    view: bytes | None = field(default=None, repr=False)


def analyze_photo(
    data: bytes, source: str, analyze: Callable[[np.ndarray], Sequence[_FaceLike]], *, recognition: bool
) -> PhotoResult:
    """Decode `data` (fer_core.images.load_image: EXIF rotation, odd modes, size limit) and analyse it.

    An unreadable photo is not an exception here: the result carries the reason, so one bad file in a
    batch of uploads does not hide the others' results.
    """
    try:
        image = load_image(data)
    except ImageError as exc:
        return PhotoResult(source, None, [], recognition, error=f"{source} could not be read: {_strip_label(exc)}")
    return PhotoResult(source, image, list(analyze(image)), recognition)


def named(result: PhotoResult, identify: Callable[[np.ndarray], str | None] | None) -> PhotoResult:
    """The result of an analysis made without a gallery, with each face named by `identify` (an embedding
    to a member's name, or None for "unknown"); `identify` None gives the faces unnamed.

    Naming needs only each face's embedding, so a change of the family gallery (an enrolment, a purge,
    the store locked or unlocked) names the faces again without decoding or searching the photo again."""
    if identify is None:
        faces = [replace(face, identity=None) for face in result.faces]
    else:
        faces = [replace(face, identity=identify(face.embedding) if face.embedding is not None else None)
                 for face in result.faces]
    return replace(result, faces=faces, recognition=identify is not None, view=None)


# The longest side of the picture the Analyze page shows. A phone photo (4000x3000) is shown at most
# about 1,460 px wide in Streamlit's wide layout; encoding and sending all 12 MP on every rerun is what
# made each click take seconds.
DISPLAY_MAX_SIDE = 1400
DISPLAY_JPEG_QUALITY = 90


def display_copy(image: np.ndarray, max_side: int = DISPLAY_MAX_SIDE) -> tuple[np.ndarray, float]:
    """The RGB photo shrunk so its longest side is at most `max_side` (never enlarged), and the factor
    applied to its coordinates."""
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale == 1.0:
        return image, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # INTER_AREA averages every source pixel: no aliasing on a 3x reduction, and fast.
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def with_view(result: PhotoResult, max_side: int = DISPLAY_MAX_SIDE) -> PhotoResult:
    """The result with its `view`: the photo at display size with every face boxed and numbered (the
    page lists each face's details beside it), at most `max_side` on its longest side frame included,
    as JPEG bytes. Made once per result, so a rerun of the page sends the same small picture instead of
    encoding the whole photo again."""
    if result.image is None:
        return result
    small, scale = display_copy(result.image, max_side)
    picture = annotation.draw(small, [tuple(v * scale for v in face.box) for face in result.faces])
    picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)  # the frame adds a few pixels
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=DISPLAY_JPEG_QUALITY)
    return replace(result, view=buffer.getvalue())


def annotated_png(result: PhotoResult) -> bytes:
    """The annotated photo at full size as PNG, for its download button: made only when asked for, since
    a 12 MP PNG takes seconds to encode."""
    return png_bytes(annotate(result.image, result.faces, recognition=result.recognition))


def _strip_label(exc: ImageError) -> str:
    # load_image prefixes its messages with the input's label ("image bytes: ..."): the page names the
    # file itself.
    text = str(exc)
    prefix = "image bytes: "
    return text.removeprefix(prefix)


def log_recognition(store: Any, identities: Sequence[str | None]) -> None:
    """After faces were compared with the family gallery (one entry per face: the name given, or None
    for "unknown"): the named people's "last seen" time is refreshed (retention) and the counts, never
    the faces, go to the audit log (governance.family)."""
    from governance import family

    names = sorted({name for name in identities if name})
    family.note_recognition(store, [family.resolve(store, name).id for name in names], faces=len(identities))


@dataclass(frozen=True)
class EnrolmentPhoto:
    """One enrolment photo as read and searched for faces, before anything is stored.

    image: the decoded RGB photo, None when it could not be read (then `error` says why).
    faces: the detector's faces (fer_core.detection.DetectedFace: box as x1, y1, x2, y2, and landmarks),
    left to right, so "face 1" is the leftmost one in the picture the page shows."""

    label: str
    image: np.ndarray | None
    faces: list[Any]
    error: str | None = None

    @property
    def boxes(self) -> list[tuple[float, float, float, float]]:
        """The faces' boxes as (x, y, w, h), for drawing."""
        return [(x1, y1, x2 - x1, y2 - y1) for x1, y1, x2, y2 in (face.box for face in self.faces)]


def read_enrolment_photo(data: bytes, label: str, detect: Callable[[np.ndarray], Sequence[Any]]) -> EnrolmentPhoto:
    """Decode an enrolment photo and find its faces (`detect`: e.g. FaceDetector.detect). An unreadable
    one carries the reason instead of raising, so the other photos of the enrolment are still used."""
    try:
        image = load_image(data)
    except ImageError as exc:
        return EnrolmentPhoto(label, None, [], error=_strip_label(exc))
    return EnrolmentPhoto(label, image, sorted(detect(image), key=lambda face: face.box[0]))


# Why a photo is left out of an enrolment, shown before and after it.
LEFT_OUT_UNREADABLE = "{label} could not be read ({reason}): it is not used."
LEFT_OUT_NO_FACE = "{label}: no face found, so it is not used."
LEFT_OUT_NOT_PICKED = "{label}: {count} faces and none picked, so it is not used."
NO_FACE_TO_ENROL = ("None of the photos gives a face to enrol: add a photo showing the person's face, or pick "
                    "their face in a photo with several.")


def left_out_note(photo: EnrolmentPhoto, pick: int | None = None) -> str | None:
    """Why this photo is left out of the enrolment (unreadable, no face, or several faces and none
    picked), or None when it gives a face."""
    if photo.image is None:
        return LEFT_OUT_UNREADABLE.format(label=photo.label, reason=photo.error)
    if not photo.faces:
        return LEFT_OUT_NO_FACE.format(label=photo.label)
    if len(photo.faces) > 1 and not (pick is not None and 0 <= pick < len(photo.faces)):
        return LEFT_OUT_NOT_PICKED.format(label=photo.label, count=len(photo.faces))
    return None


def enrolment_faces(
    photos: Sequence[EnrolmentPhoto], picks: Mapping[str, int | None]
) -> tuple[list[tuple[np.ndarray, Any]], list[str]]:
    """The (photo, face) pairs to enrol, and a note for every photo left out.

    A photo with one face gives that face. A photo with several gives only the face the user picked
    (`picks`: label -> face index, None to leave it out): guessing could enrol a bystander, who would
    later be named as family. Unreadable photos and photos without a face are left out."""
    chosen, left_out = [], []
    for photo in photos:
        pick = picks.get(photo.label)
        note = left_out_note(photo, pick)
        if note is not None:
            left_out.append(note)
        else:
            chosen.append((photo.image, photo.faces[0] if len(photo.faces) == 1 else photo.faces[pick]))
    return chosen, left_out


def embed_faces(chosen: Sequence[tuple[np.ndarray, Any]], model: Any) -> np.ndarray:
    """Identity embeddings (n, d) of the chosen faces, aligned as the identity model expects."""
    return model.embed(np.stack([model.align(image, face.landmarks) for image, face in chosen]))


def face_thumbnails(chosen: Sequence[tuple[np.ndarray, Any]], model: Any, *, size: int = 96) -> list[bytes]:
    """Small JPEG crops of the chosen faces, aligned like the identity model sees them: what the store
    keeps, encrypted, when the consent's scope includes thumbnails."""
    thumbnails = []
    for image, face in chosen:
        crop = Image.fromarray(model.align(image, face.landmarks)).resize((size, size), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        crop.save(buffer, format="JPEG", quality=85)
        thumbnails.append(buffer.getvalue())
    return thumbnails


# ---------------------------------------------------------------------------------------------------
# Family and governance tables
# ---------------------------------------------------------------------------------------------------

def consent_from_form(
    *, name: str, given_by: str, guardian: bool, child: bool, purpose: str, scope: str, expires_on: date,
    now: datetime,
) -> Any:
    """The ConsentRecord the Family page's form describes, given now: by the person themself, or by
    `given_by` as their guardian.

    The consent lasts to the end of `expires_on` (UTC): a person picks a day, not an instant. The
    record is not validated here; governance.family.enroll validates it and refuses it with a message
    that says what is missing."""
    from governance.consent import ConsentRecord

    return ConsentRecord(subject=name.strip(), given_by=given_by.strip() if guardian else name.strip(),
                         relation="guardian" if guardian else "self", purpose=purpose.strip(), scope=scope,
                         given_at=now, expires_at=datetime.combine(expires_on, time.max, tzinfo=UTC),
                         subject_is_child=child)


def members_table(members: Sequence[Any]) -> pd.DataFrame:
    """governance.family.members() as a table: who, consent status and expiry, what is stored."""
    rows = [{
        "name": m.name,
        "consent": m.consent_status,
        "expires": m.consent.expires_at.strftime("%Y-%m-%d") if m.consent else "",
        "given by": f"{m.consent.given_by} ({m.consent.relation})" if m.consent else "",
        "scope": m.consent.scope if m.consent else "",
        "embeddings": m.embeddings,
        "thumbnails": m.thumbnails,
        "enrolled": m.enrolled_at.strftime("%Y-%m-%d %H:%M UTC"),
        "last seen": m.last_seen_at.strftime("%Y-%m-%d %H:%M UTC"),
    } for m in members]
    return pd.DataFrame(rows, columns=["name", "consent", "expires", "given by", "scope", "embeddings", "thumbnails",
                                       "enrolled", "last seen"])


def ledger_table(rows: Sequence[Any]) -> pd.DataFrame:
    """governance.consent.ledger() as a table, one row per enrolled person."""
    out = []
    for row in rows:
        record = row.record
        out.append({
            "person": row.name,
            "status": row.status,
            "given by": record.given_by if record else "",
            "relation": record.relation if record else "",
            "child": record.subject_is_child if record else None,
            "purpose": record.purpose if record else "",
            "scope": record.scope if record else "",
            "given": record.given_at.strftime("%Y-%m-%d") if record else "",
            "expires": record.expires_at.strftime("%Y-%m-%d") if record else "",
        })
    return pd.DataFrame(out, columns=["person", "status", "given by", "relation", "child", "purpose", "scope", "given",
                                      "expires"])


def audit_table(entries: Sequence[Any]) -> pd.DataFrame:
    """Audit log entries, newest first. A person shows by name only while enrolled and the store is
    unlocked; once erased, only "[erased]" and the first characters of their random id remain."""
    rows = []
    for entry in reversed(list(entries)):
        if entry.person_id is None:
            who = ""
        elif entry.name_status == "shown":
            who = entry.name
        else:
            who = f"[{entry.name_status}] {entry.person_id[:8]}"
        rows.append({
            "seq": entry.seq,
            "time (UTC)": datetime.fromtimestamp(entry.ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "event": entry.event,
            "who": who,
            "details": ", ".join(f"{k}={v}" for k, v in sorted(entry.details.items())),
        })
    return pd.DataFrame(rows, columns=["seq", "time (UTC)", "event", "who", "details"])


# ---------------------------------------------------------------------------------------------------
# Explanations
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EmotionHeatmap:
    """One emotion's explanation of one face: the probability and the photo around the face with the
    heatmap laid over it (RGB uint8)."""

    emotion: str
    probability: float
    picture: np.ndarray


def explain_photo_face(
    cam_model: Any, photo: np.ndarray, face: _FaceLike, template: np.ndarray, *, method: str | None = None,
    margin: float = 0.35,
) -> list[EmotionHeatmap]:
    """A heatmap per emotion for one analysed face (governance.explain), shown on the photo around it.
    `method` is one of governance.explain.METHODS; None means its DEFAULT_METHOD.

    The face is re-aligned exactly as the emotion model saw it (its 5 landmarks onto the model's
    `template`), explained once for all classes, and each class's map is carried back onto the
    photo; the picture is cropped to the face box plus `margin` of its size on every side."""
    from fer_core.alignment import similarity_transform
    from governance.explain import (
        DEFAULT_METHOD,
        align_with_matrix,
        explain_face,
        heatmap_to_photo,
        overlay,
    )

    matrix = similarity_transform(np.asarray(face.landmarks, dtype=np.float64), np.asarray(template, dtype=np.float64))
    aligned = align_with_matrix(photo, matrix, cam_model.input_size)
    explanation = explain_face(cam_model, aligned, method=method or DEFAULT_METHOD)
    x, y, w, h = (float(v) for v in face.box)
    top, bottom = max(0, int(y - margin * h)), min(photo.shape[0], math.ceil(y + h + margin * h))
    left, right = max(0, int(x - margin * w)), min(photo.shape[1], math.ceil(x + w + margin * w))
    out = []
    for emotion, probability in zip(explanation.classes, explanation.probabilities):
        heat = heatmap_to_photo(explanation.heatmap(emotion), matrix, photo.shape)
        out.append(EmotionHeatmap(emotion, float(probability), overlay(photo, heat)[top:bottom, left:right]))
    return out


# ---------------------------------------------------------------------------------------------------
# Bias audit and model cards
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BiasReport:
    """A finished emotion bias audit (governance.bias_audit) and its report files' contents."""

    audit: Any
    html: str
    json: bytes
    rows_csv: bytes


def bias_audit_report(
    data: str | Path, *, model: str | Path | None = None, min_group_size: int = 30, gap_threshold: float = 0.05,
    n_boot: int = 1000,
) -> BiasReport:
    """Audit the emotion model on a class-folder layout or CSV manifest of face crops.

    The report files are written to a private temporary folder, read back for the page (and its
    download buttons) and deleted with the folder."""
    from governance.bias_audit import audit_emotion_model

    with tempfile.TemporaryDirectory(prefix="unveil-audit-") as folder:
        audit, paths = audit_emotion_model(data=data, out_dir=folder, model=model, min_group_size=min_group_size,
                                           gap_threshold=gap_threshold, n_boot=n_boot)
        return BiasReport(audit, paths.html.read_text(encoding="utf-8"), paths.json.read_bytes(),
                          paths.rows.read_bytes())


class AuditUploadError(UnveilError, ValueError):
    """An uploaded audit set that cannot be unpacked: not a zip, unsafe paths, or too big once unpacked."""


AUDIT_ZIP_UNREADABLE = "{name} is not a readable zip archive ({reason}). Nothing was unpacked."
AUDIT_ZIP_UNSAFE = "{name} holds a path that leads outside the archive ({member}). Nothing was unpacked."
AUDIT_ZIP_TOO_LARGE = ("{name} would unpack to {size_mb:,.0f} MB, over the {limit_mb:,.0f} MB an audit set may take. "
                       "Nothing was unpacked.")
# 2,500 face crops take well under 100 MB; the cap stops an archive that unpacks to far more than it weighs
# from filling the disk.
AUDIT_ZIP_MAX_BYTES = 2 * 1024**3


def _safe_members(archive: zipfile.ZipFile, name: str) -> list[zipfile.ZipInfo]:
    members = archive.infolist()
    for member in members:
        path = Path(member.filename)
        if path.is_absolute() or ".." in path.parts or member.filename.startswith(("/", "\\")):
            raise AuditUploadError(AUDIT_ZIP_UNSAFE.format(name=name, member=member.filename))
    size = sum(member.file_size for member in members)
    if size > AUDIT_ZIP_MAX_BYTES:
        raise AuditUploadError(AUDIT_ZIP_TOO_LARGE.format(name=name, size_mb=size / 1024**2,
                                                          limit_mb=AUDIT_ZIP_MAX_BYTES / 1024**2))
    return members


def _audit_set_root(folder: Path) -> Path:
    """Where the audit set starts in an unpacked archive: its one CSV manifest at the top, else the class
    folders, looking inside a single top folder (an archive of a folder) as often as there is one."""
    while True:
        entries = [p for p in folder.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
        manifests = [p for p in entries if p.is_file() and p.suffix.lower() == ".csv"]
        if len(manifests) == 1:
            return manifests[0]
        if len(entries) == 1 and entries[0].is_dir():
            folder = entries[0]
            continue
        return folder


@contextlib.contextmanager
def unpacked_audit_set(data: bytes, name: str) -> Iterator[Path]:
    """A zip of an audit set (class folders, or a CSV manifest with paths relative to it) unpacked into a
    private temporary folder, deleted afterwards; yields what to audit. AuditUploadError, with nothing
    unpacked, when it is not a zip, holds a path leading outside it, or unpacks to over AUDIT_ZIP_MAX_BYTES.

    An AuditError raised while it is open (a set the audit cannot use) names the zip, not the temporary
    folder, which is gone by the time the message is read."""
    from governance.bias_audit import AuditError

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise AuditUploadError(AUDIT_ZIP_UNREADABLE.format(name=name, reason=exc)) from None
    with archive, tempfile.TemporaryDirectory(prefix="unveil-audit-set-") as folder:
        members = _safe_members(archive, name)
        try:
            archive.extractall(folder, members)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise AuditUploadError(AUDIT_ZIP_UNREADABLE.format(name=name, reason=exc)) from None
        try:
            yield _audit_set_root(Path(folder))
        except AuditError as exc:
            raise AuditError(str(exc).replace(folder, name)) from None


def bias_overall_table(audit: Any) -> pd.DataFrame:
    """The audit's overall metrics with their bootstrap intervals."""
    rows = [{"metric": name, "value": e.value, "low": e.low, "high": e.high} for name, e in audit.overall.overall.items()]
    return pd.DataFrame(rows, columns=["metric", "value", "low", "high"])


def bias_coverage(audit: Any) -> tuple[str | None, bool, list[str]]:
    """What a finished audit may claim: its verdict when no group is flagged (None when one is; see
    governance.bias_audit.verdict), whether any group column was compared, and for each group column
    the sentence saying whether it was compared or why not."""
    from governance.bias_audit import comparison_summary, verdict

    summary = comparison_summary(audit)
    return verdict(audit), any(column.compared for column in summary), [column.sentence for column in summary]


def bias_flags_table(audit: Any) -> pd.DataFrame:
    """The flagged groups: a metric worse than the rest of the column beyond the threshold."""
    rows = [{"column": f.column, "group": f.group, "metric": f.metric, "size": f.size, "gap": f.gap.value,
             "low": f.gap.low, "high": f.gap.high} for f in audit.flags]
    return pd.DataFrame(rows, columns=["column", "group", "metric", "size", "gap", "low", "high"])


def model_cards(folder: Path) -> list[tuple[str, str]]:
    """(model name, card markdown) for every card (*.md) next to the shipped models, sorted by name."""
    return [(path.stem, path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.md"))]


def in_column_order(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Face rows with their columns in face_records' order (source, face, box, score, emotion, p_*,
    identity), as they were shown when kept: the store gives them back with their keys sorted."""
    first = ["source", "face", "x", "y", "w", "h", "score", "emotion"]
    out = []
    for row in rows:
        probabilities = sorted(key for key in row if key.startswith("p_"))
        rest = [key for key in row if key not in first and key not in probabilities and key != "identity"]
        order = [key for key in first if key in row] + probabilities + rest + (["identity"] if "identity" in row else [])
        out.append({key: row[key] for key in order})
    return out


def kept_label(result: Any) -> str:
    """One kept result (governance.kept_results.KeptResult) in a line: when, which photos, how many faces."""
    return f"{result.kept_at:%Y-%m-%d %H:%M} UTC: {', '.join(result.photos)} ({plural(len(result.faces), 'face')})"


def kept_table(results: Sequence[Any]) -> pd.DataFrame:
    """Kept results as a table, one row each: when kept, the photos, how many faces, who is named."""
    rows = [{"kept (UTC)": r.kept_at.strftime("%Y-%m-%d %H:%M"), "photos": ", ".join(r.photos), "faces": len(r.faces),
             "names": ", ".join(r.names)} for r in results]
    return pd.DataFrame(rows, columns=["kept (UTC)", "photos", "faces", "names"])


def erasure_lines(preview: Any) -> list[str]:
    """What erasing a member deletes (governance.family.ErasurePreview), one line per kind, for the page to
    say before the click, including kept results that also name other members."""
    name = preview.name
    stored = (f"{name}'s name, {plural(preview.consents, 'consent record')}, "
              f"{plural(preview.embeddings, 'face embedding')} and {plural(preview.thumbnails, 'thumbnail')}")
    lines = [stored, f"{name}'s data key, so no backup of the store can be read for them either"]
    if preview.analyses:
        line = f"{plural(preview.analyses, 'kept result')} naming {name}"
        if preview.also_named:
            others = ", ".join(preview.also_named)
            verb = "names" if preview.analyses == 1 else "name"
            line += (f", which also {verb} {others}: a kept result is erased whole with anyone it names, "
                     f"so what it holds about {others} goes too")
        lines.append(line)
    return lines


# What the store's counts, the retention sweep and erasure receipts call each kind of record, in words:
# (one, several).
_KINDS = {
    "person": ("member", "members"), "people": ("member", "members"), "embeddings": ("embedding", "embeddings"),
    "thumbnails": ("thumbnail", "thumbnails"), "consents": ("consent record", "consent records"),
    "analyses": ("kept result", "kept results"), "audit": ("audit entry", "audit entries"),
    "data_key": ("data key", "data keys"), "data_keys": ("data key", "data keys"),
    "consent_expired": ("member whose consent expired", "members whose consent expired"),
    "consent_missing": ("member without a consent record", "members without a consent record"),
    "unseen_people": ("member not seen for too long", "members not seen for too long"),
}


def counted(counts: Mapping[str, int], *, skip_zero: bool = False) -> str:
    """Counts per kind of record in words: "1 member, 4 embeddings, 1 kept result"."""
    words = []
    for kind, count in counts.items():
        if count or not skip_zero:
            one, many = _KINDS.get(kind, (kind.replace("_", " "), kind.replace("_", " ")))
            words.append(plural(count, one, many))
    return ", ".join(words)


def receipt_text(who: str, receipt: Any) -> str:
    """A deletion receipt (governance.erasure.ErasureReceipt) as a few lines a person can read; `who`
    is the name the page knew, which the receipt itself never holds."""
    erased_at = datetime.fromisoformat(receipt.erased_at).strftime("%Y-%m-%d %H:%M:%S UTC")
    subject = "everything in the store" if receipt.subject == "everything" else f"{who} (id {receipt.subject[:8]}...)"
    return "\n".join([
        f"**Deletion receipt**: {subject}",
        f"- Reason: {receipt.reason}; erased at {erased_at}",
        f"- Deleted: {counted(receipt.records)}",
        f"- Logged as audit entry {receipt.audit_seq}, with this receipt's SHA-256: `{receipt.digest}`",
        f"- Freed storage overwritten: {'yes' if receipt.storage_scrubbed else 'not yet (another session was reading)'}",
    ])


def receipt_file_name(receipt: Any) -> str:
    """A file name of its own for each receipt: when, and whose (the id's first characters, never a name)."""
    when = datetime.fromisoformat(receipt.erased_at).strftime("%Y%m%d-%H%M%S")
    return f"unveil_deletion_receipt_{when}_{receipt.subject[:8]}.json"
