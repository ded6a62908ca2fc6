"""Entrypoint of the STAND-IN for the Elasticsearch 8 image (compose smoke test only; see Dockerfile).

Runs the real OpenSearch node (scripts/opensearch/LocalNode.java, the jars of scripts/install-opensearch.sh)
on loopback and, once it is yellow or green, the project's test-only Elasticsearch shim
(tests/support/search_shim.py, copied next to this file) on the public port 9200. In front of the shim
this entrypoint adds what the compose service relies on and OpenSearch lacks without its security plugin:
Elasticsearch's basic authentication. With ``xpack.security.enabled`` true (Elasticsearch 8's default)
every request must carry ``elastic:$ELASTIC_PASSWORD``; otherwise it is answered 401 with the body and
``WWW-Authenticate`` headers Elasticsearch sends.

Configured from the environment like the official image: variables whose names contain a dot are
settings (``discovery.type``, ``cluster.name``, ...), ``ES_JAVA_OPTS`` are JVM options (the heap),
``ELASTIC_PASSWORD`` (or ``ELASTIC_PASSWORD_FILE``) is the ``elastic`` user's password. ``http.port`` and
``network.host`` apply to the public port; OpenSearch itself listens on 127.0.0.1 only. Other
``xpack.*`` settings have no OpenSearch equivalent and are ignored (logged); TLS is refused.
``docker run IMAGE CMD...`` runs CMD instead, as the official entrypoint does.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import search_shim

HOME = Path(os.environ.get("ES_HOME", "/usr/share/elasticsearch"))
OPENSEARCH_HOME = Path(os.environ.get("STANDIN_OPENSEARCH_HOME", "/usr/share/opensearch"))
ENGINE_PORT = int(os.environ.get("STANDIN_ENGINE_PORT", "9201"))
SUPERUSER = "elastic"
START_TIMEOUT_S = 600.0
STOP_TIMEOUT_S = 60.0

# Elasticsearch's own defaults that are also OpenSearch settings (the official image sets cluster.name).
DEFAULT_SETTINGS = {
    "cluster.name": "docker-cluster",
    "discovery.type": "single-node",
    "transport.port": "9300",
}
# xpack settings that this entrypoint implements; every other xpack.* one is ignored with a log line.
HANDLED_XPACK = {"xpack.security.enabled", "xpack.security.http.ssl.enabled"}
DEFAULT_JVM_OPTIONS = ["-Xms512m", "-Xmx512m"]

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


def log(message: str, **fields: object) -> None:
    print(json.dumps({"service": "elasticsearch-standin", "message": message, **fields}), flush=True)


class ConfigurationError(Exception):
    pass


@dataclass(frozen=True)
class StandinConfig:
    engine_settings: dict[str, str]
    """Written to opensearch.yml."""
    ignored: list[str]
    """xpack.* settings without an OpenSearch equivalent."""
    password: str | None
    """The elastic user's password; None: security off, no authentication."""
    bind_host: str
    public_port: int
    jvm_options: list[str]


def is_true(value: str) -> bool:
    return value.strip().lower() == "true"


def config_from_environment(environ: dict[str, str], password_file_text: str | None = None) -> StandinConfig:
    """The stand-in's configuration from the official image's environment (pure: no I/O)."""
    settings = dict(DEFAULT_SETTINGS)
    ignored = []
    bind_host, public_port = "0.0.0.0", 9200
    for name, value in sorted(environ.items()):
        if "." not in name or name != name.strip():
            continue
        if name == "http.port":
            public_port = int(value)
        elif name == "network.host":
            bind_host = value
        elif name.startswith("xpack."):
            if name not in HANDLED_XPACK:
                ignored.append(name)
        else:
            settings[name] = value
    if is_true(environ.get("xpack.security.http.ssl.enabled", "false")):
        raise ConfigurationError("xpack.security.http.ssl.enabled=true: the stand-in serves plain HTTP only")
    password = None
    if is_true(environ.get("xpack.security.enabled", "true")):
        password = password_file_text.rstrip("\n") if password_file_text is not None else None
        password = password or environ.get("ELASTIC_PASSWORD") or None
        if password is None:
            raise ConfigurationError(
                "security is on (xpack.security.enabled): set ELASTIC_PASSWORD or ELASTIC_PASSWORD_FILE"
            )
    settings.update(
        {
            "network.host": "127.0.0.1",
            "http.port": str(ENGINE_PORT),
            "path.data": str(HOME / "data"),
            "path.logs": str(HOME / "logs"),
        }
    )
    settings.setdefault("node.name", socket.gethostname())
    jvm_options = shlex.split(environ.get("ES_JAVA_OPTS", "")) or DEFAULT_JVM_OPTIONS
    return StandinConfig(settings, ignored, password, bind_host, public_port, jvm_options)


def authentication_failure(authorization: str | None, password: str, path: str) -> str | None:
    """None when ``authorization`` is the elastic user's basic credentials, else Elasticsearch's reason."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if not authorization or scheme.lower() != "basic":
        return f"missing authentication credentials for REST request [{path}]"
    try:
        user, _, given = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return f"missing authentication credentials for REST request [{path}]"
    same_user = hmac.compare_digest(user.encode(), SUPERUSER.encode())
    if not (hmac.compare_digest(given.encode(), password.encode()) and same_user):
        return f"unable to authenticate user [{user}] for REST request [{path}]"
    return None


def security_exception_body(reason: str) -> bytes:
    """The 401 body Elasticsearch 8 sends."""
    challenge = {"WWW-Authenticate": ['Basic realm="security", charset="UTF-8"', "ApiKey"]}
    error = {"type": "security_exception", "reason": reason, "header": challenge}
    return json.dumps({"error": {"root_cause": [error], **error}, "status": 401}).encode()


class AuthenticatingShimHandler(search_shim._ShimHandler):
    """The test-only shim's handler, behind Elasticsearch's basic authentication when a password is set."""

    server: AuthenticatingShimServer

    def _authenticate_then_forward(self) -> None:
        password = self.server.password
        failure = None
        if password is not None:
            path = self.path.split("?", 1)[0]
            failure = authentication_failure(self.headers.get("Authorization"), password, path)
        if failure is None:
            self._forward()
            return
        self._read_body()  # keeps the connection usable for the client's next request
        body = security_exception_body(failure)
        self.send_response_only(401, "Unauthorized")
        self.send_header("WWW-Authenticate", 'Basic realm="security", charset="UTF-8"')
        self.send_header("WWW-Authenticate", "ApiKey")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _authenticate_then_forward  # noqa: N815


class AuthenticatingShimServer(search_shim._ShimServer):
    password: str | None


def write_engine_config(config: StandinConfig) -> None:
    for directory in ("config", "data", "logs", "tmp", "modules", "plugins"):
        (HOME / directory).mkdir(parents=True, exist_ok=True)
    # JSON strings are YAML strings: no YAML library needed.
    (HOME / "config" / "opensearch.yml").write_text(
        "".join(f"{key}: {json.dumps(value)}\n" for key, value in config.engine_settings.items())
    )
    (HOME / "config" / "log4j2.properties").write_text(LOG4J2_PROPERTIES)


def engine_command(config: StandinConfig) -> list[str]:
    return [
        "java",
        "-XX:+UseG1GC",
        # C1 only: halves the CPU of start-up on the shared 2-core machines (as the local servers do).
        "-XX:TieredStopAtLevel=1",
        "-XX:+ExitOnOutOfMemoryError",
        f"-Djava.io.tmpdir={HOME / 'tmp'}",
        "-Djava.awt.headless=true",
        "-Dfile.encoding=UTF-8",
        "-Dlog4j2.formatMsgNoLookups=true",
        "-Dio.netty.allocator.numDirectArenas=0",
        *config.jvm_options,
        "-cp",
        f"{OPENSEARCH_HOME / 'classes'}:{OPENSEARCH_HOME / 'lib'}/*",
        "LocalNode",
        str(HOME),
    ]


def engine_status() -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ENGINE_PORT}/_cluster/health", timeout=5) as response:
            return json.load(response).get("status")
    except (urllib.error.URLError, OSError, ValueError):
        return None


def run(config: StandinConfig) -> int:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    for name in config.ignored:
        log("setting ignored: OpenSearch has no X-Pack", setting=name)
    write_engine_config(config)
    engine = subprocess.Popen(engine_command(config), cwd=HOME)
    log("OpenSearch starting", pid=engine.pid, engine=f"127.0.0.1:{ENGINE_PORT}")
    deadline = time.monotonic() + START_TIMEOUT_S
    while engine_status() not in ("yellow", "green"):
        if engine.poll() is not None:
            log("OpenSearch exited during start-up", exit_code=engine.returncode)
            return engine.returncode or 1
        if stop.wait(0.5):
            return stop_engine(engine)
        if time.monotonic() > deadline:
            log("OpenSearch not yellow or green in time: stopping", timeout_s=START_TIMEOUT_S)
            stop_engine(engine)
            return 1

    shim = AuthenticatingShimServer((config.bind_host, config.public_port), AuthenticatingShimHandler)
    shim.engine_host, shim.engine_port, shim.password = "127.0.0.1", ENGINE_PORT, config.password
    threading.Thread(target=shim.serve_forever, name="shim", daemon=True).start()
    log(
        "ready: Elasticsearch stand-in (OpenSearch + test-only shim)",
        listen=f"{config.bind_host}:{config.public_port}",
        authentication="basic, user elastic" if config.password is not None else "none (security off)",
    )
    while engine.poll() is None and not stop.wait(0.5):
        pass
    shim.shutdown()
    shim.server_close()
    if stop.is_set():
        return stop_engine(engine)
    log("OpenSearch exited", exit_code=engine.returncode)
    return engine.returncode or 1


def stop_engine(engine: subprocess.Popen) -> int:
    """SIGTERM (the node closes its indices), SIGKILL after STOP_TIMEOUT_S; 0 when it stopped cleanly."""
    log("stopping OpenSearch", pid=engine.pid)
    engine.terminate()
    try:
        code = engine.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        engine.kill()
        engine.wait()
        log("OpenSearch did not stop in time: killed", timeout_s=STOP_TIMEOUT_S)
        return 1
    log("OpenSearch stopped", exit_code=code)
    return 0 if code in (0, 128 + signal.SIGTERM, -signal.SIGTERM) else code


def main(argv: list[str]) -> int:
    if argv and argv[0] not in ("eswrapper", "elasticsearch"):
        os.execvp(argv[0], argv)
    password_file = os.environ.get("ELASTIC_PASSWORD_FILE")
    try:
        config = config_from_environment(
            dict(os.environ), Path(password_file).read_text() if password_file else None
        )
    except (ConfigurationError, ValueError, OSError) as exc:
        log("configuration error", error=str(exc))
        return 2
    return run(config)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
