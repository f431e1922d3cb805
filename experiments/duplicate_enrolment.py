"""What happens to a person enrolled twice under two names ("Jonh" mistyped, then "John" enrolled again from other
photos): enrolment compared no new member's face with the members already enrolled, so nothing stopped it (it does
now: governance.family.enrolled_lookalike, measured at the end).

    python experiments/duplicate_enrolment.py [--faces-dir ../shared/data/faces]

Each of the development set's 16 people is enrolled from their photos 0001-0003 (a face picked as the largest where a
photo has several), and their photos 0007-0008 are named with the identity model installed, at its threshold and the
Gallery's margin. Then each is enrolled a second time, under another name, from their photos 0004-0006, and the same
probes are named again. Prints how the probes were named: under the first name, the second, as someone else, or
"unknown" (with the Gallery's reason).

Then enrolment's check (governance.family.enrolled_lookalike), against the 16 enrolled from 0001-0003: how many of the
second enrolments (0004-0006) it refuses as looking like the person they are, and how many of the 50 people never
enrolled (_unknown/, one photo each) it refuses as looking like a member; and how the 16 name those 50 (the Gallery's
reasons: a stranger about as close to two members is "ambiguous").
"""
from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np

from fer_core.analyzer import default_detector
from fer_core.identity import Gallery, load_embedding_model
from governance import enrolment, family

FACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "faces"


def _embeddings(model, detect, folder: Path, numbers: range) -> np.ndarray:
    return _photo_embeddings(model, detect, [folder / f"{folder.name}_{number:04d}.jpg" for number in numbers])


def _photo_embeddings(model, detect, paths: list[Path]) -> np.ndarray:
    chosen = []
    for path in paths:
        photo = enrolment.read_photo(path, path.name, detect)
        if photo.faces:
            chosen.append((photo.image, max(photo.faces, key=lambda face: face.box[2] * face.box[3])))
    return model.embed(enrolment.aligned_faces(chosen, model))


def _named(gallery: Gallery, probes: dict[str, np.ndarray]) -> Counter:
    counts: Counter = Counter()
    for person, embeddings in probes.items():
        for embedding in embeddings:
            match = gallery.identify(embedding)
            if match.person_id is None:
                counts[f"unknown ({match.reason})"] += 1
            else:
                counts[{person: "first name", f"{person} (again)": "second name"}.get(match.person_id, "someone else")] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces-dir", type=Path, default=FACES)
    args = parser.parse_args()
    model, detect = load_embedding_model(), default_detector().detect
    people = sorted(p for p in args.faces_dir.iterdir() if p.is_dir() and not p.name.startswith("_"))
    first = {p.name: _embeddings(model, detect, p, range(1, 4)) for p in people}
    probes = {p.name: _embeddings(model, detect, p, range(7, 9)) for p in people}
    settings = {"threshold": model.threshold, "distance": model.distance}
    once = _named(Gallery(first, **settings), probes)
    second = {f"{p.name} (again)": _embeddings(model, detect, p, range(4, 7)) for p in people}
    twice = _named(Gallery(first | second, **settings), probes)
    total = sum(once.values())
    print(f"{len(people)} people, {total} probe photos, identity model {model.name} (threshold {model.threshold})")
    print("enrolled once:                       ", dict(once))
    print("each enrolled again under a 2nd name:", dict(twice))
    members = Gallery(first, **settings)
    caught = Counter(_refused_as(members, second[f"{p.name} (again)"], p.name) for p in people)
    print("enrolment's check, the 2nd enrolment:", dict(caught))
    strangers = sorted((args.faces_dir / "_unknown").glob("*.jpg"))
    faces = [_photo_embeddings(model, detect, [path]) for path in strangers]
    refused = Counter(_refused_as(members, rows, None) for rows in faces)
    print(f"enrolment's check, {len(strangers)} people never enrolled:", dict(refused))
    # How often a face is "unknown" for being about as close to two members when no one is enrolled twice: the
    # Analyze page says so of such a face (unveil.app.photos.NOT_NAMED_AMBIGUOUS).
    named = Counter(members.identify(row).reason for rows in faces for row in rows)
    print(f"{len(strangers)} people never enrolled, named against the 16:", dict(named))


def _refused_as(members: Gallery, embeddings: np.ndarray, person: str | None) -> str:
    if len(embeddings) == 0:
        return "no face"
    lookalike = family.enrolled_lookalike(members, embeddings)
    if lookalike is None:
        return "accepted"
    return "refused as themself" if lookalike[0] == person else "refused as a member"


if __name__ == "__main__":
    main()
