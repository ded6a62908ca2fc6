"""InfluxDB OSS 1.13 (built from the Go module proxy by scripts/install-influxdb.sh) with the v2 API.

Production runs InfluxDB 2.7. Here the server is InfluxDB OSS 1.13, the cheaper build that fits CI's
time budget (2.x needs the same size of Rust build for its own, older Flux, ~1.6x the Go code, and a
wrapper module for its replace directive). 1.13 serves the same v2 write API
(``POST /api/v2/write?org=..&bucket=..`` with ``Authorization: Token ...``), ``/api/v2/query`` (Flux),
``/api/v2/buckets``, ``/health`` and InfluxQL ``/query``. Clients use the same four settings either
way: INFLUXDB_URL, INFLUXDB_TOKEN, INFLUXDB_ORG, INFLUXDB_BUCKET. The differences to know:

- the token is ``user:password`` of a 1.x admin user (2.x: an API token); the org is ignored;
- the bucket is the database ``speed_bucket`` with its default retention policy ``autogen``, the
  same names InfluxDB 2.x's automatic DBRP mapping gives a bucket, so InfluxQL such as
  ``SELECT * FROM speed_bucket.autogen.m`` runs unchanged on both.

Authentication is on. On first start in an empty work directory the admin user (random password kept in
``<workdir>/credentials.json``), the database and its retention policy are created; data, metadata and
credentials stay in the work directory, so a restart (or a new object on the same directory) keeps them.
The server log goes to ``<workdir>/influxd.log``.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from localservers import cache_dir, free_port, port_open, stop_process

REPO = Path(__file__).resolve().parents[2]
INSTALLER = REPO / "scripts" / "install-influxdb.sh"
ORG = "speed_org"
BUCKET = "speed_bucket"
RETENTION_POLICY = "autogen"
ADMIN_USER = "speed_admin"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    @property
    def token(self) -> str:
        """InfluxDB 1.8+'s v2-compatibility token: ``username:password``."""
        return f"{self.username}:{self.password}"


def render_config(workdir: Path, host: str, http_port: int, rpc_port: int) -> str:
    """influxd's TOML configuration: loopback only, auth on, Flux on, everything under ``workdir``."""
    return f"""\
# Written by scripts/localservers/influxdb.py at each start.
reporting-disabled = true
bind-address = "{host}:{rpc_port}"

[meta]
  dir = "{workdir / "meta"}"

[data]
  dir = "{workdir / "data"}"
  wal-dir = "{workdir / "wal"}"
  query-log-enabled = false

[http]
  enabled = true
  bind-address = "{host}:{http_port}"
  auth-enabled = true
  flux-enabled = true
  log-enabled = false
  pprof-enabled = false

[logging]
  level = "warn"

[monitor]
  store-enabled = false
"""


def influxql_escape(value: str) -> str:
    """A string literal for InfluxQL (single-quoted)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def influxd_binary() -> str:
    """``$INFLUXD_BIN``, else the installer's binary (it returns at once when the cached build exists)."""
    found = os.environ.get("INFLUXD_BIN")
    if found:
        return found
    cached = cache_dir() / "bin" / "influxd"
    if cached.exists():
        return str(cached)
    result = subprocess.run(["bash", str(INSTALLER)], check=True, stdout=subprocess.PIPE, text=True)
    return result.stdout.strip().splitlines()[-1]


class InfluxDBServer:
    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        host: str = "127.0.0.1",
        retention: str = "0s",
    ):
        self.workdir = Path(workdir)
        self.host = host
        self.port = port or free_port()
        self.rpc_port = free_port()
        self.retention = retention  # InfluxQL duration of the bucket's retention policy; 0s = forever
        self.process: subprocess.Popen | None = None
        self._credentials: Credentials | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def org(self) -> str:
        return ORG

    @property
    def bucket(self) -> str:
        return BUCKET

    @property
    def database(self) -> str:
        return BUCKET

    @property
    def retention_policy(self) -> str:
        return RETENTION_POLICY

    @property
    def credentials(self) -> Credentials:
        if self._credentials is None:
            raise RuntimeError("InfluxDB server not started")
        return self._credentials

    @property
    def token(self) -> str:
        return self.credentials.token

    def env(self) -> dict[str, str]:
        """The settings a client (a service, Telegraf, a test) needs."""
        return {
            "INFLUXDB_URL": self.url,
            "INFLUXDB_TOKEN": self.token,
            "INFLUXDB_ORG": self.org,
            "INFLUXDB_BUCKET": self.bucket,
        }

    def start(self, timeout: float = 60.0) -> InfluxDBServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if port_open(self.port, self.host):
            raise RuntimeError(f"port {self.port} is already in use")
        conf = self.workdir / "influxdb.conf"
        conf.write_text(render_config(self.workdir, self.host, self.port, self.rpc_port))
        log = open(self.workdir / "influxd.log", "ab")  # noqa: SIM115 (kept open for the child's lifetime)
        self.process = subprocess.Popen(
            [influxd_binary(), "run", "-config", str(conf)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        try:
            self._wait_healthy(timeout)
            self._credentials = self._ensure_setup()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        stop_process(self.process, timeout=30)
        self.process = None

    def restart(self) -> None:
        """Stop and start on the same port and data (a new free port for the backup service)."""
        self.stop()
        self.rpc_port = free_port()
        self.start()

    def __enter__(self) -> InfluxDBServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def influxql(self, query: str, database: str | None = None) -> dict:
        """Run InfluxQL through ``/query`` as the admin (epoch nanoseconds); return the JSON result."""
        params = {"q": query, "epoch": "ns"}
        if database:
            params["db"] = database
        response = requests.post(
            f"{self.url}/query", params=params, auth=(self.credentials.username, self.credentials.password),
            timeout=30,
        )  # fmt: skip
        response.raise_for_status()
        body = response.json()
        errors = [r["error"] for r in body.get("results", []) if "error" in r]
        if errors:
            raise RuntimeError(f"InfluxQL {query!r}: {errors}")
        return body

    def log_tail(self, lines: int = 30) -> str:
        path = self.workdir / "influxd.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"influxd exited with code {self.process.returncode}:\n{self.log_tail()}")
            try:
                # /ping, not /health: every InfluxDB has it (Debian's 1.6 has no /health).
                if requests.get(f"{self.url}/ping", timeout=1).status_code == 204:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"influxd not healthy on {self.url} after {timeout:.0f} s")
            time.sleep(0.05)

    def _ensure_setup(self) -> Credentials:
        """First start: the admin user (allowed unauthenticated while no admin exists), then the bucket."""
        saved = self.workdir / "credentials.json"
        if saved.exists():
            data = json.loads(saved.read_text())
            credentials = Credentials(data["username"], data["password"])
        else:
            credentials = Credentials(ADMIN_USER, secrets.token_urlsafe(24))
            response = requests.post(
                f"{self.url}/query",
                params={
                    "q": f'CREATE USER "{credentials.username}" WITH PASSWORD '
                    f"{influxql_escape(credentials.password)} WITH ALL PRIVILEGES"
                },
                timeout=30,
            )
            response.raise_for_status()
            saved.write_text(json.dumps({"username": credentials.username, "password": credentials.password}))
            saved.chmod(0o600)
        self._credentials = credentials
        # Idempotent: CREATE DATABASE on an existing database with the same policy is a no-op.
        self.influxql(f'CREATE DATABASE "{BUCKET}" WITH DURATION {self.retention} NAME "{RETENTION_POLICY}"')
        return credentials
