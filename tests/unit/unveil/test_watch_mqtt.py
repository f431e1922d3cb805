"""The ids `unveil watch --mqtt` gives members' sensors and topics: one per member whatever script their
name is written in, the same at every start, valid in a topic, and without the member's id."""
from __future__ import annotations

import re
import uuid

import pytest

from unveil.watch.mqtt import BAD_ADDRESS, MqttAddressError, member_key, parse_address, slug

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


def test_an_ipv6_broker_address_is_never_read_as_a_host_and_a_port():
    # "--mqtt ::1" connected to host ":" on port 1, and "[::1]:1883" to a host named "[::1]": neither reached
    # a broker, and the log said only that it was not reachable yet.
    assert parse_address("::1") == ("::1", 1883)
    assert parse_address("fe80::1") == ("fe80::1", 1883)
    assert parse_address("[::1]:1884") == ("::1", 1884)
    assert parse_address("[fd00::2]") == ("fd00::2", 1883)
    assert parse_address("hass.local") == ("hass.local", 1883) and parse_address("10.0.0.2:1884") == ("10.0.0.2", 1884)
    for value in ("[::1]:", "[::1]1884", "[::1", "[]:1884", "hass.local:", ":1884", "hass.local:0", "[::1]:65536"):
        with pytest.raises(MqttAddressError) as refused:
            parse_address(value)
        assert str(refused.value) == BAD_ADDRESS.format(value=value)
