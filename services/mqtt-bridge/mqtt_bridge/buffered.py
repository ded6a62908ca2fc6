"""A paho-mqtt client that reads the socket in large chunks.

paho reads every packet with several 1-byte ``recv`` calls and a ``select`` per packet: at QoS 1 this,
not the bridge's own work, caps a subscriber at a few thousand messages per second. Wrapping the socket
in a read buffer (like paho's own websocket wrapper does) turns that into one ``recv`` per 64 KiB, and
``pending()`` - which paho already honours for TLS sockets - tells its loop that buffered bytes are
ready without waiting in ``select``. Relies on paho's ``_create_socket`` hook: paho-mqtt is pinned.
"""

from __future__ import annotations

from typing import Any

import paho.mqtt.client as mqtt

CHUNK = 65536


class BufferedSocket:
    def __init__(self, sock: Any):
        self._sock = sock
        self._buffer = bytearray()

    def recv(self, bufsize: int) -> bytes:
        if not self._buffer:
            data = self._sock.recv(max(bufsize, CHUNK))  # BlockingIOError passes through, as paho expects
            if len(data) <= bufsize:
                return data
            self._buffer += data
        chunk = bytes(self._buffer[:bufsize])
        del self._buffer[:bufsize]
        return chunk

    def pending(self) -> int:
        return len(self._buffer)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class BufferedClient(mqtt.Client):
    def _create_socket(self) -> Any:
        sock = super()._create_socket()
        if self._transport == "websockets":
            return sock
        return BufferedSocket(sock)

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        # paho reads one packet per call when it has no outgoing QoS messages; drain the buffer instead.
        rc = super().loop_read(max_packets)
        while rc == mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS and isinstance(self._sock, BufferedSocket):
            if not self._sock.pending():
                break
            rc = super().loop_read(max_packets)
        return rc
