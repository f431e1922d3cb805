"""Write a family store, and a backup of it, as an installed release of Unveil writes them: the fixtures
tests/unit/governance/test_old_stores.py opens with this code (tests/fixtures/stores/README.md).

Run it with the release's code first on the path, from a checkout of that release (not this tree):

    git worktree add /tmp/unveil-old COMMIT
    PYTHONPATH=/tmp/unveil-old python tools/make_store_fixture.py tests/fixtures/stores/NAME
    git worktree remove /tmp/unveil-old

It uses only what the releases of 6 and 7 December 2026 have in common; a release without `unveil family backup`
gets its backup made by hand, the two files copied once the store is closed (as the README says). Everything in it
is synthetic: made-up names, seeded random embeddings, one-colour thumbnails, no photo of anyone. The passphrase is
the tests' (tests/support/privacy_harness.PASSPHRASE) and the key derivation the tests' fast one.
"""
from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from fer_core.store import FamilyStore, ScryptParams
from governance import consent, erasure, family, kept_results
from governance.consent import ConsentRecord

PASSPHRASE = "correct horse battery staple"
FAST_SCRYPT = ScryptParams(n=2**10, r=8, p=1)
MODEL = "face_recognition_mobilefacenet.onnx"  # the shipped identity model's file name: its prints are tagged so
DIM = 192
PURPOSE = "name family members in our photos"


def embeddings(name: str, count: int) -> np.ndarray:
    """The same seeded vectors the test makes again, to compare with what the store gives back."""
    return np.random.default_rng(zlib.crc32(name.encode())).standard_normal((count, DIM)).astype(np.float32)


def thumbnail(rgb: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), rgb).save(out, format="JPEG")
    return out.getvalue()


def _record(store: FamilyStore, name: str, scope: str) -> ConsentRecord:
    return ConsentRecord.new(subject=name, purpose=PURPOSE, days=3650, scope=scope, now=consent.store_now(store))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="a folder that does not exist yet")
    args = parser.parse_args()
    args.out.mkdir(parents=True)
    code = Path(family.__file__).resolve().parents[1]
    commit = subprocess.run(["git", "-C", str(code), "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    with FamilyStore.create(args.out / "data", passphrase=PASSPHRASE, scrypt=FAST_SCRYPT) as store:
        ana = family.enroll(store, "Ana Lima", embeddings("Ana Lima", 4),
                            _record(store, "Ana Lima", "recognition+thumbnails"),
                            thumbnails=[thumbnail((200, 120, 90)), thumbnail((180, 110, 80))], model=MODEL).person_id
        ben = family.enroll(store, "Ben Okafor", embeddings("Ben Okafor", 3), _record(store, "Ben Okafor", "recognition"),
                            model=MODEL).person_id
        dora = family.enroll(store, "Dora Silva", embeddings("Dora Silva", 2),
                             _record(store, "Dora Silva", "recognition+thumbnails"),
                             thumbnails=[thumbnail((90, 60, 40))], model=MODEL).person_id
        consent.change_scope(store, dora, "recognition")  # her thumbnail deleted, its key destroyed
        caio = family.enroll(store, "Caio Lima", embeddings("Caio Lima", 3),
                             _record(store, "Caio Lima", "recognition+thumbnails"),
                             thumbnails=[thumbnail((60, 60, 60))], model=MODEL).person_id
        kept = [{"source": "party.jpg", "face": 1, "emotion": "happy", "identity": "Ana Lima"},
                {"source": "party.jpg", "face": 2, "emotion": "neutral", "identity": "unknown"}]
        kept_results.keep_analysis(store, kept, person_ids=[ana, None])
        kept_results.keep_analysis(store, [{"source": "beach.jpg", "face": 1, "emotion": "sad", "identity": "Caio Lima"}],
                                   person_ids=[caio])  # erased with him
        receipt = erasure.purge_person(store, caio, reason="request")
        # By its file: the editable install's finder would hand this tree's governance.backup to an older release.
        if (Path(family.__file__).parent / "backup.py").is_file():
            from governance import backup
            backup.back_up(store, args.out / "backup")
    if not (args.out / "backup").exists():
        (args.out / "backup").mkdir()
        for name in ("unveil.db", "keys.db"):
            shutil.copy2(args.out / "data" / name, args.out / "backup" / name)
    expected = {
        "made_by": commit,
        "passphrase": PASSPHRASE,
        "model": MODEL,
        "members": {ana: ["Ana Lima", 4, 2], ben: ["Ben Okafor", 3, 0], dora: ["Dora Silva", 2, 0]},
        "kept": [kept],
        "erased": caio,
    }
    (args.out / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    (args.out / "receipt.json").write_text(receipt.to_json() + "\n")


if __name__ == "__main__":
    main()
