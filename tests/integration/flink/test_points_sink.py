"""The 'geostream-points' sink (services/flink-job/java, io.geostream.flink.sink) on a MiniCluster against the
real MobilityDB.

Its JUnit cases (buffer: one row per key, the last wins; flush at max rows, at the interval, on checkpoint;
retries, then failure; COPY text) run with the rest of the module's in test_parse_location.py. A small
PyFlink program writes rows through the sink into the real vehicle_points: duplicates in one batch and
across batches, values an array literal or COPY's text must escape, NULLs, a conflict with a stored row
(the batch's COPY fails and it is upserted), a replay of a stored row (not written again) next to a
correction, and a table that does not exist (the job must fail after its retries, not drop the batch; the
writer thread's failure reaches the task).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import pytest
from flink_support import JOB_DIR

sys.path.insert(0, str(JOB_DIR))
import locations_job

pytestmark = pytest.mark.slow

T0 = datetime(2024, 5, 1, 12, 0, 0, 123000)  # UTC wall time, as the job hands TIMESTAMP(3) over
T0_MS = int(T0.replace(tzinfo=UTC).timestamp() * 1000)

# Runs in the flink venv: argv[1] = JSON {url, user, password, prefix}; prints one JSON line per run.
PROGRAM = r"""
import json, sys
from datetime import datetime, timedelta
from pyflink.table import DataTypes, EnvironmentSettings, TableEnvironment

cfg = json.loads(sys.argv[1])
env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
env.get_config().set("parallelism.default", "1")
env.get_config().set("table.local-time-zone", "UTC")
schema = DataTypes.ROW([
    DataTypes.FIELD(n, DataTypes.STRING() if n in ("vehicle_id", "source") else
                    DataTypes.TIMESTAMP(3) if n == "ts" else DataTypes.DOUBLE())
    for n in ("vehicle_id", "ts", "lon", "lat", "speed", "heading", "alt", "accuracy", "battery", "source")
])
t0 = datetime(2024, 5, 1, 12, 0, 0, 123000)

def run(name, table, max_rows, rows, retries=3):
    env.execute_sql(f'''CREATE TEMPORARY TABLE {name} (
      vehicle_id STRING, ts TIMESTAMP(3), lon DOUBLE, lat DOUBLE, speed DOUBLE, heading DOUBLE, alt DOUBLE,
      accuracy DOUBLE, battery DOUBLE, source STRING, PRIMARY KEY (vehicle_id, ts) NOT ENFORCED
    ) WITH ('connector' = 'geostream-points', 'url' = '{cfg["url"]}', 'table-name' = '{table}',
      'username' = '{cfg["user"]}', 'password' = '{cfg["password"]}',
      'sink.buffer-flush.max-rows' = '{max_rows}', 'sink.buffer-flush.interval' = '0 ms',
      'sink.max-retries' = '{retries}')''')
    try:
        env.from_elements(rows, schema).execute_insert(name).wait()
        print(json.dumps({"run": name, "ok": True}), flush=True)
    except Exception as e:
        print(json.dumps({"run": name, "ok": False, "error": str(e)}), flush=True)

p = cfg["prefix"]
none = (None,) * 5
run("one_batch", "vehicle_points", 1000, [
    (p + "a", t0, 1.0, 2.0, *none, "first"),
    (p + "quote\"back\\slash,{brace} NULL", t0, 3.0, 4.0, 5.5, 90.0, 35.0, 5.0, 80.0, "x,\"y\"\\z"),
    (p + "NULL", t0, 5.0, 6.0, *none, "NULL"),
    (p + "é-中", t0 + timedelta(milliseconds=1), 7.0, 8.0, *none, ""),
    (p + "ctl", t0, 1e-4, -0.0, *none, "tab\there\nnl\rcr\\N end"),
    (p + "a", t0, 1.5, 2.5, 3.0, None, None, None, None, "last"),
])
run("one_row_batches", "vehicle_points", 1, [
    (p + "b", t0, 1.0, 1.0, *none, "1"),
    (p + "b", t0, 2.0, 2.0, *none, "2"),
    (p + "stored", t0, 9.0, 9.0, *none, "new"),
    (p + "b", t0, 3.0, 3.0, *none, "3"),
])
run("replay", "vehicle_points", 10, [
    (p + "same", t0, 1.0, 2.0, *none, "same"),   # as stored: not written again
    (p + "moved", t0, 4.0, 4.0, *none, "moved"),  # a correction: written
])
run("missing_table", "no_such_table", 10, [(p + "c", t0, 1.0, 1.0, *none, "x")], retries=1)
"""


def row_versions(postgres, prefix: str) -> dict[str, str]:
    """xmin of each stored row: it changes when the row is written again."""
    with postgres.connect() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT vehicle_id, xmin::text FROM vehicle_points WHERE vehicle_id LIKE %s", (prefix + "%",)
        )
        return {vehicle[len(prefix) :]: xmin for vehicle, xmin in cur.fetchall()}


@pytest.fixture(scope="module")
def sink_runs(flink_python, postgres, tmp_path_factory):
    """The program above run once; returns (prefix, {run: outcome}, the rows' xmin before it ran)."""
    prefix = f"ps-{uuid.uuid4().hex[:6]}-"
    with postgres.connect() as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO vehicle_points (vehicle_id, ts, lon, lat, source) VALUES (%s, %s, %s, %s, %s)",
            [
                (prefix + "stored", T0.replace(tzinfo=UTC), 0, 0, "old"),
                (prefix + "same", T0.replace(tzinfo=UTC), 1.0, 2.0, "same"),
                (prefix + "moved", T0.replace(tzinfo=UTC), 3.0, 3.0, "moved"),
            ],
        )
    before = row_versions(postgres, prefix)
    work = tmp_path_factory.mktemp("points-sink")
    config = {
        "url": postgres.jdbc_url,
        "user": postgres.user,
        "password": postgres.password,
        "prefix": prefix,
    }
    env = {
        **os.environ,
        "FLINK_CONF_DIR": str(JOB_DIR / "conf"),
        "FLINK_LOG_DIR": str(work / "log"),
        "JVM_ARGS": f"-Djava.io.tmpdir={work}",
    }
    done = subprocess.run(
        [str(flink_python), "-c", PROGRAM, json.dumps(config)],
        cwd=work, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    outcomes = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            outcome = json.loads(line)
            outcomes[outcome["run"]] = outcome
    return prefix, outcomes, before


def stored(postgres, prefix: str) -> dict[str, tuple]:
    with postgres.connect() as conn, conn.cursor() as cur:
        cur.execute(
            """SELECT vehicle_id, (extract(epoch FROM ts) * 1000)::bigint, lon, lat, speed, heading, alt,
                      accuracy, battery, source
               FROM vehicle_points WHERE vehicle_id LIKE %s ORDER BY vehicle_id, ts""",
            (prefix + "%",),
        )
        return {row[0][len(prefix) :]: row[1:] for row in cur.fetchall()}


def test_one_batch_keeps_the_last_row_of_a_key_and_every_value_as_sent(sink_runs, postgres):
    prefix, outcomes, _ = sink_runs
    assert outcomes["one_batch"]["ok"], outcomes
    rows = stored(postgres, prefix)
    n = None
    assert rows["a"] == (T0_MS, 1.5, 2.5, 3.0, n, n, n, n, "last")
    assert rows['quote"back\\slash,{brace} NULL'] == (T0_MS, 3.0, 4.0, 5.5, 90.0, 35.0, 5.0, 80.0, 'x,"y"\\z')
    assert rows["NULL"] == (T0_MS, 5.0, 6.0, n, n, n, n, n, "NULL")  # the text NULL, not a NULL
    assert rows["é-中"] == (T0_MS + 1, 7.0, 8.0, n, n, n, n, n, "")
    assert rows["ctl"] == (T0_MS, 1e-4, -0.0, n, n, n, n, n, "tab\there\nnl\rcr\\N end")


def test_batches_of_one_row_end_with_the_last_write_and_update_a_stored_row(sink_runs, postgres):
    prefix, outcomes, _ = sink_runs
    assert outcomes["one_row_batches"]["ok"], outcomes
    rows = stored(postgres, prefix)
    assert rows["b"][1:3] == (3.0, 3.0) and rows["b"][-1] == "3"
    assert rows["stored"][1:3] == (9.0, 9.0) and rows["stored"][-1] == "new"


def test_a_replayed_row_that_would_not_change_is_not_written_again(sink_runs, postgres):
    """ON CONFLICT ... DO UPDATE ... WHERE (stored) IS DISTINCT FROM (excluded): a replay after a restart
    costs a lookup, not a new row version; a correction is still written (and so seen by the trigger)."""
    prefix, outcomes, before = sink_runs
    assert outcomes["replay"]["ok"], outcomes
    after = row_versions(postgres, prefix)
    assert after["same"] == before["same"]
    assert after["moved"] != before["moved"]
    rows = stored(postgres, prefix)
    assert rows["same"][1:3] == (1.0, 2.0) and rows["same"][-1] == "same"
    assert rows["moved"][1:3] == (4.0, 4.0)


def test_a_batch_that_keeps_failing_fails_the_job_after_its_retries(sink_runs, postgres):
    prefix, outcomes, _ = sink_runs
    outcome = outcomes["missing_table"]
    assert not outcome["ok"]
    assert "geostream-points sink: writing 1 rows failed after 1 retries" in outcome["error"], outcome[
        "error"
    ]
    assert 'relation "no_such_table" does not exist' in outcome["error"]
    assert "c" not in stored(postgres, prefix)


def test_the_job_writes_points_through_it_keyed_by_vehicle_and_time(flink_python, tmp_path):
    """The default POINTS_SINK, and the planner's hash shuffle on (vehicle_id, ts) in front of a sink of
    parallelism 2 (table.exec.sink.keyed-shuffle), as with the JDBC connector."""
    settings = locations_job.Settings.from_env()
    assert settings.points_sink == "geostream-points"
    assert "'connector' = 'geostream-points'" in locations_job.points_sink_ddl(settings)
    script = (
        "import locations_job as j\n"
        "from pyflink.table.explain_detail import ExplainDetail\n"
        "print(j.build(j.Settings.from_env()).explain(ExplainDetail.JSON_EXECUTION_PLAN))"
    )
    env = {
        **os.environ,
        "JDBC_SINK_PARALLELISM": "2",
        "FLINK_CONF_DIR": str(JOB_DIR / "conf"),
        "FLINK_LOG_DIR": str(tmp_path / "log"),
        "JVM_ARGS": f"-Djava.io.tmpdir={tmp_path}",
    }
    env.pop("POINTS_SINK", None)
    done = subprocess.run(
        [str(flink_python), "-c", script],
        cwd=JOB_DIR, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    # The keyed shuffle is added when the plan is translated: the stream graph shows it.
    graph = json.loads(done.stdout.split("== Physical Execution Plan ==")[-1])
    writers = [n for n in graph["nodes"] if n["contents"].startswith("vehicle_points_sink")]
    assert len(writers) == 1, graph
    assert writers[0]["parallelism"] == 2
    assert [p["ship_strategy"] for p in writers[0]["predecessors"]] == ["HASH"]


def test_batches_of_new_keys_go_by_copy_unless_switched_off(monkeypatch):
    monkeypatch.delenv("JDBC_COPY_NEW_ROWS", raising=False)
    assert "'sink.copy-new-rows' = 'true'" in locations_job.points_sink_ddl(locations_job.Settings.from_env())
    monkeypatch.setenv("JDBC_COPY_NEW_ROWS", "false")
    assert "'sink.copy-new-rows' = 'false'" in locations_job.points_sink_ddl(
        locations_job.Settings.from_env()
    )
    monkeypatch.setenv("POINTS_SINK", "jdbc")  # Flink's JDBC connector has no such option
    assert "copy-new-rows" not in locations_job.points_sink_ddl(locations_job.Settings.from_env())
    monkeypatch.setenv("JDBC_COPY_NEW_ROWS", "sometimes")
    with pytest.raises(SystemExit, match="JDBC_COPY_NEW_ROWS"):
        locations_job.Settings.from_env()


def test_an_unknown_points_sink_is_refused():
    with pytest.raises(ValueError, match="POINTS_SINK"):
        locations_job.points_sink_connector("kafka")
    assert locations_job.points_sink_connector("jdbc") == "jdbc"


def test_the_live_feed_producer_batches_and_compresses_as_configured(monkeypatch):
    settings = locations_job.Settings.from_env()
    ddl = locations_job.websocket_sink_ddl(settings)
    assert "'properties.linger.ms' = '100'" in ddl
    assert "'properties.batch.size' = '262144'" in ddl
    assert "'properties.compression.type' = 'lz4'" in ddl
    monkeypatch.setenv("LIVE_FEED_COMPRESSION", "none")
    monkeypatch.setenv("LIVE_FEED_LINGER_MS", "20")
    ddl = locations_job.websocket_sink_ddl(locations_job.Settings.from_env())
    assert "'properties.compression.type' = 'none'" in ddl and "'properties.linger.ms' = '20'" in ddl
    with pytest.raises(ValueError, match="LIVE_FEED_COMPRESSION"):
        locations_job.live_feed_compression("brotli")
