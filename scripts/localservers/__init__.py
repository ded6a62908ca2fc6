"""Real servers on loopback for tests and for ``make local``: no Docker, no mocks.

- :class:`KafkaServer`: Apache Kafka (KRaft, one node), the release compose runs, from Maven Central jars
  (``scripts/install-kafka.sh``); its data survives a restart;
- :class:`MosquittoServer`: Debian's Mosquitto;
- :class:`PostgresServer`: PostgreSQL 17 + PostGIS 3.5 + MobilityDB 1.2 in a cached Debian 13 root.

Each runs in a private work directory on a chosen or free port and stops cleanly. The pytest fixtures
(tests/conftest.py) start them once per session; ``python -m localservers`` starts them on the
platform's default ports.
"""

from __future__ import annotations

import contextlib
import random
import socket
import subprocess
import threading
import time
from pathlib import Path

# Below Linux's ephemeral range (32768-60999): a port the kernel hands out for an outgoing connection
# (a Kafka client, Flink's RPC) cannot be the one chosen here for a server that binds it seconds later.
FREE_PORT_RANGE = range(21000, 32000)
_handed_out: set[int] = set()
_handed_out_lock = threading.Lock()


def free_port() -> int:
    """A loopback port free for TCP and UDP now, never handed out before by this process."""
    with _handed_out_lock:
        for port in random.sample(FREE_PORT_RANGE, 200):
            if port not in _handed_out and _bindable(port):
                _handed_out.add(port)
                return port
    raise RuntimeError(f"no free port in {FREE_PORT_RANGE}")


def _bindable(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def wait_for_port(
    port: int, timeout: float, process: subprocess.Popen | None = None, what: str = "server"
) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(port):
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} before listening on {port}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not listening on port {port} after {timeout:.0f} s")
        time.sleep(0.05)


def stop_process(process: subprocess.Popen | None, timeout: float = 10.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


def cache_dir() -> Path:
    import os

    return Path(os.environ.get("GEOSTREAM_CACHE", "/var/cache/geostream"))


from localservers.kafka import KafkaServer  # noqa: E402
from localservers.mosquitto import MosquittoServer  # noqa: E402

__all__ = [
    "KafkaServer",
    "MosquittoServer",
    "cache_dir",
    "free_port",
    "port_open",
    "stop_process",
    "wait_for_port",
]
