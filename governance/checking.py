"""The store's full check, as `unveil family check` prints it and the Family page's "Check the store" shows it.

    checked = check(store)          # every sealed value, every manifest, SQLite's checks, the retention seal
    checked.ok, checked.lines()     # CHECK_OK, or one CHECK_DAMAGED line per problem

Read-only: nothing is written, to the store or anywhere else, and reading is not audit-logged (as governance.access
says of reads by the household). The lines name tables, row ids and columns, never a member's name.
"""
from __future__ import annotations

from dataclasses import dataclass

from fer_core.store import Damage, FamilyStore

CHECK_OK = "every encrypted value authenticates ({people} people, {embeddings} embeddings)"
CHECK_DAMAGED = "DAMAGED {table} {row} {column}: {message}"


@dataclass(frozen=True)
class Checked:
    damage: list[Damage]  # empty when the store is intact
    counts: dict[str, int]  # the store's counts(), per kind

    @property
    def ok(self) -> bool:
        return not self.damage

    def lines(self) -> list[str]:
        """CHECK_OK when intact, else one CHECK_DAMAGED line per problem."""
        if self.ok:
            return [CHECK_OK.format(people=self.counts["people"], embeddings=self.counts["embeddings"])]
        return [CHECK_DAMAGED.format(table=item.table, row=item.row, column=item.column, message=item.message)
                for item in self.damage]


def check(store: FamilyStore) -> Checked:
    """FamilyStore.check() on the unlocked `store`, with its counts."""
    return Checked(store.check(), store.counts())
