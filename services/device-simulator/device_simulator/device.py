"""One simulated device: its vehicle, its offline queue and its own MQTT connection (QoS 1)."""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

import orjson
import paho.mqtt.client as mqtt

from device_simulator.motion import MotionConfig, Vehicle
from device_simulator.offline_queue import OfflineQueue
from device_simulator.settings import Settings

log = logging.getLogger("device-simulator")

WINDOW = 20
"""Messages handed to the MQTT client and not yet acknowledged by the broker (paho's in-flight limit)."""


@dataclass
class DeviceStats:
    generated: int = 0
    published: int = 0
    """Acknowledged by the broker (PUBACK) and removed from the queue."""
    dropped: int = 0
    queued: int = 0


class Device:
    def __init__(
        self,
        device_id: str,
        settings: Settings,
        queue: OfflineQueue,
        motion: MotionConfig,
        rng: random.Random,
        wake: threading.Event,
    ):
        self.device_id = device_id
        self.topic = f"devices/{device_id}/location"
        self.settings = settings
        self.queue = queue
        self.vehicle = Vehicle(motion, rng)
        self.wake = wake
        self.stats = DeviceStats(dropped=queue.dropped, queued=len(queue))
        self._inflight: collections.deque[tuple[int, mqtt.MQTTMessageInfo]] = collections.deque()
        self._handed_up_to = 0
        self._last_ts = 0
        self._last_sample = time.monotonic()
        self._connected = threading.Event()
        self.client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        # A persistent session like a real tracker: the broker keeps its state across reconnects.
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.device_id,
            protocol=mqtt.MQTTv311,
            clean_session=False,
        )
        if s.mqtt_username:
            client.username_pw_set(s.mqtt_username, s.mqtt_password.get_secret_value() or None)
        client.max_inflight_messages_set(WINDOW)
        client.reconnect_delay_set(s.mqtt_reconnect_min_s, s.mqtt_reconnect_max_s)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = lambda *_args: self.wake.set()
        return client

    def _on_connect(self, _c: mqtt.Client, _u: Any, _flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("mqtt connection refused", extra={"device": self.device_id, "reason": str(reason)})
            return
        self._connected.set()
        self.wake.set()
        log.info("mqtt connected", extra={"device": self.device_id, "queued": len(self.queue)})

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _flags: Any, reason: Any, _p: Any) -> None:
        if self._connected.is_set():
            log.warning(
                "mqtt connection lost; queueing", extra={"device": self.device_id, "reason": str(reason)}
            )
        self._connected.clear()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        s = self.settings
        self.client.connect_async(s.mqtt_broker_host, s.mqtt_broker_port, keepalive=s.mqtt_keepalive_s)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self.queue.close()

    def sample(self) -> None:
        """Advance the vehicle to now and queue its fix."""
        now = time.monotonic()
        self.vehicle.step(now - self._last_sample)
        self._last_sample = now
        ts = max(int(time.time() * 1000), self._last_ts + 1)  # strictly increasing per device
        self._last_ts = ts
        message = {"vehicle_id": self.device_id, "ts": ts, **self.vehicle.fix(), "source": "simulator"}
        dropped = self.queue.put(orjson.dumps(message), self._handed_up_to)
        self.stats.generated += 1
        if dropped:
            self.stats.dropped += dropped
            log.warning(
                "offline queue full: oldest dropped", extra={"device": self.device_id, "dropped": dropped}
            )

    def pump(self) -> None:
        """Remove what the broker acknowledged; hand the next queued messages to the client, in order."""
        done = []
        while self._inflight and self._inflight[0][1].is_published():
            done.append(self._inflight.popleft()[0])
        if done:
            self.queue.remove(done)
            self.stats.published += len(done)
        if self.connected and len(self._inflight) < WINDOW:
            for seq, payload in self.queue.peek(self._handed_up_to, WINDOW - len(self._inflight)):
                self._inflight.append((seq, self.client.publish(self.topic, payload, qos=1)))
                self._handed_up_to = seq
        self.stats.queued = len(self.queue)

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing waiting for an acknowledgement."""
        return not self._inflight and len(self.queue) == 0

    def stats_dict(self) -> dict[str, int]:
        return asdict(self.stats)
