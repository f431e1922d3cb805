"""Trials for the identity bias audit on the development face set: probe results with group labels.

    python benchmarks/identity_bias_trials.py [--model models/face_recognition_dlib.onnx] [--out reports/bias/identity_trials.csv]
    unveil audit bias identity reports/bias/identity_trials.csv --threshold <printed> --score-kind distance \\
        --cluster probe_person --cluster enrolled_person --group gender --group skin_tone --group head_pose \\
        --out reports/bias

Protocol (bench_identity.py's): photos _0001.._0004 of the 16 enrolled people are their gallery; _0005.._0008
and the 50 unknown people are probes. Each probe is compared with each enrolled person (score: the
smallest distance to that person's gallery photos): one genuine trial per known probe (its own
person), impostor trials against everyone else. Groups are the probe's: gender from people.csv
(blank for the unknown people, who have no label) and the proxy groups measured on the probe's face.
The trials are not independent: each probe is in 16 trials (one per enrolled person) and each enrolled person
in 114 (one per probe). probe_person and enrolled_person name them (person001..., in the sorted order of the
set's people: no name is written), for the audit's --cluster; every other column but genuine and score is a group.
"""
from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from fer_core.detection import FaceDetector
from fer_core.identity import load_embedding_model, pairwise_distances
from fer_core.training.identity_devset import FACES_DIR, centre_face, load_manifest, read_rgb
from governance.bias_audit import PROXY_COLUMNS, FaceGeometry, proxy_groups

REPO = Path(__file__).resolve().parents[1]
CLUSTER_COLUMNS = ("probe_person", "enrolled_person")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=FACES_DIR)
    parser.add_argument("--model", type=Path, help="identity ONNX model (default: the shipped one)")
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "bias" / "identity_trials.csv")
    args = parser.parse_args()

    model = load_embedding_model(args.model) if args.model else load_embedding_model()
    detector = FaceDetector()
    with open(args.faces / "people.csv", newline="") as handle:
        gender = {row["person"]: row["gender"] for row in csv.DictReader(handle)}

    embeddings, photos, groups, missed = [], [], [], []
    for photo in load_manifest(args.faces):
        image = read_rgb(photo.path)
        face = centre_face(detector.detect(image), image.shape)
        if face is None:
            missed.append(photo.path.name)
            continue
        geometry = FaceGeometry(box=tuple(round(v) for v in face.box), landmarks=face.landmarks)
        embeddings.append(model.embed(model.align(image, face.landmarks)[None])[0])
        photos.append(photo)
        groups.append({"gender": gender.get(photo.person, ""), **proxy_groups(image, geometry)})
    embeddings = np.stack(embeddings)

    gallery = {}
    for i, photo in enumerate(photos):
        if photo.is_enrolment:
            gallery.setdefault(photo.person, []).append(i)
    # Pseudonyms for the cluster columns: the audit needs to know which trials share a person, not who it is. An
    # unknown person's photo has no person label (identity_devset); each is a different person, named in the file.
    people = [photo.person or photo.path.stem.rsplit("_", 1)[0] for photo in photos]
    pseudonym = {person: f"person{k + 1:03d}" for k, person in enumerate(sorted(set(people)))}
    rows = []
    for i, photo in enumerate(photos):
        if photo.is_enrolment:
            continue
        for person, indices in sorted(gallery.items()):
            score = float(pairwise_distances(embeddings[i : i + 1], embeddings[indices], model.distance).min())
            rows.append({"genuine": photo.person == person, "score": round(score, 6),
                         "probe_person": pseudonym[people[i]], "enrolled_person": pseudonym[person], **groups[i]})

    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["genuine", "score", *CLUSTER_COLUMNS, "gender", *PROXY_COLUMNS])
        writer.writeheader()
        writer.writerows(rows)
    genuine = sum(r["genuine"] for r in rows)
    print(f"{len(rows)} trials ({genuine} genuine, {len(rows) - genuine} impostor) from {len(photos)} faces; "
          f"no face found in {len(missed)} photo(s){': ' + ', '.join(missed) if missed else ''}")
    print(f"wrote {args.out}; the model's operating threshold: {model.threshold} ({model.distance} distance)")


if __name__ == "__main__":
    main()
