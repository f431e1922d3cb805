"""Members' names as a multilingual household writes them: one rule (fer_core.store._names) for what a name may
be and for when two names are one person, the same for enrolment and for every lookup by name."""
from __future__ import annotations

import unicodedata
from datetime import timedelta

import pytest

from fer_core.store import (
    MAX_NAME_CHARS,
    NAME_AMBIGUOUS,
    NAME_HIDDEN_CHARACTER,
    NAME_LENGTH,
    NAME_MIXED_SCRIPTS,
    NAME_NOTHING_VISIBLE,
    AmbiguousNameError,
    PersonExistsError,
    PersonNameError,
    PersonNotFoundError,
    _names,  # noqa: PLC2701 (to let in names as older versions did)
)
from governance import consent, family
from governance.consent import ConsentError, ConsentRecord
from tests.support import privacy_harness as h


@pytest.fixture
def store(tmp_path):
    with h.new_store(tmp_path / "data") as opened:
        yield opened


def test_the_turkish_i_is_one_letter_for_enrolment_and_erasure(store):
    # "AYŞE YILMAZ" is how a Turkish keyboard writes Ayşe Yılmaz in capitals, "ipek" how a keyboard without
    # "İ" writes İpek: casefold alone keeps İ, I, ı and i apart, so an erasure found no one.
    ipek, ayse = h.enrol(store, "İpek"), h.enrol(store, "Ayşe Yılmaz")
    for typed, who in (("ipek", ipek), ("IPEK", ipek), ("İPEK", ipek), ("AYŞE YILMAZ", ayse), ("ayşe yilmaz", ayse)):
        assert family.resolve(store, typed).id == who, typed
    with pytest.raises(PersonExistsError):
        h.enrol(store, "Ipek")
    receipt = family.purge(store, "AYŞE YILMAZ")
    assert receipt.subject == ayse and [p.id for p in store.people()] == [ipek]


def test_any_unicode_space_is_stored_as_one_space_and_compares_as_one(store):
    japanese = h.enrol(store, "山田\u3000\u3000太郎")  # an IME's ideographic spaces
    french = h.enrol(store, "Ana\u00a0María ")  # a no-break space
    assert [store.person(pid).name for pid in (japanese, french)] == ["山田 太郎", "Ana María"]
    with pytest.raises(PersonExistsError):
        h.enrol(store, "山田 太郎")
    assert family.resolve(store, "  ana   maría").id == french


def test_joiners_are_kept_for_the_scripts_that_need_them_and_never_make_a_second_member(store):
    # Persian writes some names with a zero-width non-joiner; emoji sequences are joined with U+200D. Both
    # were refused as format characters. They are never drawn, so they never make a name a second one.
    persian = h.enrol(store, "نیک\u200cنام")
    emoji = h.enrol(store, "👨\u200d👩\u200d👧")
    assert store.person(persian).name == "نیک\u200cنام" and store.person(emoji).name == "👨\u200d👩\u200d👧"
    ana = h.enrol(store, "Ana")
    for look_alike in ("An\u200da", "A\u200cna", "Ana\ufe0f", "نیک\u200dنام", "نیکنام"):
        with pytest.raises(PersonExistsError):
            h.enrol(store, look_alike)
    # A lookup may carry what a name may not (a zero-width space copied with it, a tab): it still finds them.
    assert family.resolve(store, "A\u200bna").id == ana
    assert family.resolve(store, "ana\t").id == ana
    mohammad = h.enrol(store, "محمد")
    assert family.resolve(store, "محـمد").id == mohammad  # the tatweel only stretches the word


@pytest.mark.parametrize(("name", "message"), [
    ("\u3164", NAME_HIDDEN_CHARACTER.format(code="U+3164", position=1)),  # Hangul filler: a letter that shows nothing
    ("Ana\u2800", NAME_HIDDEN_CHARACTER.format(code="U+2800", position=4)),  # braille blank
    ("Ana\u2028Smith", NAME_HIDDEN_CHARACTER.format(code="U+2028", position=4)),  # line separator
    ("An\u200ba", NAME_HIDDEN_CHARACTER.format(code="U+200B", position=3)),  # zero-width space
    ("Ana\u202eSmith", NAME_HIDDEN_CHARACTER.format(code="U+202E", position=4)),  # right-to-left override
    ("Ana\nSmith", NAME_HIDDEN_CHARACTER.format(code="U+000A", position=4)),
    ("\u0301", NAME_NOTHING_VISIBLE),  # an accent on nothing
    ("\u200d", NAME_NOTHING_VISIBLE),
    (" \u00a0\u3000", NAME_LENGTH.format(most=MAX_NAME_CHARS, count=0)),
    ("", NAME_LENGTH.format(most=MAX_NAME_CHARS, count=0)),
    ("a" * 10_000, NAME_LENGTH.format(most=MAX_NAME_CHARS, count=10_000)),
])
def test_a_name_that_cannot_be_enrolled_is_refused_before_its_consent_and_nothing_is_stored(store, name, message):
    # The empty name was refused as a consent "for no one", the others (invisible, or a line break) enrolled.
    with pytest.raises(PersonNameError) as err:
        family.enroll(store, name, h.person_embeddings("x"), h.consent_for(store, name))
    assert str(err.value) == message
    with pytest.raises(PersonNameError):
        family.check_name(name)
    assert store.counts()["people"] == 0


def test_names_of_every_script_and_of_emoji_or_option_or_path_look_are_kept_as_typed(store, tmp_path):
    names = ["José", "محمد", "שרה", "王小明", "김민준", "Ελένη", "🙂🌻", "🇹🇷", "--help", "../../etc/passwd", "C:\\Users\\Ana",
             "é" * MAX_NAME_CHARS]
    ids = [h.enrol(store, name) for name in names]
    assert [store.person(pid).name for pid in ids] == names
    assert [family.resolve(store, name).id for name in names] == ids
    # Nothing touches the file system by a name: every file is the store's own, in its folder.
    assert {p.parent for p in tmp_path.rglob("*")} == {tmp_path, store.data_dir}
    assert all(p.name.startswith(("unveil.db", "keys.db")) for p in store.data_dir.iterdir()), list(store.data_dir.iterdir())


def test_nfd_and_nfc_are_one_name_for_the_consent_too(store):
    # The consent's subject typed on one keyboard (precomposed é), the name on another (e + combining accent).
    nfc, nfd = unicodedata.normalize("NFC", "José"), unicodedata.normalize("NFD", "José")
    done = family.enroll(store, nfd, h.person_embeddings(nfd), h.consent_for(store, nfc))
    assert done.name == nfc
    with pytest.raises(PersonExistsError):
        h.enrol(store, nfc)
    assert family.resolve(store, nfd).id == done.person_id


def test_a_name_two_members_read_as_erases_no_one_and_asks_for_the_id(store, monkeypatch):
    # Before names were compared space-folded, a store could hold "Ana María" and "Ana  María": a lookup took
    # the first, so `unveil family purge "ana maría"` could erase the one not meant. Both are let in here as
    # an older version did.
    with monkeypatch.context() as older:
        older.setattr(_names, "clean_name", lambda name: name)
        older.setattr(_names, "same_name", lambda a, b: False)
        first, second = store.add_person("Ana María"), store.add_person("Ana  María")
    assert [p.name for p in store.people()] == ["Ana María", "Ana  María"]
    before = store.counts()
    for lookup in (family.purge, family.resolve):
        with pytest.raises(AmbiguousNameError) as err:
            lookup(store, "ana maría")
        assert str(err.value) == NAME_AMBIGUOUS.format(count=2, name="ana maría", ids=f"{first}, {second}")
        assert err.value.person_ids == (first, second)
    assert store.counts() == before
    assert family.purge(store, second).subject == second
    assert family.resolve(store, "ana maría").id == first


def test_an_unknown_name_is_still_not_found_whatever_it_holds(store):
    h.enrol(store, "Ana")
    for typed in ("", "\u200b", "Ana\x00", "a" * 10_000, "Anna"):
        with pytest.raises(PersonNotFoundError):
            family.resolve(store, typed)


def test_keys_of_names_kept_by_older_versions_compare_without_rewriting(store, monkeypatch):
    # A name stored decomposed, with a double space, as versions before NFC and space folding kept it.
    with monkeypatch.context() as older:
        older.setattr(_names, "clean_name", lambda name: name)
        pid = store.add_person(unicodedata.normalize("NFD", "Zoë  Ünal"))
    assert store.person(pid).name == unicodedata.normalize("NFD", "Zoë  Ünal")  # not rewritten
    assert family.resolve(store, "ZOË ÜNAL").id == pid
    with pytest.raises(PersonExistsError):
        h.enrol(store, "zoë ünal")


def test_who_gave_a_consent_is_compared_with_its_subject_by_the_same_rule(store):
    # The consent compared giver and subject by casefold alone: "AYŞE YILMAZ" giving her own consent (or "Ana María"
    # typed with a no-break space) was refused as 'self', and `unveil consent renew --by-themself` recorded it as a
    # guardian's consent given by the person themself.
    now = consent.store_now(store)
    own = ConsentRecord.new(subject="Ayşe Yılmaz", given_by="AYŞE YILMAZ", purpose="family photos", days=30, now=now)
    own.validate(now=now)
    with pytest.raises(ConsentError):
        ConsentRecord.new(subject="Ayşe Yılmaz", given_by="ayşe yilmaz", relation="guardian", purpose="family photos",
                          days=30, now=now).validate(now=now)
    done = family.enroll(store, "Ana María", h.person_embeddings("ana"), ConsentRecord.new(
        subject="Ana\u00a0María", given_by="Ana\u00a0María", purpose="family photos", days=30, now=now))
    record = consent.renew(store, done.person_id, expires_at=now + timedelta(days=60), given_by="ana maría")
    assert (record.relation, record.given_by) == ("self", "Ana\u00a0María")


@pytest.mark.parametrize("name", ["unknown", "Unknown", " UNKNOWN ", "unknown\u200d", "ｕｎｋｎｏｗｎ"])
def test_a_name_that_reads_as_the_label_of_strangers_is_refused_for_enrolment_and_renaming(store, name):
    # A member enrolled as "unknown" was called what every stranger is called on the Analyze page, in annotated
    # photos, downloads, the API and `unveil watch`, and left out of the members a kept result names.
    from fer_core import render

    message = family.NAME_READS_AS_UNKNOWN.format(label=render.UNKNOWN)
    assert message == ('a person\'s name must not read as "unknown": every face that no member matches is called so, '
                       'and they could not be told from a stranger; add to it (a surname, an initial)')
    with pytest.raises(PersonNameError) as err:
        family.enroll(store, name, h.person_embeddings("x"), h.consent_for(store, name))
    assert str(err.value) == message
    ana = h.enrol(store, "Ana")
    before = store.counts(), len(store.audit_entries())
    with pytest.raises(PersonNameError) as err:
        family.rename(store, ana, name)
    assert str(err.value) == message
    assert (store.counts(), len(store.audit_entries())) == before and store.person(ana).name == "Ana"
    assert family.check_name("Unknown Lee") == "Unknown Lee"


def test_a_member_an_older_version_enrolled_as_unknown_still_opens_and_is_renamed_or_erased(store):
    with store.transaction():  # as versions before NAME_READS_AS_UNKNOWN let in
        first = store.add_person("unknown")
    assert family.resolve(store, "Unknown").id == first
    assert [m.name for m in family.members(store)] == ["unknown"]
    done = family.rename(store, "unknown", "Uma Kowalski")
    assert (done.person_id, done.before, done.name) == (first, "unknown", "Uma Kowalski")
    with store.transaction():
        second = store.add_person("Unknown")
    assert family.purge(store, "UNKNOWN").subject == second
    assert [p.name for p in store.people()] == ["Uma Kowalski"]


@pytest.mark.parametrize(("name", "first", "second", "position"), [
    ("\u0410na", "Cyrillic", "Latin", 2),  # a Cyrillic "А", then Latin "na": shown as "Ana" everywhere
    ("Ana L\u0435e", "Latin", "Cyrillic", 6),  # a Cyrillic "е" in the second word
    ("unkn\u043ewn", "Latin", "Cyrillic", 5),  # "unknown" with a Cyrillic "о"
    ("\u039fla", "Greek", "Latin", 2),  # a Greek capital omicron
])
def test_a_word_that_mixes_latin_cyrillic_or_greek_letters_is_refused(store, name, first, second, position):
    # Enrolled beside "Ana", "Аna" was a second member whose name read as hers in the list, on the Analyze page, in
    # downloads and sensors; a purge typed "Ana" on a Latin keyboard erased the other one.
    message = NAME_MIXED_SCRIPTS.format(first=first, second=second, position=position)
    assert NAME_MIXED_SCRIPTS.format(first="Cyrillic", second="Latin", position=2) == (
        "a person's name must not mix Cyrillic and Latin letters in one word, as many of them look alike: "
        "character 2 is Latin in a word begun in Cyrillic")
    ana = h.enrol(store, "Ana")
    before = store.counts(), len(store.audit_entries())
    with pytest.raises(PersonNameError) as err:
        family.enroll(store, name, h.person_embeddings("x"), h.consent_for(store, name))
    assert str(err.value) == message
    with pytest.raises(PersonNameError) as err:
        family.rename(store, ana, name)
    assert str(err.value) == message
    assert (store.counts(), len(store.audit_entries())) == before


def test_words_of_each_script_side_by_side_are_kept(store):
    names = ["Мария Ivanova", "Ελένη Smith", "Ana-Мария", "Ἀλέξανδρος", "Дмитрий", "Ǆemal ɛkua", "Zoë Ødegård"]
    ids = [h.enrol(store, name) for name in names]
    assert [store.person(pid).name for pid in ids] == names


def test_a_mixed_script_name_an_older_version_stored_still_opens_and_is_renamed_or_erased(store, monkeypatch):
    latin = h.enrol(store, "Ana")
    with monkeypatch.context() as older:
        older.setattr(_names, "clean_name", lambda name: name)
        with store.transaction():
            cyrillic, other = store.add_person("\u0410na"), store.add_person("L\u0435e")
    assert family.resolve(store, "\u0430NA").id == cyrillic and family.resolve(store, "ANA").id == latin
    assert family.rename(store, cyrillic, "Anya").before == "\u0410na"
    assert family.purge(store, "L\u0435e").subject == other
    assert [p.name for p in store.people()] == ["Ana", "Anya"]
