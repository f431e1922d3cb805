"""The Governance page's "Check a deletion receipt", without Streamlit: what `unveil audit receipt FILE` does
(governance.receipts: the receipt's digest, the audit entry it names, the log intact, nothing left under its id), for
the erased person or the household holding a receipt, pasted or uploaded. Read-only and not logged; a receipt holds
an id, never a name, and nothing here reads or shows one."""
from __future__ import annotations

from fer_core.store import FamilyStore
from governance import receipts
from unveil.app.text import shown

TITLE = "Check a deletion receipt"
HOW = ("Paste a deletion receipt (the JSON the Family page downloads or `unveil family purge` prints) or upload its "
       "file, to check it against this store: that the audit log holds it and is intact, and that nothing is left "
       "under the erased member's id. It changes nothing and is not logged.")
PASTE = "Receipt (JSON)"
UPLOAD = "or its file"
BUTTON = "Check the receipt"
NOT_A_RECEIPT = "This cannot be checked: {reason}."


def check(store: FamilyStore, text: str | bytes) -> tuple[bool, str]:
    """Whether the receipt in `text` is genuine and nothing is held under its id in the unlocked `store`, and what to
    show, as Markdown: governance.receipts' lines, or NOT_A_RECEIPT with what is wrong (which may quote the text)."""
    try:
        receipt = receipts.read(text)
    except receipts.ReceiptError as exc:
        return False, shown(NOT_A_RECEIPT.format(reason=exc))
    checked = receipts.check(store, receipt)
    return checked.ok, "\n\n".join(shown(line) for line in checked.lines())
