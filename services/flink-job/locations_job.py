"""PyFlink Table API job: locations_topic -> MobilityDB vehicle_points + websocket_updates_topic + DLQ.

Every record is handled by built-in SQL (JSON_VALUE, TRY_CAST, CASE); there is no Python UDF, so the
records never leave the JVM and the Python process only builds and submits the plan.

    python locations_job.py              # local MiniCluster; runs until SIGTERM/SIGINT, then cancels the job
    flink run -d -py locations_job.py    # submits to the cluster of FLINK_CONF_DIR and returns
"""

from __future__ import annotations

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
    max_future_ms: int
    min_event_time_ms: int
    restart_max_backoff_ms: int
    checkpoint_interval_ms: int
    checkpoint_dir: str
    parallelism: int
    jdbc_sink_parallelism: int

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
            max_future_ms=env_int("MAX_FUTURE_MS", DEFAULT_MAX_FUTURE_MS),
            min_event_time_ms=env_int("MIN_EVENT_TIME_MS", DEFAULT_MIN_TS_MS),
            restart_max_backoff_ms=env_int("RESTART_MAX_BACKOFF_MS", 30_000, 1000),
            checkpoint_interval_ms=env_int("CHECKPOINT_INTERVAL_MS", 10_000, 100),
            checkpoint_dir=env("FLINK_CHECKPOINT_DIR", ""),
            parallelism=env_int("FLINK_PARALLELISM", 1, 1),
            jdbc_sink_parallelism=env_int("JDBC_SINK_PARALLELISM", 1, 1),
        )

    def public(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if k != "jdbc_password"}


# -- SQL building blocks ----------------------------------------------------------------------------


def jv(key: str) -> str:
    """The value of ``key`` as STRING; NULL when absent, not a scalar, or the record is not JSON.

    Read as STRING and converted with TRY_CAST: JSON_VALUE ... RETURNING DOUBLE throws (and fails
    the job) on a JSON string such as "12.5".
    """
    return f"JSON_VALUE(`raw`, {lit('$.' + key)})"


def jv_if_present(*keys: str) -> str:
    """The first of ``keys`` present, for keys that most records lack.

    JSON_VALUE parses the whole text at each call; a POSITION scan that finds no such key in the
    text costs about a third of that. (COALESCE evaluates all its arguments.)
    """
    calls = [f"CASE WHEN POSITION({lit(chr(34) + k + chr(34))} IN `raw`) > 0 THEN {jv(k)} END" for k in keys]
    return calls[0] if len(calls) == 1 else f"COALESCE({', '.join(calls)})"


def finite(number: str) -> str:
    """DOUBLE -> DOUBLE, NULL unless finite ("NaN", "Infinity" and 1e400 parse as doubles).

    ``number`` is a field read (the let below casts each field once: the generated code would repeat
    an inlined TRY_CAST at every use). ``x * 0 = 0`` is false only for NaN and the infinities; the
    planner keeps it as written, whereas it rewrites range tests such as BETWEEN into forms that let
    NaN through.
    """
    return f"CASE WHEN {number} * 0 = 0 THEN {number} END"


def epoch_to_ms(t: str) -> str:
    """Epoch number -> ms, the unit told by magnitude: s < 1e11 <= ms < 1e14 <= us < 1e17 <= ns.

    The same rule as geostream.timestamps.epoch_to_ms, as one expression that reads ``t`` twice.
    """
    unit = f"GREATEST(0, LEAST(3, FLOOR((LOG10(ABS({t})) - 11) / 3) + 1))"
    return f"CAST(ROUND({t} * POWER(10.0, 3 - 3 * {unit})) AS BIGINT)"


# ISO 8601 / RFC 3339 date-times such as 2024-05-01T12:00:00.5+02:00; without an offset: UTC.
ISO_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}(:?\d{2})?)?$"


def iso_to_ms(s: str) -> str:
    offset = rf"COALESCE(NULLIF(UPPER(REGEXP_EXTRACT({s}, '([Zz]|[+-]\d{{2}}(:?\d{{2}})?)$', 1)), ''), 'Z')"
    seconds = (
        f"UNIX_TIMESTAMP(CONCAT(SUBSTRING({s} FROM 1 FOR 10), 'T', SUBSTRING({s} FROM 12 FOR 8), "
        f"{offset}), 'yyyy-MM-dd''T''HH:mm:ssX')"
    )
    fraction = rf"COALESCE(TRY_CAST(CONCAT('0.', REGEXP_EXTRACT({s}, '\.(\d+)', 1)) AS DOUBLE), 0)"
    millis = f"CAST(ROUND({fraction} * 1000) AS BIGINT)"
    return f"CASE WHEN REGEXP({s}, {lit(ISO_RE)}) THEN {seconds} * 1000 + {millis} END"


# Epoch ms of the wall clock (Flink SQL has no millisecond UNIX_TIMESTAMP). The generated code reads
# CURRENT_TIMESTAMP once per record, so both halves come from the same instant.
NOW_MS = (
    "(CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) AS BIGINT) * 1000 "
    "+ EXTRACT(MILLISECOND FROM CURRENT_TIMESTAMP))"
)
# Latest instant both TO_TIMESTAMP_LTZ and PostgreSQL take without overflow: 9999-12-31T23:59:59.999Z.
MAX_SANE_TS_MS = 253_402_300_799_999

# Characters that no id or text may hold, as geostream.identity refuses them at the edge: control (NUL,
# newline, ...), invisible format, lone surrogate (a JSON "\ud800" escape), private-use and unassigned
# code points, line/paragraph separators, spaces other than U+0020, and U+FFFD (the raw format's stand-in
# for bytes that were not UTF-8). PostgreSQL rejects NUL in text outright, failing the whole JDBC batch.
REFUSED_CHARS_RE = r"[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\x{FFFD}]|[\p{Zs}&&[^ ]]"
# A JSON escape of half a surrogate pair without its other half ("\ud800"). JSON_VALUE would decode it
# to a lone surrogate, which Flink's UTF-8 strings silently turn into "?": it must be caught in the raw
# text. (A literal backslash followed by "ud800", written "\\ud800", is refused too: no real id has one.)
LONE_SURROGATE_ESCAPE_RE = (
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
# A part of an OwnTracks-style id ("user/device") that is empty or blank.
EMPTY_ID_PART_RE = "(^|/) *(/|$)"
SOURCE_MAX_LEN = 64
REFUSED_REASON = "control, invisible or invalid Unicode character"

VEHICLE_ID_KEYS = ("vehicle_id", "vehicleID", "vehicleId")
TS_KEYS = ("ts", "timestamp")
LON_KEYS = ("lon", "lng", "longitude")
LAT_KEYS = ("lat", "latitude")


# -- tables -----------------------------------------------------------------------------------------


def source_ddl(s: Settings) -> str:
    # No event-time attribute and no watermark: nothing in this job waits for event time (no window,
    # no join). "Late" is decided per vehicle where it matters, in the database and the live relay
    # (README: "Time: future and late points").
    return raw_kafka_source_ddl("locations_source", s.source_topic, s.kafka_brokers, s.group_id)


def checked_view_sql(s: Settings) -> str:
    """Parse, normalise and validate: one row per record, ``reason`` NULL for a valid point.

    The planner inlines every column reference and the generated code does not share common
    subexpressions, so a field used five times would be parsed from JSON five times. Each
    ``CROSS JOIN UNNEST(ARRAY[ROW(...)])`` is a one-row lateral "let": its expressions run once per
    record and what it yields are plain field reads further up.
    """

    def optional(field: str) -> str:
        low, high = OPTIONAL_RANGES[field]
        value = finite(f"a.{field}_d")
        bounds = [
            f"{value} {op} {limit:g}" for op, limit in ((">=", low), ("<=", high)) if math.isfinite(limit)
        ]
        # Lenient: an unusable optional value is dropped, the point is kept.
        return f"CASE WHEN {' AND '.join(bounds)} THEN {value} END" if bounds else value

    def first(keys: tuple[str, ...]) -> str:
        # The contract's key was parsed in `j`; the aliases only when it is missing.
        return f"CASE WHEN j.{keys[0]} IS NOT NULL THEN j.{keys[0]} ELSE {jv_if_present(*keys[1:])} END"

    rare = ("alt", "accuracy", "battery")
    parsed = {  # one JSON_VALUE each
        **{k: jv(k) for k in ("vehicle_id", "ts", "lon", "lat", "speed", "heading", "source")},
        **{k: jv_if_present(k) for k in rare},
    }
    strings = {
        "vehicle_id": f"TRIM({first(VEHICLE_ID_KEYS)})",
        "ts_s": first(TS_KEYS),
        "lon_s": first(LON_KEYS),
        "lat_s": first(LAT_KEYS),
        # Each number cast once. The alias lookups repeated here run only when the contract's key is
        # missing (a CASE branch is evaluated lazily).
        "ts_d": f"TRY_CAST({first(TS_KEYS)} AS DOUBLE)",
        "lon_d": f"TRY_CAST({first(LON_KEYS)} AS DOUBLE)",
        "lat_d": f"TRY_CAST({first(LAT_KEYS)} AS DOUBLE)",
        **{f"{f}_d": f"TRY_CAST(j.{f} AS DOUBLE)" for f in OPTIONAL_RANGES},
    }
    typed = {
        # CASE, not COALESCE (which evaluates every argument): the ISO 8601 regex only for non-numbers.
        "ts_ms": f"CASE WHEN a.ts_d * 0 = 0 THEN {epoch_to_ms('a.ts_d')} ELSE {iso_to_ms('a.ts_s')} END",
        "lon": finite("a.lon_d"),
        "lat": finite("a.lat_d"),
        **{f: optional(f) for f in OPTIONAL_RANGES},
    }
    reason = f"""CASE
    WHEN `raw` IS NULL THEN 'empty record'
    WHEN POSITION('\\u' IN `raw`) > 0 AND REGEXP(`raw`, {lit(LONE_SURROGATE_ESCAPE_RE)})
      THEN 'invalid Unicode: lone surrogate escape'
    WHEN a.vehicle_id IS NULL THEN
      CASE WHEN `raw` IS JSON OBJECT THEN 'vehicle_id: missing' ELSE 'not a JSON object' END
    WHEN CHAR_LENGTH(a.vehicle_id) = 0 THEN 'vehicle_id: must not be empty'
    WHEN CHAR_LENGTH(a.vehicle_id) > {VEHICLE_ID_MAX_LEN}
      THEN 'vehicle_id: longer than {VEHICLE_ID_MAX_LEN} characters'
    WHEN REGEXP(a.vehicle_id, {lit(REFUSED_CHARS_RE)}) THEN {lit("vehicle_id: " + REFUSED_REASON)}
    WHEN REGEXP(a.vehicle_id, {lit(EMPTY_ID_PART_RE)}) THEN 'vehicle_id: empty part between /'
    WHEN a.ts_s IS NULL THEN 'ts: missing'
    WHEN n.ts_ms IS NULL THEN 'ts: not an epoch number or ISO 8601 date-time'
    WHEN n.ts_ms < {s.min_event_time_ms} THEN {lit("ts: before " + ms_to_rfc3339(s.min_event_time_ms))}
    WHEN n.ts_ms > {MAX_SANE_TS_MS} OR n.ts_ms > {NOW_MS} + {s.max_future_ms}
      THEN {lit(f"ts: more than {s.max_future_ms // 1000} s in the future")}
    WHEN a.lon_s IS NULL THEN 'lon: missing'
    WHEN a.lat_s IS NULL THEN 'lat: missing'
    WHEN n.lon IS NULL THEN 'lon: not a finite number'
    WHEN n.lat IS NULL THEN 'lat: not a finite number'
    WHEN n.lon < -180 OR n.lon > 180 THEN 'lon: outside [-180, 180]'
    WHEN n.lat < -90 OR n.lat > 90 THEN 'lat: outside [-90, 90]'
    WHEN CHAR_LENGTH(j.source) > {SOURCE_MAX_LEN} THEN 'source: longer than {SOURCE_MAX_LEN} characters'
    WHEN REGEXP(j.source, {lit(REFUSED_CHARS_RE)}) THEN {lit("source: " + REFUSED_REASON)}
  END"""
    sep = ",\n  "
    return f"""
CREATE TEMPORARY VIEW locations_checked AS
SELECT
  `raw`, kafka_key, kafka_topic, kafka_partition, kafka_offset,
  {reason} AS reason,
  a.vehicle_id, n.ts_ms, n.lon, n.lat, n.speed, n.heading, n.alt, n.accuracy, n.battery, j.source
FROM locations_source
CROSS JOIN UNNEST(ARRAY[ROW(
  {sep.join(parsed.values())}
)]) AS j({", ".join(parsed)})
CROSS JOIN UNNEST(ARRAY[ROW(
  {sep.join(strings.values())}
)]) AS a({", ".join(strings)})
CROSS JOIN UNNEST(ARRAY[ROW(
  {sep.join(typed.values())}
)]) AS n({", ".join(typed)})"""


def points_sink_ddl(s: Settings) -> str:
    options = {
        "connector": "jdbc",
        "url": with_batched_inserts(s.jdbc_url),
        "table-name": s.jdbc_table,
        "driver": s.jdbc_driver,
        "username": s.jdbc_username,
        "password": s.jdbc_password,
        "sink.buffer-flush.max-rows": str(s.jdbc_flush_max_rows),
        "sink.buffer-flush.interval": f"{s.jdbc_flush_interval_ms} ms",
        "sink.max-retries": str(s.jdbc_max_retries),
        "sink.parallelism": str(s.jdbc_sink_parallelism),
    }
    # With a primary key the sink writes INSERT ... ON CONFLICT (vehicle_id, ts) DO UPDATE, and its
    # buffer keeps one row per key: a replay after a restart rewrites rows instead of adding instants.
    # TIMESTAMP, not TIMESTAMP_LTZ (which the JDBC connector rejects): the value is UTC wall time
    # (table.local-time-zone) handed over in the JVM zone, pinned to UTC in conf/config.yaml.
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


def websocket_sink_ddl(s: Settings) -> str:
    options = kafka_sink_options(s.websocket_topic, s.kafka_brokers, s.group_id)
    # Keyed by vehicle id: Kafka's default partitioner (murmur2) keeps each vehicle's order.
    options.update({"key.format": "raw", "key.fields": "vehicle_id", "value.fields-include": "ALL"})
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
        checked_view_sql(s),
        points_sink_ddl(s),
        websocket_sink_ddl(s),
        dlq_sink_ddl(s),
        INSERT_POINTS,
        INSERT_WEBSOCKET,
        INSERT_DLQ,
    ]


def build(s: Settings):
    return build_statement_set(table_config(s), statements(s))


def main() -> int:
    s = Settings.from_env()
    return run(SERVICE, JOB_NAME, lambda: build(s), s.public())


if __name__ == "__main__":
    sys.exit(main())
