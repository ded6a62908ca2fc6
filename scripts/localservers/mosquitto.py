"""Debian's Mosquitto with a private config, persistence directory and log."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from localservers import free_port, stop_process, wait_for_port


class MosquittoServer:
    def __init__(self, workdir: Path, port: int | None = None, host: str = "127.0.0.1"):
        self.workdir = Path(workdir)
        self.host = host
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    def _write_config(self) -> Path:
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            # Run as root, mosquitto drops to the "mosquitto" user: it must own its persistence dir.
            shutil.chown(data, "mosquitto", "mosquitto")
            shutil.chown(self.workdir, "mosquitto", "mosquitto")
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} {self.host}\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {data}/\n"
            "autosave_interval 1\n"
            "max_queued_messages 100000\n"
            f"log_dest file {self.workdir / 'mosquitto.log'}\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
        )
        return conf

    def start(self) -> MosquittoServer:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.process = subprocess.Popen(
            [binary, "-c", str(self._write_config())],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for_port(self.port, 15, self.process, "mosquitto")
        return self

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None
