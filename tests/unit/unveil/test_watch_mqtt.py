"""The ids `unveil watch --mqtt` gives members' sensors and topics: one per member whatever script their
name is written in, the same at every start, valid in a topic, and without the member's id."""
from __future__ import annotations

import re
import uuid

from unveil.watch.mqtt import member_key, slug

NAMES = ("Мария", "Иван", "李明", "José", "Jose", "Ana María", "Strauß", "!!!")


def test_each_member_has_a_key_of_their_own_in_any_script():
    ids = {name: uuid.uuid4().hex for name in NAMES}
    keys = {name: member_key(person_id, name) for name, person_id in ids.items()}
    assert len(set(keys.values())) == len(NAMES)
    assert all(re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*_[0-9a-f]{8}", key) for key in keys.values())
    assert keys["José"].startswith("jose_") and keys["Jose"].startswith("jose_")
    assert keys["Мария"].startswith("member_") and keys["李明"].startswith("member_") and keys["!!!"].startswith("member_")
    assert all(member_key(ids[name], name) == key for name, key in keys.items())  # the same at every start
    assert not [name for name, key in keys.items() if ids[name][:6] in key]  # the id itself stays in the store


def test_the_readable_part_spells_the_name_in_ascii():
    assert [slug(name) for name in ("Ana María", "Strauß", "José", "Мария", "O'Brien-Smith")] == [
        "ana_maria", "strauss", "jose", "", "o_brien_smith"]
