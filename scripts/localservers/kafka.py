"""Apache Kafka (KRaft: one node that is both broker and controller), the release compose runs.

The jars come from Maven Central through ``scripts/install-kafka.sh`` (cached in
``${GEOSTREAM_CACHE}/kafka-<KAFKA_VERSION>/libs``; the version is the one in ``.env.example``). Each
server keeps its configuration, its data (``<workdir>/data``) and its log (``<workdir>/kafka.log``) in
its work directory. The data directory is formatted once, so :meth:`KafkaServer.restart` brings back
every topic, record, committed offset and producer state, like a restarted production broker.

Start-up is mostly class loading: the first broker that stops gracefully leaves a class-data sharing
archive (AppCDS) next to the jars, keyed by the JVM, and later brokers start from it about twice as
fast.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from localservers import cache_dir, free_port, stop_process, wait_for_port

REPO = Path(__file__).resolve().parents[2]
INSTALLER = REPO / "scripts" / "install-kafka.sh"
CONFIG_DIR = REPO / "scripts" / "kafka"
HEAP = "-Xmx512m"
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0
"""A graceful stop (controlled shutdown, logs flushed and closed) normally takes a few seconds."""


def kafka_version() -> str:
    """KAFKA_VERSION from .env.example: compose and the local servers run the same release."""
    for line in (REPO / ".env.example").read_text().splitlines():
        if line.startswith("KAFKA_VERSION="):
            return line.partition("=")[2].strip()
    raise RuntimeError("KAFKA_VERSION not set in .env.example")


def kafka_home() -> Path:
    return cache_dir() / f"kafka-{kafka_version()}"


def install_kafka() -> Path:
    """Run the installer (silent and immediate when the jars are cached); return the libs directory."""
    subprocess.run(["bash", str(INSTALLER)], check=True, stdout=subprocess.DEVNULL)
    return kafka_home() / "libs"


def random_cluster_id() -> str:
    """A cluster id as ``kafka-storage random-uuid`` prints it: 16 random bytes, URL-safe base64, no
    padding, never starting with '-' (it would read as an option on a command line)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text


@dataclass(frozen=True)
class BrokerConfig:
    host: str
    port: int
    controller_port: int
    data_dir: Path


def server_properties(config: BrokerConfig) -> str:
    """server.properties of a one-node KRaft cluster, set up like the compose service."""
    return f"""\
# Written by scripts/localservers/kafka.py at each start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{config.controller_port}
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://{config.host}:{config.port},CONTROLLER://127.0.0.1:{config.controller_port}
advertised.listeners=PLAINTEXT://{config.host}:{config.port}
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={config.data_dir}
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
# Topics are created with their final partition counts (geostream.topics), never implicitly.
auto.create.topics.enable=false
"""


def _jvm_key() -> str:
    """Identifies the JVM a class-data archive was dumped by (another JVM rejects it)."""
    java = Path(shutil.which("java") or "java").resolve()
    stat = java.stat()
    return hashlib.sha256(f"{java}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]


class KafkaServer:
    def __init__(self, workdir: Path, port: int | None = None, host: str = "127.0.0.1"):
        self.workdir = Path(workdir)
        self.host = host
        self.port = port or free_port()
        self.controller_port = free_port()
        self.process: subprocess.Popen | None = None
        self.start_seconds: float | None = None
        """How long the last start() took until the broker answered metadata requests."""

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def log_file(self) -> Path:
        return self.workdir / "kafka.log"

    def _java(self, libs: Path, main: str, *args: str, jvm: tuple[str, ...] = ()) -> list[str]:
        return ["java", *jvm, "-Djava.awt.headless=true", "-cp", f"{libs}/*", main, *args]

    def _format(self, libs: Path, properties: Path) -> None:
        """Format the data directory, once: a restarted broker keeps its data."""
        if (self.data_dir / "meta.properties").exists():
            return
        tools_log = f"-Dlog4j.configuration=file:{CONFIG_DIR / 'tools-log4j.properties'}"
        command = self._java(
            libs, "kafka.tools.StorageTool", "format", "-t", random_cluster_id(), "-c", str(properties),
            jvm=("-Xmx256m", tools_log, *self._cds_options(dump=False)),
        )  # fmt: skip
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def _cds_archive(self) -> Path:
        return kafka_home() / "cds" / f"{_jvm_key()}.jsa"

    def _cds_options(self, dump: bool) -> list[str]:
        archive = self._cds_archive()
        if archive.exists():
            return [f"-XX:SharedArchiveFile={archive}", "-Xshare:auto"]
        return [f"-XX:ArchiveClassesAtExit={self.workdir / 'kafka.jsa'}"] if dump else []

    def start(self, topics: bool = True) -> KafkaServer:
        started = time.monotonic()
        self.workdir.mkdir(parents=True, exist_ok=True)
        libs = install_kafka()
        properties = self.workdir / "server.properties"
        properties.write_text(
            server_properties(BrokerConfig(self.host, self.port, self.controller_port, self.data_dir))
        )
        self._format(libs, properties)
        jvm = (
            HEAP, "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:+ExitOnOutOfMemoryError",
            f"-Dlog4j.configuration=file:{CONFIG_DIR / 'log4j.properties'}", *self._cds_options(dump=True),
        )  # fmt: skip
        log = open(self.log_file, "ab")  # noqa: SIM115 (kept open for the child's lifetime)
        self.process = subprocess.Popen(
            self._java(libs, "kafka.Kafka", str(properties), jvm=jvm),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_for_port(self.port, START_TIMEOUT_S, self.process, f"kafka (log: {self.log_file})")
        from geostream.kafka import ensure_topics, wait_for_broker

        wait_for_broker(self.bootstrap, timeout=START_TIMEOUT_S)
        self.start_seconds = time.monotonic() - started
        if topics:
            ensure_topics(self.bootstrap)
        return self

    def stop(self) -> None:
        """Graceful stop (SIGTERM): the broker closes its logs; a later start() finds all data."""
        stop_process(self.process, timeout=STOP_TIMEOUT_S)
        self.process = None
        self._keep_cds_archive()

    def kill(self) -> None:
        """SIGKILL, as a crash: no shutdown at all; a later start() recovers the logs from disk."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(STOP_TIMEOUT_S)
        self.process = None

    def restart(self) -> None:
        """Graceful stop, then start on the same ports with the same data (no reformatting)."""
        self.stop()
        self.start()

    def discard_data(self) -> None:
        """Delete the stopped broker's data: the next start() formats a new, empty cluster, as a broker
        that lost its disk (offsets start again at 0, producer ids and group offsets are gone)."""
        if self.process is not None:
            raise RuntimeError("stop() the broker before discarding its data")
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def _keep_cds_archive(self) -> None:
        dumped = self.workdir / "kafka.jsa"
        if not dumped.exists():
            return
        with contextlib.suppress(OSError):
            archive = self._cds_archive()
            archive.parent.mkdir(parents=True, exist_ok=True)
            os.replace(dumped, archive)
        dumped.unlink(missing_ok=True)
