"""buoy-simulator as its container runs it, into a real udp-ingest and Kafka: each buoy sends one valid
reading per second with its own sensor id; replicas with different host names never share an id."""

from __future__ import annotations

import sys
import uuid

from support.kafka import read_topic
from support.processes import ROOT, ServiceProcess
from test_udp_ingest import Ingest

from geostream import contracts
from localservers import free_port


def simulator(workdir, port: int, prefix: str, count: int) -> ServiceProcess:
    return ServiceProcess(
        [sys.executable, "-m", "buoy_simulator"],
        {
            "UDP_HOST": "127.0.0.1",
            "UDP_PORT": str(port),
            "BUOY_COUNT": str(count),
            "BUOY_ID_PREFIX": prefix,
            "HEALTH_HOST": "127.0.0.1",
            "HEALTH_PORT": str(free_port()),
        },
        ROOT / "services/buoy-simulator",
        workdir / f"sim-{prefix}.log",
    )


def test_two_replicas_send_distinct_buoys_through_udp_ingest(kafka, workdir):
    run = uuid.uuid4().hex[:6]
    prefixes = [f"replica-a-{run}", f"replica-b-{run}"]
    with Ingest(workdir, kafka, "udp-sims", UDP_HOST="127.0.0.1") as ingest:
        sims = [simulator(workdir, ingest.port, prefix, 3).start() for prefix in prefixes]
        try:
            records = read_topic(
                kafka.bootstrap,
                "sensor_readings",
                where=lambda r: run in (r.key or ""),
                count=18,  # 6 buoys, at least 3 seconds each
                timeout=90,
            )
            assert ingest.metric("udp_ingest_rejected") == 0
        finally:
            for sim in sims:
                assert sim.stop() == 0, sim.log()
    keys = {r.key for r in records}
    assert keys == {f"{prefix}-{n}" for prefix in prefixes for n in (1, 2, 3)}
    for record in records:
        contracts.check("sensor_readings", record.value)
        assert abs(record.value["location"]["lat"] - 42.48) < 0.05
        assert abs(record.value["location"]["lon"] - 3.145) < 0.05
