"""Debian's Mosquitto with a private config, persistence directory and log.

Authentication is on by default, configured exactly as in compose: ``mosquitto/generate-auth.sh`` writes
the hashed password file and the ACLs from the same variables. An admin account (every device and
OwnTracks topic) and a read-only bridge account are generated unless given; tests read them from the
properties (``username``/``password``, ``bridge_username``/``bridge_password``) or from
:meth:`credentials`. ``allow_anonymous=True`` only where a test needs an anonymous client.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

from localservers import free_port, stop_process, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
GENERATE_AUTH = ROOT / "mosquitto" / "generate-auth.sh"
MESSAGE_SIZE_LIMIT = 65536
"""As in mosquitto/mosquitto.conf."""


class MosquittoServer:
    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        host: str = "127.0.0.1",
        *,
        auth: bool = True,
        allow_anonymous: bool = False,
        username: str | None = None,
        password: str | None = None,
        bridge_username: str | None = None,
        bridge_password: str | None = None,
        device_users: dict[str, str] | None = None,
    ):
        self.workdir = Path(workdir)
        self.host = host
        self.port = port or free_port()
        self.auth = auth
        self.allow_anonymous = allow_anonymous or not auth
        self.username = username or "admin"
        self.password = password or secrets.token_urlsafe(18)
        self.bridge_username = bridge_username or "mqtt-bridge"
        self.bridge_password = bridge_password or secrets.token_urlsafe(18)
        self.device_users = dict(device_users or {})
        self.process: subprocess.Popen | None = None

    def credentials(self, account: str = "admin") -> dict[str, str]:
        """``MQTT_USERNAME``/``MQTT_PASSWORD`` of ``admin``, ``bridge`` or a device account."""
        if account == "admin":
            user, password = self.username, self.password
        elif account == "bridge":
            user, password = self.bridge_username, self.bridge_password
        else:
            user, password = account, self.device_users[account]
        return {"MQTT_USERNAME": user, "MQTT_PASSWORD": password}

    def _write_auth(self, auth_dir: Path) -> None:
        env = {
            **os.environ,
            "MQTT_USERNAME": self.username,
            "MQTT_PASSWORD": self.password,
            "MQTT_BRIDGE_USERNAME": self.bridge_username,
            "MQTT_BRIDGE_PASSWORD": self.bridge_password,
            "MQTT_DEVICE_USERS": ",".join(f"{u}:{p}" for u, p in self.device_users.items()),
        }
        subprocess.run(
            ["sh", str(GENERATE_AUTH), str(auth_dir)], env=env, check=True, capture_output=True, timeout=60
        )

    def _write_config(self) -> Path:
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        lines = [
            f"listener {self.port} {self.host}",
            f"allow_anonymous {'true' if self.allow_anonymous else 'false'}",
        ]
        auth_dir = self.workdir / "auth"
        if self.auth:
            self._write_auth(auth_dir)
            lines += [f"password_file {auth_dir / 'passwd'}", f"acl_file {auth_dir / 'acl'}"]
        if os.geteuid() == 0:
            # Run as root, mosquitto drops to the "mosquitto" user: it must own its persistence dir.
            for path in (data, self.workdir, *([auth_dir, *auth_dir.iterdir()] if self.auth else [])):
                shutil.chown(path, "mosquitto", "mosquitto")
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(
            "\n".join(lines) + "\n"
            f"message_size_limit {MESSAGE_SIZE_LIMIT}\n"
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
