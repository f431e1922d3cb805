"""The ids `unveil watch --mqtt` gives members' sensors and topics: one per member whatever script their
name is written in, the same at every start, valid in a topic, and without the member's id."""
from __future__ import annotations

import logging
import re
import socket
import ssl
import types
import uuid

import pytest

from unveil.watch.mqtt import (
    ANONYMOUS,
    BAD_ADDRESS,
    BAD_CA,
    PLAINTEXT,
    TLS_PORT,
    HomeAssistantSink,
    MqttAddressError,
    MqttTlsError,
    member_key,
    parse_address,
    slug,
    tls_context,
)

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


def test_over_tls_a_broker_address_without_a_port_takes_mqtts_port():
    assert parse_address("hass.local", default_port=TLS_PORT) == ("hass.local", 8883)
    assert parse_address("[::1]", default_port=TLS_PORT) == ("::1", 8883)
    assert parse_address("hass.local:1884", default_port=TLS_PORT) == ("hass.local", 1884)


@pytest.mark.parametrize("content", [None, "not a certificate"])
def test_a_certificate_authority_file_that_cannot_be_read_is_refused_before_any_connection(tmp_path, content):
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_text(content)
    with pytest.raises(MqttTlsError) as refused:
        tls_context(str(path))
    assert str(refused.value).startswith(BAD_CA.format(path=path, reason="")[:-2])


def test_tls_checks_the_broker_certificate_and_its_name_and_refuses_old_protocols():
    context = tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


class _Client:
    """What HomeAssistantSink asks of paho's client, connecting nowhere."""

    def __init__(self) -> None:
        self.tls = None

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: None

    def tls_set_context(self, context) -> None:
        self.tls = context


@pytest.mark.parametrize(("host", "tls", "user", "warned"), [
    ("hass.local", False, None, "member names"),
    ("192.168.1.20", False, "unveil", "member names and the MQTT password"),
    ("hass.local", True, "unveil", None),
    ("127.0.0.1", False, "unveil", None),
    ("::1", False, None, None),
    ("::ffff:127.0.0.1", False, None, None),
    ("::ffff:192.168.1.20", False, None, "member names"),
    ("localhost", False, None, None),
])
def test_a_broker_on_another_machine_without_tls_is_warned_of_names_crossing_the_network(
        caplog, monkeypatch, host, tls, user, warned):
    def unreachable(*args, **kwargs):
        raise OSError("no network in tests")

    monkeypatch.setattr(socket, "create_connection", unreachable)  # start()'s own TLS handshake, when it fails
    client = _Client()
    context = tls_context() if tls else None
    sink = HomeAssistantSink(host, node="hall", username=user, password="pw" if user else None, client=client,
                             tls=context)
    with caplog.at_level(logging.WARNING, logger="unveil.watch"):
        sink.start(wait_s=0)
    messages = [record.getMessage() for record in caplog.records]
    assert client.tls is context
    if warned is None:
        assert not [m for m in messages if "plain text" in m]
    else:
        assert PLAINTEXT.format(host=host, password=warned[len("member names"):]) in messages


class _Recorder(_Client):
    """A paho client that records what is published (topic, payload, qos) and acknowledges nothing by itself."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[tuple[str, str, int]] = []
        self.retain: dict[str, bool] = {}  # topic -> whether its last message was retained
        self.retained: list[bool] = []  # whether each of `published` was
        self.will: tuple[str, str, int, bool] | None = None
        self.rc = 0

    def publish(self, topic, payload=None, qos=0, retain=False):
        self.published.append((topic, payload, qos))
        self.retain[topic] = retain
        self.retained.append(retain)
        return types.SimpleNamespace(rc=self.rc, mid=len(self.published))

    def will_set(self, topic, payload=None, qos=0, retain=False):
        self.will = (topic, payload, qos, retain)


def _connect(sink: HomeAssistantSink, client: _Recorder) -> None:
    client.published.clear()
    sink._on_connect(client, None, None, types.SimpleNamespace(is_failure=False), None)


@pytest.mark.parametrize("user", [None, "unveil"])
def test_a_broker_that_lets_the_loop_in_without_a_login_is_said_to_let_others_in_once(caplog, user):
    # Mosquitto 2.0 with no configuration lets anyone on localhost in: another user of the machine read the members'
    # sensors and states from it.
    client = _Recorder()
    sink = HomeAssistantSink("127.0.0.1", 1883, node="hall", client=client, username=user, password="pw" if user else None)
    with caplog.at_level(logging.WARNING, logger="unveil.watch"):
        _connect(sink, client)
        _connect(sink, client)  # a reconnection: said once per run
    assert caplog.messages == ([ANONYMOUS.format(host="127.0.0.1", port=1883)] if user is None else [])


@pytest.mark.parametrize(("code", "login"), [(135, True), (134, True), (136, False)])
def test_a_broker_that_refuses_the_connection_is_said_to_once_not_to_be_unreachable(caplog, code, login):
    # Home Assistant's Mosquitto add-on refuses a loop without --mqtt-user: the log said "refused the connection:
    # Not authorized" at each of paho's tries, then "not reachable yet; events are queued and sent once it is".
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.reasoncodes import ReasonCode

    from unveil.watch.mqtt import NOT_REACHABLE, REFUSED, REFUSED_LOGIN

    refused = ReasonCode(PacketTypes.CONNACK, identifier=code)
    client = _Client()
    sink = HomeAssistantSink("127.0.0.1", node="hall", client=client)
    with caplog.at_level(logging.WARNING, logger="unveil.watch"):
        for _ in range(3):  # paho's tries
            sink._on_connect(client, None, None, refused, None)
        assert not sink.start(wait_s=0)
    said = (REFUSED_LOGIN if login else REFUSED).format(host="127.0.0.1", port=1883, reason=str(refused))
    assert caplog.messages == [said]
    assert NOT_REACHABLE.format(host="127.0.0.1", port=1883) not in caplog.messages


def test_an_erased_members_sensor_is_removed_once_the_broker_acknowledged_it_not_at_every_reconnection():
    # The empty retained messages that remove an erased member's sensor were kept for the life of the
    # process and written again at every reconnection: weeks of erasures, all resent each time.
    from fer_core.live import APPEAR, LiveEvent

    ana, bruno = "a" * 32, "b" * 32
    client = _Recorder()
    sink = HomeAssistantSink("127.0.0.1", node="hall", client=client, members=frozenset({ana, bruno}))
    _connect(sink, client)
    sink.events([LiveEvent(APPEAR, 1, 0.0, "Ana", "happy", person_id=ana),
                 LiveEvent(APPEAR, 2, 0.0, "Bruno", "sad", person_id=bruno)], 0)
    ana_topics = {f"homeassistant/sensor/unveil_hall_{member_key(ana, 'Ana')}/config",
                  f"unveil/hall/person/{member_key(ana, 'Ana')}/state"}
    client.published.clear()
    sink.forget(frozenset({ana}))
    removals = [(topic, payload, qos) for topic, payload, qos in client.published if topic in ana_topics]
    assert {topic for topic, _, _ in removals} == ana_topics
    assert all(payload == "" and qos == 1 for _, payload, qos in removals)  # acknowledged by the broker
    _connect(sink, client)  # the connection broke before the acknowledgements came: sent again
    assert {topic for topic, payload, _ in client.published if topic in ana_topics and payload == ""} == ana_topics
    for mid in range(1, len(client.published) + 1):
        sink._on_publish(client, None, mid, None, None)
    sink.events([], 1)
    _connect(sink, client)
    assert not [topic for topic, _, _ in client.published if topic in ana_topics]
    assert f"unveil/hall/person/{member_key(bruno, 'Bruno')}/state" in {topic for topic, _, _ in client.published}


def _ana_in_view() -> tuple[str, _Recorder, HomeAssistantSink]:
    """A sink connected to a (recording) broker, with the member Ana named in view: her id, the client, the sink."""
    from fer_core.live import APPEAR, LiveEvent

    ana = "a" * 32
    client = _Recorder()
    sink = HomeAssistantSink("127.0.0.1", node="hall", client=client, members=frozenset({ana}))
    _connect(sink, client)
    sink.events([LiveEvent(APPEAR, 1, 0.0, "Ana", "happy", person_id=ana)], 0)
    return ana, client, sink


def test_a_member_erased_while_the_broker_is_away_loses_their_sensor_when_it_is_back():
    ana, client, sink = _ana_in_view()
    sink._on_disconnect(client, None, None, "broker away", None)
    client.published.clear()
    sink.forget(frozenset({ana}))
    assert not client.published
    _connect(sink, client)
    ana_topics = {f"homeassistant/sensor/unveil_hall_{member_key(ana, 'Ana')}/config",
                  f"unveil/hall/person/{member_key(ana, 'Ana')}/state"}
    assert {(topic, payload, qos) for topic, payload, qos in client.published if topic in ana_topics} == {
        (topic, "", 1) for topic in ana_topics}


def test_a_member_named_again_before_their_removal_was_acknowledged_keeps_their_sensor():
    # paho resends an unacknowledged removal after the connect handler's messages: written again once it is in.
    from fer_core.live import APPEAR, LEAVE, LiveEvent

    ana, client, sink = _ana_in_view()
    client.published.clear()
    sink.forget(frozenset({ana}))  # the store was busy a moment: nobody could be named
    (removal,) = [mid for mid, (topic, _, _) in enumerate(client.published, 1) if topic.endswith("/state")
                  and "unveil/hall/person/" in topic]
    sink._on_disconnect(client, None, None, "broker away", None)
    sink.events([LiveEvent(LEAVE, 1, 1.0, None, "happy"), LiveEvent(APPEAR, 3, 1.0, "Ana", "sad", person_id=ana)], 1)
    _connect(sink, client)
    state = f"unveil/hall/person/{member_key(ana, 'Ana')}/state"
    assert (state, "sad", 0) in client.published
    client.published.clear()
    sink._on_publish(client, None, removal, None, None)  # paho's resent removal, after the state above
    sink.events([], 2)
    assert (state, "sad", 0) in client.published


def _home_assistant_says(sink: HomeAssistantSink, client: _Recorder, status: str) -> None:
    """Home Assistant's birth message ("online", once it started) or its last will ("offline"): not retained."""
    sink._on_message(client, None, types.SimpleNamespace(topic="homeassistant/status", payload=status.encode(),
                                                          retain=False))


def test_a_sensor_removed_while_home_assistant_was_down_is_removed_from_it_when_it_starts(caplog):
    # Reproduced with Home Assistant 2026.2.3 and Mosquitto: Ana erased while Home Assistant was stopped; started
    # again, it showed "Ana emotion" unavailable for good (the broker keeps no empty message, and an empty config
    # for an entity it has not been sent since it started does nothing).
    import json

    from unveil.watch.mqtt import HOME_ASSISTANT_STARTED

    ana, client, sink = _ana_in_view()
    sink.forget(frozenset({ana}))
    for mid in range(1, len(client.published) + 1):  # the broker acknowledged the removal
        sink._on_publish(client, None, mid, None, None)
    sink.events([], 1)
    client.published.clear()
    client.retained.clear()
    caplog.clear()  # the connection's own warning (ANONYMOUS: no --mqtt-user here)
    with caplog.at_level(logging.INFO, logger="unveil.watch"):
        _home_assistant_says(sink, client, "offline")
        assert not client.published
        _home_assistant_says(sink, client, "online")
    config = f"homeassistant/sensor/unveil_hall_{member_key(ana, 'Ana')}/config"
    assert [(topic, qos) for topic, _, qos in client.published] == [(config, 1), (config, 1)]
    assert client.retained == [False, True] and client.published[1][1] == ""  # nothing stays on the broker
    stand_in = json.loads(client.published[0][1])
    assert stand_in["unique_id"] == f"unveil_hall_{member_key(ana, 'Ana')}" and "name" not in stand_in
    assert "Ana" not in client.published[0][1]
    assert caplog.messages == [HOME_ASSISTANT_STARTED.format(count=1)]


def test_a_member_named_again_keeps_their_sensor_when_home_assistant_starts():
    from fer_core.live import APPEAR, LEAVE, LiveEvent

    ana, client, sink = _ana_in_view()
    sink.forget(frozenset({ana}))  # the store was busy a moment: nobody could be named
    sink.events([LiveEvent(LEAVE, 1, 1.0, None, "happy"), LiveEvent(APPEAR, 3, 1.0, "Ana", "sad", person_id=ana)], 1)
    client.published.clear()
    _home_assistant_says(sink, client, "online")
    assert not client.published


def _earlier_state(sink: HomeAssistantSink, client: _Recorder, key: str, payload: str = "happy") -> None:
    """The broker sends back a member state retained by an earlier run, under `key`."""
    sink._on_message(client, None, types.SimpleNamespace(topic=f"unveil/hall/person/{key}/state",
                                                          payload=payload.encode(), retain=True))


def test_a_sensor_an_earlier_run_left_under_a_name_the_member_no_longer_has_is_removed(caplog):
    # Renamed between two runs (`unveil family rename`), a member's earlier sensor stayed on the broker as
    # "Jonh emotion", 'away' for good, beside the new "John emotion" that the next sighting made.
    from unveil.watch.mqtt import EARLIER_SENSOR_RENAMED, EARLIER_STATE_AWAY

    john, ana = "a" * 32, "b" * 32
    client = _Recorder()
    sink = HomeAssistantSink("127.0.0.1", node="hall", client=client, members=frozenset({john, ana}),
                             names={john: "John", ana: "Ana"})
    _connect(sink, client)
    client.published.clear()
    caplog.clear()  # the connection's own warning (ANONYMOUS: no --mqtt-user here)
    with caplog.at_level(logging.INFO, logger="unveil.watch"):
        _earlier_state(sink, client, member_key(john, "Jonh"))
        _earlier_state(sink, client, member_key(ana, "Ana"))
    old = member_key(john, "Jonh")
    assert {(topic, payload) for topic, payload, _ in client.published if old in topic} == {
        (f"homeassistant/sensor/unveil_hall_{old}/config", ""), (f"unveil/hall/person/{old}/state", "")}
    assert (f"unveil/hall/person/{member_key(ana, 'Ana')}/state", "away", 0) in client.published
    assert caplog.messages == [EARLIER_SENSOR_RENAMED, EARLIER_STATE_AWAY]
    assert not [m for m in caplog.messages if "John" in m or "Jonh" in m]


# ----------------------------------------------------------------------------- what Home Assistant accepts
# Checked against Home Assistant's own MQTT code (homeassistant/components/mqtt/: discovery.py, schemas.py,
# sensor.py, util.py, entity.py) in 2025.4.4 and 2026.2.3, whose discovery schemas accepted every payload below;
# these tests keep the properties that made them accepted, without importing Home Assistant.

# discovery.py's TOPIC_MATCHER, for a topic without a node id: a config elsewhere is ignored, with a warning.
HA_DISCOVERY_TOPIC = re.compile(r"homeassistant/(?P<component>\w+)/(?P<object_id>[a-zA-Z0-9_-]+)/config")
# The MQTT sensor's discovery schema drops keys it does not know (vol.REMOVE_EXTRA), silently: these it knows.
HA_SENSOR_KEYS = {"name", "unique_id", "default_entity_id", "object_id", "state_topic", "availability_topic",
                  "payload_available", "payload_not_available", "icon", "device", "unit_of_measurement",
                  "state_class"}
# sensor.py: a state class needs a numeric state (any other makes the entity fail on each state it gets).
HA_STATE_CLASSES = {"measurement", "measurement_angle", "total", "total_increasing"}
# Names Home Assistant users do give; "A+B #1/2" holds MQTT's wildcards and its level separator.
HA_NAMES = {"a" * 32: "José María", "b" * 32: "Мария", "c" * 32: "🙂 Joy", "d" * 32: "A+B #1/2", "e" * 32: "Ana"}


def _household_seen(node: str = "hall") -> tuple[_Recorder, HomeAssistantSink]:
    """A connected sink that saw every member of HA_NAMES and a stranger: the client holds what it published."""
    from fer_core.live import APPEAR, LiveEvent

    client = _Recorder()
    sink = HomeAssistantSink("127.0.0.1", node=node, client=client, members=frozenset(HA_NAMES), names=HA_NAMES)
    _connect(sink, client)
    sink.events([LiveEvent(APPEAR, track, 0.0, name, "happy", person_id=person_id)
                 for track, (person_id, name) in enumerate(HA_NAMES.items())]
                + [LiveEvent(APPEAR, 99, 0.0, None, "neutral")], 0)
    return client, sink


@pytest.mark.parametrize("node", ["hall", "Front-Door_2"])
def test_every_discovery_config_is_one_home_assistants_sensor_schema_takes_whole(node):
    import json

    client, _ = _household_seen(node)
    configs = {topic: json.loads(payload) for topic, payload, _ in client.published
               if topic.startswith("homeassistant/")}
    assert len(configs) == len(HA_NAMES) + 1  # a sensor per member and one for unknown faces
    for topic, config in configs.items():
        match = HA_DISCOVERY_TOPIC.fullmatch(topic)
        assert match and match["component"] == "sensor" and match["object_id"] == config["unique_id"]
        assert set(config) <= HA_SENSOR_KEYS and client.retain[topic]
        assert all(isinstance(config[key], str) for key in HA_SENSOR_KEYS - {"device"} if key in config)
        assert config["availability_topic"] == f"unveil/{node}/status"
        assert (config["payload_available"], config["payload_not_available"]) == ("online", "offline")
        assert re.fullmatch(r"mdi:[a-z0-9-]+", config["icon"])  # cv.icon: a prefix and a name
        device = config["device"]
        assert device["identifiers"] == [f"unveil_{node}"] and all(isinstance(v, str) for v in device.values()
                                                                   if not isinstance(v, list))
        if "state_class" in config:  # the unknown-faces count only: an emotion is not a number
            assert config["state_class"] in HA_STATE_CLASSES and config["unit_of_measurement"]
            assert config["state_topic"] == f"unveil/{node}/unknown/state"
    assert len({config["unique_id"] for config in configs.values()}) == len(configs)
    states = {config["state_topic"] for config in configs.values()}
    assert {topic for topic, _, _ in client.published if topic.endswith("/state")} == states


def test_the_entity_id_is_set_for_home_assistant_before_and_after_2026_4():
    # Only "object_id" was sent: Home Assistant 2025.10 to 2026.3 warned at every start that it is deprecated
    # (reproduced with 2026.2.3), and 2026.4 ignores it, making the entity id from the device's and the
    # sensor's names instead ("sensor.unveil_watch_hall_ana_emotion"), which changes when a member is renamed.
    import json

    client, _ = _household_seen()
    for topic, payload, _ in client.published:
        if topic.startswith("homeassistant/"):
            config = json.loads(payload)
            assert config["default_entity_id"] == f"sensor.{config['unique_id']}"
            assert config["object_id"] == config["unique_id"]  # for Home Assistant before 2025.10


def test_every_topic_is_valid_mqtt_whatever_the_members_are_called():
    # MQTT 3.1.1, 4.7: '+' and '#' are wildcards (not in a published topic), '/' separates levels, NUL is refused;
    # Home Assistant's valid_publish_topic refuses those and control characters too.
    client, sink = _household_seen()
    sink.forget(frozenset({"e" * 32}))  # Ana's sensor removed: empty retained payloads
    topics = {topic for topic, _, _ in client.published} | {client.will[0]}
    assert len(topics) == 2 * (len(HA_NAMES) + 1) + 2  # discovery and state of each sensor, status, events
    for topic in topics:
        assert re.fullmatch(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)+", topic)  # ASCII, no wildcard, no empty level
    assert client.will == ("unveil/hall/status", "offline", 1, True)  # Home Assistant shows the sensors unavailable
    removed = {topic for topic, payload, _ in client.published if payload == ""}
    assert len(removed) == 2 and all(client.retain[topic] for topic in removed)  # how Home Assistant removes one
    assert client.retain["unveil/hall/status"] and not client.retain["unveil/hall/events"]
