"""unveil.app without Streamlit: exports, annotation, video sampling and face tracking."""
from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from fer_core import Face, FaceAnalyzer, FaceDetector, Gallery, Match, load_embedding_model, load_image, render
from fer_core import video as fer_video
from fer_core.identity import pairwise_distances
from fer_core.model_files import identity_model_name
from governance import enrolment
from tests.support.app import (
    MEMBER,
    STRANGER,
    crossing_video,
    panning_video,
    photo_path,
    side_by_side,
)
from tests.support.group_photos import build as build_group_photos
from tests.support.phone_metadata import VIDEO_CARRIED, carried, with_location, with_phone_metadata
from unveil.app import bias_upload, explain_view, photos, tables
from unveil.app import enrolment as app_enrolment


@pytest.fixture(scope="module")
def analyzer(app_models_dir) -> FaceAnalyzer:
    return FaceAnalyzer(emotion_model=app_models_dir / "emotion_vgg16.onnx", identity_model=False)


@pytest.fixture(scope="module")
def group_photo(faces_dir) -> bytes:
    return side_by_side(photo_path(faces_dir, MEMBER, 5), photo_path(faces_dir, STRANGER, 5))


@pytest.fixture(scope="module")
def video(faces_dir, tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("video") / "pan.mp4"
    return panning_video([photo_path(faces_dir, MEMBER, 5), photo_path(faces_dir, STRANGER, 5)], path,
                         seconds=3.0, fps=10)


def _match(name: str | None) -> Match | None:
    """The gallery's match of a face to the member called `name` (their id: "id-" + name)."""
    return None if name is None else Match(f"id-{name}", name, 0.1, f"id-{name}", None, float("inf"), "match")


def _face(box, probs, identity=None, embedding=None) -> Face:
    """A Face as the analyzer returns it, with a chosen box and probabilities (for the tracker's logic),
    matched to the member called `identity` when given."""
    emotion = max(probs, key=probs.get)
    return Face(box=box, landmarks=np.zeros((5, 2), np.float32), score=0.99, emotion=emotion,
                emotion_probs=probs, match=_match(identity),
                embedding=None if embedding is None else np.asarray(embedding, np.float32))


# ----------------------------------------------------------------------------- photo results


def test_analyze_photo_finds_both_faces_of_a_group_photo_in_reading_order(analyzer, group_photo):
    result = photos.analyze_photo(group_photo, "group.jpg", analyzer.analyze, recognition=False)
    assert result.error is None
    assert result.image.shape == (250, 500, 3)
    assert len(result.faces) == 2
    assert result.faces[0].box[0] < 250 <= result.faces[1].box[0]  # left photo first


def test_analyze_photo_reports_a_corrupt_upload_without_raising(analyzer, faces_dir):
    truncated = photo_path(faces_dir, MEMBER, 1).read_bytes()[:300]
    result = photos.analyze_photo(b"this is not a photo", "notes.jpg", analyzer.analyze, recognition=False)
    assert result.image is None and result.faces == []
    assert result.error == "notes.jpg could not be read: not an image, or its header is corrupt (format not recognised)"
    result = photos.analyze_photo(truncated, "cut.jpg", analyzer.analyze, recognition=False)
    assert result.image is None and result.error.startswith("cut.jpg could not be read: ")


def test_a_photo_without_a_face_gives_no_faces(analyzer):
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (120, 160, 90)).save(buffer, format="PNG")
    result = photos.analyze_photo(buffer.getvalue(), "lawn.png", analyzer.analyze, recognition=False)
    assert result.error is None and result.faces == []


def test_records_csv_and_json_hold_every_face_and_probability(analyzer, group_photo):
    faces = analyzer.analyze(group_photo)
    records = render.face_records(faces, source="group.jpg", recognition=False)
    classes = list(faces[0].emotion_probs)
    assert list(records[0]) == ["source", "face", "x", "y", "w", "h", "score", "emotion", *[f"p_{c}" for c in classes]]
    table = pd.read_csv(io.BytesIO(render.records_csv(records)))
    assert list(table["face"]) == [1, 2]
    assert list(table["emotion"]) == [f.emotion for f in faces]
    assert table[[f"p_{c}" for c in classes]].sum(axis=1).round(3).tolist() == [1.0, 1.0]
    assert json.loads(render.records_json(records)) == records


def test_identity_column_only_when_a_gallery_was_consulted():
    faces = [_face((10, 10, 50, 50), {"happy": 0.7, "sad": 0.3}, identity="Ana"),
             _face((100, 10, 50, 50), {"happy": 0.2, "sad": 0.8})]
    named = render.face_records(faces, source="p.jpg", recognition=True)
    assert [r["identity"] for r in named] == ["Ana", "unknown"]
    assert "identity" not in render.face_records(faces, source="p.jpg", recognition=False)[0]
    assert render.face_details(faces[1], recognition=True) == "sad 80% unknown"
    assert render.face_details(faces[0], recognition=False) == "happy 70%"


def _untouched_inside_every_face(annotated: np.ndarray, photo: np.ndarray, placed: render.Layout) -> bool:
    """Whether the annotated picture shows the photo's own pixels inside every face's box outline."""
    m, line = placed.margin, placed.line
    edge = 2 * line + render.halo_width(line)
    for x0, y0, x1, y1 in placed.faces:
        # inside the outline, which is drawn on the box's edge (in photo pixels: x - line .. x + w + line), and its
        # inner halo
        left, top, right, bottom = (round(v) for v in (x0 + edge, y0 + edge, x1 - edge, y1 - edge))
        if not np.array_equal(annotated[top:bottom, left:right], photo[top - m:bottom - m, left - m:right - m]):
            return False
    return True


def test_the_pictures_made_of_a_phone_photo_carry_none_of_its_metadata(analyzer, faces_dir):
    # Every picture is drawn on a new canvas from the decoded pixels (turned upright per its orientation, then
    # forgotten): neither the page's view nor the annotated PNG carries the photo's GPS position, serial number,
    # capture time, embedded thumbnail, XMP face names, ICC profile, IPTC caption or comment.
    sideways = io.BytesIO()  # stored on its left side, as a phone stores a portrait, with orientation 6
    Image.open(photo_path(faces_dir, MEMBER, 5)).rotate(90, expand=True).save(sideways, format="JPEG", quality=95)
    phone = with_phone_metadata(sideways.getvalue(), orientation=6)
    result = photos.analyze_photo(phone, "IMG_0042.jpg", analyzer.analyze, recognition=False)
    assert len(result.faces) == 1 and result.image.shape[:2] == (250, 250)
    for picture in (result.view, photos.annotated_png(result)):
        assert carried(picture) == []
        with Image.open(io.BytesIO(picture)) as image:
            assert not image.getexif() and not {"exif", "xmp", "icc_profile", "comment"} & set(image.info)


def test_annotate_numbers_each_face_beside_it_and_lists_the_details_in_a_legend(analyzer, group_photo):
    result = photos.analyze_photo(group_photo, "group.jpg", analyzer.analyze, recognition=False)
    before = result.image.copy()
    annotated = np.asarray(render.annotate(result.image, result.faces, recognition=False))
    np.testing.assert_array_equal(result.image, before)  # the photo itself is untouched
    placed = render.layout((500, 250), [face.box for face in result.faces])
    m = placed.margin
    assert annotated.shape[0] == 250 + 2 * m and annotated.shape[1] > 500 + 2 * m  # the legend is beside it
    np.testing.assert_array_equal(annotated[m:m + 250, m:m + 500][0, 0], before[0, 0])
    for face, tag in zip(result.faces, placed.tags):
        x, y, w, h = face.box
        bottom_edge = annotated[m + y + h, m + x:m + x + w]
        assert np.abs(bottom_edge.astype(int) - before[y + h, x:x + w]).sum() > 0
        assert tag[3] <= m + y and tag[0] <= m + x + w  # the number just above its face
    assert _untouched_inside_every_face(annotated, before, placed)
    png = Image.open(io.BytesIO(render.png_bytes(Image.fromarray(annotated))))
    assert png.format == "PNG" and png.size == (annotated.shape[1], annotated.shape[0])


@pytest.fixture(scope="module")
def group_photos(faces_dir, tmp_path_factory):
    """The composited group photos of tests/support/group_photos.py (one round: 20 photos, 2 to 18
    people, faces about 50 to 270 px high), with their true face boxes. Seed 24, not the benchmark's 23:
    its 20th photo is a line of five people of different heights."""
    folder = tmp_path_factory.mktemp("group_photos")
    truth = build_group_photos(faces_dir, folder, rounds=1, seed=24)
    return [(np.asarray(Image.open(folder / name).convert("RGB")), entry) for name, entry in truth.items()]


def test_no_number_covers_a_face_or_another_number_on_group_photos(analyzer, group_photos):
    assert len(group_photos) >= 10
    for photo, entry in group_photos:
        faces = [dataclasses.replace(face, match=_match("Gloria_Macapagal_Arroyo" if i % 2 else None))
                 for i, face in enumerate(analyzer.analyze(photo))]
        assert len(faces) == len(entry["faces"])  # every person found, nothing else (see bench_group_photos.py)
        numbered = [max(entry["faces"], key=lambda true: fer_video.box_iou(face.box, true["box"])) for face in faces]
        # Numbered as a reader reads: rows from the back, each left to right.
        assert [(t["row"], t["box"][0]) for t in numbered] == sorted((t["row"], t["box"][0]) for t in entry["faces"])
        placed = render.layout((photo.shape[1], photo.shape[0]), [face.box for face in faces])
        for index, tag in enumerate(placed.tags):
            assert not any(_intersect(tag, face) for face in placed.faces)
            assert not any(_intersect(tag, other) for other in placed.tags[index + 1:])
        annotated = np.asarray(render.annotate(photo, faces, recognition=True))
        assert _untouched_inside_every_face(annotated, photo, placed)


def _intersect(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_big_photo_is_shown_at_display_size_with_its_boxes_scaled(analyzer, group_photo):
    small = photos.analyze_photo(group_photo, "group.jpg", analyzer.analyze, recognition=False)
    # The same group photo as a phone would take it: 8 times wider and higher.
    big_image = np.asarray(Image.fromarray(small.image).resize((4000, 2000), Image.BICUBIC))
    faces = [_face(tuple(8 * v for v in face.box), face.emotion_probs) for face in small.faces]
    big = photos.analyze_photo(_png(big_image), "group.jpg", lambda image: faces, recognition=False)
    shown = Image.open(io.BytesIO(big.view))
    assert shown.format == "JPEG" and max(shown.size) == render.DISPLAY_MAX_SIDE
    plain, scale = render.display_copy(big_image)
    assert plain.shape[:2] == (render.DISPLAY_MAX_SIDE // 2, render.DISPLAY_MAX_SIDE)

    def drawn(boxes):
        picture = render.draw(plain, boxes)
        picture.thumbnail((render.DISPLAY_MAX_SIDE,) * 2, Image.Resampling.LANCZOS)  # as the page makes its view
        return np.asarray(picture).astype(int)

    view = np.asarray(shown).astype(int)
    scaled = drawn([tuple(v * scale for v in face.box) for face in faces])
    # The numbered boxes of the display copy, drawn where the faces are in it, not 8x further out.
    assert np.abs(view - scaled).mean() < 3
    assert np.abs(view - drawn([face.box for face in faces])).mean() > np.abs(view - scaled).mean() + 1
    image = small.image
    assert render.display_copy(image)[0] is image  # a small photo is never enlarged nor copied
    assert photos.analyze_photo(b"unreadable", "x.jpg", analyzer.analyze, recognition=False).view is None


def test_a_result_keeps_the_uploaded_bytes_not_the_decoded_photo(analyzer, group_photo):
    """A phone's 12 MP photo is 34 MiB decoded and 3-6 MB as uploaded: 200 of them held 6.9 GiB when each result
    kept its decoded photo. It keeps the upload's own bytes (the batch's), and decodes them when asked."""
    result = photos.analyze_photo(group_photo, "group.jpg", analyzer.analyze, recognition=False)
    assert result.data is group_photo
    assert not [name for name, value in vars(result).items() if isinstance(value, np.ndarray)]
    np.testing.assert_array_equal(result.image, load_image(group_photo))


def test_faces_are_named_again_from_their_embeddings_without_a_new_analysis():
    faces = [_face((10, 10, 50, 50), {"happy": 0.7, "sad": 0.3}), _face((100, 10, 50, 50), {"happy": 0.2, "sad": 0.8})]
    faces[0].embedding, faces[1].embedding = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    analysis = photos.analyze_photo(_png(np.zeros((60, 160, 3), np.uint8)), "p.jpg", lambda image: faces,
                                    recognition=False)
    gallery = Gallery({"7f3a": np.array([[1.0, 0.0]])}, labels={"7f3a": "Ana"}, threshold=0.5)
    named = photos.named(analysis, gallery)
    assert named.recognition and [(f.person_id, f.identity) for f in named.faces] == [("7f3a", "Ana"), (None, None)]
    assert named.view is analysis.view  # boxes and numbers only, no names: not drawn again
    assert [f.identity for f in analysis.faces] == [None, None]  # the kept analysis names nobody
    locked = photos.named(named, None)
    assert not locked.recognition and [f.identity for f in locked.faces] == [None, None]


def test_the_annotated_download_is_the_full_size_photo_as_png(analyzer, group_photo):
    result = photos.analyze_photo(group_photo, "group.jpg", analyzer.analyze, recognition=False)
    png = Image.open(io.BytesIO(photos.annotated_png(result)))
    # The whole photo (500 x 250) in its frame, with the legend beside it.
    assert png.format == "PNG" and png.width > 500 and png.height > 250
    np.testing.assert_array_equal(np.asarray(png), np.asarray(render.annotate(result.image, result.faces,
                                                                           recognition=False)))


# ----------------------------------------------------------------------------- video


def test_sample_frames_takes_one_frame_per_interval(video):
    frames = list(fer_video.sample_frames(video, every_s=0.5))
    assert [f.time_s for f in frames] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    assert frames[0].image.dtype == np.uint8 and frames[0].image.shape[2] == 3
    assert len(list(fer_video.sample_frames(video, every_s=0.1, max_frames=7))) == 7


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the video is empty"),
        (b"\x00not a video" * 200, "this file cannot be read as a video (corrupt or an unsupported format)"),
    ],
)
def test_unreadable_videos_raise_a_clear_error(data, message):
    with pytest.raises(fer_video.VideoError) as caught:
        list(fer_video.sample_frames(data))
    assert str(caught.value) == message


def test_truncated_video_raises_video_error(video):
    with pytest.raises(fer_video.VideoError):
        list(fer_video.sample_frames(video[: len(video) // 10]))


def test_a_long_video_is_sampled_more_sparsely_to_reach_its_end():
    assert fer_video.sampling_interval(29.9, 0.5, 120) == 0.5
    assert fer_video.sampling_interval(89.5, 0.5, 120) == pytest.approx(89.5 / 119)
    assert fer_video.sampling_interval(None, 0.5, 120) == 0.5  # length unknown: the page says what was left out
    assert fer_video.sampling_interval(89.5, 0.5, 1) == 0.5


def test_coverage_says_plainly_which_part_was_analysed():
    def coverage(last_s, every_s, end_s, frames=120):
        return fer_video.Coverage(frames=frames, first_s=0.0, last_s=last_s, every_s=every_s, asked_every_s=0.5,
                            max_frames=120, end_s=end_s)

    whole = coverage(29.5, 0.5, 29.9, frames=60)
    assert whole.whole and whole.note() == "Analysed 60 frame(s), one every 0.50 s, over the whole video (0-29.9 s)."
    spread = coverage(89.5, 0.75, 89.5)
    assert spread.whole and spread.note() == (
        "Analysed 120 frame(s), one every 0.75 s instead of every 0.50 s, so that at most 120 frames cover "
        "the whole video (0-89.5 s).")
    cut = coverage(59.5, 0.5, 89.5)
    assert not cut.whole and cut.note() == (
        "Only 0.0-59.5 s of the 89.5 s video was analysed (120 frame(s)): 60.0-89.5 s was left out.")
    unknown = coverage(59.5, 0.5, None)
    assert not unknown.whole and unknown.axis_end_s == 59.5 and unknown.note() == (
        "Analysed 120 frame(s) from 0.0 s to 59.5 s; the video does not state its length, so anything after "
        "59.5 s was left out.")


def test_box_iou():
    assert fer_video.box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert fer_video.box_iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert fer_video.box_iou((0, 0, 10, 10), (10, 0, 10, 10)) == 0.0


def test_tracker_follows_two_faces_that_move_and_keeps_them_apart():
    p = {"happy": 0.6, "sad": 0.4}
    frames = [(t * 0.5, [_face((20 + 8 * t, 30, 60, 60), p), _face((200 - 8 * t, 30, 60, 60), p)]) for t in range(5)]
    frames.insert(2, (0.75, [_face((200 - 12, 30, 60, 60), p)]))  # the left face missed in one frame
    tracks = fer_video.track_faces(frames)
    assert [len(t.observations) for t in tracks] == [5, 6]
    assert all(f.box[0] < 100 for _, f in tracks[0].observations)
    assert all(f.box[0] > 100 for _, f in tracks[1].observations)


def test_tracker_starts_a_new_track_after_a_long_gap_or_a_jump():
    p = {"happy": 0.6, "sad": 0.4}
    frames = [(0.0, [_face((0, 0, 50, 50), p)]), (0.5, []), (1.0, []), (1.5, []), (2.0, [_face((0, 0, 50, 50), p)]),
              (2.5, [_face((300, 0, 50, 50), p)])]
    tracks = fer_video.track_faces(frames, max_gap_s=1.0)
    assert [[t for t, _ in track.observations] for track in tracks] == [[0.0], [2.0], [2.5]]
    assert [[t for t, _ in track.observations] for track in fer_video.track_faces(frames, max_gap_s=2.0)] == [
        [0.0, 2.0], [2.5]]


_SAME = fer_video.SamePerson(threshold=0.5)


def test_tracker_keeps_two_people_apart_where_their_boxes_cross():
    # A walks right, B walks left; at 1.0 s their boxes overlap most with the other's last box.
    p = {"happy": 0.6, "sad": 0.4}
    a, b = [1.0, 0.0], [0.0, 1.0]
    frames = [(0.0, [_face((0, 0, 60, 60), p, embedding=a), _face((60, 0, 60, 60), p, embedding=b)]),
              (0.5, [_face((25, 0, 60, 60), p, embedding=a), _face((35, 0, 60, 60), p, embedding=b)]),
              (1.0, [_face((40, 0, 60, 60), p, embedding=a), _face((20, 0, 60, 60), p, embedding=b)])]
    by_box = fer_video.track_faces(frames)
    assert [[f.embedding[0] for _, f in t.observations] for t in by_box] == [[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    tracks = fer_video.track_faces(frames, same_person=_SAME)
    assert [[f.embedding[0] for _, f in t.observations] for t in tracks] == [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]
    # A family name outranks the embedding: Ana turning away (a far embedding) stays Ana.
    named = [(t, [_face(f.box, p, identity="Ana" if f.embedding[0] else None,
                        embedding=[1.0 + 3 * t, 0.0] if f.embedding[0] else f.embedding) for f in faces])
             for t, faces in frames]
    assert [len(t.observations) for t in fer_video.track_faces(named, same_person=_SAME)] == [3, 3]


def test_merge_joins_one_person_by_name_or_embedding_but_never_two_faces_of_one_frame():
    p = {"happy": 0.6, "sad": 0.4}
    tracks = [fer_video.Track(1, [(0.0, _face((0, 0, 50, 50), p, identity="Ana", embedding=[3.0, 0.0]))]),
              fer_video.Track(2, [(0.0, _face((200, 0, 50, 50), p, embedding=[10.0, 10.0]))]),
              fer_video.Track(3, [(0.0, _face((400, 0, 50, 50), p, embedding=[10.1, 10.0]))]),
              fer_video.Track(4, [(1.0, _face((10, 0, 50, 50), p, identity="Ana", embedding=[0.0, 3.0]))]),
              fer_video.Track(5, [(1.0, _face((410, 0, 50, 50), p, embedding=[10.4, 10.0]))]),
              fer_video.Track(6, [(2.0, _face((20, 0, 50, 50), p, identity="Ben", embedding=[0.0, 3.0]))])]
    merged = fer_video.merge_tracks(tracks, same_person=_SAME)
    # Ana's tracks join by name though their embeddings are far apart; the stranger at 1.0 s joins the
    # nearer of the two strangers at 0.0 s, and the other cannot join them (it shares their first
    # frame); Ben, as near to Ana as can be, keeps his own track.
    assert [[(t, f.box[0]) for t, f in track.observations] for track in merged] == [
        [(0.0, 0), (1.0, 10)], [(0.0, 200)], [(0.0, 400), (1.0, 410)], [(2.0, 20)]]
    assert [track.number for track in merged] == [1, 2, 3, 4]
    assert len(fer_video.merge_tracks(tracks)) == 5  # without the identity model only names join tracks


def test_dominant_emotion_is_the_soft_vote_and_identity_the_majority():
    frames = [
        (0.0, [_face((0, 0, 50, 50), {"happy": 0.45, "sad": 0.55}, identity="Ana")]),
        (0.5, [_face((2, 0, 50, 50), {"happy": 0.9, "sad": 0.1}, identity="Ana")]),
        (1.0, [_face((4, 0, 50, 50), {"happy": 0.4, "sad": 0.6})]),
    ]
    tracks = fer_video.track_faces(frames)
    assert tracks[0].identity == "Ana"
    table = fer_video.dominant_emotions(tracks, recognition=True)
    assert table.to_dict("records") == [{"face": "Face 1 (Ana)", "frames": 3, "first seen (s)": 0.0,
                                         "last seen (s)": 1.0, "dominant emotion": "happy",
                                         "mean probability": 0.5833, "share of frames": 0.3333}]


def test_a_videos_container_metadata_reaches_no_result(analyzer, video):
    # A phone video's position and title (MP4 `location`, QuickTime's ISO 6709 key) stay in the file: the page's
    # results are made from its frames only.
    located = with_location(video)
    assert all(mark in located for mark in VIDEO_CARRIED)
    analysis = fer_video.analyze_video(located, analyzer.analyze, every_s=0.5)
    assert len(analysis.tracks) == 2
    results = (repr(analysis) + fer_video.emotion_timeline(analysis.tracks, recognition=False).to_csv()
               + fer_video.dominant_emotions(analysis.tracks, recognition=False).to_csv()).encode()
    assert [mark for mark in VIDEO_CARRIED if mark in results] == []


def test_analyze_video_tracks_each_real_person_through_every_frame(analyzer, video):
    seen = []
    analysis = fer_video.analyze_video(video, analyzer.analyze, every_s=0.5, progress=lambda done, t: seen.append((done, t)))
    frames, tracks = analysis.frames, analysis.tracks
    assert seen == [(i + 1, i * 0.5) for i in range(6)]
    assert [len(faces) for _, faces in frames] == [2] * 6
    assert [len(t.observations) for t in tracks] == [6, 6]
    timeline = fer_video.emotion_timeline(tracks, recognition=False)
    assert len(timeline) == 12 and set(timeline["face"]) == {"Face 1", "Face 2"}
    assert len(fer_video.dominant_emotions(tracks, recognition=False)) == 2


def test_a_90_second_video_of_two_people_crossing_gives_one_track_each_over_its_whole_length(
        app_models_dir, faces_dir, tmp_path):
    # The stranger walks in front of the member and hides his face for about 15 s midway: with the
    # identity model's embeddings, his track survives that gap. 31 frames keep the test fast.
    member, stranger = photo_path(faces_dir, MEMBER, 5), photo_path(faces_dir, STRANGER, 5)
    video = crossing_video((member, stranger), tmp_path / "crossing.mp4", seconds=90.0)
    model = load_embedding_model(app_models_dir / identity_model_name())
    analyzer = FaceAnalyzer(emotion_model=app_models_dir / "emotion_vgg16.onnx", identity_model=model)
    analysis = fer_video.analyze_video(video, analyzer.analyze, max_frames=31,
                                 same_person=fer_video.SamePerson(model.threshold, model.distance))
    coverage = analysis.coverage
    assert coverage.whole and coverage.end_s == 89.5 and coverage.last_s == 89.5 and coverage.frames == 31
    assert coverage.note() == ("Analysed 31 frame(s), one every 2.98 s instead of every 0.50 s, so that at most "
                               "31 frames cover the whole video (0-89.5 s).")
    assert any(len(faces) == 1 for _, faces in analysis.frames)  # the member was hidden for a while
    assert len(analysis.tracks) == 2
    walking_right, walking_left = ([face.box[0] for _, face in track.observations] for track in analysis.tracks)
    assert walking_right == sorted(walking_right) and walking_right[-1] > 300
    assert walking_left == sorted(walking_left, reverse=True) and len(walking_left) == 31
    assert len(fer_video.track_faces(analysis.frames)) == 3  # by boxes alone the member is two people


def test_frames_where_one_face_embeds_elsewhere_stay_in_that_person_s_track(app_models_dir, faces_dir, tmp_path):
    # All 120 frames of the crossing video: in 7 of them the member's 41-px face is drawn with a shorter box
    # and embeds 0.77 from the rest of his track (cosine, threshold 0.54). Compared by their means alone,
    # those frames made a third person ("Face 3", 7 frames); each of them lies within 0.2 of some frame of
    # his, so the tracks are one person.
    member, stranger = photo_path(faces_dir, MEMBER, 5), photo_path(faces_dir, STRANGER, 5)
    video = crossing_video((member, stranger), tmp_path / "crossing.mp4", seconds=90.0)
    model = load_embedding_model(app_models_dir / identity_model_name())
    analyzer = FaceAnalyzer(emotion_model=app_models_dir / "emotion_vgg16.onnx", identity_model=model)
    analysis = fer_video.analyze_video(video, analyzer.analyze,
                                       same_person=fer_video.SamePerson(model.threshold, model.distance))
    assert analysis.coverage.frames == 120
    assert sorted(len(track.observations) for track in analysis.tracks) == [101, 120]


def test_tracks_are_one_person_when_most_faces_of_one_match_faces_of_the_other():
    same = fer_video.SamePerson(0.54, "cosine")
    rng = np.random.default_rng(0)
    usual, odd, other = (rng.standard_normal(128) for _ in range(3))
    person = np.stack([usual + 0.05 * rng.standard_normal(128) for _ in range(20)]
                      + [odd + 0.05 * rng.standard_normal(128) for _ in range(2)])
    odd_frames = np.stack([odd + 0.05 * rng.standard_normal(128) for _ in range(5)])
    stranger = np.stack([other + 0.05 * rng.standard_normal(128) for _ in range(5)])
    assert same.between(person.mean(axis=0), odd_frames.mean(axis=0)) > 0.54  # by their means: two people
    assert same.between_tracks(person, odd_frames) == same.between_tracks(odd_frames, person) < 0.1
    assert same.between_tracks(person, stranger) > 0.54


# ----------------------------------------------------------------------------- family, governance, explain


@pytest.fixture()
def store(tmp_path):
    from fer_core.store import FamilyStore, ScryptParams

    # Light scrypt: these tests are about the app's glue, not key derivation.
    with FamilyStore.create(tmp_path / "store", passphrase="correct horse battery",
                            scrypt=ScryptParams(n=2**10, r=8, p=1)) as opened:
        yield opened


def _enrol(store, name, embeddings):
    from datetime import datetime

    from governance import family

    record = app_enrolment.consent_from_form(name=name, given_by="", guardian=False, child=False, purpose="family photos",
                                   scope="recognition", expires_on=date(2099, 1, 1), now=datetime.now(UTC))
    return family.enroll(store, name, embeddings, record)


def test_consent_from_form_lasts_to_the_end_of_the_chosen_day():
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    record = app_enrolment.consent_from_form(name=" Ana ", given_by="Bea", guardian=True, child=True, purpose=" photos ",
                                   scope="recognition", expires_on=date(2027, 5, 1), now=now, zone=UTC)
    assert (record.subject, record.given_by, record.relation, record.purpose, record.subject_is_child) == (
        "Ana", "Bea", "guardian", "photos", True)
    assert record.expires_at == datetime(2027, 5, 1, 23, 59, 59, 999999, tzinfo=UTC)
    record.validate(now=now)
    adult = app_enrolment.consent_from_form(name="Ana", given_by="ignored", guardian=False, child=False, purpose="photos",
                                  scope="recognition", expires_on=date(2027, 5, 1), now=now)
    assert (adult.given_by, adult.relation) == ("Ana", "self")


def test_counting_recognitions_counts_faces_and_refreshes_last_seen_by_id(store, monkeypatch):
    from governance import family

    enrolled = _enrol(store, "Ana", np.ones((2, 128), np.float32))
    before = store.person(enrolled.person_id).last_seen_at
    with monkeypatch.context() as patched:
        # The faces carry the member's id: no name is decrypted or looked up to find it.
        for method in ("find_person", "people", "person", "gallery"):
            patched.setattr(store, method, lambda *a, **k: pytest.fail("a name was looked up"))
        family.count_recognitions(store, [enrolled.person_id, None])
    last = store.audit_entries()[-1]
    assert (last.event, last.details) == ("recognise", {"faces": 2, "named": 1, "unknown": 1})
    assert store.person(enrolled.person_id).last_seen_at >= before


def test_family_and_governance_tables(store):
    from governance import audit_log, consent, family

    _enrol(store, "Ana", np.ones((3, 128), np.float32))
    members = tables.members_table(family.members(store))
    assert members[["name", "consent", "expires", "given by", "scope", "face prints", "thumbnails"]].to_dict("records") == [
        {"name": "Ana", "consent": "active", "expires": "2099-01-01", "given by": "Ana (self)", "scope": "recognition",
         "face prints": 3, "thumbnails": 0}]
    ledger = tables.ledger_table(consent.ledger(store))
    assert ledger[["person", "status", "relation", "child", "purpose"]].to_dict("records") == [
        {"person": "Ana", "status": "active", "relation": "self", "child": False, "purpose": "family photos"}]
    family.purge(store, "Ana")
    log = tables.audit_table(audit_log.entries(store))
    assert log["event"].tolist()[:2] == ["purge", "enrol"] and log["event"].tolist()[-1] == "store_created"
    assert not log["who"].str.contains("Ana").any()  # erased: only "[erased] <id prefix>" remains
    assert log["who"].iloc[1].startswith("[erased] ")  # the enrol entry, sealed under the destroyed key


def test_enrolment_uses_the_picked_face_of_a_group_photo_and_says_which_photos_are_left_out(
        app_models_dir, faces_dir, group_photo):
    detect = FaceDetector(min_face_size=40).detect
    model = load_embedding_model(app_models_dir / identity_model_name())
    blank = io.BytesIO()
    Image.new("RGB", (320, 240), (120, 160, 90)).save(blank, format="PNG")
    photos = [enrolment.read_photo(photo_path(faces_dir, STRANGER, 1).read_bytes(), "serena.jpg", detect),
              enrolment.read_photo(group_photo, "two people.jpg", detect),
              enrolment.read_photo(blank.getvalue(), "lawn.png", detect),
              enrolment.read_photo(b"not a photo", "notes.jpg", detect)]
    assert [len(p.faces) for p in photos] == [1, 2, 0, 0]
    assert photos[3].image is None

    chosen, left_out = enrolment.pick_faces(photos, {})
    assert len(chosen) == 1  # the one-face photo still enrols: a group photo no longer blocks everything
    assert left_out == ["two people.jpg: 2 faces and none picked, so it is not used.",
                        "lawn.png: no face found, so it is not used.",
                        ("notes.jpg could not be read (not an image, or its header is corrupt (format not "
                         "recognised)): it is not used.")]

    # The group photo is Colin Powell (left) and Serena Williams (right): picking face 2 enrols Serena's face.
    chosen, left_out = enrolment.pick_faces(photos[:2], {"two people.jpg": 1})
    assert left_out == [] and chosen[1][1] is photos[1].faces[1]
    crops = enrolment.aligned_faces(chosen, model)
    embeddings = model.embed(crops)
    assert embeddings.shape == (2, model.embedding_dim)
    other = model.embed(enrolment.aligned_faces([(photos[1].image, photos[1].faces[0])], model))
    same_person, different = pairwise_distances(embeddings[:1], np.r_[embeddings[1:], other], model.distance)[0]
    assert same_person < different

    thumbs = enrolment.thumbnails(crops, template=model.template)
    assert len(thumbs) == 2
    assert all(Image.open(io.BytesIO(t)).format == "JPEG" and Image.open(io.BytesIO(t)).size == (96, 96) for t in thumbs)
    # Each records where the model's template lies in it, scaled from the crop to the thumbnail.
    pixels, landmarks = enrolment.thumbnail_landmarks(thumbs[0])
    assert pixels.shape == (96, 96, 3)
    np.testing.assert_allclose(landmarks, model.template * 96 / crops.shape[2], atol=1e-3)
    assert enrolment.thumbnail_landmarks(b"not a jpeg") is None
    assert photos[1].boxes[0][0] < 250 <= photos[1].boxes[1][0]  # numbered left to right
    picture = render.number_faces(photos[1].image, photos[1].boxes)
    margin = render.layout((500, 250), photos[1].boxes).margin
    assert picture.size == (500 + 2 * margin, 250 + 2 * margin) and picture.mode == "RGB"  # framed, no legend


def test_why_names_are_not_checked_depends_on_the_store():
    assert photos.names_not_checked(store_unlocked=False) == (
        "Names are not checked: unlock the family store (Family page) to recognise members.")
    assert photos.names_not_checked(store_unlocked=True) == "Names are not checked: nobody is enrolled yet (Family page)."
    assert photos.names_not_checked(store_unlocked=False, store_exists=False) == (
        "Names are not checked: there is no family store yet. Create it on the Family page to name members.")


def test_explain_photo_face_gives_one_heatmap_per_emotion_around_the_face(analyzer, app_models_dir, group_photo):
    from governance.explain import load_cam_model

    result = photos.analyze_photo(group_photo, "group.jpg", analyzer.analyze, recognition=False)
    face = result.faces[1]
    maps = explain_view.explain_photo_face(load_cam_model(app_models_dir / "emotion_vgg16.onnx"), result.image, face,
                                  analyzer.emotion_model.template)
    assert [m.emotion for m in maps] == list(face.emotion_probs)
    assert [m.probability for m in maps] == pytest.approx(list(face.emotion_probs.values()), abs=1e-5)
    _x, _y, w, h = face.box
    for m in maps:
        assert m.picture.dtype == np.uint8 and m.picture.shape[2] == 3
        assert w < m.picture.shape[1] <= 1.7 * w + 2 and h < m.picture.shape[0] <= 1.7 * h + 2


def _explained_on_the_whole_photo(cam, photo, face, template, emotion, shape, margin=0.35):
    """What explain_photo_face showed before it drew on the picture only: the heatmap carried back over the whole
    photo, the photo blended with it, then cut around the face box and shrunk to `shape` (h, w)."""
    import cv2

    from fer_core.alignment import align
    from governance.explain import explain_face, heatmap_to_photo, overlay

    aligned = align(photo, face.landmarks, template, cam.input_size)
    heat = heatmap_to_photo(explain_face(cam, aligned.crop).heatmap(emotion), aligned.matrix, photo.shape)
    x, y, w, h = face.box
    top, bottom = max(0, int(y - margin * h)), min(photo.shape[0], int(np.ceil(y + h + margin * h)))
    left, right = max(0, int(x - margin * w)), min(photo.shape[1], int(np.ceil(x + w + margin * w)))
    shown = overlay(photo[top:bottom, left:right], heat[top:bottom, left:right])
    return shown if shown.shape[:2] == shape else cv2.resize(shown, shape[::-1], interpolation=cv2.INTER_AREA)


def test_explain_photo_face_draws_the_maps_on_the_shown_picture_only_on_a_big_photo(analyzer, app_models_dir,
                                                                                    faces_dir):
    import tracemalloc

    import cv2

    from governance.explain import load_cam_model

    cam = load_cam_model(app_models_dir / "emotion_vgg16.onnx")
    template = analyzer.emotion_model.template
    small = np.asarray(Image.open(photo_path(faces_dir, MEMBER, 5)).convert("RGB"))
    face = analyzer.analyze(small)[0]
    # A small face in a 6000x4000 photo: the maps were warped and coloured over all 24 MP (2.8 GB, 11 s).
    photo = np.zeros((4000, 6000, 3), np.uint8)
    photo[3000:3250, 5000:5250] = small
    x, y, w, h = face.box
    far = dataclasses.replace(face, box=(x + 5000, y + 3000, w, h), landmarks=face.landmarks + [5000, 3000])
    explain_view.explain_photo_face(cam, photo, far, template)  # the layer session is built once, outside
    tracemalloc.start()
    try:
        maps = explain_view.explain_photo_face(cam, photo, far, template)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100e6
    assert max(maps[0].picture.shape[:2]) < render.DISPLAY_MAX_SIDE
    reference = _explained_on_the_whole_photo(cam, photo, far, template, face.emotion, maps[0].picture.shape[:2])
    # The same picture: OpenCV before 5.1 warps a region and the whole photo a level or two apart at a few
    # pixels (4.13: 50 of 82797 values, 5.0: 11, by 2 at most); 5.1 gives the same values.
    apart = np.abs(maps[[m.emotion for m in maps].index(face.emotion)].picture.astype(int) - reference)
    assert apart.max() <= 2 and np.count_nonzero(apart) < 1e-3 * apart.size

    # A face larger than the screen: the picture is shrunk to DISPLAY_MAX_SIDE, the heat where it was.
    scale = 10
    large = cv2.resize(small, (250 * scale, 250 * scale), interpolation=cv2.INTER_CUBIC)
    big_face = dataclasses.replace(face, box=tuple(v * scale for v in face.box),
                                   landmarks=(face.landmarks + 0.5) * scale - 0.5)
    maps = explain_view.explain_photo_face(cam, large, big_face, template)
    for m in maps:
        assert max(m.picture.shape[:2]) == render.DISPLAY_MAX_SIDE
        reference = _explained_on_the_whole_photo(cam, large, big_face, template, m.emotion, m.picture.shape[:2])
        assert np.abs(reference.astype(int) - m.picture).mean() < 1.0


def test_bias_audit_report_and_its_tables(fer4_dir, tmp_path, app_models_dir):
    manifest = tmp_path / "audit.csv"
    rows = ["path,label"] + [f"{p},{folder.name}" for folder in sorted((fer4_dir / "test").iterdir())
                             for p in sorted(folder.iterdir())[:10]]
    manifest.write_text("\n".join(rows) + "\n")
    report = bias_upload.bias_audit_report(manifest, model=app_models_dir / "emotion_vgg16.onnx", min_group_size=5,
                                           gap_threshold=0.05, n_boot=100)
    assert report.audit.size == 40
    assert report.html.startswith("<!DOCTYPE html>") and json.loads(report.json)["size"] == 40
    assert len(pd.read_csv(io.BytesIO(report.rows_csv))) == 40
    overall = bias_upload.bias_overall_table(report.audit)
    assert "accuracy" in overall["metric"].tolist()
    assert ((overall["low"] <= overall["value"]) & (overall["value"] <= overall["high"])).all()
    assert list(bias_upload.bias_flags_table(report.audit).columns) == ["column", "group", "metric", "size", "gap", "low", "high"]


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_an_uploaded_audit_set_is_unpacked_where_it_starts_and_deleted_afterwards():
    with bias_upload.unpacked_audit_set(_zip({"set/happy/a.png": b"A", "set/sad/b.png": b"B"}), "faces.zip") as set_:
        root = set_.path
        assert root.name == "set" and sorted(p.name for p in root.iterdir()) == ["happy", "sad"]
        assert root.parent == set_.folder and set_.name == "faces.zip"
    assert not set_.folder.exists()
    manifest = _zip({"audit.csv": b"path,label\nfaces/a.png,happy\n", "faces/a.png": b"A", "__MACOSX/x": b""})
    with bias_upload.unpacked_audit_set(manifest, "manifest.zip") as set_:
        root = set_.path
        assert root.name == "audit.csv" and (root.parent / "faces" / "a.png").read_bytes() == b"A"


def test_an_uploaded_audit_sets_report_names_the_upload_never_the_temporary_folder(fer4_dir, app_models_dir):
    # The report, its JSON and its rows gave every path in the temporary folder the zip was unpacked into (deleted
    # by then; on Windows under the account's own folder): "/tmp/unveil-audit-set-pi7em2x6/faces/happy/a.jpg".
    files = {f"faces <&>/{folder.name}/{p.name}": p.read_bytes()
             for folder in sorted((fer4_dir / "test").iterdir()) for p in sorted(folder.iterdir())[:6]}
    with bias_upload.unpacked_audit_set(_zip(files), "Quenby faces.zip") as unpacked:
        report = bias_upload.bias_audit_report(unpacked, model=app_models_dir / "emotion_vgg16.onnx",
                                               min_group_size=5, gap_threshold=0.05, n_boot=100)
        folder = str(unpacked.folder)
    rows = pd.read_csv(io.BytesIO(report.rows_csv))
    assert sorted(rows["path"]) == sorted(f"Quenby faces.zip/{name}" for name in files)
    assert json.loads(report.json)["context"]["audit_set"] == "Quenby faces.zip/faces <&>"
    assert "<td>audit set</td><td>Quenby faces.zip/faces &lt;&amp;&gt;</td>" in report.html
    assert not any(folder in text or "unveil-audit-set-" in text
                   for text in (report.html, report.json.decode(), report.rows_csv.decode()))


def test_an_audit_zip_that_is_broken_or_escapes_its_folder_is_refused_with_nothing_unpacked(monkeypatch):
    from governance.bias_audit import AuditError, load_audit_set

    with pytest.raises(bias_upload.AuditUploadError) as caught, bias_upload.unpacked_audit_set(b"not a zip", "notes.zip"):
        pass
    assert str(caught.value) == "notes.zip is not a readable zip archive (File is not a zip file). Nothing was unpacked."
    with pytest.raises(bias_upload.AuditUploadError) as caught, bias_upload.unpacked_audit_set(_zip({"../evil.png": b"x"}), "a.zip"):
        pass
    assert str(caught.value) == "a.zip holds a path that leads outside the archive (../evil.png). Nothing was unpacked."
    monkeypatch.setattr(bias_upload, "AUDIT_ZIP_MAX_BYTES", 1024**2)
    big = _zip({"happy/a.png": bytes(3 * 1024**2)})
    with pytest.raises(bias_upload.AuditUploadError) as caught, bias_upload.unpacked_audit_set(big, "big.zip"):
        pass
    assert str(caught.value) == ("big.zip would unpack to 3 MB, over the 1 MB an audit set may take. "
                                 "Nothing was unpacked.")
    with pytest.raises(AuditError) as caught, bias_upload.unpacked_audit_set(_zip({"notes.txt": b"x"}), "notes.zip") as set_:
        load_audit_set(set_.path)
    assert str(caught.value) == "audit set notes.zip has no images in <class>/ sub-folders"


def _with_header_field(data: bytes, local: int, central: int, value: int) -> bytes:
    """A one-entry zip with a 2-byte field of its local header (at `local`) and its central directory
    header (at `central`) set to `value`: what zipfile reads, whatever it would write itself."""
    out = bytearray(data)
    start = out.index(b"PK\x01\x02")
    out[local:local + 2] = out[start + central:start + central + 2] = value.to_bytes(2, "little")
    return bytes(out)


def test_an_audit_zip_with_a_password_or_an_unknown_compression_is_refused_with_a_message():
    plain = _zip({"happy/a.png": b"A"})
    locked = _with_header_field(plain, 6, 8, 0x1)  # general purpose flags: bit 0, encrypted
    with pytest.raises(bias_upload.AuditUploadError) as caught, bias_upload.unpacked_audit_set(locked, "locked.zip"):
        pass
    assert str(caught.value) == bias_upload.AUDIT_ZIP_ENCRYPTED.format(name="locked.zip", member="happy/a.png")
    packed = _with_header_field(plain, 8, 10, 98)  # compression method 98: PPMd, which zipfile cannot unpack
    with pytest.raises(bias_upload.AuditUploadError) as caught, bias_upload.unpacked_audit_set(packed, "ppmd.zip"):
        pass
    assert str(caught.value) == bias_upload.AUDIT_ZIP_METHOD.format(
        name="ppmd.zip", reason="That compression method is not supported")


def test_bias_coverage_never_reassures_when_nothing_was_compared(fer4_dir, tmp_path, app_models_dir):
    from governance.bias_audit import NOTHING_COMPARED

    rows = ["path,label"] + [f"{p},{folder.name}" for folder in sorted((fer4_dir / "test").iterdir())
                             for p in sorted(folder.iterdir())[:10]]
    (tmp_path / "audit.csv").write_text("\n".join(rows) + "\n")
    report = bias_upload.bias_audit_report(tmp_path / "audit.csv", model=app_models_dir / "emotion_vgg16.onnx",
                                   min_group_size=100, gap_threshold=0.05, n_boot=100)
    said, compared, sentences = bias_upload.bias_coverage(report.audit)
    assert said == NOTHING_COMPARED.format(min_size=100) and not compared
    assert len(sentences) == len(report.audit.columns) and all(": not compared, because " in s for s in sentences)


def test_model_cards_are_read_from_the_models_folder(tmp_path):
    (tmp_path / "b_model.md").write_text("# B\n")
    (tmp_path / "a_model.md").write_text("# A\n")
    (tmp_path / "a_model.onnx").write_bytes(b"")
    assert tables.model_cards(tmp_path) == [("a_model", "# A\n"), ("b_model", "# B\n")]


def test_options_that_read_alike_are_numbered_apart_without_renaming_those_before():
    from governance.kept_results import KeptResult

    assert tables.distinct(["camera.jpg", "a.jpg", "camera.jpg", "camera.jpg"]) == [
        "camera.jpg", "a.jpg", "2: camera.jpg", "3: camera.jpg"]
    assert tables.distinct(["x.jpg", "2: x.jpg", "x.jpg"]) == ["x.jpg", "2: x.jpg", "3: x.jpg"]
    face = {"source": "camera.jpg", "face": 1, "emotion": "happy"}
    older, newer, other = (KeptResult(rid, datetime(2026, 3, 1, 9, 30, second, tzinfo=UTC), [face], ())
                           for rid, second in (("id-older", 5), ("id-newer", 40), ("id-other", 50)))
    other = dataclasses.replace(other, faces=[face | {"source": "b.jpg"}])
    # Newest first, as governance.kept_results.kept gives them; numbered in the order they were kept.
    assert tables.kept_labels([other, newer, older]) == {
        "id-older": "2026-03-01 09:30 UTC: camera.jpg (1 face)",
        "id-newer": "2: 2026-03-01 09:30 UTC: camera.jpg (1 face)",
        "id-other": "2026-03-01 09:30 UTC: b.jpg (1 face)"}


def test_the_retention_form_shows_the_stored_days_and_allows_what_governance_allows(store):
    from governance import retention

    assert tables.retention_days_shown("analyses", 0) == 0  # 0 days is a choice, not "unset"
    assert tables.retention_days_shown("thumbnails", 12) == 12
    assert tables.retention_days_shown("thumbnails", None) == retention.DEFAULT_DAYS["thumbnails"]
    assert set(tables.RETENTION_MIN_DAYS) == set(retention.KINDS)
    for kind, fewest in tables.RETENTION_MIN_DAYS.items():
        retention.set_policy(store, kind, fewest)
        if fewest:
            with pytest.raises(retention.RetentionError):
                retention.set_policy(store, kind, fewest - 1)
    assert retention.policy(store) == tables.RETENTION_MIN_DAYS


def test_counts_and_deletion_receipts_read_as_words():
    from governance.erasure import ErasureReceipt

    assert tables.counted({"people": 1, "embeddings": 4, "analyses": 1, "audit": 2}) == (
        "1 member, 4 face prints, 1 kept result, 2 audit entries")
    assert tables.counted({"consent_expired": 1, "thumbnails": 0, "analyses": 3}, skip_zero=True) == (
        "1 member whose consent expired, 3 kept results")
    receipt = ErasureReceipt(subject="0123456789abcdef", reason="consent withdrawn", erased_at="2026-12-04T05:06:07+00:00",
                             records={"person": 1, "embeddings": 3, "thumbnails": 0, "consents": 1, "analyses": 1,
                                      "data_key": 1}, digest="ab" * 32, audit_seq=12, storage_scrubbed=True)
    assert tables.receipt_text("Serena", receipt) == "\n".join([
        "**Deletion receipt**: Serena (id 01234567...)",
        "- Reason: consent withdrawn; erased at 2026-12-04 05:06:07 UTC",
        "- Deleted: 1 member, 3 face prints, 0 thumbnails, 1 consent record, 1 kept result, 1 data key",
        f"- Logged as audit entry 12, with this receipt's SHA-256: `{'ab' * 32}`",
        "- Freed storage overwritten: yes", tables.RECEIPT_REACH, tables.RECEIPT_CHECK])
    assert receipt.file_name() == "unveil_deletion_receipt_20261204-050607_01234567.json"


def test_a_sweep_reads_as_words_with_its_time_written_as_the_receipts():
    from governance.retention import SweepReport

    removed = {"consent_expired": 1, "consent_missing": 0, "unseen_people": 0, "thumbnails": 2, "analyses": 0}
    report = SweepReport(ran_at="2026-12-06T15:44:32+00:00", removed=removed)
    assert tables.sweep_text(report) == tables.SWEPT.format(
        ran_at="2026-12-06 15:44:32 UTC", removed="1 member whose consent expired, 2 thumbnails")
    nothing = SweepReport(ran_at="2026-12-06T15:44:32+00:00", removed=dict.fromkeys(removed, 0))
    assert tables.sweep_text(nothing) == "Sweep at 2026-12-06 15:44:32 UTC: removed nothing."


def test_explain_methods_offer_the_measured_faithful_first_and_say_which_to_distrust(app_models_dir):
    from governance.explain import DEFAULT_METHOD, METHODS, measured_faithfulness

    model = app_models_dir / "emotion_vgg16.onnx"
    choices, problem = explain_view.method_choices(model)
    assert problem is None and sorted(c.method for c in choices) == sorted(METHODS)
    rank = [{True: 0, None: 1, False: 2}[c.trusted] for c in choices]
    assert rank == sorted(rank)
    measured = measured_faithfulness(model)
    for choice in choices:
        if choice.method not in measured:
            assert (choice.trusted, choice.note) == (None, explain_view.NOT_MEASURED)
            assert choice.summary == explain_view.NOT_MEASURED_SUMMARY
        elif measured[choice.method].worse_than_random:
            assert choice.label.endswith("less faithful than random here") and "Do not read this map" in choice.note
            assert choice.summary == explain_view.UNTRUSTED_SUMMARY
        elif measured[choice.method].beats_random:
            assert choice.summary == explain_view.TRUSTED_SUMMARY and "deletion AUC" in choice.note
        else:
            assert choice.summary == explain_view.UNSURE_SUMMARY
    if measured:  # the shipped model: the app's default method must be one measured faithful on it
        assert choices[0].method == DEFAULT_METHOD and choices[0].trusted


def test_an_unreadable_card_leaves_every_explain_method_offered_as_not_measured(tmp_path):
    from governance.explain import CARD_UNREADABLE
    from tests.support.bias_audit import write_brightness_model

    model = write_brightness_model(tmp_path / "emotion.onnx", version="1.0")
    model.with_suffix(".json").write_bytes(b"\xff\xfe not a card")
    choices, problem = explain_view.method_choices(model)
    assert problem.startswith(CARD_UNREADABLE.format(path=model.with_suffix(".json"), reason=""))
    assert [(c.method, c.trusted) for c in choices] == [(m, None) for m in explain_view.METHOD_LABELS]


def test_an_unexpected_error_is_logged_without_what_was_done_or_its_message(caplog):
    # The page says what was being done ("Enrolling Ana Silva"); the server log gets only the error's type
    # and where it was raised: both the action and a message can hold a member's name or a file name.
    from unveil.app import widgets

    name = "".join(["Ana", " ", "Silva"])  # not written out: the traceback quotes the source line
    with caplog.at_level("ERROR", logger="unveil.app"), widgets.friendly_errors(f"Enrolling {name}"):
        raise KeyError(name)
    [record] = [r for r in caplog.records if r.name == "unveil.app"]  # Streamlit warns of its own on a first use
    assert name not in record.getMessage()
    assert record.getMessage().startswith("unexpected KeyError in a page, raised at:\n")
    assert "test_an_unexpected_error_is_logged_without_what_was_done_or_its_message" in record.getMessage()
    assert record.exc_info is None  # a logged traceback would end with the message
