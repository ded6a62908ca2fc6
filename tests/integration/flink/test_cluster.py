"""The compose roles without Docker: a Flink session cluster started by docker-entrypoint.sh (JobManager
+ TaskManager, PyFlink's own scripts) and the submitter (cluster.py submit) keeping the job on it.

The job must run on the cluster, not in the submitter: stopping the submitter leaves it running. A job
that disappears is resubmitted and resumes from the committed offsets, with no point lost or doubled.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request

import pytest
from flink_support import JOB_DIR, encode, produce, stored_points
from support.processes import ServiceProcess

from localservers import free_port

pytestmark = pytest.mark.slow
ENTRYPOINT = JOB_DIR / "docker-entrypoint.sh"


def rest(url: str, path: str, method: str = "GET") -> dict:
    request = urllib.request.Request(url + path, method=method)
    with urllib.request.urlopen(request, timeout=5) as response:
        body = response.read()
    return json.loads(body) if body else {}


def health(env: dict[str, str], component: str) -> bool:
    result = subprocess.run(
        [env["FLINK_PYTHON"], str(JOB_DIR / "cluster.py"), "health", component],
        env={**os.environ, **env},
        capture_output=True,
        check=False,
        cwd=JOB_DIR,
    )
    return result.returncode == 0


def wait_until(condition, timeout: float, what: str, *processes: ServiceProcess) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for process in processes:
            if process.process.poll() is not None:
                pytest.fail(f"{process.argv[:2]} exited while waiting for {what}:\n{process.log()}")
        if time.monotonic() > deadline:
            logs = "\n".join(p.log()[-3000:] for p in processes)
            pytest.fail(f"{what}: not after {timeout} s\n{logs}")
        time.sleep(1)


def points(vehicle: str, start_ms: int, count: int) -> list[tuple[str, bytes]]:
    return [
        (vehicle, encode({"vehicle_id": vehicle, "ts": start_ms + i * 1000, "lon": 4.0 + i * 1e-4,
                          "lat": 50.0 + (i % 2) * 1e-3}))
        for i in range(count)
    ]  # fmt: skip


def test_submitter_keeps_the_job_on_a_session_cluster(flink_python, kafka, postgres, job_topics, tmp_path):
    flink_home = flink_python.parent.parent / "lib/python3.11/site-packages/pyflink"
    rest_port, rpc_port, blob_port, tm_port, data_port = (free_port() for _ in range(5))
    url = f"http://127.0.0.1:{rest_port}"
    env = {
        "FLINK_PYTHON": str(flink_python),
        "FLINK_HOME": str(flink_home),
        "FLINK_CONF_DIR": str(JOB_DIR / "conf"),
        "FLINK_LOG_DIR": str(tmp_path / "flink-log"),
        "FLINK_PID_DIR": str(tmp_path),
        "FLINK_TMP_DIR": str(tmp_path / "tmp"),
        "PATH": f"{flink_python.parent}:{os.environ['PATH']}",
        "JOB_MANAGER_RPC_ADDRESS": "127.0.0.1",
        "JOB_MANAGER_MEMORY": "768m",
        "TASK_MANAGER_MEMORY": "1280m",
        "TASK_MANAGER_RPC_PORT": str(tm_port),
        "FLINK_REST_URL": url,
    }
    cluster_ports = [
        *("-D", f"rest.port={rest_port}", "-D", f"jobmanager.rpc.port={rpc_port}"),
        *("-D", f"blob.server.port={blob_port}", "-D", "rest.bind-address=127.0.0.1"),
        *("-D", "jobmanager.bind-host=127.0.0.1"),
    ]
    jobmanager = ServiceProcess(
        [str(ENTRYPOINT), "jobmanager", *cluster_ports], env, JOB_DIR, tmp_path / "jobmanager.log"
    )
    taskmanager = ServiceProcess(
        [str(ENTRYPOINT), "taskmanager", *cluster_ports,
         *("-D", f"taskmanager.rpc.port={tm_port}", "-D", f"taskmanager.data.port={data_port}"),
         *("-D", "taskmanager.bind-host=127.0.0.1", "-D", "taskmanager.host=127.0.0.1")],
        env, JOB_DIR, tmp_path / "taskmanager.log",
    )  # fmt: skip
    job_env = {
        **env,
        "KAFKA_BROKERS": kafka.bootstrap,
        "KAFKA_TOPIC": job_topics.locations,
        "KAFKA_WEBSOCKET_TOPIC": job_topics.websocket,
        "KAFKA_DLQ_TOPIC": job_topics.dlq,
        "KAFKA_GROUP_ID": f"flink-cluster-{rest_port}",
        "JDBC_URL": postgres.jdbc_url,
        "JDBC_USERNAME": postgres.user,
        "JDBC_PASSWORD": postgres.password,
        "CHECKPOINT_INTERVAL_MS": "2000",
        "SUBMIT_POLL_INTERVAL_S": "2",
    }
    submitters = [
        ServiceProcess(
            [str(flink_python), "cluster.py", "submit"], job_env, JOB_DIR, tmp_path / f"submit-{n}.log"
        )
        for n in (1, 2)
    ]
    prefix = f"cl-{rest_port}-"
    now_ms = int(time.time()) * 1000
    (tmp_path / "tmp").mkdir()
    try:
        jobmanager.start()
        wait_until(lambda: health(env, "jobmanager"), 120, "JobManager REST API", jobmanager)
        taskmanager.start()
        wait_until(lambda: health(env, "taskmanager"), 120, "TaskManager RPC port", taskmanager)
        wait_until(
            lambda: rest(url, "/overview")["taskmanagers"] == 1, 60, "TaskManager registered", taskmanager
        )
        assert not health(env, "job")

        first, second = submitters
        first.start()
        produce(kafka.bootstrap, job_topics.locations, points(f"{prefix}a", now_ms - 600_000, 200))
        wait_until(
            lambda: health(env, "job"), 300, "job RUNNING on the cluster", first, jobmanager, taskmanager
        )
        wait_until(lambda: len(stored_points(postgres, prefix)) == 200, 180, "first 200 rows", jobmanager)

        # The submitter only submits: stopping it leaves the job running on the cluster.
        assert first.stop() == 0, first.log()
        jobs = [j for j in rest(url, "/jobs/overview")["jobs"] if j["state"] == "RUNNING"]
        assert [j["name"] for j in jobs] == ["geostream-locations"]

        # The job goes away (as after a JobManager restart); the submitter puts it back, and it resumes
        # from the committed offsets: the points written meanwhile arrive, none twice.
        rest(url, f"/jobs/{jobs[0]['jid']}?mode=cancel", method="PATCH")
        wait_until(lambda: not health(env, "job"), 60, "job cancelled", jobmanager)
        produce(kafka.bootstrap, job_topics.locations, points(f"{prefix}b", now_ms - 300_000, 200))
        second.start()
        wait_until(lambda: health(env, "job"), 300, "job resubmitted", second, jobmanager, taskmanager)
        wait_until(lambda: len(stored_points(postgres, prefix)) == 400, 180, "all 400 rows", jobmanager)
        running = [j for j in rest(url, "/jobs/overview")["jobs"] if j["state"] == "RUNNING"]
        assert len(running) == 1 and running[0]["jid"] != jobs[0]["jid"]
        assert second.stop() == 0, second.log()
    finally:
        for process in (*submitters, taskmanager, jobmanager):
            process.stop(timeout=60)
