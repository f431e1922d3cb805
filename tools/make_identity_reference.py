"""Make the converter's reference fixture: aligned faces and the embeddings face-api's JavaScript gives them.

Run once (needs node and npm; installs the pinned package and tfjs 4.22.0 into a temporary folder):

    python tools/make_identity_reference.py [--tarball vladmandic-face-api-1.7.15.tgz]

Writes tests/fixtures/identity/aligned_*.png (150x150 dlib chips of a few development photos,
detected with fer_core.detection and aligned with fer_core.alignment) and
faceapi_reference_embeddings.npy (float32 [N, 128], in the same order). tests/unit/fer_core/training/test_identity_converter.py
checks that the ONNX model reproduces them.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from fer_core.alignment import DLIB_150_TEMPLATE, align_face
from fer_core.detection import FaceDetector
from fer_core.training.convert_faceapi import PACKAGE, TFJS, check_tarball, fetch_tarball
from fer_core.training.convert_faceapi import REFERENCE_PHOTOS as PHOTOS
from fer_core.training.identity_devset import FACES_DIR, centre_face, read_rgb

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "identity"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tarball", type=Path)
    args = parser.parse_args(argv)

    detector = FaceDetector()
    crops = []
    for name in PHOTOS:
        image = read_rgb(FACES_DIR / name)
        face = centre_face(detector.detect(image), image.shape)
        crops.append(align_face(image, face.landmarks, DLIB_150_TEMPLATE, (150, 150), antialias=False))
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, crop in zip(PHOTOS, crops):
        Image.fromarray(crop).save(FIXTURES / f"aligned_{Path(name).stem}.png")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tarball = args.tarball.resolve() if args.tarball else fetch_tarball(work)
        check_tarball(tarball)
        subprocess.run(["npm", "init", "-y"], cwd=work, check=True, capture_output=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", str(tarball), *TFJS], cwd=work, check=True)
        shutil.copy(REPO / "tools" / "faceapi_reference.js", work)
        np.stack(crops).tofile(work / "crops.u8")
        subprocess.run(["node", "faceapi_reference.js", "crops.u8", str(len(crops)), "out.f32"], cwd=work, check=True)
        embeddings = np.fromfile(work / "out.f32", dtype=np.float32).reshape(len(crops), 128)
    np.save(FIXTURES / "faceapi_reference_embeddings.npy", embeddings)
    print(f"wrote {len(crops)} aligned faces and their {PACKAGE} embeddings to {FIXTURES}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
