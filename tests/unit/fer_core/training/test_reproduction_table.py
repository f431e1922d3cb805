"""scripts/reproduction_table.py: the committed reproduction table is what the script renders from the
run files committed beside it, and re-rendering from those copies leaves them in place."""
import subprocess
import sys

from fer_core.training.zoo import ZOO
from tests.support.paths import REPO

COPIES = REPO / "docs" / "reports" / "reproduction"


def _table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| model")]


def test_committed_table_is_rendered_from_the_committed_run_files(tmp_path):
    before = {path: path.read_bytes() for path in COPIES.rglob("*") if path.is_file()}
    out = tmp_path / "reproduction.md"
    subprocess.run([sys.executable, "scripts/reproduction_table.py", *(str(COPIES / arch) for arch in ZOO),
                    "--copy-to", str(COPIES), "--out", str(out)], cwd=REPO, check=True, capture_output=True)
    rendered = _table_rows(out.read_text())
    assert len(rendered) == len(ZOO) == 6
    assert rendered == _table_rows((REPO / "docs" / "reports" / "reproduction.md").read_text())
    assert {path: path.read_bytes() for path in COPIES.rglob("*") if path.is_file()} == before
