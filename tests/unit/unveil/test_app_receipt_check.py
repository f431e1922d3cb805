"""unveil.app.receipt_check without Streamlit: the lines of governance.receipts as Markdown that shows as written, and
what is not a receipt said with what is wrong, without showing back what it holds (a name, say)."""
from __future__ import annotations

import json

from governance import family, receipts
from tests.support import privacy_harness as h
from unveil.app import receipt_check
from unveil.app.text import shown


def test_a_genuine_receipt_and_one_that_is_not_a_receipt(tmp_path):
    with h.new_store(tmp_path) as store:
        h.enrol(store, "Laura Bush")
        receipt = family.purge(store, "Laura Bush")
        assert receipt_check.check(store, receipt.to_json()) == (
            True, "\n\n".join(shown(line) for line in receipts.check(store, receipt).lines()))
        forged = json.loads(receipt.to_json()) | {"[Laura Bush](https://example.org)": 1}
        genuine, said = receipt_check.check(store, json.dumps(forged).encode())
    assert (genuine, said) == (False, shown(receipt_check.NOT_A_RECEIPT.format(
        reason=receipts.UNKNOWN_FIELDS.format(count=1))))
