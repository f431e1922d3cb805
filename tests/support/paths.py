"""Where the tests find the repository and their fixtures, wherever a test file sits."""
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
