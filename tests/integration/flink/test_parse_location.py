"""PARSE_LOCATION, the job's Java parse-and-validate function (services/flink-job/java).

Its JUnit cases (parser edge cases: control characters, invalid Unicode, NaN/Infinity/1e400, wrong
types, nested objects, duplicate keys, huge numbers, far-future and ancient times) run here through Maven,
offline against the repository install-local.sh filled; the job's plan is checked to call it once per
record, with the rules the job builds from geostream.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from flink_support import JOB_DIR

from geostream.identity import VEHICLE_ID_MAX_LEN
from geostream.locations import OPTIONAL_RANGES
from localservers import cache_dir

sys.path.insert(0, str(JOB_DIR))
import locations_job

pytestmark = pytest.mark.slow


def test_junit_cases_of_the_java_parts_pass(flink_python, tmp_path):
    """JUnit of services/flink-job/java: PARSE_LOCATION's parser and rules, the sink's buffer and SQL."""
    done = subprocess.run(
        [
            "mvn", "-o", "-B", "-Dstyle.color=never", f"-Dmaven.repo.local={cache_dir() / 'm2'}",
            "-f", str(JOB_DIR / "java" / "pom.xml"), f"-Dgeostream.build.directory={tmp_path / 'build'}",
            "test",
        ],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    summary = re.findall(r"Tests run: \d+, Failures: \d+, Errors: \d+, Skipped: \d+", done.stdout)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert summary, done.stdout[-3000:]
    runs = int(summary[-1].split(",")[0].split(": ")[1])
    assert runs >= 100, summary[-1]
    print(f"\njunit: {summary[-1]}")


def test_the_rules_come_from_geostream():
    rules = locations_job.location_rules(locations_job.Settings.from_env())
    assert rules["vehicle_id_max_len"] == VEHICLE_ID_MAX_LEN
    assert {k: tuple(v) for k, v in rules["optional_ranges"].items()} == OPTIONAL_RANGES
    assert rules["ts_before_reason"] == "ts: before 2000-01-01T00:00:00.000Z"
    assert rules["ts_future_reason"] == "ts: more than 300 s in the future"


def test_the_plan_parses_each_record_once(flink_python, tmp_path):
    """One PARSE_LOCATION call below the fork into the three sinks, built with the job's real rules
    (the Java side refuses incomplete ones), not one per field read or per sink."""
    script = "import locations_job as j; print(j.build(j.Settings.from_env()).explain())"
    env = {
        **os.environ,
        "FLINK_CONF_DIR": str(JOB_DIR / "conf"),
        "FLINK_LOG_DIR": str(tmp_path / "log"),
        "JVM_ARGS": f"-Djava.io.tmpdir={tmp_path}",
    }
    done = subprocess.run(
        [str(flink_python), "-c", script],
        cwd=JOB_DIR, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    optimized = done.stdout.split("== Optimized Execution Plan ==")[-1]
    assert optimized.count("PARSE_LOCATION(") == 1, optimized
    assert optimized.count("Sink(table=") == 3, optimized
