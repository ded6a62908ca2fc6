from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
PYTHONPATH = os.pathsep.join(
    str(ROOT / p)
    for p in (
        "services/geostream",
        "services/http-ingest",
        "services/ws-relay",
        "services/mqtt-bridge",
        "services/device-simulator",
        "services/dataset-loader",
        "services/trips-api",
        "services/weather-producer",
        "services/udp-ingest",
        "services/es-indexer",
        "services/buoy-simulator",
        "services/ride-producer",
        "services/rides-lake",
        "services/rides-analytics",
        "scripts",
    )
)


class ServiceProcess:
    """A service run the way its container runs it, as a child process with its own environment."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, log_path: Path):
        self.argv, self.cwd, self.log_path = argv, cwd, log_path
        self.env = {**os.environ, "PYTHONPATH": PYTHONPATH, **env}
        self.process: subprocess.Popen | None = None

    def start(self) -> ServiceProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait_healthy(self, url: str, timeout: float = 30.0, accept: tuple[int, ...] = (200,)) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.argv[0]} exited ({self.process.returncode}); log:\n{self.log()}")
            try:
                if requests.get(url, timeout=2).status_code in accept:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{url} not healthy after {timeout} s; log:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.process is None:
            return None
        try:
            if self.process.poll() is not None:
                return self.process.returncode
            self.process.terminate()
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                return self.process.wait()
        finally:
            # What the service left in its session (a JVM its launcher script started, say) goes too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)


def gunicorn_http_ingest(port: int, brokers: str, log_path: Path, **env: str) -> ServiceProcess:
    service_dir = ROOT / "services" / "http-ingest"
    return ServiceProcess(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "http_ingest.wsgi:app"],
        {
            "KAFKA_BROKERS": brokers,
            "FLASK_HOST": "127.0.0.1",
            "FLASK_PORT": str(port),
            "WEB_CONCURRENCY": "2",
            **env,
        },
        service_dir,
        log_path,
    )
