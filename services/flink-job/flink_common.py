"""Building blocks shared by the PyFlink jobs (locations_job.py, rides_job.py).

SQL text helpers, a Kafka source that reads values as raw text (so no record can fail deserialisation
and poison records reach a DLQ through SQL), Kafka sink options, the restart and checkpoint settings,
and the local MiniCluster process: run until SIGTERM/SIGINT, then cancel the job.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
try:
    import geostream  # noqa: F401
except ImportError:  # run from a checkout without PYTHONPATH: the shared package sits next to this service
    sys.path.insert(0, str(HERE.parent / "geostream"))

from geostream.lifecycle import Shutdown  # noqa: E402
from geostream.logs import setup_logging  # noqa: E402

# Epoch ms of the wall clock (Flink SQL has no millisecond UNIX_TIMESTAMP).
NOW_MS = (
    "(CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) AS BIGINT) * 1000 "
    "+ EXTRACT(MILLISECOND FROM CURRENT_TIMESTAMP))"
)


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SystemExit(f"{name} must be >= {minimum}, got {value}")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"{name} must be true or false, got {raw!r}")


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def with_options(options: dict[str, str]) -> str:
    return ",\n  ".join(f"{lit(k)} = {lit(v)}" for k, v in options.items())


def raw_kafka_source_ddl(table: str, topic: str, brokers: str, group_id: str) -> str:
    """A table of (kafka_key, raw, kafka_topic, kafka_partition, kafka_offset), from the group's offsets."""
    options = {
        "connector": "kafka",
        "topic": topic,
        "properties.bootstrap.servers": brokers,
        "properties.group.id": group_id,
        "properties.client.id.prefix": f"{group_id}-source",
        "scan.startup.mode": "group-offsets",
        "properties.auto.offset.reset": "earliest",
        "value.format": "raw",
        "value.raw.charset": "UTF-8",
        "value.fields-include": "EXCEPT_KEY",
        "key.format": "raw",
        "key.raw.charset": "UTF-8",
        "key.fields": "kafka_key",
    }
    return f"""
CREATE TEMPORARY TABLE {table} (
  `kafka_key` STRING,
  `raw` STRING,
  `kafka_topic` STRING METADATA FROM 'topic' VIRTUAL,
  `kafka_partition` INT METADATA FROM 'partition' VIRTUAL,
  `kafka_offset` BIGINT METADATA FROM 'offset' VIRTUAL
) WITH (
  {with_options(options)}
)"""


def kafka_sink_options(topic: str, brokers: str, client_prefix: str) -> dict[str, str]:
    return {
        "connector": "kafka",
        "topic": topic,
        "properties.bootstrap.servers": brokers,
        "properties.client.id.prefix": f"{client_prefix}-{topic}",
        # Flushed at every checkpoint, before the source commits its offsets: at-least-once. Consumers
        # are idempotent by key (ride id, vehicle + time).
        "sink.delivery-guarantee": "at-least-once",
        "properties.linger.ms": "20",
        "value.format": "json",
        "value.json.encode.ignore-null-fields": "true",
    }


def dlq_sink_ddl(table: str, topic: str, brokers: str, client_prefix: str) -> str:
    """The DLQ contract (rides_dlq / locations_dlq): reason, source, original, ts and where it came from."""
    return f"""
CREATE TEMPORARY TABLE {table} (
  reason STRING,
  source STRING,
  original STRING,
  ts BIGINT,
  topic STRING,
  `partition` INT,
  `offset` BIGINT,
  key STRING
) WITH (
  {with_options(kafka_sink_options(topic, brokers, client_prefix))}
)"""


def streaming_config(
    job_name: str, parallelism: int, checkpoint_interval_ms: int, max_backoff_ms: int, checkpoint_dir: str
) -> dict[str, str]:
    config = {
        "pipeline.name": job_name,
        "parallelism.default": str(parallelism),
        "table.local-time-zone": "UTC",
        "pipeline.object-reuse": "true",
        "execution.checkpointing.interval": f"{checkpoint_interval_ms} ms",
        "execution.checkpointing.mode": "AT_LEAST_ONCE",
        "execution.checkpointing.min-pause": f"{min(checkpoint_interval_ms // 2, 5000)} ms",
        # A broker outage restarts the job with a growing back-off. No record can fail the job (every
        # bad one goes to the DLQ through SQL), so a restart waits for a server, never loops on a record.
        "restart-strategy.type": "exponential-delay",
        "restart-strategy.exponential-delay.initial-backoff": "1 s",
        "restart-strategy.exponential-delay.max-backoff": f"{max_backoff_ms} ms",
        "restart-strategy.exponential-delay.reset-backoff-threshold": "10 min",
        "restart-strategy.exponential-delay.attempts-before-reset-backoff": "2147483647",
    }
    if checkpoint_dir:
        config["execution.checkpointing.storage"] = "filesystem"
        config["execution.checkpointing.dir"] = checkpoint_dir
    return config


def build_statement_set(
    config: dict[str, str], statements: list[str], java_functions: dict[str, tuple[str, list]] | None = None
):
    """A statement set of ``statements`` (DDL run now, INSERTs added). ``java_functions``: name ->
    (Java class, constructor arguments), each registered as a temporary system function first; the
    instance, arguments included, travels with the job graph (the class must be in Flink's lib/)."""
    from pyflink.java_gateway import get_gateway
    from pyflink.table import EnvironmentSettings, TableEnvironment

    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    table_config = t_env.get_config()
    for key, value in config.items():
        table_config.set(key, value)
    for name, (class_name, arguments) in (java_functions or {}).items():
        java_class = get_gateway().jvm
        for part in class_name.split("."):
            java_class = getattr(java_class, part)
        # PyFlink's public API registers a function by class name only; an instance needs the Java API.
        t_env._j_tenv.createTemporarySystemFunction(name, java_class(*arguments))
    statement_set = t_env.create_statement_set()
    for sql in statements:
        if sql.lstrip().startswith("INSERT"):
            statement_set.add_insert_sql(sql)
        else:
            t_env.execute_sql(sql)
    return statement_set


SCRATCH_PREFIX = "geostream-flink-"


def _remove_orphaned_scratch_dirs() -> None:
    for owner in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*/owner.pid"):
        try:
            os.kill(int(owner.read_text()), 0)
        except ProcessLookupError:
            shutil.rmtree(owner.parent, ignore_errors=True)
        except (OSError, ValueError):
            continue


def prepare_local_jvm() -> None:
    """A private java.io.tmpdir for the MiniCluster (Flink leaves its RPC jar and blobs behind)."""
    os.environ.setdefault("FLINK_CONF_DIR", str(HERE / "conf"))
    os.environ.setdefault("FLINK_LOG_DIR", os.path.join(tempfile.gettempdir(), "geostream-flink-log"))
    _remove_orphaned_scratch_dirs()
    scratch = tempfile.mkdtemp(prefix=SCRATCH_PREFIX)
    Path(scratch, "owner.pid").write_text(str(os.getpid()))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    os.environ["JVM_ARGS"] = f"{os.environ.get('JVM_ARGS', '-Xmx1g')} -Djava.io.tmpdir={scratch}"


class _QuietWhenStopping(logging.Filter):
    """py4j logs a traceback for every call that finds the JVM gone; expected once we are stopping."""

    def __init__(self, shutdown: Shutdown):
        super().__init__()
        self.shutdown = shutdown

    def filter(self, record: logging.LogRecord) -> bool:
        return not (self.shutdown.requested and f"{os.sep}py4j{os.sep}" in record.pathname)


def run(service: str, job_name: str, build: Callable[[], object], describe: dict[str, object]) -> int:
    """Submit the job: to the cluster of ``flink run`` (and return), or to a local MiniCluster, then
    keep it running until SIGTERM/SIGINT and cancel it."""
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    logger = setup_logging(service, level)
    # `flink run` starts this script with the gateway of its client JVM; on our own we start a MiniCluster.
    local = "PYFLINK_GATEWAY_PORT" not in os.environ
    if local:
        prepare_local_jvm()
    logger.info("starting", extra={"mode": "local" if local else "cluster", "settings": describe})
    shutdown = Shutdown(install=local)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_QuietWhenStopping(shutdown))
    result = build().execute()
    logger.setLevel(level)  # PyFlink's imports lower the root logger
    client = result.get_job_client()
    job_id = str(client.get_job_id()) if client is not None else None
    logger.info("job submitted", extra={"job_id": job_id, "job_name": job_name})
    if not local:
        return 0
    ended: dict[str, BaseException | None] = {}

    def wait_for_job() -> None:
        try:
            result.wait()
            ended["error"] = None
        except BaseException as exc:
            ended["error"] = exc
        shutdown.request()

    threading.Thread(target=wait_for_job, name="job-waiter", daemon=True).start()
    shutdown.wait()
    if "error" in ended:
        logger.error("job ended", extra={"job_id": job_id}, exc_info=ended["error"])
        return 1
    logger.info("stopping: cancelling the job", extra={"job_id": job_id, "signal": shutdown.signal_name})
    try:
        client.cancel().result()
    except Exception:  # the JVM got the signal too (same process group) and is gone already
        logging.getLogger(service).info("the MiniCluster had already stopped")
    logger.info("stopped", extra={"job_id": job_id})
    return 0


# -- compose: keep a job running on the session cluster ----------------------------------------------

TERMINAL_STATES = frozenset({"FINISHED", "CANCELED", "FAILED", "SUSPENDED"})


def rest_url() -> str:
    return os.environ.get("FLINK_REST_URL", "http://flink-jobmanager:8081").rstrip("/")


def active_jobs(job_name: str) -> list[dict]:
    import json
    import urllib.request

    with urllib.request.urlopen(rest_url() + "/jobs/overview", timeout=5) as response:
        jobs = json.load(response)["jobs"]
    return [j for j in jobs if j.get("name") == job_name and j.get("state") not in TERMINAL_STATES]


def job_running(job_name: str) -> bool:
    try:
        return any(j.get("state") == "RUNNING" for j in active_jobs(job_name))
    except OSError:
        return False


def supervise(service: str, job_name: str, script: Path) -> int:
    """Submit ``script`` to the cluster at FLINK_REST_URL whenever no job of ``job_name`` is active
    (first start, JobManager restart), until SIGTERM. One supervisor per job and cluster."""
    import subprocess

    logger = setup_logging(service, os.environ.get("LOG_LEVEL", "INFO"))
    shutdown = Shutdown()
    host, _, port = rest_url().split("://", 1)[-1].partition(":")
    command = [
        str(Path(os.environ.get("FLINK_HOME", "")) / "bin" / "flink"),
        "run",
        "--detached",
        f"-Drest.address={host}",
        f"-Drest.port={port or 8081}",
        "--python",
        str(script),
    ]
    poll_s = float(os.environ.get("SUBMIT_POLL_INTERVAL_S", "10"))
    while not shutdown.requested:
        try:
            missing = not active_jobs(job_name)
        except OSError as exc:
            logger.warning("Flink REST API unreachable", extra={"url": rest_url(), "error": str(exc)})
            shutdown.wait(poll_s)
            continue
        if missing:
            logger.info("submitting", extra={"job_name": job_name})
            done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                logger.error("submission failed", extra={"stderr": done.stderr[-2000:]})
        shutdown.wait(poll_s)
    return 0
