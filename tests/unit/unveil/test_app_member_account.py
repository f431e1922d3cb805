"""unveil.app.member_account without Streamlit: the Family page's "What is stored about NAME" says one member's
account (governance.access) in sentences and tables, dates on the user's calendar."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from governance import access, consent, kept_results
from governance.consent import local_day
from tests.support import privacy_harness as h
from unveil.app import member_account


def test_the_account_after_a_renewal_by_a_guardian_is_said_in_the_users_days(store, clock):
    ana, ben = h.enrol(store, "Ana"), h.enrol(store, "Ben")
    kept_results.keep_analysis(store, [{"identity": "Ana"}, {"identity": "Ben"}], person_ids=[ana, ben])
    clock.advance(days=4)
    consent.renew(store, ana, expires_at=consent.store_now(store) + timedelta(days=30), given_by="Marta")
    held = access.account(store, ana)
    auckland = ZoneInfo("Pacific/Auckland")
    day = local_day(held.enrolled_at, auckland).isoformat()

    assert member_account.summary_lines(held, auckland) == [
        member_account.INTRO.format(name="Ana"),
        member_account.ENROLLED.format(enrolled=day, last_seen=day),
        member_account.RECOGNITIONS,
        member_account.FACE_PRINTS.format(count=h.EMBEDDINGS_PER_PERSON, models=f"{h.EMBEDDINGS_PER_PERSON} of default"),
        member_account.THUMBNAILS.format(count=1),
        member_account.KEPT.format(count=1, days=f", kept {day}"),
        member_account.CONSENTS.format(status="active")]
    table = member_account.consents_table(held, auckland)
    assert table[["given by", "relation", "governs"]].values.tolist() == [["Ana", "self", False],
                                                                           ["Marta", "guardian", True]]
    assert table["until"].tolist()[1] == local_day(held.governing.record.expires_at, auckland).isoformat()
    audit = member_account.audit_table(held)
    assert audit["event"].tolist() == ["consent_renewed", "enrol", "consent_granted"]  # newest first
    assert set(audit["who"]) == {"Ana"} and "Ben" not in audit.to_string()


def test_a_member_with_no_thumbnail_nor_kept_result_and_a_name_in_markdown_shown_literally(store):
    ana = h.enrol(store, "**Ana**")
    store.delete_thumbnails(person_id=ana)
    held = access.account(store, ana)
    lines = member_account.summary_lines(held)
    assert lines[0] == member_account.INTRO.format(name=r"\*\*Ana\*\*")
    assert member_account.THUMBNAILS.format(count=0) in lines
    assert member_account.KEPT.format(count=0, days="") in lines
