"""Live video: faces followed on every frame of a camera stream at little cost, with a steady emotion
and a name per face.

The detector (MTCNN) runs on some frames only, on a downscaled copy; in between, each face's box is
carried forward by optical flow on its own pixels (`follow_box`), and the five landmarks with it, so
that the emotion model can still align the face. The emotion model runs on each face every few
frames and its probabilities are smoothed over about a second (`EmotionSmoother`), so the label does
not flicker between two close classes. A name is asked for when a face first appears (and again,
now and then, while it stays unknown) and is carried by the track, which checks it now and then: when
another member, or nobody, stands where a named face was followed (one person leaving as another
arrives at the same spot, a cut), that track leaves and a new face starts.

    tracker = LiveTracker(detect=FaceDetector(min_face_size=20).detect, emotion_model=EmotionModel())
    for rgb, time_s in frames:
        frame = tracker.step(rgb, time_s)   # frame.faces: every face now; frame.events: what changed
    tracker.finish(time_s)                  # everyone still there leaves

Frames are plain arrays; nothing of them is kept beyond the previous frame's grey copy.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import cv2
import numpy as np

from fer_core.emotion import mouth_outside
from fer_core.video import DEFAULT_MAX_GAP_S, DEFAULT_MIN_IOU, match_boxes

# Detection on one frame in this many (and on the frame after a face was lost). At 30 frames/s that
# is 6 detections a second: a face walking in is found within 0.2 s, and flow carries it between.
DEFAULT_DETECT_EVERY = 5
# The detector sees the frame scaled down to at most this width: 4x fewer pixels at 640x480, and with
# the detector's 20 px smallest window, faces from 40 px up in a 640 px frame (the analyzer's minimum).
DEFAULT_DETECT_WIDTH = 320
# The emotion model (the heaviest network, about 20 ms a face on one core) runs on each face once in
# this many frames; the smoother spreads each reading over DEFAULT_SMOOTHING_S anyway.
DEFAULT_EMOTION_EVERY = 3
# Time constant of the exponential moving average of emotion probabilities: an expression that
# lasts 1 s moves the average 63% of the way. Expressions last 0.5-4 s, single-frame flickers
# (a blink, motion blur) far less.
DEFAULT_SMOOTHING_S = 1.0
# The label changes only when another emotion's smoothed probability beats the current one's by
# this much, so two classes near 50/50 do not swap on every frame.
DEFAULT_HYSTERESIS = 0.1
# A face not seen for longer than this has left (the same gap that splits tracks of a sampled video).
DEFAULT_LEAVE_AFTER_S = DEFAULT_MAX_GAP_S
# An unknown face is compared with the family gallery again at most this often (about 25 ms a try):
# a first look at a turned or blurred face should not make someone unknown for their whole visit.
DEFAULT_IDENTIFY_EVERY_S = 1.0
# A named face is compared with the gallery again this often, and at once when it is found again after
# being lost: the track carries the name, and a name must not pass to whoever stands there next.
DEFAULT_REVERIFY_EVERY_S = 1.0
# A named face read as another member at one look is someone else; read as nobody, it must be so at this
# many looks in a row (about 3 s), since one turned or blurred look reads as nobody too.
UNKNOWN_LOOKS_TO_UNNAME = 3
# A face that flow still follows but the detector missed at this many detection frames in a row is
# taken as lost: flow can slide onto the background when a face turns away.
MAX_MISSED_DETECTIONS = 2

# Frames of a new size whose width/height ratio is within this fraction of the old one's show the same view (a
# camera's other stream, 1920x1088 beside 1280x720 included), and its faces are scaled to them. Across a change of
# ratio (4:3 to 16:9) a camera may crop or squeeze, and a box scaled as if squeezed lands beside a cropped face
# (or on another one): those visits end instead.
SAME_ASPECT_TOLERANCE = 0.02

# Optical flow: at most this many corner points per face, and at least this many that survive the
# forward-backward check for the move to be trusted.
_FLOW_POINTS = 40
_FLOW_MIN_POINTS = 6
# A point whose forward-then-backward track ends this far (px) from where it started is dropped,
# and the face is lost when the median point drifts more than _FLOW_MAX_ERROR.
_FLOW_MAX_ERROR = 3.0
# A face's scale changes by at most this factor from one frame to the next.
_FLOW_MAX_SCALE = 1.2

APPEAR = "appear"
LEAVE = "leave"
EMOTION = "emotion"
NAMED = "named"

Box = tuple[float, float, float, float]  # x, y, w, h in frame pixels
# A part of the frame whose faces are not people in the room (a photo on the wall, a TV, a mirror): x0, y0, x1, y1,
# its corners as fractions of the frame's width and height from the top left, so one setting fits any resolution.
Region = tuple[float, float, float, float]


class Detection(Protocol):
    """What the tracker needs of a detected face (fer_core.detection.DetectedFace)."""

    box: tuple[float, float, float, float]  # x, y, w, h
    landmarks: np.ndarray


class EmotionModelLike(Protocol):
    classes: tuple[str, ...]

    def align(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray: ...

    def predict(self, aligned: np.ndarray) -> np.ndarray: ...


def follow_box(previous: np.ndarray, current: np.ndarray, box: Box) -> tuple[Box, float, float, float] | None:
    """Where the face in `box` of the grey frame `previous` is in the grey frame `current`: (new box,
    dx, dy, scale), or None when it cannot be followed (too little texture, or points that disagree).

    Corner points inside the box are followed by pyramidal Lucas-Kanade flow forward and back; points
    that do not come back to where they started are dropped (a face passing behind an edge, points on
    the background), and the box moves by the median displacement of the rest and scales by the median
    change of their pairwise distances (the Median Flow tracker's rule)."""
    height, width = previous.shape
    x, y, w, h = box
    x0, y0 = max(0, int(x)), max(0, int(y))
    x1, y1 = min(width, int(x + w)), min(height, int(y + h))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    # Corners of the face's own crop (a mask over the whole frame costs 50x more: 4.5 vs 0.08 ms).
    points = cv2.goodFeaturesToTrack(previous[y0:y1, x0:x1], _FLOW_POINTS, 0.01, max(2.0, min(w, h) / 20))
    if points is None or len(points) < _FLOW_MIN_POINTS:
        return None
    points = points + np.array([x0, y0], np.float32)
    forward, status, _ = cv2.calcOpticalFlowPyrLK(previous, current, points, None, winSize=(15, 15), maxLevel=2)
    back, status_back, _ = cv2.calcOpticalFlowPyrLK(current, previous, forward, None, winSize=(15, 15), maxLevel=2)
    error = np.linalg.norm((back - points).reshape(-1, 2), axis=1)
    good = (status.ravel() == 1) & (status_back.ravel() == 1) & (error <= _FLOW_MAX_ERROR)
    if good.sum() < _FLOW_MIN_POINTS or float(np.median(error[good])) > _FLOW_MAX_ERROR / 2:
        return None
    before, after = points.reshape(-1, 2)[good], forward.reshape(-1, 2)[good]
    dx, dy = (float(v) for v in np.median(after - before, axis=0))
    i, j = np.triu_indices(len(before), k=1)
    spread_before = np.linalg.norm(before[i] - before[j], axis=1)
    usable = spread_before > 1.0
    ratio = np.linalg.norm(after[i] - after[j], axis=1)[usable] / spread_before[usable]
    scale = float(np.clip(np.median(ratio), 1 / _FLOW_MAX_SCALE, _FLOW_MAX_SCALE)) if len(ratio) else 1.0
    cx, cy = x + w / 2 + dx, y + h / 2 + dy
    moved = (cx - w * scale / 2, cy - h * scale / 2, w * scale, h * scale)
    if not (0 <= cx < width and 0 <= cy < height):
        return None  # its centre left the frame: the face is walking out
    return moved, dx, dy, scale


class EmotionSmoother:
    """Emotion probabilities averaged over time, and a label that changes only with a clear lead.

    `update(probs, time_s)` folds in one reading with weight 1 - exp(-dt / window_s), dt being the
    time since the previous reading, so readings taken at an irregular pace weigh by the time they
    stand for. The label is the class with the highest average, except that it moves from the current
    label to another class only when that class leads by at least `hysteresis`."""

    def __init__(self, classes: Sequence[str], *, window_s: float = DEFAULT_SMOOTHING_S,
                 hysteresis: float = DEFAULT_HYSTERESIS) -> None:
        if not (math.isfinite(window_s) and window_s > 0):
            raise ValueError(f"window_s must be > 0, got {window_s}")
        if not 0 <= hysteresis < 1:
            raise ValueError(f"hysteresis must be in [0, 1), got {hysteresis}")
        self.classes = tuple(classes)
        self.window_s = window_s
        self.hysteresis = hysteresis
        self.probabilities: np.ndarray | None = None
        self.label: str | None = None
        self._last_s: float | None = None

    def update(self, probs: Sequence[float], time_s: float) -> bool:
        """Fold in one reading; True when the label changed from one emotion to another (not on the first)."""
        probs = np.asarray(probs, dtype=np.float64)
        if self.probabilities is None or self._last_s is None:
            self.probabilities = probs.copy()
        else:
            weight = 1.0 - math.exp(-max(0.0, time_s - self._last_s) / self.window_s)
            self.probabilities += weight * (probs - self.probabilities)
        self._last_s = time_s
        best = int(np.argmax(self.probabilities))
        if self.label is None:
            self.label = self.classes[best]
            return False
        current = self.probabilities[self.classes.index(self.label)]
        if self.classes[best] != self.label and self.probabilities[best] - current >= self.hysteresis:
            self.label = self.classes[best]
            return True
        return False


@dataclass
class LiveTrack:
    """One face followed live. `visible`: seen in the current frame; otherwise missing since `last_seen_s`."""

    number: int
    box: Box
    landmarks: np.ndarray
    smoother: EmotionSmoother
    last_seen_s: float
    identity: str | None = None  # the member's display name
    person_id: str | None = None  # the member's id, which bookkeeping (the audit log) uses
    visible: bool = True
    misses: int = 0
    emotion_frame: int = -1_000_000
    identified_s: float = -math.inf
    unknown_looks: int = 0  # looks in a row, since it was named, that read this face as nobody


@dataclass(frozen=True)
class LiveFace:
    """A face in one frame: its track number, (x, y, w, h) integer box, smoothed emotion label and
    probabilities, and family name (None: unknown, or no gallery)."""

    track: int
    box: tuple[int, int, int, int]
    emotion: str
    probabilities: dict[str, float]
    identity: str | None


@dataclass(frozen=True)
class LiveEvent:
    """Something that changed: a face appeared, left (unseen for longer than leave_after_s), got a name
    (`named`), or its emotion label changed (`emotion`, from `previous`)."""

    kind: str
    track: int
    time_s: float
    identity: str | None
    emotion: str | None
    previous: str | None = None
    person_id: str | None = None


@dataclass(frozen=True)
class LiveFrame:
    index: int
    time_s: float
    faces: list[LiveFace]
    events: list[LiveEvent] = field(default_factory=list)
    detected: bool = False


def _contains(box: Box, x: float, y: float) -> bool:
    return box[0] <= x <= box[0] + box[2] and box[1] <= y <= box[1] + box[3]


def is_region(region: Sequence[float]) -> bool:
    """Whether `region` is a Region: four fractions with 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1 (NaN is not)."""
    if len(region) != 4:
        return False
    x0, y0, x1, y1 = region
    return 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1


def _scaled_box(box: tuple[float, float, float, float], scale: float) -> Box:
    x, y, w, h = box
    return x / scale, y / scale, w / scale, h / scale


class MatchLike(Protocol):
    """What a tracker needs of a gallery's answer (fer_core.identity.Match): the member's id and name."""

    person_id: str | None
    label: str | None


def identifier(gallery: Any, model: Any) -> Callable[[np.ndarray, np.ndarray], MatchLike]:
    """The `identify` of a LiveTracker: (RGB frame, 5 landmarks) -> `gallery`'s match (a
    fer_core.identity.Gallery of `model`'s embeddings): a member's id and name, or None for both."""

    def identify(rgb: np.ndarray, landmarks: np.ndarray) -> MatchLike:
        return gallery.identify(model.embed_face(rgb, landmarks))

    return identify


class LiveTracker:
    """Faces of a live stream, frame by frame; see the module docstring.

    detect: RGB frame -> detections (fer_core.detection.FaceDetector.detect), called on the frame
        scaled down to `detect_width`.
    emotion_model: an EmotionModel.
    identify: (RGB frame, landmarks) -> a gallery match (`identifier`); None when there is no gallery.
    ignore: Regions of the frame whose faces are left out: a face whose box centre lies in one is not followed,
        named, read or reported; one followed into it is lost there, as if it had walked out of view.
    """

    def __init__(
        self,
        *,
        detect: Callable[[np.ndarray], Sequence[Detection]],
        emotion_model: EmotionModelLike,
        identify: Callable[[np.ndarray, np.ndarray], MatchLike] | None = None,
        detect_every: int = DEFAULT_DETECT_EVERY,
        detect_width: int = DEFAULT_DETECT_WIDTH,
        emotion_every: int = DEFAULT_EMOTION_EVERY,
        smoothing_s: float = DEFAULT_SMOOTHING_S,
        hysteresis: float = DEFAULT_HYSTERESIS,
        leave_after_s: float = DEFAULT_LEAVE_AFTER_S,
        identify_every_s: float = DEFAULT_IDENTIFY_EVERY_S,
        reverify_every_s: float = DEFAULT_REVERIFY_EVERY_S,
        ignore: Sequence[Region] = (),
    ) -> None:
        if detect_every < 1 or emotion_every < 1 or detect_width < 24:
            raise ValueError("detect_every and emotion_every must be >= 1 and detect_width >= 24")
        if not (math.isfinite(leave_after_s) and leave_after_s >= 0):
            raise ValueError(f"leave_after_s must be >= 0, got {leave_after_s}")
        for region in ignore:
            if not is_region(region):
                raise ValueError(f"an ignored region must be x0, y0, x1, y1 with 0 <= x0 < x1 <= 1 and "
                                 f"0 <= y0 < y1 <= 1, got {region}")
        self._detect = detect
        self._emotion = emotion_model
        self._identify = identify
        self.detect_every = detect_every
        self.detect_width = detect_width
        self.emotion_every = emotion_every
        self.smoothing_s = smoothing_s
        self.hysteresis = hysteresis
        self.leave_after_s = leave_after_s
        self.identify_every_s = identify_every_s
        self.reverify_every_s = reverify_every_s
        self.ignore = tuple(tuple(float(v) for v in region) for region in ignore)
        self.tracks: list[LiveTrack] = []
        self._numbers = 0
        self._index = -1
        self._previous: np.ndarray | None = None
        self._previous_s: float | None = None  # the previous frame's time

    def step(self, rgb: np.ndarray, time_s: float) -> LiveFrame:
        """Follow, detect (when due), read emotions and names on one RGB uint8 frame taken at `time_s`."""
        self._index += 1
        events: list[LiveEvent] = []
        # No frame for longer than leave_after_s, and than a sampled video's gap (a camera away, the machine asleep):
        # nobody was seen meanwhile, so everyone left, as a video's tracks end at such a gap (fer_core.video's
        # DEFAULT_MAX_GAP_S, below which a frame rate's own gaps stay). Whoever is there now is detected afresh, not
        # carried over from before the gap by flow or by standing where someone stood.
        gap = self._previous_s is not None and time_s - self._previous_s > max(self.leave_after_s, DEFAULT_MAX_GAP_S)
        self._previous_s = time_s
        # The first frame, or the first since finish() (a camera back from an outage): nobody is followed, so whoever
        # is in view is looked for now, not at the next frame due for detection (detect_every - 1 frames later).
        fresh = self._previous is None
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        reframed = self._previous is not None and self._previous.shape != grey.shape and \
            not self._resize(self._previous.shape, grey.shape)
        if gap or reframed:
            events += [LiveEvent(LEAVE, t.number, time_s, t.identity, t.smoother.label, person_id=t.person_id)
                       for t in self.tracks if t.smoother.label is not None]  # one never read never appeared
            self.tracks = []
        lost = self._follow(grey)
        self._previous = grey
        detected = fresh or gap or reframed or lost or self._index % self.detect_every == 0
        if detected:
            self._match(rgb, time_s, events)
        for track in self.tracks:
            if track.visible:
                track.last_seen_s = time_s
        self._read_emotions(rgb, time_s, events)
        self._drop_departed(time_s, events)
        faces = [LiveFace(t.number, tuple(int(round(v)) for v in t.box), t.smoother.label,
                          {c: round(float(p), 4) for c, p in zip(t.smoother.classes, t.smoother.probabilities)},
                          t.identity)
                 for t in self.tracks if t.visible and t.smoother.label is not None]
        return LiveFrame(self._index, time_s, faces, events, detected)

    def unname(self, person_ids: Collection[str]) -> None:
        """Faces named after these members (erased, or their consent ended) become unknown at once; the gallery is
        asked about them again at their next detection."""
        for track in self.tracks:
            if track.person_id in person_ids:
                track.person_id = track.identity = None

    def finish(self, time_s: float) -> list[LiveEvent]:
        """Everyone still tracked leaves (the stream ends or the loop stops)."""
        events = [LiveEvent(LEAVE, t.number, time_s, t.identity, t.smoother.label, person_id=t.person_id)
                  for t in self.tracks]
        self.tracks = []
        self._previous = self._previous_s = None
        return events

    def _resize(self, before: tuple[int, ...], after: tuple[int, ...]) -> bool:
        """Frames of another size now (a camera switched streams, or its night mode): each face's box and landmarks
        scaled to it, when the frames keep their width/height ratio (SAME_ASPECT_TOLERANCE); False, nothing
        scaled, when they do not. Flow cannot carry faces across the change, so this frame is detected, and a face
        found where its box now lies goes on as the same face. Left in the old size's pixels, a box meets no
        detection: its face would leave after leave_after_s and come back as a new one (a second appearance,
        counted twice meanwhile)."""
        scale_x, scale_y = after[1] / before[1], after[0] / before[0]
        if abs(scale_x / scale_y - 1) > SAME_ASPECT_TOLERANCE:
            return False
        for track in self.tracks:
            x, y, w, h = track.box
            track.box = (x * scale_x, y * scale_y, w * scale_x, h * scale_y)
            track.landmarks = (track.landmarks * np.array([scale_x, scale_y], np.float32)).astype(np.float32)
        return True

    def _follow(self, grey: np.ndarray) -> bool:
        """Carry every visible face to this frame by optical flow; True when one of them was lost."""
        lost = False
        for track in self.tracks:
            if not track.visible:
                continue
            moved = None if self._previous is None or self._previous.shape != grey.shape else \
                follow_box(self._previous, grey, track.box)
            if moved is None:
                track.visible = False
                lost = True
                continue
            box, dx, dy, scale = moved
            if self._ignored(box, grey.shape):
                track.visible = False
                lost = True
                continue
            old_centre = np.array([track.box[0] + track.box[2] / 2, track.box[1] + track.box[3] / 2], np.float32)
            new_centre = old_centre + np.array([dx, dy], np.float32)
            track.landmarks = (new_centre + scale * (track.landmarks - old_centre)).astype(np.float32)
            track.box = box
        return lost

    def _detections(self, rgb: np.ndarray) -> list[tuple[Box, np.ndarray]]:
        height, width = rgb.shape[:2]
        scale = min(1.0, self.detect_width / width)
        small = rgb if scale == 1.0 else cv2.resize(rgb, (round(width * scale), round(height * scale)),
                                                    interpolation=cv2.INTER_AREA)
        found = [(_scaled_box(d.box, scale), np.asarray(d.landmarks, np.float32) / scale) for d in self._detect(small)]
        return [(box, landmarks) for box, landmarks in found if not self._ignored(box, rgb.shape)]

    def _ignored(self, box: Box, shape: tuple[int, ...]) -> bool:
        """Whether the centre of `box` lies in one of the regions to ignore, in a frame of this shape."""
        height, width = shape[:2]
        cx, cy = (box[0] + box[2] / 2) / width, (box[1] + box[3] / 2) / height
        return any(x0 <= cx <= x1 and y0 <= cy <= y1 for x0, y0, x1, y1 in self.ignore)

    def _match(self, rgb: np.ndarray, time_s: float, events: list[LiveEvent]) -> None:
        """Detect, then give each detection to the face it overlaps most (a visible face where flow
        brought it, a missing one where it was last seen), or start a new face."""
        found = self._detections(rgb)
        pairs = match_boxes([t.box for t in self.tracks], [box for box, _ in found], min_iou=DEFAULT_MIN_IOU)
        pairs += self._centred(found, pairs)
        matched = {i for i, _ in pairs}
        for i, j in pairs:
            track = self.tracks[i]
            found_again = not track.visible
            track.box, track.landmarks = found[j]
            track.visible, track.misses = True, 0
            if track.identity is None:
                self._name(track, rgb, time_s, events)
            elif found_again or time_s - track.identified_s >= self.reverify_every_s:
                self.tracks[i] = self._verified(track, rgb, time_s, events)
        for i, track in enumerate(self.tracks):
            if i not in matched and track.visible:
                track.misses += 1
                if track.misses >= MAX_MISSED_DETECTIONS:
                    track.visible = False
        taken = {j for _, j in pairs}
        for j, (box, landmarks) in enumerate(found):
            if j not in taken:
                self._start(box, landmarks, rgb, time_s, events)

    def _centred(self, found: list[tuple[Box, np.ndarray]], pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Detections left over whose centre lies inside a visible face left over: the same face, whose
        followed box grew or shrank away from the detector's (a face turning, or coming closer), not a
        second person standing inside the first one's face."""
        taken_tracks, taken_found = {i for i, _ in pairs}, {j for _, j in pairs}
        free = [i for i, t in enumerate(self.tracks) if t.visible and i not in taken_tracks]
        extra = []
        for j, ((x, y, w, h), _) in enumerate(found):
            if j in taken_found:
                continue
            cx, cy = x + w / 2, y + h / 2
            inside = [i for i in free if _contains(self.tracks[i].box, cx, cy)]
            if inside:
                extra.append((inside[0], j))
                free.remove(inside[0])
        return extra

    def _start(self, box: Box, landmarks: np.ndarray, rgb: np.ndarray, time_s: float, events: list[LiveEvent]) -> None:
        match = self._identify(rgb, landmarks) if self._identify is not None else None
        person_id = None if match is None else match.person_id
        returning = next((t for t in self.tracks if person_id and not t.visible and t.person_id == person_id), None)
        if returning is not None:  # a member seen elsewhere moments ago: the same visit goes on
            returning.box, returning.landmarks, returning.visible, returning.misses = box, landmarks, True, 0
            return
        self.tracks.append(self._new_track(box, landmarks, time_s, match))

    def _new_track(self, box: Box, landmarks: np.ndarray, time_s: float, match: MatchLike | None) -> LiveTrack:
        self._numbers += 1
        smoother = EmotionSmoother(self._emotion.classes, window_s=self.smoothing_s, hysteresis=self.hysteresis)
        person_id = None if match is None else match.person_id
        name = None if person_id is None else match.label
        return LiveTrack(self._numbers, box, landmarks, smoother, time_s, identity=name, person_id=person_id,
                         identified_s=time_s)

    def _verified(self, track: LiveTrack, rgb: np.ndarray, time_s: float, events: list[LiveEvent]) -> LiveTrack:
        """A named face compared with the gallery again: the same track while it still reads as its member
        (or as nobody for fewer than UNKNOWN_LOOKS_TO_UNNAME looks in a row); otherwise someone else stands
        there now, so the track leaves and a new one starts for that face, named after what was read."""
        if self._identify is None:
            return track
        track.identified_s = time_s
        match = self._identify(rgb, track.landmarks)
        if match.person_id == track.person_id:
            track.unknown_looks = 0
            return track
        if match.person_id is None:
            track.unknown_looks += 1
            if track.unknown_looks < UNKNOWN_LOOKS_TO_UNNAME:
                return track
        if track.smoother.label is not None:  # a face that never got a reading never appeared
            events.append(LiveEvent(LEAVE, track.number, time_s, track.identity, track.smoother.label,
                                    person_id=track.person_id))
        return self._new_track(track.box, track.landmarks, time_s, match)

    def _name(self, track: LiveTrack, rgb: np.ndarray, time_s: float, events: list[LiveEvent]) -> None:
        if self._identify is None or time_s - track.identified_s < self.identify_every_s:
            return
        track.identified_s = time_s
        match = self._identify(rgb, track.landmarks)
        if match.person_id is not None:
            track.person_id, track.identity = match.person_id, match.label
            events.append(LiveEvent(NAMED, track.number, time_s, track.identity, track.smoother.label,
                                    person_id=track.person_id))

    def _read_emotions(self, rgb: np.ndarray, time_s: float, events: list[LiveEvent]) -> None:
        # A face whose mouth is outside the frame is not read (fer_core.emotion.mouth_outside): it keeps the label read
        # before, and one never read is not shown until its mouth comes in.
        due = [t for t in self.tracks if t.visible and self._index - t.emotion_frame >= self.emotion_every
               and not mouth_outside(t.landmarks, rgb.shape)]
        if not due:
            return
        probs = self._emotion.predict(np.stack([self._emotion.align(rgb, t.landmarks) for t in due]))
        for track, row in zip(due, probs):
            track.emotion_frame = self._index
            previous = track.smoother.label
            if previous is None:
                track.smoother.update(row, time_s)
                events.append(LiveEvent(APPEAR, track.number, time_s, track.identity, track.smoother.label,
                                        person_id=track.person_id))
            elif track.smoother.update(row, time_s):
                events.append(LiveEvent(EMOTION, track.number, time_s, track.identity, track.smoother.label,
                                        previous=previous, person_id=track.person_id))

    def _drop_departed(self, time_s: float, events: list[LiveEvent]) -> None:
        staying = []
        for track in self.tracks:
            if not track.visible and time_s - track.last_seen_s > self.leave_after_s:
                if track.smoother.label is not None:  # a face that never got a reading never appeared
                    events.append(LiveEvent(LEAVE, track.number, time_s, track.identity, track.smoother.label,
                                            person_id=track.person_id))
            else:
                staying.append(track)
        self.tracks = staying
