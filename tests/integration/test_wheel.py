"""A wheel built from the repository is the whole product: installed anywhere (here: unpacked and put
first on the path, from a folder outside the checkout), `unveil analyze` finds the shipped models and
`unveil app` serves the app on localhost only, with usage statistics off."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from tests.support.app import free_port, streamlit_answers
from tests.support.paths import REPO

# What Streamlit prints at start while usage statistics are on.
USAGE_STATISTICS_BANNER = "Collecting usage statistics"


def _serve(argv: list[str], *, cwd: Path, env: dict[str, str], port: int) -> str:
    """Start a Streamlit server, wait until it answers on localhost:`port`, stop it; what it printed."""
    server = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while not streamlit_answers(f"http://localhost:{port}"):
            if server.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        answered = server.poll() is None
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert answered, output
    return output


def test_a_wheel_analyses_a_photo_from_outside_the_checkout(tmp_path, faces_dir):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp_path / "dist"), str(REPO)], check=True, capture_output=True, timeout=300)
    wheel, = (tmp_path / "dist").glob("unveil-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    sums = (REPO / "models" / "SHA256SUMS").read_text().split()[1::2]
    assert {f"fer_core/models/{name}" for name in sums} <= names
    assert {f"unveil/app/pages/{page.name}" for page in (REPO / "unveil" / "app" / "pages").glob("*.py")} <= names
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

    # `unveil app` from there: no .streamlit/config.toml in sight, yet localhost only and no statistics.
    port = free_port()
    banner = _serve([sys.executable, "-m", "unveil.cli", "app", "--headless", "--port", str(port)], cwd=outside,
                    env=env, port=port)
    assert f"URL: http://localhost:{port}" in banner
    assert "Network URL" not in banner and "External URL" not in banner
    assert USAGE_STATISTICS_BANNER not in banner
    # The same entry script under plain `streamlit run` there does collect statistics and listens on
    # every address: what the command's settings prevent.
    port = free_port()
    plain = _serve([sys.executable, "-m", "streamlit", "run", str(tmp_path / "site" / "unveil" / "app" / "streamlit_app.py"),
                    "--server.headless", "true", "--server.port", str(port)], cwd=outside, env=env, port=port)
    assert USAGE_STATISTICS_BANNER in plain and "Network URL" in plain
