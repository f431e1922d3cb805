"""Write tests/fixtures/bias_audit/lfw_landmarks.json: MTCNN boxes and 5 landmarks of a few LFW photos.

The proxy-group tests need real colour faces with known landmarks. The photos stay in ../shared/data/faces
(LFW must not be redistributed); only these measured coordinates are committed. Run once by a maintainer
(needs the training extra for the `mtcnn` package):

    .venv/bin/python tools/make_bias_landmark_fixture.py [--faces ../shared/data/faces]
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from mtcnn import MTCNN
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
# Varied in skin tone, gender and age; all photos are in the shared faces set.
PHOTOS = (
    "Serena_Williams/Serena_Williams_0001.jpg",
    "Tiger_Woods/Tiger_Woods_0001.jpg",
    "Halle_Berry/Halle_Berry_0001.jpg",
    "Laura_Bush/Laura_Bush_0001.jpg",
    "Naomi_Watts/Naomi_Watts_0001.jpg",
    "Queen_Elizabeth_II/Queen_Elizabeth_II_0001.jpg",
    "Jackie_Chan/Jackie_Chan_0001.jpg",
    "Hamid_Karzai/Hamid_Karzai_0001.jpg",
)
ORDER = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=REPO.parent / "shared" / "data" / "faces")
    parser.add_argument("--out", type=Path, default=REPO / "tests" / "fixtures" / "bias_audit" / "lfw_landmarks.json")
    args = parser.parse_args()
    detector = MTCNN()
    faces = {}
    for relative in PHOTOS:
        image = np.asarray(Image.open(args.faces / relative).convert("RGB"))
        found = detector.detect_faces(image)
        # LFW photos are centred on their subject: keep the detection closest to the centre.
        centre = np.array(image.shape[1::-1]) / 2
        best = min(found, key=lambda f: np.linalg.norm(np.add(f["box"][:2], np.divide(f["box"][2:], 2)) - centre))
        faces[relative] = {
            "box": [int(v) for v in best["box"]],
            "landmarks": [[float(v) for v in best["keypoints"][k]] for k in ORDER],
            "confidence": round(float(best["confidence"]), 4),
        }
        print(relative, faces[relative]["box"])
    fixture = {
        "source": f"mtcnn {importlib.metadata.version('mtcnn')} MTCNN().detect_faces on ../shared/data/faces",
        "landmark_order": list(ORDER),
        "faces": faces,
    }
    args.out.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
