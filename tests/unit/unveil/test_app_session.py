"""governance.app_session without Streamlit: widget keys that reset, the Analyze page's photo batch, and
what a new session says about what was kept."""
from __future__ import annotations

from unveil.app import session as app_session
from unveil.app.session import PhotoBatch, plural, renew, widget_key


def test_a_confirmation_belongs_to_one_member_and_one_action_and_resets_after_it():
    state: dict = {}
    serena = widget_key(state, "erase", "request", "id-serena")
    laura = widget_key(state, "erase", "request", "id-laura")
    withdraw_serena = widget_key(state, "erase", "withdrawn", "id-serena")
    assert len({serena, laura, withdraw_serena}) == 3  # a tick for one can never count for another
    enrol_name = widget_key(state, "enrol", "name")
    renew(state, "erase")  # after an erasure
    assert widget_key(state, "erase", "request", "id-laura") not in (laura, serena)
    assert widget_key(state, "erase", "request", "id-serena") != serena
    assert widget_key(state, "enrol", "name") == enrol_name  # other groups keep their widgets


def test_the_batch_holds_each_photo_once_in_the_order_added():
    batch = PhotoBatch()
    assert batch.add([("a.jpg", b"A"), ("b.jpg", b"B"), ("a.jpg", b"A")]) == 2
    assert batch.add([("a.jpg", b"A"), ("c.jpg", b"C")]) == 1
    assert len(batch) == 3
    assert [name for _, name, _ in batch.pending(())] == ["a.jpg", "b.jpg", "c.jpg"]


def test_results_are_computed_once_per_gallery_state_and_survive_until_removed():
    batch = PhotoBatch()
    batch.add([("a.jpg", b"A"), ("b.jpg", b"B")])
    for key, name, _ in batch.pending(()):
        batch.set_result(key, f"{name} without names")
    assert batch.pending(()) == []  # a rerun (another click, another page and back) analyses nothing again
    assert [result for _, result in batch.results()] == ["a.jpg without names", "b.jpg without names"]
    # A member was enrolled: every photo is analysed again, so results name them.
    assert [name for _, name, _ in batch.pending(("Ana",))] == ["a.jpg", "b.jpg"]
    assert batch.results() == []
    first_key = batch.pending(("Ana",))[0][0]
    batch.set_result(first_key, "a.jpg naming Ana")
    batch.forget_results()  # after a purge: the photos stay, to be analysed again
    assert len(batch) == 2 and batch.results() == []
    batch.remove(first_key)
    assert [name for _, name, _ in batch.pending(("Ana",))] == ["b.jpg"]
    batch.clear()
    assert len(batch) == 0 and batch.pending(()) == []


def test_a_photo_is_analysed_once_and_only_named_again_when_the_gallery_changes():
    batch = PhotoBatch()
    batch.add([("a.jpg", b"A"), ("b.jpg", b"B")])
    (key_a, _, _), (key_b, _, _) = batch.pending(())
    assert batch.analysis(key_a) is None
    batch.set_analysis(key_a, "faces of a.jpg")
    batch.set_result(key_a, "a.jpg without names")
    assert batch.pending(("Ana",))[0][0] == key_a and batch.analysis(key_a) == "faces of a.jpg"
    batch.forget_results()  # after a purge or a lock: the analysis names nobody, so it stays
    assert batch.results() == [] and batch.analysis(key_a) == "faces of a.jpg"
    batch.set_analysis("not in the batch", "faces")
    assert batch.analysis("not in the batch") is None
    batch.remove(key_a)
    assert batch.analysis(key_a) is None
    batch.set_analysis(key_b, "faces of b.jpg")
    batch.clear()
    assert batch.analysis(key_b) is None


def test_a_new_session_says_what_was_kept_and_what_was_not():
    assert app_session.new_session_notice(None) is None  # no store: nothing was ever kept
    assert app_session.new_session_notice({"people": 2, "analyses": 1, "audit": 9}) == (
        "This is a new session (a reload or a new tab starts one): the family store is locked, and photos and "
        "results from before are not kept, because they live only in one session's memory. Kept on this machine, "
        "encrypted: 2 members and 1 kept result. Unlock the store on the Family page to use them.")
    assert "Unlock" in app_session.new_session_notice({"people": 0, "analyses": 3, "audit": 9})


def test_a_new_session_on_a_store_that_keeps_nothing_does_not_ask_to_unlock_it_to_use_nothing():
    # A household that created the store and enrolled no one yet: "0 members and 0 kept results. Unlock the store
    # ... to use them" asked them to unlock it for nothing.
    for counts in ({"people": 0, "analyses": 0, "audit": 4}, {"audit": 1}):
        said = app_session.new_session_notice(counts)
        assert said == app_session.NEW_SESSION_NOTHING_KEPT
        assert "nlock" not in said and "0 members" not in said


def test_plural():
    assert [plural(n, "photo") for n in (0, 1, 2)] == ["0 photos", "1 photo", "2 photos"]
    assert plural(3, "analysis", "analyses") == "3 analyses"
