"""The Family page's "Check the store", without Streamlit: what `unveil family check` does (governance.checking.check:
every sealed value, every manifest, SQLite's own checks), with the same lines, for a household that only uses the app
(the README's restore steps check a restored store), and what to do next when it finds damage."""
from __future__ import annotations

from fer_core.store import FamilyStore
from governance import checking
from unveil.app.text import shown

TITLE = "Check the store"
HOW = ("Reads every encrypted value and checks it was not changed, and checks the store's files as `unveil family "
       "check` does: after restoring a backup, or when something looks wrong. It changes nothing.")
BUTTON = "Check the store now"
# After the damage lines: the store is still unlocked, and the next unlock refuses it (its checks are the same and more).
DAMAGED_NEXT = ("The store is damaged; nothing was deleted or changed. A backup of it is refused (the copy fails these "
                "checks), and it will not unlock again. Restore your latest backup: lock the store, unlock it, and "
                "the page then offers to set the damaged store aside, kept in the data folder, and to restore the "
                "backup from its folder.")


def check(store: FamilyStore) -> tuple[bool, str]:
    """Whether the unlocked `store` passes governance.checking.check, and what to show, as Markdown: its lines
    (CHECK_OK, or one line per problem, which may quote what the file holds, followed by DAMAGED_NEXT)."""
    checked = checking.check(store)
    lines = [shown(line) for line in checked.lines()]
    return checked.ok, "\n\n".join(lines if checked.ok else [*lines, DAMAGED_NEXT])
