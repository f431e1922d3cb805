"""`unveil watch --mqtt`: events to the household's own MQTT broker, in the shape Home Assistant's MQTT
discovery turns into sensors.

Topics (NODE is --mqtt-node, default "unveil"; retained unless said):
    unveil/NODE/status                        "online", or "offline" (also the broker's last will)
    unveil/NODE/events                        every event as JSON, as in the JSONL output (not retained)
    unveil/NODE/person/SLUG/state             a member's current emotion, or "away"
    unveil/NODE/unknown/state                 how many unrecognised faces are in view now
    homeassistant/sensor/UNIQUE_ID/config     discovery: one sensor per member (published when they are
                                              first seen) and one for unknown faces

Everything is published with QoS 1. Member names reach the broker (the sensors are named after them);
never an image, an embedding, or a probability beyond the label.
"""
from __future__ import annotations

import json
import logging
import re
import threading
from typing import Any

from fer_core import UnveilError
from fer_core.live import APPEAR, EMOTION, LEAVE, NAMED, LiveEvent
from unveil.watch import DEFAULT_NODE
from unveil.watch.records import event_record

log = logging.getLogger("unveil.watch")

DEFAULT_PORT = 1883
DISCOVERY_PREFIX = "homeassistant"
ONLINE = "online"
OFFLINE = "offline"
AWAY = "away"
QOS = 1
# Messages queued while the broker is away; beyond this the oldest news is dropped rather than let
# a broker that is down for the night grow the process's memory.
MAX_QUEUED = 1000
# How long start() waits for the first connection and close() for the last messages to be acknowledged.
CONNECT_WAIT_S = 5.0

BAD_ADDRESS = "--mqtt {value}: expected HOST or HOST:PORT with a port from 1 to 65535"
BAD_NODE = "--mqtt-node {value}: use letters, digits, '-' and '_' only"


class MqttAddressError(UnveilError, ValueError):
    """--mqtt or --mqtt-node is malformed."""


def parse_address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":") if ":" in value else (value, "", str(DEFAULT_PORT))
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise MqttAddressError(BAD_ADDRESS.format(value=value))
    return host, int(port)


def check_node(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", value):
        raise MqttAddressError(BAD_NODE.format(value=value))
    return value


def slug(name: str) -> str:
    """A topic- and id-safe form of a member's name: "Ana María" -> "ana_mar_a"."""
    return re.sub(r"[^a-z0-9]+", "_", name.casefold()).strip("_") or "member"


class HomeAssistantSink:
    """Publishes the loop's events; see the module docstring. `client` is a paho-mqtt Client (tests
    may pass one of their own); the connection is kept up by paho's network thread."""

    def __init__(self, host: str, port: int = DEFAULT_PORT, *, node: str = DEFAULT_NODE,
                 username: str | None = None, password: str | None = None,
                 discovery_prefix: str = DISCOVERY_PREFIX, client: Any = None) -> None:
        import paho.mqtt.client as mqtt

        self.node = check_node(node)
        self.base = f"unveil/{node}"
        self.availability = f"{self.base}/status"
        self.prefix = discovery_prefix
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._tracks: dict[int, tuple[str | None, str | None]] = {}  # track -> (name, emotion)
        self._states: dict[str, str] = {}  # state topic -> last published payload
        self._sensors: dict[str, dict[str, Any]] = {}  # config topic -> payload, republished on reconnect
        self._client = client or mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"unveil-watch-{node}")
        if username:
            self._client.username_pw_set(username, password)
        self._client.max_queued_messages_set(MAX_QUEUED)
        self._client.will_set(self.availability, OFFLINE, qos=QOS, retain=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._host, self._port = host, port
        self._sensor("unknown", "Unknown faces", f"{self.base}/unknown/state", unit="faces")
        self._set_state(f"{self.base}/unknown/state", "0")

    def start(self, wait_s: float = CONNECT_WAIT_S) -> bool:
        """Connect in the background (paho retries on its own); True when connected within `wait_s`."""
        self._client.connect_async(self._host, self._port, keepalive=30)
        self._client.loop_start()
        if not self._connected.wait(wait_s):
            log.warning("MQTT broker %s:%d not reachable yet; events are queued and sent once it is",
                        self._host, self._port)
            return False
        return True

    def frame(self, frame: Any) -> None:
        self.events(frame.events, frame.index)

    def events(self, events: list[LiveEvent], frame: int) -> None:
        for event in events:
            self._publish(f"{self.base}/events", json.dumps(event_record(event, frame), ensure_ascii=False),
                          retain=False)
            self._follow(event)

    def close(self) -> None:
        """Offline status (retained), then disconnect once the queued messages are acknowledged."""
        info = self._client.publish(self.availability, OFFLINE, qos=QOS, retain=True)
        if self._connected.is_set():
            try:
                info.wait_for_publish(CONNECT_WAIT_S)
            except (RuntimeError, ValueError):
                pass  # the broker went away meanwhile: its last will says offline anyway
        self._client.disconnect()
        self._client.loop_stop()

    def _follow(self, event: LiveEvent) -> None:
        """Keep who is in view with which emotion, and publish the states this event changed."""
        before = self._tracks.get(event.track, (None, None))[0]
        if event.kind == LEAVE:
            self._tracks.pop(event.track, None)
        elif event.kind in (APPEAR, NAMED, EMOTION):
            self._tracks[event.track] = (event.identity, event.emotion)
        for name in {before, event.identity} - {None}:
            topic = f"{self.base}/person/{slug(name)}/state"
            self._sensor(slug(name), name, topic)
            emotions = [emotion for who, emotion in self._tracks.values() if who == name and emotion]
            self._set_state(topic, emotions[-1] if emotions else AWAY)
        unknown = sum(1 for who, _ in self._tracks.values() if who is None)
        self._set_state(f"{self.base}/unknown/state", str(unknown))

    def _sensor(self, key: str, name: str, state_topic: str, unit: str | None = None) -> None:
        unique_id = f"unveil_{self.node}_{key}"
        topic = f"{self.prefix}/sensor/{unique_id}/config"
        if topic in self._sensors:
            return
        config = {
            "name": name if unit else f"{name} emotion",
            "unique_id": unique_id,
            "object_id": unique_id,
            "state_topic": state_topic,
            "availability_topic": self.availability,
            "payload_available": ONLINE,
            "payload_not_available": OFFLINE,
            "icon": "mdi:account-question" if unit else "mdi:emoticon-outline",
            "device": {"identifiers": [f"unveil_{self.node}"], "name": f"Unveil watch ({self.node})",
                       "manufacturer": "Unveil", "model": "unveil watch"},
        }
        if unit:
            config["unit_of_measurement"] = unit
            config["state_class"] = "measurement"
        with self._lock:
            self._sensors[topic] = config
        self._publish(topic, json.dumps(config, ensure_ascii=False), retain=True)

    def _set_state(self, topic: str, payload: str) -> None:
        with self._lock:
            if self._states.get(topic) == payload:
                return
            self._states[topic] = payload
        self._publish(topic, payload, retain=True)

    def _publish(self, topic: str, payload: str, *, retain: bool) -> None:
        result = self._client.publish(topic, payload, qos=QOS, retain=retain)
        if result.rc not in (0, 4):  # 0: sent or queued; 4 (no connection): queued until connected
            log.warning("MQTT message to %s dropped (paho error %d)", topic, result.rc)

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if getattr(reason_code, "is_failure", False):
            log.warning("MQTT broker refused the connection: %s", reason_code)
            return
        # A broker restarted without persistence has lost the retained messages: send them again.
        client.publish(self.availability, ONLINE, qos=QOS, retain=True)
        with self._lock:
            retained = [*((t, json.dumps(c, ensure_ascii=False)) for t, c in self._sensors.items()),
                        *self._states.items()]
        if self._connected.is_set():
            for topic, payload in retained:
                client.publish(topic, payload, qos=QOS, retain=True)
        self._connected.set()
        log.info("connected to MQTT broker %s:%d", self._host, self._port)

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if self._connected.is_set():
            log.warning("MQTT broker disconnected (%s); paho reconnects", reason_code)
