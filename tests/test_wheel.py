"""A wheel built from the repository carries the shipped models and the training package, not the
maintainer folders: installed anywhere (here: unpacked and put first on the path, from a folder outside
the checkout), `unveil analyze` finds the models."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_a_wheel_analyses_a_photo_from_outside_the_checkout(tmp_path, faces_dir):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp_path / "dist"), str(REPO)], check=True, capture_output=True, timeout=300)
    wheel, = (tmp_path / "dist").glob("unveil-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    sums = (REPO / "models" / "SHA256SUMS").read_text().split()[1::2]
    assert {f"fer_core/models/{name}" for name in sums} <= names
    # The training package (a regular package, with the FER+ join it reads) ships; maintainer folders do not.
    assert {"fer_core/training/__init__.py", "fer_core/training/quantize.py",
            "fer_core/training/ferplus_votes.csv"} <= names
    assert [n for n in names if n.split("/")[0] in ("tools", "benchmarks", "experiments", "tests")] == []
    photo = next(faces_dir.glob("*/*.jpg"))
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site"), "HOME": str(tmp_path)}
    env.pop("UNVEIL_MODELS_DIR", None)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    result = subprocess.run([sys.executable, "-m", "unveil.cli", "analyze", str(photo), "--format", "jsonl"],
                            cwd=outside, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[0])["faces"]
    probe = subprocess.run([sys.executable, "-c", "import fer_core; print(fer_core.__file__)"], cwd=outside, env=env,
                           capture_output=True, text=True, check=True)
    assert probe.stdout.startswith(str(tmp_path / "site"))
