"""A consent renewed in one session (the Family page) while another (`unveil consent scope`, another tab) changes
its scope: each change is a new record copied from the governing one, so the copy must be read under the write
lock, or the later write undoes the other session's change. The other session's change is made at an exact point
(just after this session read the governing record), with no busy wait: a session that finds the store busy
refuses at once, and is run again afterwards, as its user would."""
from __future__ import annotations

from datetime import timedelta

import pytest

from fer_core.store import FamilyStore, StoreBusyError
from governance import consent
from tests.support import privacy_harness as h


@pytest.fixture
def sessions(tmp_path):
    with h.new_store(tmp_path) as store:
        ana = h.enrol(store, "Ana Lima")  # recognition+thumbnails, one thumbnail, 365 days
    this = h.open_store(tmp_path)
    other = FamilyStore(tmp_path, busy_timeout=0)
    other.unlock(h.PASSPHRASE)
    with this, other:
        yield this, other, ana


def _meanwhile(monkeypatch, session, change) -> list:
    """Make `change` in the other session right after `session` reads the governing consent; what it refused."""
    original, refused = consent.latest, []

    def latest(store, person_id):
        record = original(store, person_id)
        if store is session and not made:
            made.append(True)
            try:
                change()
            except StoreBusyError as exc:  # this session holds the write lock: the other waits its turn
                refused.append(exc)
        return record

    made: list = []
    monkeypatch.setattr(consent, "latest", latest)
    return refused


def test_a_renewal_keeps_a_scope_narrowed_in_another_session_meanwhile(sessions, monkeypatch):
    this, other, ana = sessions
    narrow = lambda: consent.change_scope(other, ana, "recognition")  # noqa: E731
    refused = _meanwhile(monkeypatch, this, narrow)
    renewed_until = consent.store_now(this) + timedelta(days=200)
    consent.renew(this, ana, expires_at=renewed_until)
    monkeypatch.undo()
    if refused:
        narrow()
    governing = consent.latest(this, ana)
    # Before: the renewal copied the record read before the narrowing, and thumbnails were allowed again.
    assert governing.scope == "recognition"
    assert governing.expires_at == renewed_until
    assert this.thumbnails(ana) == []


def test_a_scope_change_keeps_a_renewal_made_in_another_session_meanwhile(sessions, monkeypatch):
    this, other, ana = sessions
    renewed_until = consent.store_now(this) + timedelta(days=300)
    renew = lambda: consent.renew(other, ana, expires_at=renewed_until)  # noqa: E731
    refused = _meanwhile(monkeypatch, this, renew)
    consent.change_scope(this, ana, "recognition")
    monkeypatch.undo()
    if refused:
        renew()
    governing = consent.latest(this, ana)
    # Before: the scope change copied the record from before the renewal: the consent ended on the old date.
    assert governing.expires_at == renewed_until
    assert governing.scope == "recognition"
