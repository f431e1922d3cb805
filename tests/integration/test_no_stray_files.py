"""Privacy by construction: a whole CLI session writes nothing on disk but the store and the outputs asked for.

Each `unveil` command runs in its own process, with HOME, the XDG folders, TMPDIR and the working
directory all inside one fresh folder, so that any cache, device id, telemetry queue or stray temp
file a library writes would show up there.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

_XDG = ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR")
_PASSPHRASE = "correct horse battery staple, at home"


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if not p.is_dir()}


def _environment(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "UNVEIL_", "ORT_"))}
    env.update({name: str(root / name.lower()) for name in _XDG})
    env.update(HOME=str(root / "home"), TMPDIR=str(root / "tmp"), PYTHONPATH=str(REPO),
               PYTHONDONTWRITEBYTECODE="1", UNVEIL_PASSPHRASE=_PASSPHRASE)
    return env


def _unveil(root: Path, *argv: str) -> None:
    result = subprocess.run([sys.executable, "-m", "unveil.cli", *argv], cwd=root / "work", env=_environment(root),
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"unveil {' '.join(argv)} failed:\n{result.stderr}"


def test_analyze_enrol_purge_leave_only_the_store_and_the_outputs(tmp_path, faces_dir):
    for folder in ("home", "tmp", "work", *(name.lower() for name in _XDG)):
        (tmp_path / folder).mkdir()
    before = _files(tmp_path)
    photos = [str(faces_dir / "Colin_Powell" / f"Colin_Powell_000{i}.jpg") for i in range(1, 5)]
    results, annotated = tmp_path / "work" / "faces.jsonl", tmp_path / "work" / "annotated"

    _unveil(tmp_path, "family", "init")
    _unveil(tmp_path, "analyze", photos[0], "-o", str(results), "--annotate", str(annotated), "--no-progress")
    _unveil(tmp_path, "family", "enroll", "Colin Powell", *photos, "--purpose", "name family in our photos")
    _unveil(tmp_path, "family", "purge", "Colin Powell", "--yes")

    store = tmp_path / "xdg_data_home" / "unveil"
    new = _files(tmp_path) - before
    assert {p for p in new if store in p.parents} and results in new and annotated / "Colin_Powell_0001.jpg" in new
    stray = sorted(str(p.relative_to(tmp_path)) for p in new if store not in p.parents and annotated not in p.parents
                   and p != results)
    assert not stray, f"written outside the store and the outputs: {stray}"
