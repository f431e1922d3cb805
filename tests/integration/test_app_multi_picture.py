"""Files that hold more than one picture, on the Analyze page: an animated GIF of the family (a messaging app's moving
picture) showed its first frame's faces as if they were the whole file's, and nothing said the other frames were not
read. Now a warning beside that photo's results says what was left out (fer_core.images.pictures_not_read), and for a
GIF or WebP that the Video page reads it as a video, which it does."""
from __future__ import annotations

import io
import shutil

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from fer_core import images
from governance import enrolment
from tests.support import photo_files
from tests.support.app import FAMILY_PASSPHRASE, MEMBER, STRANGER, photo_path
from tests.support.paths import REPO

# Model loading on first use takes seconds on a loaded 2-core machine; AppTest's default of 3 s per run is too short.
TIMEOUT = 120


def test_the_analyze_page_says_what_of_each_file_was_not_read_and_the_video_page_reads_the_animation(app_env,
                                                                                                   faces_dir):
    member, stranger = (Image.open(photo_path(faces_dir, who, 1)).convert("RGB") for who in (MEMBER, STRANGER))
    animation = io.BytesIO()  # the member, nobody, the stranger: half a second each
    member.save(animation, format="GIF", save_all=True, append_images=[Image.new("RGB", member.size), stranger],
                duration=500)
    scan = io.BytesIO()
    member.save(scan, format="TIFF", save_all=True, append_images=[stranger])
    uploads = [("family.gif", animation.getvalue(), "image/gif"),
               ("stereo.jpg", photo_files.files(np.asarray(member))["MPO (2 pictures)"][0], "image/jpeg"),
               ("scan.tif", scan.getvalue(), "image/tiff"),
               ("camera.jpg", photo_files.with_preview(stranger), "image/jpeg")]  # its preview is no other picture
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    next(w for w in at.get("file_uploader") if w.key.startswith("analyze_inputs_uploads_")).set_value(uploads).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [h.value for h in at.header] == ["family.gif", "stereo.jpg", "scan.tif", "camera.jpg", "Results"]
    assert [w.value for w in at.warning] == [
        "family.gif: only frame 1 of its 3 frames was analysed; the app's Video page analyses the whole animation as "
        "a video",
        "stereo.jpg: only the first of its 2 pictures was analysed (the others of a multi-picture JPEG are usually a "
        "depth map, an HDR gain map or another view of the same scene)",
        "scan.tif: only page 1 of its 2 pages was analysed",
    ]
    assert at.warning[0].value == "family.gif: " + images.FRAMES_NOT_READ.format(count=3) + images.FRAMES_ON_THE_VIDEO_PAGE
    assert at.image[0].captions == ["1 face"]  # the first frame's, shown as such

    at.switch_page("unveil/app/pages/video.py").run()
    uploader = at.file_uploader(key="video_upload")
    assert {"gif", "webp"} <= {t.lstrip(".") for t in uploader.proto.type}
    uploader.set_value(("family.gif", animation.getvalue(), "image/gif")).run()
    at.button(key="video_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert "Results for family.gif: 3 frame(s) analysed." in [c.value for c in at.caption]
    assert len(at.dataframe[0].value) == 2  # the member and the stranger, each followed in its own frame


def test_a_member_enrolled_from_an_animation_is_enrolled_from_its_first_frame_and_the_family_page_says_so(
        app_env, faces_dir, family_store_dir):
    """A messaging app's animation picked as a member's photo was enrolled from its first frame, and nothing said
    so. The enrolment form now says it beside the photo, and the enrolment's message says it again (the Analyze
    page's note, without its pointer to the Video page, which enrols no one)."""
    shutil.copytree(family_store_dir, app_env)  # Colin Powell enrolled
    serena, colin = (Image.open(photo_path(faces_dir, who, 1)).convert("RGB") for who in (STRANGER, MEMBER))
    # Serena, then Colin: enrolled from the second frame, she would be refused as looking like Colin Powell.
    # (The Family page takes no GIF: an animated WebP, as messaging apps send stickers.)
    animation = photo_files.saved(serena, "WEBP", save_all=True, append_images=[colin], duration=500, lossless=True)
    note = "serena.webp: only frame 1 of its 2 frames was analysed."
    assert note == enrolment.FIRST_PICTURE_ONLY.format(label="serena.webp", note=images.FRAMES_NOT_READ.format(count=2))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.switch_page("unveil/app/pages/family.py").run()
    at.text_input(key="unlock_passphrase").input(FAMILY_PASSPHRASE)
    at.button[0].click().run()

    def enrol(kind: str, field: str):
        (found,) = [w for w in at.get(kind) if w.key and w.key.startswith(f"enrol_{field}_")]
        return found

    enrol("text_input", "name").input("Serena Williams")
    enrol("file_uploader", "photos").set_value(("serena.webp", animation, "image/webp"))
    enrol("checkbox", "agreed").check().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [w.value for w in at.warning if "serena" in w.value] == [note]  # (the consent tab warns of other things)
    at.button(key="enrol_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success if s.value.startswith("Enrolled")] == [
        "Enrolled Serena Williams with 1 face print(s) and 0 thumbnail(s). They will be named in analysed photos "
        "from now on. " + note]
    assert list(at.dataframe[0].value["name"]) == ["Colin Powell", "Serena Williams"]
