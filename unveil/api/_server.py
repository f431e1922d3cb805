"""How `unveil serve` speaks HTTP: uvicorn's h11 protocol with a deadline for each request's head.

uvicorn waits for a request's head (its request line and headers) for ever: its keep-alive timeout
starts only once an answer is sent and stops at the next byte received. So connections that send
nothing, or a header now and then, are held open without a token; about a thousand of them take every
file descriptor of a default `ulimit -n`, and no one with the token is answered until they go.
"""
from __future__ import annotations

import asyncio
import json

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

# Seconds a client has to send a whole request head, from when it connects or its previous answer was
# sent. Home Assistant, Node-RED and curl send one in a single write.
REQUEST_HEAD_TIMEOUT_S = 10.0
# The answer to what h11 cannot read as HTTP/1.1 (a Content-Length of -1, a chunk size that is not hex), in
# the API's JSON error shape; uvicorn's own is text/plain "Invalid HTTP request received.".
INVALID_HTTP = ("the request is not valid HTTP/1.1 (its request line, a header or its chunked body); nothing more is "
                "read from this connection")


class HeadDeadlineProtocol(H11Protocol):
    """H11Protocol that closes a connection whose request head is not whole REQUEST_HEAD_TIMEOUT_S after
    it connected or after its previous answer (a body still arriving after its answer, such as the rest of
    an upload refused with 401, counts as no head). A request being answered is never cut."""

    head_timeout_s = REQUEST_HEAD_TIMEOUT_S
    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not None and not self.cycle.response_complete:
            self._cancel_head_deadline()  # a head arrived whole: the request is the app's now

    def on_response_complete(self) -> None:
        # Armed first: the base class may go on at once to a pipelined request, which disarms it.
        self._arm_head_deadline()
        super().on_response_complete()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request h11 cannot read, as the API's JSON error (kind "invalid_http")."""
        body = json.dumps({"error": "invalid_http", "detail": INVALID_HTTP}, separators=(",", ":")).encode()
        if self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):  # no answer of the app's begun
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                       (b"connection", b"close")]
            self.transport.write(self.conn.send(h11.Response(status_code=400, headers=headers, reason=b"Bad Request")))
            self.transport.write(self.conn.send(h11.Data(data=body)))
            self.transport.write(self.conn.send(h11.EndOfMessage()))
        self.transport.close()

    def _arm_head_deadline(self) -> None:
        self._cancel_head_deadline()
        self._head_deadline = self.loop.call_later(self.head_timeout_s, self._head_too_slow)

    def _cancel_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self.transport.close()
