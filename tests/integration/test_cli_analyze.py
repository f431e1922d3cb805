"""`unveil analyze` on a small folder of real photos that also holds a corrupt and a non-image file."""
from __future__ import annotations

import csv
import errno
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from fer_core import ModelError, images, render, video
from fer_core.analyzer import FaceAnalyzer
from fer_core.images import CANNOT_BE_READ, NOT_AN_IMAGE
from tests.support import photo_files
from tests.support.app import PUBLIC_DOMAIN
from tests.support.household_videos import webm_as_recorded_live
from tests.support.paths import REPO
from tests.support.phone_metadata import carried, with_phone_metadata
from unveil.cli import EXIT_BROKEN_PIPE, main
from unveil.cli._resume import NOT_CSV_ROW, NOT_JSON_LINE, NOT_UTF_8, OTHER_COLUMNS  # noqa: PLC2701 (the messages under test)
from unveil.cli.analyze import (
    ANNOTATE_OVER_PHOTO,
    ANNOTATION_NOT_WRITTEN,
    ANNOTATION_RENAMED,
    APPLE_DOUBLE_LEFT_OUT,
    BROKEN_LINK,
    CANNOT_WRITE,
    ERROR_COLUMNS,
    EXIT_STATUSES,
    FOLDER_MISSING,
    FRAMES_NOT_READ,
    IS_A_PHOTO,
    JOBS_TOO_FEW,
    LINK_LOOP,
    MIN_FACE_SIZE_INVALID,
    NOT_A_FILE,
    NOT_READ_HEADER,
    OWN_COPIES_NOT_SEARCHED,
    PAGES_NOT_READ,
    PICTURES_NOT_READ,
    READ_WITH_PROBLEM_HEADER,
    REASON_A_VIDEO,
    REASON_ANNOTATION_NOT_WRITTEN,
    REASON_ANNOTATION_RENAMED,
    REASON_BROKEN_LINK,
    REASON_FOLDER_LOOP,
    REASON_LINK_LOOP,
    REASON_NOT_A_FILE,
    REASON_REPEATED_FOLDER,
    REASON_UNREADABLE_FOLDER,
    REPEATED_FOLDER,
    RESUME_HINT,
    RESUME_NEEDS_OUTPUT,
    RESUME_NOT_GIVEN,
    RESUME_REFUSED,
    SAME_AS_OUTPUT,
    STOPPED_AFTER,
    SUMMARY,
    SUMMARY_RESUMED,
    UNREADABLE_FOLDER,
    UNREADABLE_IMAGE,
    VIDEO_SUFFIXES,
    WRITE_REFUSED,
)


@pytest.fixture
def album(tmp_path, faces_dir):
    root = tmp_path / "album"
    (root / "party").mkdir(parents=True)
    shutil.copy(faces_dir / "Colin_Powell" / "Colin_Powell_0001.jpg", root / "powell.jpg")
    shutil.copy(faces_dir / "Halle_Berry" / "Halle_Berry_0001.jpg", root / "party" / "berry.JPG")
    sky = np.linspace(90, 200, 120 * 160 * 3).reshape(120, 160, 3).astype(np.uint8)
    Image.fromarray(sky).save(root / "party" / "sky.png")  # no face
    data = (faces_dir / "Tiger_Woods" / "Tiger_Woods_0001.jpg").read_bytes()
    (root / "party" / "cut.jpg").write_bytes(data[: len(data) // 3])  # corrupt: truncated transfer
    (root / "notes.png").write_text("not a picture")
    (root / "readme.txt").write_text("ignored: not an image suffix")
    return root


def _run(capsys, *args) -> tuple[int, str, str]:
    code = main(["analyze", *map(str, args), "--no-progress"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_jsonl_lists_each_photo_and_the_bad_files_at_the_end(album, tiny_emotion_onnx, capsys):
    code, out, err = _run(capsys, album, "--emotion-model", tiny_emotion_onnx)
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    by_source = {line["source"]: line for line in lines}
    assert sorted(by_source) == sorted(str(album / p) for p in ("powell.jpg", "party/berry.JPG", "party/sky.png"))
    powell = by_source[str(album / "powell.jpg")]
    assert (powell["width"], powell["height"]) == (250, 250)
    assert len(powell["faces"]) == 1
    face = powell["faces"][0]
    assert face["face"] == 1 and face["emotion"] in ("happy", "neutral", "sad", "surprise")
    assert set(face) >= {"x", "y", "w", "h", "score", "p_happy", "p_neutral", "p_sad", "p_surprise"}
    assert by_source[str(album / "party" / "sky.png")]["faces"] == []
    assert err.splitlines() == [
        "2 of 5 could not be read:",
        f"  {album / 'notes.png'}: not an image, or its header is corrupt (format not recognised)",
        f"  {album / 'party' / 'cut.jpg'}: truncated (the file ends before the image data does)",
        SUMMARY.format(analysed=3, not_read=2, noted=0),
    ]


@pytest.mark.parametrize("options", [(), ("--min-face-size", "30")])
def test_a_photo_cropped_close_around_a_face_is_read_with_or_without_a_minimum_face_size(
        tmp_path, tiny_emotion_onnx, capsys, options):
    # MTCNN alone finds no face in this portrait cut 5% inside its face box (fer_core.detection's tight-crop
    # retry reads it); a smaller minimum face must not turn the retry off.
    rgb = np.asarray(Image.open(PUBLIC_DOMAIN / "grace_hopper.jpg").convert("RGB"))
    crop = rgb[126:316, 189:340]  # inside the box (181, 115, 168, 212) that MTCNN finds in the whole portrait
    Image.fromarray(crop).save(tmp_path / "avatar.png")
    code, out, _ = _run(capsys, tmp_path / "avatar.png", "--emotion-model", tiny_emotion_onnx, *options)
    assert code == 0
    (line,) = [json.loads(text) for text in out.splitlines()]
    assert len(line["faces"]) == 1


def test_csv_to_a_file_with_annotated_copies(album, tiny_emotion_onnx, tmp_path, capsys):
    out_csv, annotated = tmp_path / "faces.csv", tmp_path / "annotated"
    code, out, _ = _run(capsys, album, "-o", out_csv, "--annotate", annotated,
                        "--emotion-model", tiny_emotion_onnx, "--jobs", "2")
    assert code == 0 and out == ""
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    assert list(rows[0]) == ["source", "face", "x", "y", "w", "h", "score", "emotion",
                             "p_happy", "p_neutral", "p_sad", "p_surprise", "bytes", "modified"]
    assert [(r["source"].removeprefix(str(album)), r["face"]) for r in rows] == [
        ("/party/berry.JPG", "1"), ("/party/sky.png", "0"), ("/powell.jpg", "1")]
    assert rows[1]["emotion"] == ""  # the photo without a face
    copies = sorted(p.relative_to(annotated).as_posix() for p in annotated.rglob("*.*"))
    assert copies == ["album/party/berry.JPG", "album/party/sky.png", "album/powell.jpg"]
    with Image.open(annotated / "album" / "powell.jpg") as image:
        # the 250x250 photo framed by a margin one number high, with the legend beside it
        margin = render.layout((250, 250), [(0, 0, 1, 1)]).margin
        assert image.height == 250 + 2 * margin and image.width > 250 + 2 * margin


def test_annotated_copies_carry_none_of_the_photos_metadata(album, tiny_emotion_onnx, tmp_path, capsys):
    # A phone photo's EXIF (GPS, serial, capture time, the thumbnail of the uncropped original), XMP face names,
    # ICC profile, IPTC caption and comment stay with the photo: copies, JPEG or PNG, are drawn from its pixels.
    (album / "party" / "cut.jpg").unlink()
    for path in (album / "powell.jpg", album / "party" / "berry.JPG"):
        path.write_bytes(with_phone_metadata(path.read_bytes()))
    annotated = tmp_path / "annotated"
    code, _, _ = _run(capsys, album, "-o", tmp_path / "faces.jsonl", "--annotate", annotated,
                      "--emotion-model", tiny_emotion_onnx)
    assert code == 0
    made = [annotated / "album" / "powell.jpg", annotated / "album" / "party" / "berry.JPG", tmp_path / "faces.jsonl"]
    assert [carried(path.read_bytes()) for path in made] == [[], [], []]
    for copy in made[:2]:
        with Image.open(copy) as image:
            assert not image.getexif() and not {"exif", "xmp", "icc_profile", "comment"} & set(image.info)


def test_every_output_is_made_readable_by_its_owner_only_whatever_the_umask(album, tiny_emotion_onnx, tmp_path, capsys):
    # Under the usual umask of 022 (002 where each user has a group of their own) open() and mkdir() made them
    # readable by every user of the machine: emotions, face boxes and the annotated faces of the photos analysed.
    out, errors, annotated = tmp_path / "out" / "faces.jsonl", tmp_path / "out" / "errors.csv", tmp_path / "ann" / "copies"
    out.parent.mkdir(mode=0o700)
    previous = os.umask(0o002)
    try:
        code, _, _ = _run(capsys, album, "-o", out, "--errors", errors, "--annotate", annotated,
                          "--emotion-model", tiny_emotion_onnx)
    finally:
        os.umask(previous)
    assert code == 0
    made = [out, errors, *annotated.rglob("*")]
    assert len(made) == 2 + 2 + 3  # the two files, album/ and album/party/, three copies
    assert {path.name: oct(path.stat().st_mode & 0o777) for path in made} == {
        path.name: oct(0o700 if path.is_dir() else 0o600) for path in made}
    assert annotated.stat().st_mode & 0o777 == 0o700 and annotated.parent.stat().st_mode & 0o777 == 0o700


def test_exit_status_is_1_only_when_nothing_could_be_read(album, tiny_emotion_onnx, capsys):
    code, out, err = _run(capsys, album / "notes.png", album / "party" / "cut.jpg", album / "gone.jpg",
                          "--emotion-model", tiny_emotion_onnx)
    assert code == 1 and out == ""
    assert err.splitlines()[0] == "3 of 3 could not be read:"
    assert f"  {album / 'gone.jpg'}: no such file or folder" in err.splitlines()


def test_a_missing_model_is_one_clear_line(album, tmp_path, capsys):
    code, _, err = _run(capsys, album, "--emotion-model", tmp_path / "none.onnx")
    assert code == 1
    assert err == f"unveil analyze: model file not found: {tmp_path / 'none.onnx'}\n"


# --- options refused before anything is read or written: one line, exit status 2 ----------------


def test_unusable_options_are_one_line_and_status_2(album, tmp_path, capsys):
    missing = tmp_path / "no such folder"
    cases = [
        (("-o", missing / "faces.csv"), FOLDER_MISSING.format(option="--output", path=missing / "faces.csv",
                                                              folder=missing)),
        (("--errors", missing / "errors.csv"), FOLDER_MISSING.format(option="--errors", path=missing / "errors.csv",
                                                                     folder=missing)),
        (("-o", tmp_path), CANNOT_WRITE.format(option="--output", path=tmp_path, detail="it is a folder")),
        (("--min-face-size", "5"), MIN_FACE_SIZE_INVALID.format(minimum=12, value="5")),
        (("--min-face-size", "nan"), MIN_FACE_SIZE_INVALID.format(minimum=12, value="nan")),
        (("--min-face-size", "inf"), MIN_FACE_SIZE_INVALID.format(minimum=12, value="inf")),
        (("--jobs", "0"), JOBS_TOO_FEW),
    ]
    for options, message in cases:
        code, out, err = _run(capsys, album, *options)
        assert (code, out, err) == (2, "", message + "\n")
    assert not missing.exists()


# --- nothing is passed over in silence --------------------------------------------------------


@pytest.fixture
def odd_album(tmp_path, faces_dir, monkeypatch):
    """A folder with every kind of path a folder run cannot read, and a 3-page TIFF."""
    root = tmp_path / "odd"
    (root / "party").mkdir(parents=True)
    (root / "locked").mkdir()
    shutil.copy(faces_dir / "Colin_Powell" / "Colin_Powell_0001.jpg", root / "party" / "powell.jpg")
    (root / "party" / "up").symlink_to("..")  # back to the folder it is in
    (root / "zz_party").symlink_to("party")  # a second way into a folder
    (root / "gone.jpg").symlink_to("deleted.jpg")
    (root / "loop.jpg").symlink_to("loop.jpg")
    os.mkfifo(root / "pipe.jpg")
    with Image.open(faces_dir / "Halle_Berry" / "Halle_Berry_0001.jpg") as face:
        blank = Image.new("RGB", face.size, (255, 255, 255))
        face.save(root / "scan.tif", save_all=True, append_images=[blank, blank])
    # Tests run as root here, for whom no folder is unreadable: refuse this one as the kernel would.
    scandir = os.scandir

    def refusing_scandir(path):
        if Path(path) == root / "locked":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing_scandir)
    return root


def test_every_path_not_read_is_listed_with_its_kind_and_reason(odd_album, tmp_path, capsys):
    errors = tmp_path / "errors.csv"
    code, out, err = _run(capsys, odd_album, "--errors", errors)
    assert code == 0
    assert [json.loads(line)["source"] for line in out.splitlines()] == [
        str(odd_album / "party" / "powell.jpg"), str(odd_album / "scan.tif")]
    expected = [
        (odd_album / "gone.jpg", BROKEN_LINK, REASON_BROKEN_LINK.format(target="deleted.jpg")),
        (odd_album / "locked", UNREADABLE_FOLDER, REASON_UNREADABLE_FOLDER.format(detail="Permission denied")),
        (odd_album / "loop.jpg", LINK_LOOP, REASON_LINK_LOOP),
        (odd_album / "party" / "up", LINK_LOOP, REASON_FOLDER_LOOP.format(folder=odd_album)),
        (odd_album / "pipe.jpg", NOT_A_FILE, REASON_NOT_A_FILE.format(kind="FIFO")),
        (odd_album / "zz_party", REPEATED_FOLDER, REASON_REPEATED_FOLDER.format(folder=odd_album / "party")),
        (odd_album / "scan.tif", PAGES_NOT_READ, "only page 1 of its 3 pages was analysed"),
    ]
    assert err.splitlines() == [
        NOT_READ_HEADER.format(count=6, total=8),
        *(f"  {path}: {reason}" for path, _, reason in expected[:6]),
        READ_WITH_PROBLEM_HEADER.format(count=1),
        f"  {expected[6][0]}: {expected[6][2]}",
        SUMMARY.format(analysed=2, not_read=6, noted=1),
    ]
    with open(errors, newline="", encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    assert rows == [list(ERROR_COLUMNS), *([str(path), kind, reason] for path, kind, reason in expected)]


def test_the_frames_of_an_animation_and_the_pictures_of_an_mpo_not_read_are_listed(tmp_path, faces_dir, capsys):
    """An animated GIF, WebP or PNG and a multi-picture JPEG gave their first picture's faces, and nothing said the
    rest was not read (a multi-page TIFF's pages were listed); a camera JPEG with its preview has nothing left out."""
    photo = Image.open(faces_dir / "Colin_Powell" / "Colin_Powell_0001.jpg").convert("RGB")
    made = photo_files.files(np.asarray(photo))
    root = tmp_path / "album"
    root.mkdir()
    for name, kind in (("moving.gif", "GIF, 2 frames"), ("sticker.webp", "WebP, 2 frames"),
                       ("moving.png", "APNG, 2 frames"), ("stereo.jpg", "MPO (2 pictures)")):
        (root / name).write_bytes(made[kind][0])
    (root / "camera.jpg").write_bytes(photo_files.with_preview(photo))
    video_page = images.FRAMES_NOT_READ.format(count=2) + images.FRAMES_ON_THE_VIDEO_PAGE
    expected = [
        (root / "moving.gif", FRAMES_NOT_READ, video_page),
        (root / "moving.png", FRAMES_NOT_READ, "only frame 1 of its 2 frames was analysed"),
        (root / "stereo.jpg", PICTURES_NOT_READ, images.PICTURES_NOT_READ.format(count=2)),
        (root / "sticker.webp", FRAMES_NOT_READ, video_page),
    ]
    errors = tmp_path / "errors.csv"
    code, out, err = _run(capsys, root, "--errors", errors)
    assert code == 0 and len(out.splitlines()) == 5
    assert err.splitlines() == [READ_WITH_PROBLEM_HEADER.format(count=4),
                                *(f"  {path}: {reason}" for path, _, reason in expected),
                                SUMMARY.format(analysed=5, not_read=0, noted=4)]
    with open(errors, newline="", encoding="utf-8") as stream:
        assert list(csv.reader(stream)) == [list(ERROR_COLUMNS), *([str(p), k, r] for p, k, r in expected)]
    assert (FRAMES_NOT_READ, PICTURES_NOT_READ) == ("frames_not_read", "pictures_not_read")


def test_a_file_name_cannot_write_control_characters_to_the_terminal(tmp_path, capsys):
    """A name with a line break and an ANSI escape once faked a line of the summary and coloured the rest."""
    root = tmp_path / "album"
    root.mkdir()
    forged = root / "x.jpg: fine\n  \x1b[2Jother\u202egpj.jpg"
    forged.write_text("not a picture")
    code, _, err = _run(capsys, root)
    assert code == 1 and err.splitlines() == [  # the name's line break is not a line of the summary
        NOT_READ_HEADER.format(count=1, total=1),
        f"  {root}/x.jpg: fine\\n  \\x1b[2Jother\\u202egpj.jpg: {NOT_AN_IMAGE}",
        SUMMARY.format(analysed=0, not_read=1, noted=0)]


def test_a_video_named_explicitly_is_said_to_be_a_video_for_the_app_s_video_page(tmp_path, capsys):
    # It was 'not an image, or its header is corrupt (format not recognised)', of a video a phone plays.
    clip = tmp_path / "birthday.MP4"
    clip.write_bytes(webm_as_recorded_live(1.0))  # any video: the command reads its name and Pillow's verdict
    photo = tmp_path / "renamed.mp4"
    Image.new("RGB", (40, 30), (90, 90, 90)).save(photo, format="PNG")  # a photo named like a video is still read
    code, out, err = _run(capsys, clip, photo, "--errors", tmp_path / "errors.csv")
    assert code == 0 and [json.loads(line)["source"] for line in out.splitlines()] == [str(photo)]
    assert err.splitlines() == [NOT_READ_HEADER.format(count=1, total=2), f"  {clip}: {REASON_A_VIDEO}",
                                SUMMARY.format(analysed=1, not_read=1, noted=0)]
    assert REASON_A_VIDEO == "a video, not a photo: the app's Video page analyses videos (unveil app)"
    with open(tmp_path / "errors.csv", newline="") as rows:
        assert [(r["error"], r["reason"]) for r in csv.DictReader(rows)] == [(UNREADABLE_IMAGE, REASON_A_VIDEO)]


def test_the_videos_the_command_names_are_those_the_app_takes():
    assert VIDEO_SUFFIXES == {f".{suffix}" for suffix in video.VIDEO_SUFFIXES}


def test_one_bad_file_or_an_unwritable_annotate_folder_does_not_stop_the_run(album, tmp_path, capsys):
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "a" * 2_000_000, zip=True)  # 2 KB on disk, past Pillow's 1 MB text limit inflated
    Image.new("RGB", (64, 48)).save(album / "comment.png", pnginfo=info)
    blocker = tmp_path / "annotated"
    blocker.write_text("a file where the annotate folder should be")
    errors = tmp_path / "errors.csv"
    code, out, err = _run(capsys, album, "--annotate", blocker, "--errors", errors)
    assert code == 0 and len(out.splitlines()) == 3  # powell, berry and sky: every readable photo
    bomb_reason = CANNOT_BE_READ.format(reason="Decompressed data too large for PngImagePlugin.MAX_TEXT_CHUNK")
    assert f"  {album / 'comment.png'}: {bomb_reason}" in err.splitlines()
    with open(errors, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    not_written = [row for row in rows if row["error"] == ANNOTATION_NOT_WRITTEN]
    assert sorted(row["path"] for row in not_written) == sorted(
        str(album / p) for p in ("powell.jpg", "party/berry.JPG", "party/sky.png"))
    powell = next(row for row in not_written if row["path"] == str(album / "powell.jpg"))
    assert powell["reason"] == REASON_ANNOTATION_NOT_WRITTEN.format(detail=f"Not a directory: {blocker / 'album'}")
    assert [row["error"] for row in rows if row["error"] != ANNOTATION_NOT_WRITTEN] == [UNREADABLE_IMAGE] * 3


# --- nothing given to analyse is written over; no output replaces another --------------------


def _contents(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", ["folder", "file named explicitly", "link to the folder above"])
def test_an_annotate_folder_where_a_copy_would_replace_a_photo_is_refused_before_anything_is_read(
        album, tmp_path, capsys, case):
    solo = tmp_path / "solo.png"
    shutil.copy(album / "powell.jpg", solo)  # a JPEG named .png: its copy, a PNG, keeps the name
    (tmp_path / "link").symlink_to(tmp_path)
    # `unveil analyze album solo.png --annotate .` from tmp_path, and the same through a link
    paths, folder, source = {
        "folder": ([album], tmp_path, album / "notes.png"),
        "file named explicitly": ([solo], tmp_path, solo),
        "link to the folder above": ([solo, album], tmp_path / "link", solo),
    }[case]
    before = _contents(tmp_path)
    # A model file that does not exist: refused before any model is loaded, so that is never seen.
    code, out, err = _run(capsys, *paths, "--annotate", folder, "--emotion-model", tmp_path / "none.onnx")
    assert (code, out) == (2, "")
    assert err == ANNOTATE_OVER_PHOTO.format(folder=folder, source=source, photo=source) + "\n"
    assert _contents(tmp_path) == before


def test_a_refusal_naming_a_photo_found_in_a_folder_cannot_write_control_characters_to_the_terminal(
        album, tmp_path, capsys):
    odd = tmp_path / "odd"
    odd.mkdir()
    shutil.copy(album / "powell.jpg", odd / "x\n\x1b[2J.jpg")
    # `--annotate` the folder above: the copy of odd/... would replace the photo itself
    code, _, err = _run(capsys, odd, "--annotate", tmp_path, "--emotion-model", tmp_path / "none.onnx")
    assert (code, err.count("\n")) == (2, 1) and "\x1b" not in err
    assert "x\\n\\x1b[2J.jpg" in err


def test_copies_that_would_share_a_name_are_each_saved_under_a_name_of_their_own(
        album, tiny_emotion_onnx, tmp_path, capsys):
    for folder in ("x", "y", "a/party", "out"):
        (tmp_path / folder).mkdir(parents=True)
    shutil.copy(album / "powell.jpg", tmp_path / "x" / "IMG.jpg")
    with Image.open(album / "party" / "berry.JPG") as berry:
        berry.resize((200, 200)).save(tmp_path / "y" / "IMG.jpg")  # not the size of x/IMG.jpg
    sky = album / "party" / "sky.png"
    Image.open(sky).save(tmp_path / "y" / "IMG.tif")  # its copy is a PNG: IMG.png
    shutil.copy(sky, tmp_path / "y" / "img.png")  # IMG.png without case
    shutil.copy(sky, tmp_path / "a" / "party" / "sky.png")  # a second folder named party
    x, y, out_dir = tmp_path / "x" / "IMG.jpg", tmp_path / "y" / "IMG.jpg", tmp_path / "out"
    results, errors = out_dir / "IMG-2.jpg", tmp_path / "errors.csv"  # -o takes a copy's name first
    code, _, err = _run(capsys, x, y, tmp_path / "y" / "IMG.tif", tmp_path / "y" / "img.png", album / "party",
                        tmp_path / "a" / "party", "--annotate", out_dir, "-o", results, "--format", "jsonl",
                        "--errors", errors, "--emotion-model", tiny_emotion_onnx)
    assert code == 0
    assert len(results.read_text().splitlines()) == 7
    copies = sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*.*") if p != results)
    assert copies == ["IMG-3.jpg", "IMG.jpg", "IMG.png", "img-2.png", "party/berry.JPG", "party/sky-2.png",
                      "party/sky.png"]
    with Image.open(out_dir / "IMG.jpg") as first, Image.open(out_dir / "IMG-3.jpg") as second:
        assert first.size != second.size  # each is its own photo's copy
    with open(errors, newline="", encoding="utf-8") as stream:
        renamed = [(row["path"], row["reason"]) for row in csv.DictReader(stream) if row["error"] == ANNOTATION_RENAMED]
    assert renamed == [
        (str(y), REASON_ANNOTATION_RENAMED.format(target=out_dir / "IMG-3.jpg", wanted=out_dir / "IMG.jpg", other=x)),
        (str(tmp_path / "y" / "img.png"), REASON_ANNOTATION_RENAMED.format(
            target=out_dir / "img-2.png", wanted=out_dir / "img.png", other=tmp_path / "y" / "IMG.tif")),
        (str(tmp_path / "a" / "party" / "sky.png"), REASON_ANNOTATION_RENAMED.format(
            target=out_dir / "party" / "sky-2.png", wanted=out_dir / "party" / "sky.png", other=sky)),
    ]
    assert f"  {y}: {renamed[0][1]}" in err.splitlines()


@pytest.mark.parametrize("option", ["-o", "--errors"])
@pytest.mark.parametrize("spelling", ["as given", "through a link"])
def test_an_output_that_is_one_of_the_photos_is_refused_and_the_photo_kept(album, tmp_path, capsys, option, spelling):
    photo = album / "powell.jpg"
    before = photo.read_bytes()
    target = photo
    if spelling == "through a link":
        target = tmp_path / "results.csv"
        target.symlink_to(photo)
    code, out, err = _run(capsys, album, option, target, "--emotion-model", tmp_path / "none.onnx")
    name = {"-o": "--output", "--errors": "--errors"}[option]
    assert (code, out, err) == (2, "", CANNOT_WRITE.format(option=name, path=target,
                                                            detail=IS_A_PHOTO.format(photo=photo)) + "\n")
    assert photo.read_bytes() == before


def test_errors_and_output_in_one_file_are_refused(album, tmp_path, capsys):
    (tmp_path / "results.csv").write_text("yesterday's results")
    code, out, err = _run(capsys, album, "-o", tmp_path / "results.csv", "--errors", tmp_path / "." / "results.csv")
    assert (code, out, err) == (2, "", CANNOT_WRITE.format(option="--errors", path=tmp_path / "results.csv",
                                                            detail=SAME_AS_OUTPUT) + "\n")
    assert (tmp_path / "results.csv").read_text() == "yesterday's results"


# --- a run cut short still says what it found --------------------------------------------------


@pytest.mark.parametrize(("stop", "code", "last_line"), [
    (KeyboardInterrupt(), 130, "interrupted; nothing more was changed"),
    (ModelError("emotion model failed"), 1, "error: emotion model failed"),
], ids=["interrupted", "an error"])
def test_a_run_cut_short_still_lists_what_it_found_and_writes_the_errors_file(
        album, tiny_emotion_onnx, tmp_path, capsys, monkeypatch, stop, code, last_line):
    analyze = FaceAnalyzer.analyze
    calls = []

    def analyze_then_stop(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # sky.png, the third of the five files (berry.JPG was read, cut.jpg not)
            raise stop
        return analyze(self, *args, **kwargs)

    monkeypatch.setattr(FaceAnalyzer, "analyze", analyze_then_stop)
    errors = tmp_path / "errors.csv"
    result, out, err = _run(capsys, album, "--errors", errors, "--emotion-model", tiny_emotion_onnx)
    assert result == code
    assert [json.loads(line)["source"] for line in out.splitlines()] == [str(album / "party" / "berry.JPG")]
    assert err.splitlines() == [
        STOPPED_AFTER.format(done=3, total=5),
        NOT_READ_HEADER.format(count=2, total=5),
        f"  {album / 'notes.png'}: not an image, or its header is corrupt (format not recognised)",
        f"  {album / 'party' / 'cut.jpg'}: truncated (the file ends before the image data does)",
        SUMMARY.format(analysed=1, not_read=2, noted=0),
        last_line,
    ]
    with open(errors, newline="", encoding="utf-8") as stream:
        assert [row["path"] for row in csv.DictReader(stream)] == [str(album / "notes.png"),
                                                                  str(album / "party" / "cut.jpg")]


def test_a_closed_stdout_stops_the_run_quietly_with_the_summary(album, tiny_emotion_onnx):
    reader, writer = os.pipe()
    os.close(reader)  # as `unveil analyze ... | head -0` leaves it: nobody reads
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}  # each line is written at once
    try:
        result = subprocess.run([sys.executable, "-m", "unveil.cli", "analyze", str(album), "--no-progress",
                                 "--emotion-model", str(tiny_emotion_onnx)],
                                stdout=writer, stderr=subprocess.PIPE, env=env, text=True, timeout=300, check=False)
    finally:
        os.close(writer)
    assert result.returncode == EXIT_BROKEN_PIPE
    assert result.stderr.splitlines() == [
        STOPPED_AFTER.format(done=1, total=5),
        NOT_READ_HEADER.format(count=1, total=5),
        f"  {album / 'notes.png'}: not an image, or its header is corrupt (format not recognised)",
        SUMMARY.format(analysed=0, not_read=1, noted=0),
    ]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("option", ["-o", "--errors"])
def test_an_output_on_a_full_disk_is_said_in_one_line_after_the_summary_and_exits_1(
        album, tiny_emotion_onnx, capsys, option):
    # /dev/full refuses every write with ENOSPC, as a full SD card does: the run ended in an OSError traceback.
    # Each photo's record is flushed as it is written, so a full disk stops the run at the first photo read.
    code, _, err = _run(capsys, album, option, "/dev/full", "--emotion-model", tiny_emotion_onnx)
    assert code == 1
    what = ("--output" if option == "-o" else "--errors") + " /dev/full"
    assert err.splitlines()[-1] == WRITE_REFUSED.format(what=what, detail="No space left on device")
    summary = (NOT_READ_HEADER.format(count=1, total=5) if option == "-o"  # notes.png, before the first photo read
               else NOT_READ_HEADER.format(count=2, total=5))
    assert summary in err.splitlines()  # the summary is still given


def test_a_file_name_that_starts_as_a_formula_is_text_in_the_csv_files(tmp_path, faces_dir, capsys, monkeypatch):
    # Run in the photos' folder, the paths are the file names: a spreadsheet opening the CSV files reads them as
    # text, never as a formula (fer_core.render.spreadsheet_cell).
    monkeypatch.chdir(tmp_path)
    link = '=HYPERLINK("http:"&CHAR(47)&CHAR(47)&"example.org","open").jpg'
    shutil.copy(faces_dir / "Colin_Powell" / "Colin_Powell_0001.jpg", tmp_path / link)
    (tmp_path / "@bad.jpg").write_text("not a picture")
    code, _, _ = _run(capsys, link, "@bad.jpg", "-o", "faces.csv", "--errors", "errors.csv")
    assert code == 0
    (row,) = csv.DictReader(io.StringIO((tmp_path / "faces.csv").read_text()))
    assert row["source"] == "'" + link and row["face"] == "1"
    (problem,) = csv.DictReader(io.StringIO((tmp_path / "errors.csv").read_text()))
    assert problem["path"] == "'@bad.jpg"


# --- a household's library as a whole --------------------------------------------------------


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_file_name_that_is_not_utf_8_is_written_to_the_output_files_as_its_escape(
        album, tmp_path, capsys, suffix):
    # A name from an old camera or a Windows share (Latin-1 'café') reaches Python as a lone surrogate: written to
    # a UTF-8 file it stopped the run with UnicodeEncodeError at that photo, its output and --errors file half written.
    raw = os.fsdecode(bytes(album / "party") + b"/caf\xe9.jpg")
    shutil.copy(album / "powell.jpg", raw)
    shutil.copy(album / "notes.png", os.fsdecode(bytes(album / "party") + b"/not\xe9s.png"))
    out, errors = tmp_path / f"faces{suffix}", tmp_path / "errors.csv"
    code, _, err = _run(capsys, album, "-o", out, "--errors", errors)
    assert code == 0 and "Traceback" not in err
    text = out.read_text(encoding="utf-8")
    if suffix == ".jsonl":
        sources = [json.loads(line)["source"] for line in text.splitlines()]
        assert raw in sources  # the escape \udce9 reads back as the name Python gives the file: os.fsencode works
    else:
        assert any(row["source"] == raw.replace("\udce9", "\\udce9") for row in csv.DictReader(io.StringIO(text)))
    rows = list(csv.DictReader(io.StringIO(errors.read_text(encoding="utf-8"))))
    assert [row["path"] for row in rows if "party/not" in row["path"]] == [f"{album / 'party'}/not\\udce9s.png"]


def _sources(output: Path) -> list[str]:
    if output.suffix == ".csv":
        with open(output, newline="", encoding="utf-8") as stream:
            return [row["source"] for row in csv.DictReader(stream) if row["face"] in ("0", "1")]
    return [json.loads(line)["source"] for line in output.read_text(encoding="utf-8").split("\n")[:-1]]


def _counting_analyze(monkeypatch, stop_at: int | None = None) -> list[int]:
    analyze, calls = FaceAnalyzer.analyze, []

    def counted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == stop_at:
            raise KeyboardInterrupt
        return analyze(self, *args, **kwargs)

    monkeypatch.setattr(FaceAnalyzer, "analyze", counted)
    return calls


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_run_interrupted_goes_on_with_resume_without_analysing_again_what_it_wrote(
        album, tiny_emotion_onnx, tmp_path, capsys, monkeypatch, suffix):
    # Ctrl-C after hours left no way on but to analyse every photo again, the same command writing -o anew.
    output = tmp_path / f"faces{suffix}"
    options = ("-o", output, "--emotion-model", tiny_emotion_onnx)
    _counting_analyze(monkeypatch, stop_at=2)  # berry.JPG is written, Ctrl-C at sky.png
    code, _, err = _run(capsys, album, *options)
    assert code == 130 and _sources(output) == [str(album / "party" / "berry.JPG")]
    assert RESUME_HINT.format(count=1, output=output) in err.splitlines()
    calls = _counting_analyze(monkeypatch)
    code, _, err = _run(capsys, album, *options, "--resume")
    assert code == 0 and len(calls) == 2  # sky.png and powell.jpg only
    assert _sources(output) == [str(album / p) for p in ("party/berry.JPG", "party/sky.png", "powell.jpg")]
    assert err.splitlines()[-1] == SUMMARY_RESUMED.format(analysed=2, earlier=1, output=output, not_read=2, noted=0)
    assert output.stat().st_mode & 0o777 == 0o600
    calls = _counting_analyze(monkeypatch)
    code, _, err = _run(capsys, album, *options, "--resume")  # all done: nothing analysed, nothing written twice
    assert (code, len(calls)) == (0, 0) and len(_sources(output)) == 3


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_resume_drops_a_record_cut_off_and_those_of_photos_changed_since(
        album, tiny_emotion_onnx, tmp_path, capsys, monkeypatch, suffix):
    output = tmp_path / f"faces{suffix}"
    options = ("-o", output, "--emotion-model", tiny_emotion_onnx)
    assert _run(capsys, album, *options)[0] == 0
    output.chmod(0o640)  # what its owner made it: kept
    whole = output.read_text(encoding="utf-8")
    first = whole.split("\n")[1 if suffix == ".csv" else 0]  # berry.JPG's: killed while writing it again
    output.write_text(whole + first[: len(first) // 2], encoding="utf-8")
    stamp = (album / "party" / "sky.png").stat()
    os.utime(album / "party" / "sky.png", ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1))  # edited since
    calls = _counting_analyze(monkeypatch)
    code, _, _ = _run(capsys, album, *options, "--resume")
    assert code == 0 and len(calls) == 1  # sky.png; berry.JPG's half record is not taken as done, nor kept
    assert _sources(output) == [str(album / p) for p in ("party/berry.JPG", "powell.jpg", "party/sky.png")]
    assert output.stat().st_mode & 0o777 == 0o640
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no file left beside it


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
@pytest.mark.parametrize("spelling", ["absolute", "./album/", "through a link"])
def test_resume_finds_the_records_of_a_folder_named_another_way(
        album, tiny_emotion_onnx, tmp_path, capsys, monkeypatch, suffix, spelling):
    # The folder given absolute after relative (or through a link) dropped every record and analysed it all again.
    monkeypatch.chdir(tmp_path)
    output = tmp_path / f"faces{suffix}"
    options = ("-o", output, "--emotion-model", tiny_emotion_onnx)
    assert _run(capsys, "album", *options)[0] == 0
    written = output.read_bytes()
    (tmp_path / "link").symlink_to(album)
    folder = {"absolute": album, "./album/": "./album/", "through a link": "link"}[spelling]
    calls = _counting_analyze(monkeypatch)
    code, _, err = _run(capsys, folder, *options, "--resume")
    assert (code, len(calls)) == (0, 0)
    assert output.read_bytes() == written  # each record keeps the path its run wrote
    assert err.splitlines()[-1] == SUMMARY_RESUMED.format(analysed=0, earlier=3, output=output, not_read=2, noted=0)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
@pytest.mark.parametrize("since", ["a subfolder given", "deleted", "renamed"])
def test_resume_refuses_records_of_photos_not_given_and_leaves_the_file_as_it_was(
        album, tiny_emotion_onnx, tmp_path, capsys, monkeypatch, suffix, since):
    # One wrong PATH (a subfolder) dropped the records of every other photo in silence: hours of work.
    output = tmp_path / f"faces{suffix}"
    options = ("-o", output, "--emotion-model", tiny_emotion_onnx)
    assert _run(capsys, album, *options)[0] == 0
    written = output.read_bytes()
    folder = album / "party" if since == "a subfolder given" else album
    if since == "deleted":
        (album / "powell.jpg").unlink()
    elif since == "renamed":
        (album / "powell.jpg").rename(album / "Powell 2019.jpg")
    problems = tmp_path / "problems.csv"  # the last run's list of photos it could not read
    problems.write_bytes(b"path,error,reason\r\nold.jpg,corrupt,not an image\r\n")
    calls = _counting_analyze(monkeypatch)
    code, out, err = _run(capsys, folder, *options, "--errors", problems, "--resume")
    assert (code, out, err) == (2, "", RESUME_NOT_GIVEN.format(path=output, count=1, total=3,
                                                               example=album / "powell.jpg") + "\n")
    assert not calls and output.read_bytes() == written
    assert problems.read_bytes() == b"path,error,reason\r\nold.jpg,corrupt,not an image\r\n"


def test_resume_needs_an_output_to_go_on_with(album, capsys):
    code, out, err = _run(capsys, album, "--resume")
    assert (code, out, err) == (2, "", RESUME_NEEDS_OUTPUT + "\n")


@pytest.mark.parametrize(("name", "content", "detail"), [
    ("notes.jsonl", b'{"shopping": "milk"}\n', NOT_JSON_LINE.format(line=1)),
    ("notes.jsonl", b'{"source": "caf\xe9.jpg"}\n', NOT_UTF_8),
    ("notes.csv", b"date,amount\r\n2026-12-01,12\r\n", OTHER_COLUMNS),
    ("faces.csv", None, NOT_CSV_ROW.format(line=3, count=14)),
])
def test_resume_refuses_a_file_it_did_not_write_and_leaves_it_as_it_was(
        album, tiny_emotion_onnx, tmp_path, capsys, name, content, detail):
    target = tmp_path / name
    if content is None:  # its own CSV, with a row a spreadsheet cut short
        assert _run(capsys, album, "-o", target, "--emotion-model", tiny_emotion_onnx)[0] == 0
        lines = target.read_bytes().split(b"\r\n")
        content = b"\r\n".join([*lines[:2], lines[2].rsplit(b",", 3)[0], *lines[3:]])
    target.write_bytes(content)
    code, out, err = _run(capsys, album, "--resume", "-o", target, "--emotion-model", tiny_emotion_onnx)
    assert (code, out, err) == (2, "", RESUME_REFUSED.format(path=target, detail=detail) + "\n")
    assert target.read_bytes() == content


def test_a_run_killed_goes_on_with_resume_and_every_line_is_whole(tmp_path, faces_dir, tiny_emotion_onnx):
    # kill -9 (or a power cut) gives no chance to write anything more: what was written must already be whole.
    album = tmp_path / "album"
    album.mkdir()
    photos = sorted((faces_dir / "Colin_Powell").glob("*.jpg"))[:4]
    for number in range(40):
        shutil.copy(photos[number % len(photos)], album / f"IMG_{number:04d}.jpg")
    output = tmp_path / "faces.jsonl"
    command = [sys.executable, "-m", "unveil.cli", "analyze", str(album), "-o", str(output), "--no-progress",
               "--emotion-model", str(tiny_emotion_onnx)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while (not output.exists() or output.read_text().count("\n") < 3) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        process.kill()
        process.wait()
    written = _sources(output)
    assert 3 <= len(written) < 40  # lines reached the file as each photo was done (8 KB at a time, they did not)
    result = subprocess.run([*command, "--resume"], env=env, stderr=subprocess.PIPE, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0
    assert sorted(_sources(output)) == sorted(str(path) for path in album.iterdir())
    assert result.stderr.splitlines()[-1].startswith(f"unveil analyze: {40 - len(written)} photo(s) analysed, ")


def test_sigterm_stops_the_run_as_ctrl_c_does_with_the_summary_and_the_errors_file(
        tmp_path, faces_dir, tiny_emotion_onnx):
    # `kill`, `timeout` or a shutdown sends SIGTERM: the process ended at once, --errors empty and nothing said.
    album = tmp_path / "album"
    album.mkdir()
    (album / "Broken.jpg").write_bytes(b"\xff\xd8\xff")  # read first: the --errors file has a line to keep
    for number in range(40):
        shutil.copy(faces_dir / "Colin_Powell" / "Colin_Powell_0001.jpg", album / f"IMG_{number:04d}.jpg")
    output, errors = tmp_path / "faces.jsonl", tmp_path / "errors.csv"
    process = subprocess.Popen([sys.executable, "-m", "unveil.cli", "analyze", str(album), "-o", str(output),
                                "--errors", str(errors), "--no-progress", "--emotion-model", str(tiny_emotion_onnx)],
                               env={**os.environ, "PYTHONPATH": str(REPO)}, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while (not output.exists() or output.read_text().count("\n") < 2) and time.monotonic() < deadline:
        time.sleep(0.02)
    process.terminate()
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    done = len(_sources(output))
    assert RESUME_HINT.format(count=done, output=output) in err.splitlines()
    assert err.splitlines()[-1] == "interrupted; nothing more was changed"
    with open(errors, newline="", encoding="utf-8") as stream:
        assert [row["path"] for row in csv.DictReader(stream)] == [str(album / "Broken.jpg")]


def test_an_annotate_folder_inside_the_folder_analysed_is_not_searched_the_next_time(
        album, tiny_emotion_onnx, capsys, monkeypatch):
    # The second run read the first run's copies as photos, and was refused: a copy would replace a "photo".
    annotated = album / "annotated"
    options = (album, "-o", album / "faces.jsonl", "--annotate", annotated, "--emotion-model", tiny_emotion_onnx)
    assert _run(capsys, *options)[0] == 0
    for again in (("--resume",), ()):
        code, _, err = _run(capsys, *options, *again)
        assert code == 0
        assert OWN_COPIES_NOT_SEARCHED.format(folder=annotated) in err.splitlines()
        assert sorted(_sources(album / "faces.jsonl")) == sorted(
            str(album / p) for p in ("party/berry.JPG", "party/sky.png", "powell.jpg"))
    assert sorted(p.name for p in annotated.rglob("*.*")) == ["berry.JPG", "powell.jpg", "sky.png"]


def test_macos_metadata_files_beside_the_photos_are_left_out_and_counted(album, tiny_emotion_onnx, capsys):
    # Copied from a Mac to a USB disk, every photo has a ._NAME beside it: each was listed as a corrupt photo.
    for name in ("powell.jpg", "party/berry.JPG"):
        path = album / name
        (path.parent / f"._{path.name}").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(64))
    shutil.copy(album / "powell.jpg", album / "._not metadata.jpg")  # a photo named so is still read
    code, out, err = _run(capsys, album, "--emotion-model", tiny_emotion_onnx)
    assert code == 0 and str(album / "._not metadata.jpg") in [json.loads(line)["source"] for line in out.splitlines()]
    assert APPLE_DOUBLE_LEFT_OUT.format(count=2) in err.splitlines()
    assert "._powell" not in err and err.splitlines()[-1] == SUMMARY.format(analysed=4, not_read=2, noted=0)


def test_a_modification_time_past_the_year_9999_is_written_as_nanoseconds_not_a_crash():
    # btrfs keeps any 64-bit time; datetime stops at 9999 (OverflowError or ValueError stopped the run).
    from types import SimpleNamespace

    from unveil.cli.analyze import _key  # noqa: PLC2701 (the function under test)

    assert _key(SimpleNamespace(st_size=10, st_mtime_ns=0)) == ("10", "1970-01-01T00:00:00.000000000Z")
    assert _key(SimpleNamespace(st_size=10, st_mtime_ns=-1)) == ("10", "1969-12-31T23:59:59.999999999Z")
    far = 300_000_000_000 * 10**9  # the year 11476
    assert _key(SimpleNamespace(st_size=10, st_mtime_ns=far)) == ("10", str(far))


def test_a_folder_reached_by_a_link_first_is_still_searched_as_itself(album, tiny_emotion_onnx, capsys):
    # "Favourites" -> party, sorted before party: every photo of party was named by the link's path, and party
    # itself was listed as not read ("the same folder as Favourites, searched there").
    (album / "Favourites").symlink_to("party")
    code, out, err = _run(capsys, album, "--emotion-model", tiny_emotion_onnx)
    assert code == 0
    assert sorted(json.loads(line)["source"] for line in out.splitlines()) == sorted(
        str(album / p) for p in ("party/berry.JPG", "party/sky.png", "powell.jpg"))
    assert f"  {album / 'Favourites'}: {REASON_REPEATED_FOLDER.format(folder=album / 'party')}" in err.splitlines()


def test_help_ends_with_the_exit_statuses(capsys):
    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    assert " ".join(capsys.readouterr().out.split()).endswith(EXIT_STATUSES)
    assert EXIT_STATUSES.startswith("exit status: 0 when a photo was analysed")
