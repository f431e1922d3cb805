"""`unveil watch --mqtt`: events to the household's own MQTT broker, in the shape Home Assistant's MQTT
discovery turns into sensors.

Topics (NODE is --mqtt-node, default "unveil"; retained unless said):
    unveil/NODE/status                        "online", or "offline" (the camera is away, the loop stopped, or
                                              the broker's last will)
    unveil/NODE/events                        every event as JSON, as in the JSONL output (not retained)
    unveil/NODE/person/KEY/state              a member's current emotion, or "away"
    unveil/NODE/unknown/state                 how many unrecognised faces are in view now
    homeassistant/sensor/UNIQUE_ID/config     discovery: one sensor per member (published when they are
                                              first seen) and one for unknown faces

KEY is `member_key`: the name in ASCII ("José" -> "jose"; "member" for a name in another script) and a
suffix from a hash of the member's random id, so that each member has a sensor of their own.

Whenever the sink connects (the first time, and again after the broker was away) it sends every
retained message as it is now: a broker that restarted has lost them, and what changed meanwhile was
never sent. A member who may no longer be named (erased, or their consent ended) loses their sensor:
empty retained payloads on its discovery and state topics, which is how Home Assistant removes an entity.
These go with QoS 1 and are sent again at each connection until the broker acknowledges them (the broker
was away when the member was erased, or the connection broke first); once acknowledged, the broker holds
nothing on those topics. Home Assistant drops a removal that comes while it is down (the broker keeps no empty
message) and, started again, shows the entity 'unavailable' under the member's name for good; nor does it act on
an empty config for an entity it has not been sent since it started. So when it says it started (its birth
message, "online" on homeassistant/status) the sink sends each sensor removed in this run a config again, not
retained and without the name, then the empty one: the entity and its registry entry go.
The broker may also hold member states that an earlier run left (it was killed, or a member was erased
while no loop ran): at each connection the sink reads the node's retained states, and one it did not write
is set to "away" when its member may be named (`members`: the household's members at the start, less those
forgotten since), or else removed with its sensor; without `members` (names not checked) it is set to "away".
A member renamed since (`unveil family rename`: `names`, their names at the start, give them another KEY) has the
earlier sensor under their old name removed too: the next time they are seen, it comes back under their name now.
This needs the broker to let the loop read unveil/NODE/person/+/state (and homeassistant/status for the birth
message): an ACL that lets it only write keeps them (mosquitto grants the subscription and delivers nothing).

Member names reach the broker (the sensors are named after them); never an image, an embedding, or a
probability beyond the label. The log gets neither names nor topics (a topic holds a name's letters).
Without TLS the names (and the MQTT password) cross the network as plain text, which start() says when the
broker is not on this machine; `tls_context` makes the connection TLS, the broker's certificate checked
against the system's certificate authorities or a household's own (a home broker's self-made certificate).
"""
from __future__ import annotations

import collections
import contextlib
import hashlib
import ipaddress
import json
import logging
import re
import socket
import ssl
import threading
import time
import unicodedata
from collections.abc import Mapping
from typing import Any

from fer_core import UnveilError
from fer_core.live import APPEAR, EMOTION, LEAVE, NAMED, LiveEvent
from unveil.watch import DEFAULT_NODE
from unveil.watch.records import event_record

log = logging.getLogger("unveil.watch")

DEFAULT_PORT = 1883
TLS_PORT = 8883  # MQTT over TLS (IANA), when --mqtt gives no port
DISCOVERY_PREFIX = "homeassistant"
# Home Assistant's birth message: "online" on DISCOVERY_PREFIX/status once it started and subscribed to discovery.
BIRTH_TOPIC = "status"
ONLINE = "online"
OFFLINE = "offline"
AWAY = "away"
# Events go with QoS 1. Retained messages (status, discovery, states) go with QoS 0 and are never queued:
# paho sends unacknowledged QoS 1 messages again after reconnecting, after what the connect handler
# sent, so an old state in flight when the connection broke would overwrite the current one, and a full
# queue would refuse the newest. A retained message lost with a connection is sent again, as it is then,
# when the sink reconnects.
QOS = 1
RETAINED_QOS = 0
# Except the empty payloads that remove a sensor: QoS 1, so that the broker's acknowledgement says they need not
# be sent again. One paho resends after a reconnection follows the connect handler's messages: a topic that
# holds a payload again by then (the member named again) gets it written once more when that is acknowledged.
REMOVAL_QOS = 1
# Events queued while the broker is away: beyond this paho refuses new ones (it keeps the oldest), so a
# broker down for the night cannot grow the process's memory. States are current after it comes back.
MAX_QUEUED = 1000
# How long start() waits for the first connection and close() for the offline status to be written.
CONNECT_WAIT_S = 5.0
# paho's return codes for a publish (MQTT_ERR_NO_CONN, MQTT_ERR_QUEUE_SIZE), named here so that this module
# loads without paho: queued while disconnected, refused because the queue is full.
NO_CONNECTION = 4
QUEUE_FULL = 15
# Hex digits of the hash of a member's id in their KEY: 32 bits, so that two of ten members share a sensor
# about once in a hundred million households.
KEY_SUFFIX_DIGITS = 8

EVENTS_DROPPED = ("MQTT broker away and {limit} messages queued: newer events are dropped until it is back "
                  "(the sensors' states are sent afresh then)")
EVENT_NOT_SENT = "MQTT event not sent (paho error {code})"
# A retained member state this run did not write (an earlier run was killed, or the member was erased meanwhile).
EARLIER_STATE_AWAY = "MQTT broker held a member's state from an earlier run: now 'away'"
EARLIER_SENSOR_REMOVED = "MQTT broker held the sensor of a member who may no longer be named: removed"
EARLIER_SENSOR_RENAMED = "MQTT broker held the sensor of a member under a name they no longer have: removed"
HOME_ASSISTANT_STARTED = "Home Assistant started: the {count} sensor(s) removed in this run are removed from it again"
NOT_REACHABLE = "MQTT broker {host}:{port} not reachable yet; events are queued and sent once it is"
# The broker answered and refused: said once per reason, as paho tries again with backoff and gets the same answer.
REFUSED = "MQTT broker {host}:{port} refused the connection ({reason}); paho keeps trying"
# Refused a login (MQTT 5's reason codes 134 and 135, which paho also gives for MQTT 3.1.1's 4 and 5). Home
# Assistant's Mosquitto add-on lets no one in without one.
REFUSED_LOGIN = ("MQTT broker {host}:{port} refused the connection ({reason}): it needs a login it knows, "
                 "--mqtt-user with the password in UNVEIL_MQTT_PASSWORD (Home Assistant's Mosquitto add-on takes a "
                 "Home Assistant user's); paho keeps trying")
LOGIN_REFUSED = (134, 135)
# The connection broke while the loop runs (not at close(), which disconnects on purpose).
DISCONNECTED = "MQTT broker disconnected ({reason}); paho reconnects"
# At close: events the broker never acknowledged (it was away at the end, or its queue had filled).
EVENTS_UNDELIVERED = "MQTT broker {host}:{port}: {count} event(s) were not delivered before the end"

BAD_ADDRESS = ("--mqtt {value}: expected HOST or HOST:PORT with a port from 1 to 65535 (an IPv6 address: ::1, or "
               "[::1]:PORT)")
BAD_NODE = "--mqtt-node {value}: use letters, digits, '-' and '_' only"
BAD_CA = "--mqtt-ca {path}: cannot be read as PEM certificates ({reason})"
# start() could not connect over TLS: why, from a handshake of its own (paho retries without saying).
TLS_FAILED = "MQTT broker {host}:{port}: the TLS connection failed ({reason}); paho keeps trying"
PLAINTEXT = ("MQTT broker {host} is not on this machine and the connection is not encrypted: member names{password} "
             "cross the network as plain text (--mqtt-tls, or --mqtt-ca FILE for a broker with a certificate of "
             "your own)")

# At the first connection without --mqtt-user: a broker that lets this loop in without a login lets others in too.
# Mosquitto 2.0 with no configuration does so on localhost, where every user of the machine is: a second account
# subscribed to '#' and read the members' sensors and states (docs/threat_model.md, Attacker 4).
ANONYMOUS = ("MQTT broker {host}:{port} let this loop in without a login, so it may let anyone in: whoever it lets "
             "in (other users of this machine included) reads the members' names and states. Give the broker a "
             "password file and an ACL, and log in with --mqtt-user (the password in UNVEIL_MQTT_PASSWORD)")


class MqttAddressError(UnveilError, ValueError):
    """--mqtt or --mqtt-node is malformed."""


class MqttTlsError(UnveilError, ValueError):
    """--mqtt-ca cannot be used."""


def parse_address(value: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """(host, port) of --mqtt: HOST, HOST:PORT, an IPv6 address alone (fe80::1), or in brackets with a port
    ([fe80::1]:1884). An IPv6 address is never read as ending in a port ("::1" is not host ":" and port 1)."""
    if value.startswith("["):
        host, bracket, rest = value[1:].partition("]")
        port = str(default_port) if bracket and not rest else rest[1:] if bracket and rest.startswith(":") else ""
    elif value.count(":") > 1:
        host, port = value, str(default_port)
    else:
        host, _, port = value.rpartition(":") if ":" in value else (value, "", str(default_port))
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise MqttAddressError(BAD_ADDRESS.format(value=value))
    return host, int(port)


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """TLS 1.2 or newer, with the broker's certificate checked against `ca_file` (PEM: the certificate
    authority that signed a home broker's certificate) or, without it, the system's authorities, and its
    name against the address given to --mqtt. MqttTlsError (BAD_CA) when `ca_file` cannot be read."""
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise MqttTlsError(BAD_CA.format(path=ca_file, reason=getattr(exc, "strerror", None) or exc)) from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def on_this_machine(host: str) -> bool:
    """Whether `host` names this machine (localhost, 127.0.0.0/8, ::1): traffic to it never crosses a network."""
    if host.casefold() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is 127.0.0.1
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def check_node(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", value):
        raise MqttAddressError(BAD_NODE.format(value=value))
    return value


def slug(name: str) -> str:
    """A name in ASCII letters, digits and '_', for ids people read: "Ana María" -> "ana_maria", "Strauß" ->
    "strauss"; "" for a name NFKD cannot spell in ASCII ("Мария", "李明")."""
    ascii_name = unicodedata.normalize("NFKD", name.casefold()).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", ascii_name).strip("_")


def member_key(person_id: str, name: str) -> str:
    """A member's part of their topics and sensor id: `slug(name)` ("member" when empty), then a suffix that
    is the same for the member at every start and differs between members ("member_1c9e04d2",
    "member_7a0b33f1"). From a hash of their random id rather than the id itself: the broker cannot link a
    sensor to the audit log's entries."""
    return f"{slug(name) or 'member'}_{key_suffix(person_id)}"


def key_suffix(person_id: str) -> str:
    return hashlib.sha256(person_id.encode("utf-8")).hexdigest()[:KEY_SUFFIX_DIGITS]


class HomeAssistantSink:
    """Publishes the loop's events; see the module docstring. `client` is a paho-mqtt Client (tests
    may pass one of their own); the connection is kept up by paho's network thread."""

    def __init__(self, host: str, port: int = DEFAULT_PORT, *, node: str = DEFAULT_NODE,
                 username: str | None = None, password: str | None = None,
                 discovery_prefix: str = DISCOVERY_PREFIX, client: Any = None,
                 members: frozenset[str] | None = None, names: Mapping[str, str] | None = None,
                 tls: ssl.SSLContext | None = None) -> None:
        import paho.mqtt.client as mqtt

        self.node = check_node(node)
        self.base = f"unveil/{node}"
        self.availability = f"{self.base}/status"
        self.prefix = discovery_prefix
        self._birth = f"{discovery_prefix}/{BIRTH_TOPIC}"
        self._unknown_state = f"{self.base}/unknown/state"
        self._connected = threading.Event()  # set at the first connection
        # The retained state is shared with paho's network thread, which sends it all at each connection.
        self._lock = threading.Lock()
        self._retained: dict[str, str] = {}  # topic -> what the broker should hold now ("": removed till acked)
        self._removals: dict[int, str] = {}  # message id -> topic of an empty payload paho holds until acknowledged
        self._sent: dict[str, str] = {}  # topic -> payload written in the current connection
        self._online = False  # connected, and everything retained was written in this connection
        self._dropping = False  # events refused since the queue filled (said once per outage)
        self._closing = False  # close() disconnects: no reconnection follows
        self._refusal: str | None = None  # why the broker refused the last connection (said once), None once it took one
        self._tracks: dict[int, tuple[str | None, str | None]] = {}  # track -> (member's id, emotion)
        self._members: dict[str, str] = {}  # member's id -> member_key, for those with a sensor
        self._gone: set[str] = set()  # keys of the sensors removed in this run, removed again when Home Assistant starts
        # Who may be named, by the suffix of their key, to judge the states an earlier run left (None: unknown).
        self._named = None if members is None else {key_suffix(person_id): person_id for person_id in members}
        self._earlier: dict[str, str] = {}  # member's id -> key of a sensor an earlier run left, kept
        # The key each member's sensor has under their name now, to tell an earlier run's sensor under another name.
        self._keys_now = {person_id: member_key(person_id, name) for person_id, name in (names or {}).items()}
        self._unacked: set[int] = set()  # message ids of events the broker has not acknowledged
        self._acked: collections.deque[int] = collections.deque()  # ids paho's thread saw acknowledged (read by _acks)
        self._refused = 0  # events paho refused (a full queue, an error)
        self.undelivered = 0  # after close(): events the broker never acknowledged
        self._client = client or mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"unveil-watch-{node}")
        if username:
            self._client.username_pw_set(username, password)
        self._tls, self._username = tls, username
        if tls is not None:
            self._client.tls_set_context(tls)
        self._client.max_queued_messages_set(MAX_QUEUED)
        self._client.will_set(self.availability, OFFLINE, qos=QOS, retain=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.on_message = self._on_message
        self._host, self._port = host, port
        self._retain(self.availability, ONLINE)  # first: written first at each connection
        self._sensor("unknown", "Unknown faces", self._unknown_state, unit="faces")
        self._retain(self._unknown_state, "0")

    def start(self, wait_s: float = CONNECT_WAIT_S) -> bool:
        """Connect in the background (paho retries on its own); True when connected within `wait_s`."""
        if self._tls is None and not on_this_machine(self._host):
            log.warning(PLAINTEXT.format(host=self._host, password=" and the MQTT password" if self._username else ""))
        self._client.connect_async(self._host, self._port, keepalive=30)
        self._client.loop_start()
        if not self._connected.wait(wait_s):
            problem = self._tls_problem()
            if problem:
                log.warning(TLS_FAILED.format(host=self._host, port=self._port, reason=problem))
            elif self._refusal is None:  # a refusal was said as it came
                log.warning(NOT_REACHABLE.format(host=self._host, port=self._port))
            return False
        return True

    def _tls_problem(self) -> str | None:
        """Why a TLS handshake with the broker fails (an untrusted or misnamed certificate, a broker that does
        not speak TLS), or None: no TLS, the broker is not reachable at all, or the handshake works."""
        if self._tls is None:
            return None
        try:
            with socket.create_connection((self._host, self._port), timeout=CONNECT_WAIT_S) as raw, \
                    self._tls.wrap_socket(raw, server_hostname=self._host):
                return None
        except ssl.SSLCertVerificationError as exc:
            return exc.verify_message or str(exc)
        except ssl.SSLError as exc:
            return exc.reason or str(exc)
        except OSError:
            return None

    def frame(self, frame: Any) -> None:
        self.events(frame.events, frame.index)

    def events(self, events: list[LiveEvent], frame: int) -> None:
        self._settle()
        for event in events:
            self._event(json.dumps(event_record(event, frame), ensure_ascii=False))
            self._follow(event)

    def forget(self, person_ids: frozenset[str]) -> None:
        """These members may no longer be named: their sensors go (empty retained discovery and state, sent
        again at each connection until the broker acknowledges them), and their faces in view count as unknown."""
        with self._lock:
            if self._named is not None:
                self._named = {suffix: who for suffix, who in self._named.items() if who not in person_ids}
            for person_id in person_ids & self._earlier.keys():
                self._remove(self._earlier.pop(person_id))
            for person_id in person_ids & self._members.keys():
                self._remove(self._members.pop(person_id))
        self._tracks = {track: (None if who in person_ids else who, emotion)
                        for track, (who, emotion) in self._tracks.items()}
        self._retain(self._unknown_state, str(self._unknown()))

    def source_state(self, seeing: bool, frame: int, time_s: float) -> None:
        """The camera cannot see: the status is "offline" until it can again, so that Home Assistant shows every
        sensor 'unavailable' rather than the 'away' the leaves just set, which would say the member left."""
        self._retain(self.availability, ONLINE if seeing else OFFLINE)

    def close(self) -> None:
        """Offline status (retained), then disconnect once it is written (after everything sent before).
        Events the broker has not acknowledged by then are lost with the process: counted in `undelivered`
        and logged (EVENTS_UNDELIVERED), so that a run whose broker was away does not end as if all went."""
        with self._lock:
            self._retained[self.availability] = OFFLINE
            info = self._write(self.availability, OFFLINE) if self._online else None
        if info is not None:
            # Outside the lock: paho's thread, which writes it, may be waiting for the lock.
            with contextlib.suppress(RuntimeError, ValueError):  # the broker went away: its last will says offline
                info.wait_for_publish(CONNECT_WAIT_S)
            deadline = time.monotonic() + CONNECT_WAIT_S
            while self._settle() and time.monotonic() < deadline:
                time.sleep(0.05)
        self._closing = True
        self._client.disconnect()
        self._client.loop_stop()
        self.undelivered = self._refused + self._settle()
        if self.undelivered:
            log.warning(EVENTS_UNDELIVERED.format(host=self._host, port=self._port, count=self.undelivered))

    def _follow(self, event: LiveEvent) -> None:
        """Keep who is in view with which emotion, and publish the states this event changed."""
        before = self._tracks.get(event.track, (None, None))[0]
        if event.kind == LEAVE:
            self._tracks.pop(event.track, None)
        elif event.kind in (APPEAR, NAMED, EMOTION):
            self._tracks[event.track] = (event.person_id, event.emotion)
        for person_id in {before, event.person_id} - {None}:
            if person_id not in self._members:  # first seen: the event names them
                self._members[person_id] = key = member_key(person_id, event.identity)
                with self._lock:
                    self._gone.discard(key)
                self._sensor(key, event.identity, self._state_topic(key))
            emotions = [emotion for who, emotion in self._tracks.values() if who == person_id and emotion]
            self._retain(self._state_topic(self._members[person_id]), emotions[-1] if emotions else AWAY)
        self._retain(self._unknown_state, str(self._unknown()))

    def _remove(self, key: str) -> None:
        # Called with the lock held.
        self._gone.add(key)
        self._put(self._config_topic(key), "")
        self._put(self._state_topic(key), "")

    def _remove_from_home_assistant(self, key: str) -> None:
        """A config without the name (not retained), then the empty one: see the module docstring. Called with the
        lock held."""
        stand_in = {"unique_id": self._unique_id(key), "state_topic": self._state_topic(key), "device": self._device()}
        self._client.publish(self._config_topic(key), json.dumps(stand_in), qos=REMOVAL_QOS, retain=False)
        self._write(self._config_topic(key), "")

    def _unknown(self) -> int:
        return sum(1 for who, _ in self._tracks.values() if who is None)

    def _state_topic(self, key: str) -> str:
        return f"{self.base}/person/{key}/state"

    def _config_topic(self, key: str) -> str:
        return f"{self.prefix}/sensor/{self._unique_id(key)}/config"

    def _unique_id(self, key: str) -> str:
        return f"unveil_{self.node}_{key}"

    def _sensor(self, key: str, name: str, state_topic: str, unit: str | None = None) -> None:
        unique_id = self._unique_id(key)
        config = {
            "name": name if unit else f"{name} emotion",
            "unique_id": unique_id,
            # The entity id "sensor.UNIQUE_ID" rather than one made from the name. Home Assistant 2025.10 and later
            # read default_entity_id (from 2026.4 they ignore object_id, and before it warned of it at every
            # start); older ones drop default_entity_id and read object_id.
            "default_entity_id": f"sensor.{unique_id}",
            "object_id": unique_id,
            "state_topic": state_topic,
            "availability_topic": self.availability,
            "payload_available": ONLINE,
            "payload_not_available": OFFLINE,
            "icon": "mdi:account-question" if unit else "mdi:emoticon-outline",
            "device": self._device(),
        }
        if unit:
            config["unit_of_measurement"] = unit
            config["state_class"] = "measurement"
        self._retain(self._config_topic(key), json.dumps(config, ensure_ascii=False))

    def _device(self) -> dict[str, Any]:
        return {"identifiers": [f"unveil_{self.node}"], "name": f"Unveil watch ({self.node})", "manufacturer": "Unveil",
                "model": "unveil watch"}

    def _retain(self, topic: str, payload: str) -> None:
        """What the broker should hold on `topic` from now on: written now when connected (unless this
        connection already carried it), else at the next connection."""
        with self._lock:
            self._put(topic, payload)

    def _put(self, topic: str, payload: str) -> None:
        # _retain, with the lock held.
        self._retained[topic] = payload
        if self._online and self._sent.get(topic) != payload:
            self._write(topic, payload)

    def _write(self, topic: str, payload: str) -> Any:
        # Called with the lock held. A message paho could not write (the connection just broke) is not
        # marked sent: the next connection writes it. An empty payload (a removal) paho took stays in
        # _retained until _acks sees it acknowledged; one paho refused (its queue full of events after an
        # outage) goes with QoS 0 now, and again with QoS 1 at the next connection.
        if payload == "":
            info = self._client.publish(topic, payload, qos=REMOVAL_QOS, retain=True)
            if info.rc in (0, NO_CONNECTION):  # sent, or queued: paho sends it until acknowledged
                self._removals[info.mid] = topic
            else:
                info = self._client.publish(topic, payload, qos=RETAINED_QOS, retain=True)
        else:
            info = self._client.publish(topic, payload, qos=RETAINED_QOS, retain=True)
        if info.rc == 0:
            self._sent[topic] = payload
        return info

    def _event(self, payload: str) -> None:
        with self._lock:  # _acks (paho's thread runs it too) must not see the acknowledgement before the id
            info = self._client.publish(f"{self.base}/events", payload, qos=QOS, retain=False)
            if info.rc in (0, NO_CONNECTION):  # sent, or queued until the broker is back
                self._unacked.add(info.mid)
        if info.rc in (0, NO_CONNECTION):
            self._settle()
            return
        self._refused += 1
        if info.rc == QUEUE_FULL:
            if not self._dropping:
                log.warning(EVENTS_DROPPED.format(limit=MAX_QUEUED))
            self._dropping = True
        else:
            log.warning(EVENT_NOT_SENT.format(code=info.rc))

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason_code: Any, properties: Any) -> None:
        # paho's network thread, holding paho's message lock, which publish() takes while our lock is held:
        # so no lock here, only a thread-safe append that _acks reads.
        self._acked.append(mid)

    def _settle(self) -> int:
        """Take in the acknowledgements paho's thread saw; how many events are still unacknowledged. (paho's
        MQTTMessageInfo.is_published raises for a message queued while disconnected, even once it is sent.)"""
        with self._lock:
            self._acks()
            return len(self._unacked)

    def _acks(self) -> None:
        # Called with the lock held. An acknowledged removal is done with: the broker holds nothing on its
        # topic, and neither this connection nor the next sends it again. A topic that holds a payload again
        # (the member named again meanwhile) is written once more: paho may have resent the removal after it.
        while self._acked:
            mid = self._acked.popleft()
            self._unacked.discard(mid)
            topic = self._removals.pop(mid, None)
            if topic is None or topic not in self._retained:
                continue
            if self._retained[topic] == "":
                del self._retained[topic]
                self._sent.pop(topic, None)
            elif self._online:
                self._write(topic, self._retained[topic])

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if getattr(reason_code, "is_failure", False):
            if str(reason_code) != self._refusal:
                self._refusal = str(reason_code)
                message = REFUSED_LOGIN if getattr(reason_code, "value", None) in LOGIN_REFUSED else REFUSED
                log.warning(message.format(host=self._host, port=self._port, reason=reason_code))
            return
        self._refusal = None
        with self._lock:
            self._sent = {}
            self._acks()  # removals the broker acknowledged before the connection broke are not sent again
            for topic, payload in self._retained.items():
                self._write(topic, payload)
            self._online, self._dropping = True, False
        # After what this run holds: the retained states that the broker sends back are then told apart.
        client.subscribe(self._state_topic("+"), qos=RETAINED_QOS)
        client.subscribe(self._birth, qos=RETAINED_QOS)
        first = not self._connected.is_set()
        self._connected.set()
        log.info("connected to MQTT broker %s:%d", self._host, self._port)
        if first and not self._username:
            log.warning(ANONYMOUS.format(host=self._host, port=self._port))

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        """A retained member state this run did not write: see the module docstring. (paho's thread, holding no
        lock of paho's that publish() takes, as in _on_connect.) Or Home Assistant's birth message."""
        if message.topic == self._birth:
            if message.payload == ONLINE.encode():
                with self._lock:
                    for key in self._gone:
                        self._remove_from_home_assistant(key)
                    if self._gone:
                        log.info(HOME_ASSISTANT_STARTED.format(count=len(self._gone)))
            return
        with self._lock:
            if not message.retain or not message.payload or message.topic in self._retained:
                return
            key = message.topic.split("/")[-2]
            person_id = None if self._named is None else self._named.get(key[-KEY_SUFFIX_DIGITS:])
            if self._named is not None and person_id is None:
                self._remove(key)
                log.info(EARLIER_SENSOR_REMOVED)
                return
            if key != self._keys_now.get(person_id, key):  # renamed since: named now, it has a sensor of its own
                self._remove(key)
                log.info(EARLIER_SENSOR_RENAMED)
                return
            if person_id is not None:
                self._earlier[person_id] = key
            self._put(message.topic, AWAY)
        log.info(EARLIER_STATE_AWAY)

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        with self._lock:
            self._online = False
        if self._connected.is_set() and not self._closing:
            log.warning(DISCONNECTED.format(reason=reason_code))
