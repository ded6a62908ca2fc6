"""The fault-injection suite's tools: senders that record what was acknowledged, and the checks.

A point is acknowledged when http-ingest answered 202 for its request, or when Mosquitto sent the
PUBACK of its QoS 1 message. Every acknowledged point must end up in MobilityDB exactly once and on the
live topic (``websocket_updates_topic``); points that were sent but not acknowledged (a 503 while
Kafka was down) may or may not arrive, and nothing that was never sent may appear.
"""

from __future__ import annotations

import base64
import collections
import json
import os
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import requests
from support.kafka import read_topic

Key = tuple[str, int]  # (vehicle id, event time in epoch ms)


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Ledger:
    """What one sender sent and what was acknowledged, thread-safe."""

    sent: set[Key] = field(default_factory=set)
    acked: set[Key] = field(default_factory=set)
    answers: collections.Counter = field(default_factory=collections.Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, keys: list[Key], acked: bool, answer: str) -> None:
        with self.lock:
            self.sent.update(keys)
            if acked:
                self.acked.update(keys)
            self.answers[answer] += 1


class Clock:
    """Strictly increasing event times per vehicle (ms), close to the wall clock."""

    def __init__(self) -> None:
        self.last: dict[str, int] = {}

    def next(self, vehicle: str) -> int:
        ts = max(now_ms(), self.last.get(vehicle, 0) + 1)
        self.last[vehicle] = ts
        return ts


def position(vehicle_index: int, step: int) -> tuple[float, float]:
    # A zigzag: MobilityDB would drop the middle instants of a straight, even-speed run.
    return round(2.3 + vehicle_index * 0.01 + step * 1e-4, 6), round(48.8 + (step % 2) * 1e-4, 6)


class HttpSender(threading.Thread):
    """POSTs one point per vehicle every ``interval`` s to /ingest/location; 202 acknowledges them."""

    def __init__(self, url: str, vehicles: list[str], token: str | None = None, interval: float = 0.2):
        super().__init__(name="http-sender", daemon=True)
        self.url = url + "/ingest/location"
        self.vehicles = vehicles
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.interval = interval
        self.ledger = Ledger()
        self.stopping = threading.Event()

    def run(self) -> None:
        clock = Clock()
        session = requests.Session()
        step = 0
        while not self.stopping.is_set():
            items, keys = [], []
            for n, vehicle in enumerate(self.vehicles):
                ts = clock.next(vehicle)
                lon, lat = position(n, step)
                items.append({"vehicleID": vehicle, "path": [[lon, lat]], "timestamps": [ts]})
                keys.append((vehicle, ts))
            try:
                answer = session.post(self.url, data=json.dumps(items), headers=self.headers, timeout=30)
                self.ledger.record(keys, answer.status_code == 202, f"http {answer.status_code}")
            except requests.RequestException as exc:
                self.ledger.record(keys, False, f"http {type(exc).__name__}")
            step += 1
            self.stopping.wait(self.interval)

    def stop(self) -> Ledger:
        self.stopping.set()
        self.join(60)
        return self.ledger


class MqttSender(threading.Thread):
    """Publishes one point per vehicle every ``interval`` s to devices/<id>/location, QoS 1; the PUBACK
    acknowledges it. paho keeps unacknowledged messages and resends them after a reconnect."""

    def __init__(self, host: str, port: int, vehicles: list[str], credentials: dict[str, str] | None = None,
                 interval: float = 0.2):  # fmt: skip
        super().__init__(name="mqtt-sender", daemon=True)
        import paho.mqtt.client as mqtt

        self.vehicles = vehicles
        self.interval = interval
        self.ledger = Ledger()
        self.stopping = threading.Event()
        self.by_mid: dict[int, Key] = {}
        self.pubacks: collections.deque[int] = collections.deque()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"faults-{os.getpid()}-{vehicles[0]}",
            clean_session=True,
        )
        if credentials:
            self.client.username_pw_set(credentials["MQTT_USERNAME"], credentials["MQTT_PASSWORD"])
        self.client.max_queued_messages_set(0)
        self.client.max_inflight_messages_set(1000)
        self.client.reconnect_delay_set(min_delay=0.2, max_delay=2)
        self.client.on_publish = lambda _c, _u, mid, _rc, _p: self.pubacks.append(mid)
        self.client.connect_async(host, port, keepalive=10)
        self.client.loop_start()

    def run(self) -> None:
        clock = Clock()
        step = 0
        while not self.stopping.is_set():
            for n, vehicle in enumerate(self.vehicles):
                ts = clock.next(vehicle)
                lon, lat = position(n, step)
                payload = json.dumps({"vehicle_id": vehicle, "ts": ts, "lon": lon, "lat": lat})
                info = self.client.publish(f"devices/{vehicle}/location", payload, qos=1)
                self.by_mid[info.mid] = (vehicle, ts)
                with self.ledger.lock:
                    self.ledger.sent.add((vehicle, ts))
            step += 1
            self.stopping.wait(self.interval)

    def stop(self, drain_timeout: float = 60) -> Ledger:
        """Stop publishing, wait for the outstanding PUBACKs (paho resends after a reconnect)."""
        self.stopping.set()
        self.join(60)
        deadline = time.monotonic() + drain_timeout
        while len(set(self.pubacks)) < len(self.by_mid) and time.monotonic() < deadline:
            time.sleep(0.2)
        self.client.loop_stop()
        self.client.disconnect()
        with self.ledger.lock:
            self.ledger.acked = {self.by_mid[mid] for mid in set(self.pubacks) if mid in self.by_mid}
            self.ledger.answers["mqtt puback"] = len(self.ledger.acked)
            self.ledger.answers["mqtt no puback"] = len(self.by_mid) - len(self.ledger.acked)
        return self.ledger


def stored_counts(dsn: str, prefix: str) -> collections.Counter:
    """(vehicle, ts) -> rows in vehicle_points, and the instants each vehicle's trajectory holds."""
    conn = psycopg2.connect(dsn, connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT vehicle_id, (extract(epoch FROM ts) * 1000)::bigint FROM vehicle_points "
                "WHERE vehicle_id LIKE %s",
                (prefix + "%",),
            )
            return collections.Counter(cur.fetchall())
    finally:
        conn.close()


def trajectory_instants(dsn: str, vehicle: str) -> int:
    conn = psycopg2.connect(dsn, connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT coalesce(numInstants(vehicle_trajectory(%s)), 0)", (vehicle,))
            return cur.fetchone()[0]
    finally:
        conn.close()


def latest_stored(dsn: str, prefix: str) -> dict[str, int]:
    """The newest stored event time of each vehicle (the database's latest position)."""
    conn = psycopg2.connect(dsn, connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT vehicle_id, (extract(epoch FROM ts) * 1000)::bigint FROM vehicle_latest_positions "
                "WHERE vehicle_id LIKE %s",
                (prefix + "%",),
            )
            return dict(cur.fetchall())
    finally:
        conn.close()


def keep_logs(stack, dest: Path) -> Path:
    """Copies the stack's logs to ``dest`` (the stack's directory goes at the end of the run): each
    service's stdout and stderr (``logs/``) and each server's own log (``kafka/kafka.log``, ...)."""
    run_dir = Path(stack.run_dir)
    for path in run_dir.glob("*/*.log"):
        target = dest / path.relative_to(run_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return dest


def services_state(stack, tail_lines: int = 40) -> str:
    """Each service process: running or its exit code; the end of the log of those that exited."""
    lines = []
    for name, service in stack.processes.items():
        code = service.process.poll() if service.process is not None else None
        lines.append(f"{name}: {'running' if code is None else f'exited with {code}'}")
        if code is not None and service.log_path.exists():
            log = service.log_path.read_text(errors="replace").splitlines()
            lines += [f"    {line}" for line in log[-tail_lines:]]
    return "\n".join(lines)


def ingest_token(stack) -> str | None:
    """http-ingest's Bearer token when the stack sets one (the secrets of `make local`), else None."""
    return (getattr(stack, "secrets", None) or {}).get("INGEST_TOKEN") or None


def live_keys(brokers: str, topic: str, prefix: str) -> collections.Counter:
    records = read_topic(
        brokers, topic, where=lambda r: str(r.value.get("vehicle_id", "")).startswith(prefix), settle=1.5
    )
    return collections.Counter((r.value["vehicle_id"], r.value["ts"]) for r in records)


@dataclass
class Outcome:
    name: str
    prefix: str
    sent: int
    acked: int
    lost_db: int
    lost_live: int
    duplicates: int
    invented: int
    catch_up_s: float
    bound_s: float
    answers: dict[str, int]
    """HTTP requests by status (one point per vehicle each), MQTT messages by PUBACK."""

    def figures(self) -> str:
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(self.answers.items()))
        return (
            f"fault {self.name}: points sent {self.sent}, acknowledged {self.acked}, "
            f"lost {self.lost_db + self.lost_live}, duplicates {self.duplicates}, "
            f"time to catch up {self.catch_up_s:.1f} s (bound {self.bound_s:.0f} s); answers {{{answers}}}"
        )


def wait_caught_up(name: str, ledgers: list[Ledger], prefix: str, dsn: str, brokers: str, live_topic: str,
                   healed_at: float, bound_s: float) -> Outcome:  # fmt: skip
    """Poll until every acknowledged point is stored and on the live topic, or the bound is exceeded."""
    sent = set().union(*(ledger.sent for ledger in ledgers))
    acked = set().union(*(ledger.acked for ledger in ledgers))
    answers: collections.Counter = collections.Counter()
    for ledger in ledgers:
        answers.update(ledger.answers)
    deadline = healed_at + bound_s
    stored: collections.Counter = collections.Counter()
    live: collections.Counter = collections.Counter()
    while True:
        stored = stored_counts(dsn, prefix)
        if acked <= stored.keys():
            live = live_keys(brokers, live_topic, prefix)
            if acked <= live.keys():
                break
        if time.monotonic() > deadline:
            break
        time.sleep(1)
    caught_up = time.monotonic() - healed_at
    return Outcome(
        name=name,
        prefix=prefix,
        sent=len(sent),
        acked=len(acked),
        lost_db=len(acked - stored.keys()),
        lost_live=len(acked - live.keys()),
        duplicates=sum(count - 1 for count in stored.values()),
        invented=len(stored.keys() - sent),
        catch_up_s=caught_up,
        bound_s=bound_s,
        answers=dict(answers),
    )


class NeverReadingClient:
    """A WebSocket client that completes the handshake and then never reads a byte."""

    def __init__(self, host: str, port: int):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect((host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def closed_by_server(self) -> bool:
        """True once the relay has closed the connection (reads what is left, which a real client would)."""
        self.sock.setblocking(False)
        try:
            while True:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    return True
        except BlockingIOError:
            return False
        except OSError:
            return True
        finally:
            self.sock.setblocking(True)

    def close(self) -> None:
        self.sock.close()


class LiveClient(threading.Thread):
    """A well-behaved WebSocket client: the latest point it saw per vehicle."""

    def __init__(self, url: str):
        super().__init__(name="live-client", daemon=True)
        self.url = url
        self.latest: dict[str, int] = {}
        self.frames = 0
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        from websockets.sync.client import connect

        try:
            with connect(self.url, open_timeout=20, max_size=None) as ws:
                while not self.stopping.is_set():
                    try:
                        frame = json.loads(ws.recv(timeout=0.5))
                    except TimeoutError:
                        continue
                    self.frames += 1
                    for point in frame.get("vehicles", []):
                        vehicle, ts = point["vehicle_id"], point["ts"]
                        self.latest[vehicle] = max(ts, self.latest.get(vehicle, 0))
        except BaseException as exc:  # reported by the test
            self.error = exc

    def stop(self) -> None:
        self.stopping.set()
        self.join(10)
