"""The Family page's "What is stored about NAME", through streamlit.testing.v1.AppTest: one member's account (the
right of access) on the Members tab, decrypted only while open, nothing of another member in it, and nothing written
by reading it. Before it the page had no such expander: the answer was spread over the members table, the consent
ledger and the audit log, each about everyone."""
from __future__ import annotations

import shutil
from datetime import timedelta

from streamlit.testing.v1 import AppTest

from fer_core.store import FamilyStore
from governance import access, consent, family, kept_results
from tests.support import privacy_harness as h
from tests.support.app import FAMILY_PASSPHRASE
from tests.support.paths import REPO
from tests.support.store import jpeg_thumbnail
from unveil.app import member_account

TIMEOUT = 120  # model loading and scrypt on a loaded 2-core machine, as tests/integration/test_app_pages.py


def test_a_members_account_is_drawn_only_while_open_and_holds_nothing_of_another(app_env, family_store_dir,
                                                                                monkeypatch):
    shutil.copytree(family_store_dir, app_env)
    with FamilyStore(app_env) as store:
        store.unlock(FAMILY_PASSPHRASE)
        (colin,) = store.people()
        model = next(iter(store.embedding_models()[colin.id]))
        ana = family.enroll(store, "Ana", store.embeddings(colin.id) + 1, h.consent_for(store, "Ana"),
                            thumbnails=[jpeg_thumbnail()], model=model).person_id
        consent.renew(store, ana, expires_at=consent.store_now(store) + timedelta(days=30), given_by="Marta")
        kept_results.keep_analysis(store, [{"identity": "Ana"}, {"identity": "Colin Powell"}],
                                   person_ids=[ana, colin.id])
    read = []
    real_account = access.account
    monkeypatch.setattr(access, "account", lambda store, who, **kw: read.append(who) or real_account(store, who, **kw))

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.switch_page("unveil/app/pages/family.py").run()
    at.text_input(key="unlock_passphrase").input(FAMILY_PASSPHRASE)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    titles = [member_account.TITLE.format(name=name) for name in ("Colin Powell", "Ana")]
    assert [e.label for e in at.expander if e.label in titles] == titles
    assert read == []  # nobody's account is read while closed
    logged = _logged(app_env)  # the unlock's sweep logged its entry

    at.session_state[f"family_account_{ana}"] = True  # Ana's account opened
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert read == [ana]  # Colin's, closed, is not
    (opened,) = [e for e in at.expander if e.label == titles[1]]
    said = [m.value for m in opened.markdown]
    assert said[0].startswith(member_account.INTRO.format(name="Ana"))
    assert member_account.KEPT.format(count=1, days="").split(":")[0] in said[0]
    assert member_account.AUDIT.format(count=3) in said  # consent_granted, enrol, consent_renewed
    consents, audit = (frame.value for frame in opened.dataframe)
    assert consents[["given by", "relation", "governs"]].values.tolist() == [["Ana", "self", False],
                                                                              ["Marta", "guardian", True]]
    assert audit["event"].tolist() == ["consent_renewed", "enrol", "consent_granted"]
    assert [len(image.proto.imgs) for image in opened.image] == [1]
    shown = " ".join(said) + consents.to_string() + audit.to_string()
    assert "Colin" not in shown and colin.id[:8] not in shown
    assert _logged(app_env) == logged  # reading it wrote nothing


def _logged(data_dir) -> tuple[list, list]:
    with FamilyStore(data_dir) as store:
        store.unlock(FAMILY_PASSPHRASE)
        return [(e.seq, e.event) for e in store.audit_entries()], [(p.id, p.consents, p.last_seen_at) for p in store.people()]
