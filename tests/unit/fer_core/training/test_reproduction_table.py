"""The reproduction table (fer_core.training.reproduction): the committed table is what the code renders
from the run files committed beside it, and re-rendering from those copies leaves them in place."""
from tests.support.paths import REPO

REPORTS = REPO / "experiments" / "reports"
COPIES = REPORTS / "reproduction"


def _table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| model")]


def test_committed_table_is_rendered_from_the_committed_run_files(tmp_path):
    # Imported here, not at collection: the zoo loads Keras and TensorFlow.
    from fer_core.training.reproduction import write_table
    from fer_core.training.zoo import STUDY_ARCHITECTURES

    before = {path: path.read_bytes() for path in COPIES.rglob("*") if path.is_file()}
    out = tmp_path / "reproduction.md"
    write_table([COPIES / arch for arch in STUDY_ARCHITECTURES], copy_to=COPIES, out=out)
    rendered = _table_rows(out.read_text())
    assert len(rendered) == len(STUDY_ARCHITECTURES) == 6
    assert rendered == _table_rows((REPORTS / "reproduction.md").read_text())
    assert {path: path.read_bytes() for path in COPIES.rglob("*") if path.is_file()} == before
