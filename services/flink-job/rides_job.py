"""PyFlink Table API job: rides_raw -> rides_result (distance, price) + rides_dlq (rejects with reason).

The rules of ``geostream.rides`` (the rides_raw contract, strict, unknown fields ignored) written in
built-in SQL, with no Python UDF: values are read as raw text; each field's JSON type is told from
``JSON_QUERY(... WITH ARRAY WRAPPER)`` (``[12.5]`` a number, ``["x"]`` a string, ``[{...}]`` an object),
so a number sent as a string is a "wrong type", as the contract says. Invalid JSON, missing, mistyped
and out-of-range fields go to rides_dlq with the same reason ``geostream.rides`` gives, and the original
record. ``distance_km`` (haversine, mean Earth radius) and ``price_total`` are rounded as documented in
``geostream.rides``; the integration test compares every output with it.

    python rides_job.py              # local MiniCluster; runs until SIGTERM/SIGINT, then cancels the job
    flink run -d -py rides_job.py    # submits to the cluster of FLINK_CONF_DIR and returns
    python rides_job.py submit       # compose: keep it submitted to the cluster at FLINK_REST_URL
    python rides_job.py health       # exit 0 when the job is RUNNING on that cluster
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from flink_common import (
    NOW_MS,
    build_statement_set,
    dlq_sink_ddl,
    env_int,
    job_running,
    kafka_sink_options,
    lit,
    raw_kafka_source_ddl,
    run,
    streaming_config,
    supervise,
    with_options,
)

from geostream import rides
from geostream.topics import RIDES_DLQ, RIDES_RAW, RIDES_RESULT

JOB_NAME = "geostream-rides"
SERVICE = "flink-rides-job"


@dataclass(frozen=True)
class Settings:
    kafka_brokers: str
    raw_topic: str
    result_topic: str
    dlq_topic: str
    group_id: str
    checkpoint_interval_ms: int
    checkpoint_dir: str
    restart_max_backoff_ms: int
    parallelism: int

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ.get
        return cls(
            kafka_brokers=env("KAFKA_BROKERS", "localhost:9092"),
            raw_topic=env("RIDES_RAW_TOPIC", RIDES_RAW.name),
            result_topic=env("RIDES_RESULT_TOPIC", RIDES_RESULT.name),
            dlq_topic=env("RIDES_DLQ_TOPIC", RIDES_DLQ.name),
            group_id=env("RIDES_GROUP_ID", "flink-rides"),
            checkpoint_interval_ms=env_int("CHECKPOINT_INTERVAL_MS", 10_000, 100),
            checkpoint_dir=env("FLINK_CHECKPOINT_DIR", ""),
            restart_max_backoff_ms=env_int("RESTART_MAX_BACKOFF_MS", 30_000, 1000),
            parallelism=env_int("FLINK_PARALLELISM", 1, 1),
        )


# -- JSON typing --------------------------------------------------------------------------------------


def wrapped(path: str, doc: str = "`raw`") -> str:
    """The JSON text of the value at ``path``, in brackets; NULL when absent, null or not JSON."""
    return f"JSON_QUERY({doc}, {lit(path)} WITH ARRAY WRAPPER)"


def is_string(q: str) -> str:
    return f"({q} LIKE '[\"%')"


def is_number(q: str) -> str:
    return f"REGEXP({q}, '^\\[-?[0-9]')"


def is_object(q: str) -> str:
    return f"({q} LIKE '[{{%')"


def number(q: str) -> str:
    """The double of a wrapped JSON number; NULL unless finite (1e400 reads as Infinity)."""
    value = f"TRY_CAST(SUBSTRING({q} FROM 2 FOR CHAR_LENGTH({q}) - 2) AS DOUBLE)"
    return f"CASE WHEN {is_number(q)} AND {value} * 0 = 0 THEN {value} END"


def string(q: str) -> str:
    return f"CASE WHEN {is_string(q)} THEN JSON_VALUE({q}, '$[0]') END"


def checks_for_string(field: str, q: str) -> list[str]:
    return [
        f"WHEN {q} IS NULL THEN {lit(f'{rides.REASON_MISSING}: {field}')}",
        f"WHEN NOT {is_string(q)} THEN {lit(f'{rides.REASON_WRONG_TYPE}: {field}')}",
    ]


def checks_for_number(name: str, q: str, value: str, low: float | None, high: float | None) -> list[str]:
    bounds = [f"{value} IS NULL"]
    if low is not None:
        bounds.append(f"{value} < {low:g}")
    if high is not None:
        bounds.append(f"{value} > {high:g}")
    return [
        f"WHEN {q} IS NULL THEN {lit(f'{rides.REASON_MISSING}: {name}')}",
        f"WHEN NOT {is_number(q)} THEN {lit(f'{rides.REASON_WRONG_TYPE}: {name}')}",
        f"WHEN {' OR '.join(bounds)} THEN {lit(f'{rides.REASON_OUT_OF_RANGE}: {name}')}",
    ]


# The same pattern as geostream.rides.TS_RE, anchored for Java's find() (\z: no trailing newline).
TS_REGEX = "^" + rides.TS_RE.pattern + "\\z"
RIDE_ID_REGEX = "^" + rides.RIDE_ID_RE.pattern + "\\z"


def checked_view_sql() -> str:
    """One row per record, ``reason`` NULL for a valid ride. Each ``CROSS JOIN UNNEST(ARRAY[ROW(..)])``
    is a one-row "let": its expressions run once per record, not once per reference."""
    points = {f"{p}_{c}": (p, c) for p in rides.POINT_FIELDS for c in ("lat", "lon")}
    parsed = {  # stage j: one parse of the whole record per top-level field
        "is_json": "`raw` IS JSON",
        "is_object": "`raw` IS JSON OBJECT",
        **{f"q_{f}": wrapped(f"$.{f}") for f in rides.REQUIRED_FIELDS},
    }
    values = {  # stage a: typed values, from the small wrapped texts
        "ride_id": string("j.q_ride_id"),
        "ts_s": string("j.q_ts"),
        "comfort_s": string("j.q_comfort"),
        **{
            f"q_{name}": f"CASE WHEN {is_object(f'j.q_{p}')} THEN {wrapped(f'$[0].{c}', f'j.q_{p}')} END"
            for name, (p, c) in points.items()
        },
        **{f: number(f"j.q_{f}") for f in rides.NUMBER_FIELDS},
    }
    sec = "COALESCE(NULLIF(REGEXP_EXTRACT(a.ts_s, '^.{16}:([0-9]{2})', 1), ''), '00')"
    local = f"CONCAT(SUBSTRING(a.ts_s FROM 1 FOR 10), ' ', SUBSTRING(a.ts_s FROM 12 FOR 5), ':', {sec})"
    fraction = "COALESCE(REGEXP_EXTRACT(a.ts_s, '^.{19}\\.([0-9]+)', 1), '')"
    offset_re = "([+-])([0-9]{2}):?([0-9]{2})$"
    offset_part = lambda n: f"REGEXP_EXTRACT(a.ts_s, {lit(offset_re)}, {n})"  # noqa: E731
    shift_s = (
        f"CASE WHEN {offset_part(1)} IN ('+', '-') THEN "
        f"(CASE WHEN {offset_part(1)} = '-' THEN -1 ELSE 1 END) * "
        f"(CAST({offset_part(2)} AS INT) * 3600 + CAST({offset_part(3)} AS INT) * 60) ELSE 0 END"
    )
    times = {  # stage t: the event time, from a string that matches TS_REGEX
        "ts_ok": f"REGEXP(a.ts_s, {lit(TS_REGEX)})",
        "local_text": f"CASE WHEN REGEXP(a.ts_s, {lit(TS_REGEX)}) THEN {local} END",
        "frac_ms": f"CAST(RPAD(SUBSTRING({fraction} FROM 1 FOR 3), 3, '0') AS BIGINT)",
        "shift_s": shift_s,
        **{name: number(f"a.q_{name}") for name in points},
    }
    local_sec = "UNIX_TIMESTAMP(t.local_text, 'yyyy-MM-dd HH:mm:ss')"
    derived = {  # stage d: calendar check, epoch ms, comfort level
        # SimpleDateFormat is lenient (Feb 30 -> Mar 2): a real date formats back to the same text.
        "calendar_ok": f"COALESCE(FROM_UNIXTIME({local_sec}, 'yyyy-MM-dd HH:mm:ss') = t.local_text, FALSE)",
        "ts_ms": f"({local_sec} - t.shift_s) * 1000 + t.frac_ms",
        "comfort": "CASE a.comfort_s "
        + " ".join(f"WHEN {lit(alias)} THEN {lit(level)}" for alias, level in rides.COMFORT_ALIASES.items())
        + " ELSE a.comfort_s END",
    }
    reason_cases = [
        f"WHEN `raw` IS NULL THEN {lit(rides.REASON_INVALID_JSON + ': empty record')}",
        f"WHEN NOT j.is_json THEN {lit(rides.REASON_INVALID_JSON)}",
        f"WHEN NOT j.is_object THEN {lit(rides.REASON_NOT_OBJECT)}",
        *checks_for_string("ride_id", "j.q_ride_id"),
        f"WHEN NOT REGEXP(a.ride_id, {lit(RIDE_ID_REGEX)}) THEN {lit(rides.REASON_BAD_FORMAT + ': ride_id')}",
        *checks_for_string("ts", "j.q_ts"),
        f"WHEN NOT t.ts_ok OR NOT d.calendar_ok THEN {lit(rides.REASON_BAD_FORMAT + ': ts')}",
        f"WHEN d.ts_ms < 0 THEN {lit(rides.REASON_OUT_OF_RANGE + ': ts')}",
    ]
    for p in rides.POINT_FIELDS:
        reason_cases += [
            f"WHEN j.q_{p} IS NULL THEN {lit(f'{rides.REASON_MISSING}: {p}')}",
            f"WHEN NOT {is_object(f'j.q_{p}')} THEN {lit(f'{rides.REASON_WRONG_TYPE}: {p}')}",
            *checks_for_number(f"{p}.lat", f"a.q_{p}_lat", f"t.{p}_lat", -90, 90),
            *checks_for_number(f"{p}.lon", f"a.q_{p}_lon", f"t.{p}_lon", -180, 180),
        ]
    reason_cases += [
        *checks_for_string("comfort", "j.q_comfort"),
        f"WHEN d.comfort NOT IN ({', '.join(map(lit, rides.COMFORT_LEVELS))}) "
        f"THEN {lit(rides.REASON_OUT_OF_RANGE + ': comfort')}",
    ]
    for f in rides.NUMBER_FIELDS:
        reason_cases += checks_for_number(f, f"j.q_{f}", f"a.{f}", 0, None)
    reason = "CASE\n    " + "\n    ".join(reason_cases) + "\n  END"
    sep = ",\n  "

    def let(columns: dict[str, str], alias: str) -> str:
        names = ", ".join(columns)
        return f"CROSS JOIN UNNEST(ARRAY[ROW(\n  {sep.join(columns.values())}\n)]) AS {alias}({names})"

    return f"""
CREATE TEMPORARY VIEW rides_checked AS
SELECT
  `raw`, kafka_key, kafka_topic, kafka_partition, kafka_offset,
  {reason} AS reason,
  a.ride_id, d.ts_ms, t.origin_lat, t.origin_lon, t.destination_lat, t.destination_lon, d.comfort,
  a.duration_min, a.price_base, a.price_per_km, a.price_per_min
FROM rides_source
{let(parsed, "j")}
{let(values, "a")}
{let(times, "t")}
{let(derived, "d")}"""


def priced_view_sql() -> str:
    """Valid rides with the haversine distance (written as geostream.rides.haversine_km computes it)."""
    radius = f"CAST({rides.EARTH_RADIUS_KM!r} AS DOUBLE)"
    return f"""
CREATE TEMPORARY VIEW rides_priced AS
SELECT ride_id, ts_ms, origin_lat, origin_lon, destination_lat, destination_lon, comfort,
       duration_min, price_base, price_per_km, price_per_min, 2 * {radius} * ASIN(SQRT(LEAST(
         h.s_lat * h.s_lat + COS(RADIANS(origin_lat)) * COS(RADIANS(destination_lat)) * h.s_lon * h.s_lon,
         CAST(1 AS DOUBLE)))) AS distance
FROM rides_checked
CROSS JOIN UNNEST(ARRAY[ROW(
  SIN(RADIANS(destination_lat - origin_lat) / 2),
  SIN(RADIANS(destination_lon - origin_lon) / 2)
)]) AS h(s_lat, s_lon)
WHERE reason IS NULL"""


def result_sink_ddl(s: Settings) -> str:
    options = kafka_sink_options(s.result_topic, s.kafka_brokers, s.group_id)
    options.update({"key.format": "raw", "key.fields": "ride_id", "value.fields-include": "ALL"})
    return f"""
CREATE TEMPORARY TABLE rides_result_sink (
  ride_id STRING,
  ts STRING,
  origin ROW<lat DOUBLE, lon DOUBLE>,
  destination ROW<lat DOUBLE, lon DOUBLE>,
  comfort STRING,
  duration_min DOUBLE,
  price_base DOUBLE,
  price_per_km DOUBLE,
  price_per_min DOUBLE,
  distance_km DOUBLE,
  price_total DOUBLE
) WITH (
  {with_options(options)}
)"""


INSERT_RESULT = f"""
INSERT INTO rides_result_sink
SELECT ride_id,
       DATE_FORMAT(TO_TIMESTAMP_LTZ(ts_ms, 3), 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
       ROW(origin_lat, origin_lon), ROW(destination_lat, destination_lon), comfort,
       duration_min, price_base, price_per_km, price_per_min,
       ROUND(distance, {rides.DISTANCE_DECIMALS}),
       ROUND(price_base + distance * price_per_km + duration_min * price_per_min, {rides.PRICE_DECIMALS})
FROM rides_priced"""

INSERT_DLQ = f"""
INSERT INTO rides_dlq_sink
SELECT reason, {lit(SERVICE)}, COALESCE(`raw`, ''), {NOW_MS}, kafka_topic, kafka_partition, kafka_offset,
       kafka_key
FROM rides_checked WHERE reason IS NOT NULL"""


def statements(s: Settings) -> list[str]:
    return [
        raw_kafka_source_ddl("rides_source", s.raw_topic, s.kafka_brokers, s.group_id),
        checked_view_sql(),
        priced_view_sql(),
        result_sink_ddl(s),
        dlq_sink_ddl("rides_dlq_sink", s.dlq_topic, s.kafka_brokers, s.group_id),
        INSERT_RESULT,
        INSERT_DLQ,
    ]


def build(s: Settings):
    config = streaming_config(
        JOB_NAME, s.parallelism, s.checkpoint_interval_ms, s.restart_max_backoff_ms, s.checkpoint_dir
    )
    return build_statement_set(config, statements(s))


def main(argv: list[str]) -> int:
    if argv[:1] == ["submit"]:
        return supervise(f"{SERVICE}-submitter", JOB_NAME, Path(__file__).resolve())
    if argv[:1] == ["health"]:
        return 0 if job_running(JOB_NAME) else 1
    s = Settings.from_env()
    return run(SERVICE, JOB_NAME, lambda: build(s), asdict(s))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
