"""The v2 write API (what Telegraf and the services use) against the real local InfluxDB, read back
with InfluxQL (what the dashboards run): exact values, field types, tags and timestamps; auth enforced.

Debian's influxdb 1.6.7 has no /api/v2/write: every write here gets a 404 from it and these tests fail.
"""

from __future__ import annotations

import pytest
import requests
from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.exceptions import InfluxDBError
from influxdb_client.client.write_api import SYNCHRONOUS

from localservers.influxdb import InfluxDBServer


def select_rows(server, measurement: str) -> list[dict]:
    """Every row of a measurement in the bucket, oldest first, as {column: value} (time in epoch ns)."""
    body = server.influxql(
        f'SELECT * FROM "{server.database}"."{server.retention_policy}"."{measurement}" ORDER BY time ASC'
    )
    series = body["results"][0].get("series", [])
    assert len(series) <= 1
    return [dict(zip(s["columns"], values, strict=True)) for s in series for values in s["values"]]


def field_types(server, measurement: str) -> dict[str, str]:
    body = server.influxql(f'SHOW FIELD KEYS FROM "{measurement}"', database=server.database)
    return dict(body["results"][0]["series"][0]["values"])


def v2_write(server, line_protocol: str, token: str | None, precision: str = "ns", bucket: str | None = None):
    headers = {"Content-Type": "text/plain; charset=utf-8"}
    if token is not None:
        headers["Authorization"] = f"Token {token}"
    return requests.post(
        f"{server.url}/api/v2/write",
        params={"org": server.org, "bucket": bucket or server.bucket, "precision": precision},
        data=line_protocol.encode(),
        headers=headers,
        timeout=30,
    )


def test_client_write_reads_back_exactly_with_influxql(influxdb):
    measurement = "client_vehicle_speed"
    points = [
        Point(measurement)
        .tag("vehicle_id", "plane-001")
        .tag("source", "adsb")
        .field("speed", 231.25)
        .field("alt_m", 10668)
        .field("status", "cruise, level")
        .field("on_ground", False)
        .time(1693564800123456789, WritePrecision.NS),
        Point(measurement)
        .tag("vehicle_id", "truck 7")
        .tag("source", "mqtt")
        .field("speed", 12.5)
        .field("alt_m", -3)
        .field("status", 'say "hi"')
        .field("on_ground", True)
        .time(1693564860000000001, WritePrecision.NS),
    ]
    with InfluxDBClient(url=influxdb.url, token=influxdb.token, org=influxdb.org) as client:
        client.write_api(write_options=SYNCHRONOUS).write(bucket=influxdb.bucket, record=points)

    assert select_rows(influxdb, measurement) == [
        {
            "time": 1693564800123456789,
            "alt_m": 10668,
            "on_ground": False,
            "source": "adsb",
            "speed": 231.25,
            "status": "cruise, level",
            "vehicle_id": "plane-001",
        },
        {
            "time": 1693564860000000001,
            "alt_m": -3,
            "on_ground": True,
            "source": "mqtt",
            "speed": 12.5,
            "status": 'say "hi"',
            "vehicle_id": "truck 7",
        },
    ]
    assert field_types(influxdb, measurement) == {
        "alt_m": "integer",
        "on_ground": "boolean",
        "speed": "float",
        "status": "string",
    }
    tags = influxdb.influxql(f'SHOW TAG KEYS FROM "{measurement}"', database=influxdb.database)
    assert tags["results"][0]["series"][0]["values"] == [["source"], ["vehicle_id"]]


def test_line_protocol_write_with_second_precision(influxdb):
    response = v2_write(
        influxdb,
        "lp_weather,city=Oslo temperature=-3.5,humidity=81i 1700000000\n"
        "lp_weather,city=Bergen temperature=7.25,humidity=93i 1700000060\n",
        influxdb.token,
        precision="s",
    )
    assert response.status_code == 204, response.text

    rows = select_rows(influxdb, "lp_weather")
    assert [(r["time"], r["city"], r["temperature"], r["humidity"]) for r in rows] == [
        (1700000000_000000000, "Oslo", -3.5, 81),
        (1700000060_000000000, "Bergen", 7.25, 93),
    ]
    assert field_types(influxdb, "lp_weather") == {"humidity": "integer", "temperature": "float"}


def test_same_series_and_time_overwrites_the_field(influxdb):
    for speed in ("1.5", "2.75"):
        response = v2_write(
            influxdb, f"lp_overwrite,vehicle_id=v1 speed={speed} 1700000000000000000", influxdb.token
        )
        assert response.status_code == 204, response.text
    rows = select_rows(influxdb, "lp_overwrite")
    assert [(r["time"], r["speed"]) for r in rows] == [(1700000000000000000, 2.75)]


@pytest.mark.parametrize(
    "token",
    [None, "speed_admin:not-the-password", "not-a-user:whatever"],
    ids=["no-token", "wrong-password", "unknown-user"],
)
def test_write_without_valid_token_is_refused(influxdb, token):
    response = v2_write(influxdb, "lp_refused,vehicle_id=v1 speed=1.5 1700000000000000000", token)
    assert response.status_code == 401, response.text

    measurements = influxdb.influxql("SHOW MEASUREMENTS", database=influxdb.database)
    names = [v[0] for s in measurements["results"][0].get("series", []) for v in s["values"]]
    assert "lp_refused" not in names


def test_client_write_with_wrong_token_raises_401(influxdb):
    client = InfluxDBClient(url=influxdb.url, token="speed_admin:nope", org=influxdb.org)
    with client, pytest.raises(InfluxDBError) as raised:
        client.write_api(write_options=SYNCHRONOUS).write(
            bucket=influxdb.bucket, record="lp_client_refused value=1i 1700000000000000000"
        )
    assert raised.value.response.status == 401


def test_influxql_query_without_credentials_is_refused(influxdb):
    response = requests.get(f"{influxdb.url}/query", params={"q": "SHOW DATABASES"}, timeout=30)
    assert response.status_code == 401


def test_write_to_unknown_bucket_is_rejected(influxdb):
    line = "lp_nowhere value=1i 1700000000000000000"
    response = v2_write(influxdb, line, influxdb.token, bucket="no_such_bucket")
    assert response.status_code == 404, response.text
    assert "no_such_bucket" in response.text  # "database not found" (1.x), "bucket not found" (2.x)


def test_malformed_line_protocol_is_rejected(influxdb):
    response = v2_write(influxdb, "lp_malformed,vehicle_id=v1 speed= 1700000000000000000", influxdb.token)
    assert response.status_code == 400, response.text


def test_data_and_token_survive_a_restart(tmp_path):
    server = InfluxDBServer(tmp_path / "influxdb").start()
    try:
        token = server.token
        response = v2_write(server, "lp_durable,vehicle_id=v9 speed=4.125 1700000000000000000", token)
        assert response.status_code == 204, response.text
        server.restart()
        assert server.token == token
        assert [(r["time"], r["vehicle_id"], r["speed"]) for r in select_rows(server, "lp_durable")] == [
            (1700000000000000000, "v9", 4.125)
        ]
        # A new server object on the same directory finds the same credentials and data.
        server.stop()
        server = InfluxDBServer(tmp_path / "influxdb").start()
        assert server.token == token
        assert len(select_rows(server, "lp_durable")) == 1
    finally:
        server.stop()


def test_flux_query_reads_what_the_v2_api_wrote(influxdb):
    """/api/v2/query runs Flux (libflux is linked in): the same query works on InfluxDB 2.x."""
    lines = "".join(f"lp_flux,vehicle_id=v{i % 2} speed={i}.5 {1700000000 + i}\n" for i in range(5))
    assert v2_write(influxdb, lines, influxdb.token, precision="s").status_code == 204

    query = f'''
        from(bucket: "{influxdb.bucket}")
          |> range(start: 2023-11-14T00:00:00Z, stop: 2023-11-15T00:00:00Z)
          |> filter(fn: (r) => r._measurement == "lp_flux" and r._field == "speed")
          |> sum()
    '''
    with InfluxDBClient(url=influxdb.url, token=influxdb.token, org=influxdb.org) as client:
        tables = client.query_api().query(query)
    sums = {record.values["vehicle_id"]: record.get_value() for table in tables for record in table.records}
    assert sums == {"v0": 0.5 + 2.5 + 4.5, "v1": 1.5 + 3.5}
