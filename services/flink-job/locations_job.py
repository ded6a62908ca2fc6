"""PyFlink Table API job: locations_topic -> MobilityDB vehicle_points + websocket_updates_topic + DLQ.

Every record is parsed once and checked by a Java function (PARSE_LOCATION, services/flink-job/udf) and
routed by built-in SQL; there is no Python UDF, so the records never leave the JVM and the Python
process only builds and submits the plan.

    python locations_job.py              # local MiniCluster; runs until SIGTERM/SIGINT, then cancels the job
    flink run -d -py locations_job.py    # submits to the cluster of FLINK_CONF_DIR and returns
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
try:
    import geostream  # noqa: F401
except ImportError:  # run from a checkout without PYTHONPATH: the shared package sits next to this service
    sys.path.insert(0, str(HERE.parent / "geostream"))

from flink_common import (  # noqa: E402
    build_statement_set,
    env_bool,
    env_int,
    kafka_sink_options,
    lit,
    raw_kafka_source_ddl,
    run,
    with_options,
)
from flink_common import dlq_sink_ddl as common_dlq_sink_ddl  # noqa: E402

from geostream.identity import VEHICLE_ID_MAX_LEN  # noqa: E402
from geostream.locations import OPTIONAL_RANGES  # noqa: E402
from geostream.timestamps import DEFAULT_MAX_FUTURE_MS, DEFAULT_MIN_TS_MS, ms_to_rfc3339  # noqa: E402
from geostream.topics import LOCATIONS, LOCATIONS_DLQ, WEBSOCKET_UPDATES  # noqa: E402

JOB_NAME = "geostream-locations"
SERVICE = "flink-job"
log = logging.getLogger(SERVICE)


@dataclass(frozen=True)
class Settings:
    kafka_brokers: str
    source_topic: str
    websocket_topic: str
    dlq_topic: str
    group_id: str
    jdbc_url: str
    jdbc_username: str
    jdbc_password: str
    jdbc_driver: str
    jdbc_table: str
    jdbc_flush_max_rows: int
    jdbc_flush_interval_ms: int
    jdbc_max_retries: int
    jdbc_copy_new_rows: bool
    max_future_ms: int
    min_event_time_ms: int
    restart_max_backoff_ms: int
    checkpoint_interval_ms: int
    checkpoint_dir: str
    parallelism: int
    jdbc_sink_parallelism: int
    points_sink: str
    live_feed_linger_ms: int
    live_feed_batch_bytes: int
    live_feed_compression: str

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ.get
        return cls(
            kafka_brokers=env("KAFKA_BROKERS", "localhost:9092"),
            source_topic=env("KAFKA_TOPIC", LOCATIONS.name),
            websocket_topic=env("KAFKA_WEBSOCKET_TOPIC", WEBSOCKET_UPDATES.name),
            dlq_topic=env("KAFKA_DLQ_TOPIC", LOCATIONS_DLQ.name),
            group_id=env("KAFKA_GROUP_ID", "flink-locations"),
            jdbc_url=env("JDBC_URL", "jdbc:postgresql://localhost:5432/geostream"),
            jdbc_username=env("JDBC_USERNAME", "postgres"),
            jdbc_password=env("JDBC_PASSWORD") or env("POSTGRES_PASSWORD") or "postgres",
            jdbc_driver=env("JDBC_DRIVER", "org.postgresql.Driver"),
            jdbc_table=env("JDBC_TABLE", "vehicle_points"),
            jdbc_flush_max_rows=env_int("JDBC_FLUSH_MAX_ROWS", 5000, 1),
            jdbc_flush_interval_ms=env_int("JDBC_FLUSH_INTERVAL_MS", 200),
            jdbc_max_retries=env_int("JDBC_MAX_RETRIES", 3),
            jdbc_copy_new_rows=env_bool("JDBC_COPY_NEW_ROWS", True),
            max_future_ms=env_int("MAX_FUTURE_MS", DEFAULT_MAX_FUTURE_MS),
            min_event_time_ms=env_int("MIN_EVENT_TIME_MS", DEFAULT_MIN_TS_MS),
            restart_max_backoff_ms=env_int("RESTART_MAX_BACKOFF_MS", 30_000, 1000),
            checkpoint_interval_ms=env_int("CHECKPOINT_INTERVAL_MS", 10_000, 100),
            checkpoint_dir=env("FLINK_CHECKPOINT_DIR", ""),
            parallelism=env_int("FLINK_PARALLELISM", 1, 1),
            jdbc_sink_parallelism=env_int("JDBC_SINK_PARALLELISM", 1, 1),
            points_sink=points_sink_connector(env("POINTS_SINK") or POINTS_SINKS[0]),
            live_feed_linger_ms=env_int("LIVE_FEED_LINGER_MS", LIVE_FEED_LINGER_MS),
            live_feed_batch_bytes=env_int("LIVE_FEED_BATCH_BYTES", LIVE_FEED_BATCH_BYTES, 1024),
            live_feed_compression=live_feed_compression(env("LIVE_FEED_COMPRESSION") or "lz4"),
        )

    def public(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if k != "jdbc_password"}


# -- the parse and validation function ----------------------------------------------------------------

# A Java scalar function (services/flink-job/java, geostream-flink.jar in Flink's lib/) parses each
# record once with a streaming JSON parser and applies every rule below; its reasons are the DLQ's.
PARSE_FUNCTION = "PARSE_LOCATION"
PARSE_CLASS = "io.geostream.flink.ParseLocation"
PARSED_FIELDS = (
    "reason", "vehicle_id", "ts_ms", "lon", "lat", "speed", "heading", "alt", "accuracy", "battery", "source"
)  # fmt: skip

# Epoch ms of the wall clock (Flink SQL has no millisecond UNIX_TIMESTAMP). The generated code reads
# CURRENT_TIMESTAMP once per record, so both halves come from the same instant.
NOW_MS = (
    "(CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) AS BIGINT) * 1000 "
    "+ EXTRACT(MILLISECOND FROM CURRENT_TIMESTAMP))"
)
SOURCE_MAX_LEN = 64

VEHICLE_ID_KEYS = ("vehicle_id", "vehicleID", "vehicleId")
TS_KEYS = ("ts", "timestamp")
LON_KEYS = ("lon", "lng", "longitude")
LAT_KEYS = ("lat", "latitude")


def location_rules(s: Settings) -> dict[str, object]:
    """What PARSE_LOCATION checks, from the shared geostream package: the edges and the job cannot drift.

    The Java side refuses rules with a missing or unknown entry, so a new optional field in
    geostream.locations fails the job at submission instead of being ignored.
    """
    return {
        "keys": {"vehicle_id": VEHICLE_ID_KEYS, "ts": TS_KEYS, "lon": LON_KEYS, "lat": LAT_KEYS},
        "optional_ranges": {
            field: [limit if math.isfinite(limit) else None for limit in bounds]
            for field, bounds in OPTIONAL_RANGES.items()
        },
        "min_event_time_ms": s.min_event_time_ms,
        "max_future_ms": s.max_future_ms,
        "vehicle_id_max_len": VEHICLE_ID_MAX_LEN,
        "source_max_len": SOURCE_MAX_LEN,
        "ts_before_reason": "ts: before " + ms_to_rfc3339(s.min_event_time_ms),
        "ts_future_reason": f"ts: more than {s.max_future_ms // 1000} s in the future",
    }


def java_functions(s: Settings) -> dict[str, tuple[str, list]]:
    return {PARSE_FUNCTION: (PARSE_CLASS, [json.dumps(location_rules(s))])}


# -- tables -----------------------------------------------------------------------------------------


def source_ddl(s: Settings) -> str:
    # No event-time attribute and no watermark: nothing in this job waits for event time (no window,
    # no join). "Late" is decided per vehicle where it matters, in the database and the live relay
    # (README: "Time: future and late points").
    return raw_kafka_source_ddl("locations_source", s.source_topic, s.kafka_brokers, s.group_id)


def checked_view_sql() -> str:
    """One row per record, ``reason`` NULL for a valid point: one PARSE_LOCATION call per record.

    The planner would inline ``p`` into each of the eleven field reads (and into each sink's query)
    for a deterministic function; PARSE_LOCATION declares itself non-deterministic (it reads the
    clock), so the call stays in one Calc below the fork into the three sinks
    (tests/integration/flink/test_parse_location.py checks the plan).
    """
    fields = ", ".join(f"q.p.{f} AS {f}" for f in PARSED_FIELDS)
    return f"""
CREATE TEMPORARY VIEW locations_checked AS
SELECT `raw`, kafka_key, kafka_topic, kafka_partition, kafka_offset, {fields}
FROM (SELECT *, {PARSE_FUNCTION}(`raw`) AS p FROM locations_source) AS q"""


# The connectors that can write vehicle_points: the first is the default. 'geostream-points'
# (services/flink-job/java, io.geostream.flink.sink) writes a batch as ONE INSERT ... SELECT FROM
# unnest(one array per column) ON CONFLICT DO UPDATE; 'jdbc' (Flink's JDBC connector) as pgjdbc's
# rewritten multi-row INSERTs of at most 128 rows each, which bench/sql_bench.py measured at 0.19 of
# COPY against 0.51 for the arrays.
POINTS_SINKS = ("geostream-points", "jdbc")


def points_sink_connector(name: str) -> str:
    if name not in POINTS_SINKS:
        raise ValueError(f"POINTS_SINK must be one of {', '.join(POINTS_SINKS)}, not {name!r}")
    return name


def points_sink_ddl(s: Settings) -> str:
    options = {
        "connector": s.points_sink,
        "url": s.jdbc_url if s.points_sink == "geostream-points" else with_batched_inserts(s.jdbc_url),
        "table-name": s.jdbc_table,
        "username": s.jdbc_username,
        "password": s.jdbc_password,
        "sink.buffer-flush.max-rows": str(s.jdbc_flush_max_rows),
        "sink.buffer-flush.interval": f"{s.jdbc_flush_interval_ms} ms",
        "sink.max-retries": str(s.jdbc_max_retries),
        "sink.parallelism": str(s.jdbc_sink_parallelism),
    }
    if s.points_sink == "jdbc":
        options["driver"] = s.jdbc_driver
    else:
        options["sink.copy-new-rows"] = str(s.jdbc_copy_new_rows).lower()
    # With a primary key both sinks upsert (ON CONFLICT (vehicle_id, ts) DO UPDATE) and keep one row per
    # key in their buffer, the last: a replay after a restart rewrites rows instead of adding instants.
    # TIMESTAMP, not TIMESTAMP_LTZ (which the JDBC connector rejects): the value is UTC wall time
    # (table.local-time-zone); geostream-points sends it with an explicit UTC offset, the JDBC connector
    # hands it over in the JVM zone, pinned to UTC in conf/config.yaml.
    return f"""
CREATE TEMPORARY TABLE vehicle_points_sink (
  vehicle_id STRING,
  ts TIMESTAMP(3),
  lon DOUBLE,
  lat DOUBLE,
  speed DOUBLE,
  heading DOUBLE,
  alt DOUBLE,
  accuracy DOUBLE,
  battery DOUBLE,
  source STRING,
  PRIMARY KEY (vehicle_id, ts) NOT ENFORCED
) WITH (
  {with_options(options)}
)"""


def with_batched_inserts(url: str) -> str:
    """pgjdbc sends a batch as multi-row INSERTs only with reWriteBatchedInserts=true (much faster)."""
    if "rewritebatchedinserts" in url.lower():
        return url
    return url + ("&" if "?" in url else "?") + "reWriteBatchedInserts=true"


# The live feed's producer: every valid point is one record, so its batching decides how many requests the
# job's producer thread and the broker handle per point. Larger lz4 batches measured fewer job and broker
# CPU per point than 20 ms / 16 kB uncompressed (bench/README.md); the 100 ms wait is one frame of ws-relay
# (RELAY_FRAME_INTERVAL_MS), which reads lz4 like the other producers' batches.
LIVE_FEED_LINGER_MS = 100
LIVE_FEED_BATCH_BYTES = 262144
LIVE_FEED_COMPRESSIONS = ("lz4", "none", "zstd", "snappy", "gzip")


def live_feed_compression(name: str) -> str:
    if name not in LIVE_FEED_COMPRESSIONS:
        choices = ", ".join(LIVE_FEED_COMPRESSIONS)
        raise ValueError(f"LIVE_FEED_COMPRESSION must be one of {choices}, not {name!r}")
    return name


def websocket_sink_ddl(s: Settings) -> str:
    options = kafka_sink_options(s.websocket_topic, s.kafka_brokers, s.group_id)
    # Keyed by vehicle id: Kafka's default partitioner (murmur2) keeps each vehicle's order.
    options.update({"key.format": "raw", "key.fields": "vehicle_id", "value.fields-include": "ALL"})
    options.update({
        "properties.linger.ms": str(s.live_feed_linger_ms),
        "properties.batch.size": str(s.live_feed_batch_bytes),
        "properties.compression.type": s.live_feed_compression,
    })  # fmt: skip
    return f"""
CREATE TEMPORARY TABLE websocket_sink (
  vehicle_id STRING,
  ts BIGINT,
  lon DOUBLE,
  lat DOUBLE,
  speed DOUBLE,
  heading DOUBLE,
  alt DOUBLE,
  battery DOUBLE,
  source STRING
) WITH (
  {with_options(options)}
)"""


def dlq_sink_ddl(s: Settings) -> str:
    return common_dlq_sink_ddl("dlq_sink", s.dlq_topic, s.kafka_brokers, s.group_id)


INSERT_POINTS = """
INSERT INTO vehicle_points_sink
SELECT vehicle_id, CAST(TO_TIMESTAMP_LTZ(ts_ms, 3) AS TIMESTAMP(3)), lon, lat, speed, heading, alt,
       accuracy, battery, source
FROM locations_checked WHERE reason IS NULL"""

INSERT_WEBSOCKET = """
INSERT INTO websocket_sink
SELECT vehicle_id, ts_ms, lon, lat, speed, heading, alt, battery, source
FROM locations_checked WHERE reason IS NULL"""

INSERT_DLQ = f"""
INSERT INTO dlq_sink
SELECT reason, {lit(SERVICE)}, COALESCE(`raw`, ''), {NOW_MS},
       kafka_topic, kafka_partition, kafka_offset, kafka_key
FROM locations_checked WHERE reason IS NOT NULL"""


def table_config(s: Settings) -> dict[str, str]:
    config = {
        "pipeline.name": JOB_NAME,
        "parallelism.default": str(s.parallelism),
        "table.local-time-zone": "UTC",
        # Chained operators hand rows over without a defensive copy (the JDBC sink copies what it buffers).
        "pipeline.object-reuse": "true",
        # The JDBC sink in tasks of its own, fed by a hash shuffle on its primary key (vehicle_id, ts):
        # chained, each flush blocked the parsing thread while PostgreSQL worked (measured: bench/README.md).
        # Rows of one key stay in one channel, in order, so an upsert's last write still wins. (With
        # JDBC_SINK_PARALLELISM 1 the planner adds no shuffle and chains the sink, as before.)
        "table.exec.sink.keyed-shuffle": "FORCE",
        "execution.checkpointing.interval": f"{s.checkpoint_interval_ms} ms",
        "execution.checkpointing.mode": "AT_LEAST_ONCE",
        "execution.checkpointing.min-pause": f"{min(s.checkpoint_interval_ms // 2, 5000)} ms",
        # Broker or database away: retry for ever from the last checkpoint, backing off from 1 s up to
        # RESTART_MAX_BACKOFF_MS; ten minutes without a failure start the back-off again from 1 s. No
        # record can cause a failure (every value PostgreSQL or the sinks would refuse goes to the DLQ),
        # so a restart is always waiting for a server, never looping on a poison record.
        "restart-strategy.type": "exponential-delay",
        "restart-strategy.exponential-delay.initial-backoff": "1 s",
        "restart-strategy.exponential-delay.max-backoff": f"{s.restart_max_backoff_ms} ms",
        "restart-strategy.exponential-delay.reset-backoff-threshold": "10 min",
        "restart-strategy.exponential-delay.attempts-before-reset-backoff": "2147483647",
    }
    if s.checkpoint_dir:
        config["execution.checkpointing.storage"] = "filesystem"
        config["execution.checkpointing.dir"] = s.checkpoint_dir
    return config


def statements(s: Settings) -> list[str]:
    """Every statement of the job, in order: DDL first, then the INSERTs of one statement set."""
    return [
        source_ddl(s),
        checked_view_sql(),
        points_sink_ddl(s),
        websocket_sink_ddl(s),
        dlq_sink_ddl(s),
        INSERT_POINTS,
        INSERT_WEBSOCKET,
        INSERT_DLQ,
    ]


def build(s: Settings):
    return build_statement_set(table_config(s), statements(s), java_functions(s))


def main() -> int:
    s = Settings.from_env()
    return run(SERVICE, JOB_NAME, lambda: build(s), s.public())


if __name__ == "__main__":
    sys.exit(main())
