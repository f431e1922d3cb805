"""A real MQTT broker for tests and benchmarks of `unveil watch --mqtt`."""
from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path


class MqttBroker:
    """A real MQTT broker (amqtt) on a free localhost port, run by an event loop in its own thread. stop()
    and start() again on the same port stand for a broker restarted without persistence (it forgets
    every retained message)."""

    def __init__(self, tls: tuple[Path, Path] | None = None) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._tls = {} if tls is None else {"ssl": True, "certfile": str(tls[0]), "keyfile": str(tls[1])}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._broker = None

    def start(self) -> None:
        from amqtt.broker import Broker

        async def start():
            self._broker = Broker({"listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}",
                                                             **self._tls}},
                                   "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin":
                                               {"allow_anonymous": True}}})
            await self._broker.start()

        asyncio.run_coroutine_threadsafe(start(), self._loop).result(30)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop).result(30)
        self._broker = None

    def close(self) -> None:
        if self._broker is not None:
            self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
