"""ruff, with the rules in pyproject.toml, finds nothing in the repository."""
import subprocess
import sys

from tests.support.paths import REPO


def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(REPO)], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
