"""Published pictures show only photos we may publish: the public-domain fixtures are the files their
README describes (SHA-256), and no picture under docs/ or experiments/ is drawn from an LFW photo (LFW's terms allow its
photos as test fixtures only; ../shared/data/faces/SOURCE.md)."""
from __future__ import annotations

import csv
import hashlib
import re

from tests.support.paths import REPO

PUBLIC_DOMAIN = REPO / "tests" / "fixtures" / "public_domain"
PICTURES = {".png", ".jpg", ".jpeg", ".gif", ".webp"}


def _readme_checksums() -> dict[str, str]:
    """file name -> SHA-256, from the rows of the README's table (`name` first, the checksum last)."""
    rows = re.findall(r"^\| `([^`]+)` \|.*\| ([0-9a-f]{64}) \|$", (PUBLIC_DOMAIN / "README.md").read_text(), re.M)
    return dict(rows)


def test_every_public_domain_photo_is_the_file_its_readme_describes():
    photos = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in PUBLIC_DOMAIN.iterdir() if p.suffix in PICTURES}
    assert photos == _readme_checksums()


def test_no_published_picture_is_named_after_an_lfw_person(faces_dir):
    with (faces_dir / "manifest.csv").open(newline="") as handle:
        people = {row["person"].lower() for row in csv.DictReader(handle)}
    pictures = [p for folder in ("docs", "experiments") for p in (REPO / folder).rglob("*")
                if p.suffix.lower() in PICTURES]
    assert pictures, "docs/ and experiments/ hold no pictures: the check would pass on nothing"
    named = [str(p.relative_to(REPO)) for p in pictures if any(person in p.name.lower() for person in people)]
    assert named == []
