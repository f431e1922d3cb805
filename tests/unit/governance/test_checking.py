"""governance.checking: the store's full check, in the lines `unveil family check` prints and the Family page's "Check
the store" shows: one line for an intact store, one per problem for a damaged one, naming ids, never a name."""
from __future__ import annotations

import contextlib
import sqlite3

from fer_core.store import DATA_FILE
from governance import checking
from tests.support import privacy_harness as h


def test_an_intact_store_gets_one_line_and_a_damaged_one_a_line_per_problem_without_the_name(tmp_path):
    with h.new_store(tmp_path / "data") as store:
        ana = h.enrol(store, "Ana Lima")
        h.enrol(store, "Ben Okafor")
        intact = checking.check(store)
        assert intact.ok and intact.lines() == [checking.CHECK_OK.format(people=2, embeddings=10)]

        with contextlib.closing(sqlite3.connect(tmp_path / "data" / DATA_FILE, isolation_level=None)) as conn:
            (name,) = conn.execute("SELECT name FROM people WHERE id = ?", (ana,)).fetchone()
            conn.execute("UPDATE people SET name = ? WHERE id = ?", (bytes([name[0] ^ 1]) + name[1:], ana))
        damaged = checking.check(store)
        assert not damaged.ok and damaged.damage
        assert damaged.lines() == [checking.CHECK_DAMAGED.format(table=item.table, row=item.row, column=item.column,
                                                                 message=item.message) for item in damaged.damage]
        assert any(line.startswith(f"DAMAGED people {ana} name: ") for line in damaged.lines())
        assert not any("Ana" in line for line in damaged.lines())
        assert len(store.person_ids()) == 2  # nothing deleted
