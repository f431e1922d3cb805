"""An onnxruntime session wrapper for tests that check how a model splits its work into runs."""
from __future__ import annotations


class RowCounter:
    """The real session, recording how many rows (faces, crops) each run is given."""

    def __init__(self, session) -> None:
        self._session = session
        self.rows: list[int] = []

    def run(self, outputs, feeds):
        self.rows.extend(len(batch) for batch in feeds.values())
        return self._session.run(outputs, feeds)
