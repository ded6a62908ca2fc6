"""One OpenSearch 2.19 node on loopback: the real search engine behind the tests and ``make local``.

Elasticsearch itself cannot be installed here; OpenSearch (Apache-2.0) can, from Maven Central jars
(scripts/install-opensearch.sh, cached). Single node, plain HTTP: no security plugin is loaded, so there
is no TLS and no authentication; it listens on loopback only. Disk watermarks are off so a full test
disk never turns indices read-only. The official ``elasticsearch`` client reaches it through the
test-only shim in tests/support/search_shim.py (see tests/SEARCH_ENGINE.md).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from localservers import cache_dir, free_port, stop_process

SCRIPTS = Path(__file__).resolve().parents[1]
INSTALLER = SCRIPTS / "install-opensearch.sh"
POM = SCRIPTS / "opensearch" / "pom.xml"

LOG4J2_PROPERTIES = """\
status = error
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d{ISO8601}][%-5p][%c{1.}] %m%n
rootLogger.level = info
rootLogger.appenderRef.console.ref = console
logger.deprecation.name = org.opensearch.deprecation
logger.deprecation.level = error
"""


def opensearch_version() -> str:
    """The version pinned in scripts/opensearch/pom.xml, which the installer resolves."""
    found = re.search(r"<opensearch\.version>([^<]+)</opensearch\.version>", POM.read_text())
    if found is None:
        raise RuntimeError(f"no <opensearch.version> in {POM}")
    return found.group(1)


def opensearch_home() -> Path:
    return cache_dir() / f"opensearch-{opensearch_version()}"


def install_opensearch() -> Path:
    """Run the installer (it returns at once when the cached install is complete); return its directory."""
    subprocess.run(["bash", str(INSTALLER)], check=True, stdout=subprocess.DEVNULL)
    return opensearch_home()


def java_binary() -> str:
    java_home = os.environ.get("OPENSEARCH_JAVA_HOME")
    if java_home:
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise RuntimeError("no java on PATH (OpenSearch 2.19 needs JDK 17+; set OPENSEARCH_JAVA_HOME)")
    return found


def cluster_health(url: str, timeout: float = 5.0) -> dict | None:
    """``GET /_cluster/health``, or None while the node does not answer yet."""
    try:
        with urllib.request.urlopen(f"{url}/_cluster/health", timeout=timeout) as response:
            return json.load(response)
    except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
        return None


class OpenSearchServer:
    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        host: str = "127.0.0.1",
        heap: str = "512m",
        transport_port: int | None = None,
        fast_start: bool = True,
    ):
        """``fast_start``: JIT with C1 only. It halves the CPU that start-up takes (about 8 s instead of
        19 s measured), which matters on 2 shared cores; queries then run slower, so a benchmark of the
        engine itself passes False."""
        self.workdir = Path(workdir)
        self.host = host
        self.port = port or free_port()
        self.transport_port = transport_port or free_port()
        self.heap = heap
        self.fast_start = fast_start
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "opensearch.log"

    def _write_config(self) -> None:
        config = self.workdir / "config"
        for directory in (config, self.workdir / "data", self.workdir / "logs", self.workdir / "tmp",
                          self.workdir / "modules", self.workdir / "plugins"):  # fmt: skip
            directory.mkdir(parents=True, exist_ok=True)
        settings = {
            "cluster.name": "geostream-local",
            "node.name": "local",
            "path.data": str(self.workdir / "data"),
            "path.logs": str(self.workdir / "logs"),
            "network.host": self.host,
            "http.port": self.port,
            "transport.port": self.transport_port,
            "discovery.type": "single-node",
            "cluster.routing.allocation.disk.threshold_enabled": False,
        }
        # JSON is YAML: no YAML library needed to write it.
        (config / "opensearch.yml").write_text(
            "".join(f"{key}: {json.dumps(value)}\n" for key, value in settings.items())
        )
        (config / "log4j2.properties").write_text(LOG4J2_PROPERTIES)

    def _command(self, home: Path) -> list[str]:
        return [
            java_binary(),
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            *(["-XX:TieredStopAtLevel=1"] if self.fast_start else []),
            "-XX:+ExitOnOutOfMemoryError",
            f"-Djava.io.tmpdir={self.workdir / 'tmp'}",
            "-Djava.awt.headless=true",
            "-Dfile.encoding=UTF-8",
            "-Dlog4j2.formatMsgNoLookups=true",
            "-Dio.netty.allocator.numDirectArenas=0",
            "-cp",
            f"{home / 'classes'}:{home / 'lib'}/*",
            "LocalNode",
            str(self.workdir),
        ]

    def start(self, timeout: float = 300.0) -> OpenSearchServer:
        """Start the node and wait until the cluster is yellow or green; the data directory is reused."""
        home = install_opensearch()
        self._write_config()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self._command(home),
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"OpenSearch exited with code {self.process.returncode}; log:\n{self._log_tail()}"
                )
            health = cluster_health(self.url)
            if health is not None and health.get("status") in ("yellow", "green"):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"OpenSearch at {self.url} not yellow/green after {timeout:.0f} s "
                    f"(health: {health}); log:\n{self._log_tail()}"
                )
            time.sleep(0.25)

    def _log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM: the node closes its indices and exits (the JVM's shutdown hook)."""
        stop_process(self.process, timeout=60)
        self.process = None

    def kill(self) -> None:
        """SIGKILL, as a crash would: the data directory stays, and the next start recovers from it."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)
        self.process = None

    def restart(self) -> None:
        """Stop and start on the same ports; indices and documents are kept."""
        self.stop()
        self.start()

    def __enter__(self) -> OpenSearchServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
