"""Grafana cannot run here, so its provisioning is checked the two ways that can fail here:

1. statically: every dashboard decodes into the typed Grafana schema (grafana-foundation-sdk) without
   losing a key, every datasource uid and variable reference resolves, the provider locks UI edits;
2. for real: every panel query and alert query, with variables and time range substituted as Grafana
   would, runs on the real local InfluxDB loaded with known points, and gives the expected numbers.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
import requests
import yaml
from grafana_queries import (
    BUILTINS,
    PROVISIONING,
    alert_rules,
    dashboards,
    datasources,
    panel_targets,
    render,
    variables_used,
)

DATASOURCE_UIDS = {ds["uid"] for ds in datasources()}


def assert_subset(source: Any, decoded: Any, path: str = "") -> None:
    """Every key and value of ``source`` is kept by the typed model (an unknown or misspelled key is not)."""
    if isinstance(source, dict):
        assert isinstance(decoded, dict), f"{path}: decoded as {type(decoded).__name__}"
        for key, value in source.items():
            assert key in decoded, f"{path}.{key}: not in Grafana's schema"
            assert_subset(value, decoded[key], f"{path}.{key}")
    elif isinstance(source, list):
        assert isinstance(decoded, list) and len(decoded) == len(source), f"{path}: list changed"
        for i, (a, b) in enumerate(zip(source, decoded, strict=True)):
            assert_subset(a, b, f"{path}[{i}]")
    else:
        assert source == decoded, f"{path}: {source!r} became {decoded!r}"


@pytest.mark.parametrize("name", sorted(dashboards()))
def test_dashboard_decodes_into_grafanas_typed_schema(name):
    from grafana_foundation_sdk.cog import plugins
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models.dashboard import Dashboard

    plugins.register_default_plugins()
    source = dashboards()[name]
    model = Dashboard.from_json(source)
    for panel in model.panels:
        assert not isinstance(panel.options, dict), (
            f"{panel.title}: panel type {panel.type} unknown to Grafana"
        )
    assert_subset(source, json.loads(json.dumps(model, cls=JSONEncoder)), name)


@pytest.mark.parametrize("name", sorted(dashboards()))
def test_references_resolve(name):
    dashboard = dashboards()[name]
    defined = {v["name"] for v in dashboard["templating"]["list"]}
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            assert variable["datasource"]["uid"] in DATASOURCE_UIDS
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for panel, target in panel_targets(dashboard):
        assert (
            panel["datasource"]["uid"] in DATASOURCE_UIDS and target["datasource"]["uid"] in DATASOURCE_UIDS
        )
        texts = [target["query"], target.get("alias", ""), panel.get("description", "")]
        used = set().union(*(variables_used(t) for t in texts))
        unknown = {v for v in used - defined - BUILTINS if not v.startswith("tag_")}
        assert not unknown, f"{panel['title']}: undefined variables {unknown}"


def test_provider_locks_ui_edits_and_alerts_use_the_datasource():
    providers = yaml.safe_load((PROVISIONING / "dashboards/dashboards.yaml").read_text())["providers"]
    assert all(p["allowUiUpdates"] is False for p in providers)
    assert [ds["uid"] for ds in datasources()] == ["influxdb"]
    assert "${INFLUXDB_TOKEN}" in datasources()[0]["secureJsonData"]["httpHeaderValue1"]
    uids = [rule["uid"] for rule in alert_rules()]
    assert sorted(uids) == ["device-silent", "weather-no-data"]
    for rule in alert_rules():
        refs = {d["refId"] for d in rule["data"]}
        assert rule["condition"] in refs
        for step in rule["data"]:
            assert step["datasourceUid"] in DATASOURCE_UIDS | {"__expr__"}
            assert step["model"].get("expression", "A") in refs


# ---- every query, executed on the real InfluxDB ----

NOW_NS = time.time_ns()
MIN = 60 * 10**9
CITIES = {"Paris": ("FR", "sim-fr-paris"), "London": ("GB", "sim-gb-london"), "Oslo": ("NO", "sim-no-oslo")}


def weather_line(city: str, minutes_ago: float, temperature: float, rain: int = 0, storm: int = 0) -> str:
    country, station = CITIES[city]
    return (
        f"weather,city={city},country={country},data_origin=simulated,station_id={station} "
        f"temperature={temperature},humidity=70.5,wind_speed=12.0,precipitation={1.5 if rain else 0.0},"
        f"next_hour_temp={temperature + 1},next_hour_precip=0.0,is_rain={rain}i,is_storm={storm}i "
        f"{NOW_NS - int(minutes_ago * MIN)}"
    )


def vehicle_line(vehicle: str, source: str, minutes_ago: float, speed: float) -> str:
    return (
        f"vehicle_telemetry,source={source},vehicle_id={vehicle} lon=2.35,lat=48.85,speed={speed} "
        f"{NOW_NS - int(minutes_ago * MIN)}"
    )


# Two replicas' /metrics as Telegraf's prometheus input (metric_version 2) stores them: measurement
# "prometheus", one field per metric, the labels and "url" as tags (test_telegraf_scrapes_services.py).
INGEST_URL = "http://http-ingest:5000/metrics"
BRIDGE_URL = "http://mqtt-bridge:8090/metrics"
RELAY_URL = "http://ws-relay:8082/metrics?format=prometheus"
MINUTE_START_NS = NOW_NS // MIN * MIN
TAG_SPECIAL = re.compile(r"([,= ])")  # escaped in a line-protocol tag value


def scrape_line(field: str, value: float, url: str, minutes_ago: int, **labels: str) -> str:
    """A scrape ``minutes_ago`` minutes before the current one, as far into its minute as now is halfway into
    the current minute: each in its own GROUP BY time(1m) bucket, none in the future."""
    escaped = {k: TAG_SPECIAL.sub(r"\\\1", v) for k, v in {**labels, "url": url}.items()}
    tags = "".join(f",{k}={v}" for k, v in sorted(escaped.items()))
    at = MINUTE_START_NS - minutes_ago * MIN + (NOW_NS - MINUTE_START_NS) // 2
    return f"prometheus{tags} {field}={value} {at}"


def scrapes(field: str, url: str, values: list[float], **labels: str) -> list[str]:
    """One scrape a minute, the last in the current minute."""
    n = len(values)
    return [scrape_line(field, v, url, n - 1 - i, **labels) for i, v in enumerate(values)]


def prometheus_lines() -> list[str]:
    return [
        # 60 then 120 more points a minute: 1 and 2 points/s.
        *scrapes("http_ingest_points_accepted_total", INGEST_URL, [100, 160, 280], endpoint="location"),
        # mqtt-bridge restarted in the last minute (its counter went back to 5): no negative rate.
        *scrapes("mqtt_bridge_points_accepted_total", BRIDGE_URL, [50, 110, 5]),
        *scrapes("http_ingest_rejected_total", INGEST_URL, [0, 6, 12], endpoint="location",
                 reason="invalid_json"),
        *scrapes("mqtt_bridge_messages_rejected_total", BRIDGE_URL, [1, 4], reason="contract"),
        *scrapes("http_ingest_kafka_errors_total", INGEST_URL, [0, 30], endpoint="location"),
        # ws-relay is 5 + 7 records behind now; 1000 behind on partition 0 twenty minutes ago.
        scrape_line("kafka_consumer_lag", 1000, RELAY_URL, 20, consumer="ws-relay", partition="0",
                    topic="websocket_updates_topic"),
        scrape_line("kafka_consumer_lag", 5, RELAY_URL, 0, consumer="ws-relay", partition="0",
                    topic="websocket_updates_topic"),
        scrape_line("kafka_consumer_lag", 7, RELAY_URL, 0, consumer="ws-relay", partition="1",
                    topic="websocket_updates_topic"),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """An InfluxDB of its own: the panels count everything in the bucket, other tests included."""
    from localservers.influxdb import InfluxDBServer

    # "Now" is when the points are written, not when the module was imported (other modules may run first).
    global NOW_NS, MINUTE_START_NS  # noqa: PLW0603
    with InfluxDBServer(tmp_path_factory.mktemp("grafana-influxdb")) as influxdb:
        NOW_NS = time.time_ns()
        MINUTE_START_NS = NOW_NS // MIN * MIN
        yield load(influxdb)


def load(influxdb):
    lines = [
        weather_line("Paris", 30, 20.0),
        weather_line("Paris", 0.2, 22.0, rain=1, storm=1),
        weather_line("London", 10, 14.0, rain=1),
        weather_line("London", 0.3, 15.0),
        weather_line("Oslo", 0.1, 3.0),
        # truck-1 and bus-2 report now; van-3 went silent 30 minutes ago.
        *(vehicle_line("truck-1", "mqtt", m, 10.0) for m in (0.5, 1.5, 2.5)),
        *(vehicle_line("bus-2", "http", m, 20.0) for m in (0.2, 1.2)),
        *(vehicle_line("van-3", "owntracks", m, 5.0) for m in (30.0, 31.0)),
        *prometheus_lines(),
    ]
    response = requests.post(
        f"{influxdb.url}/api/v2/write",
        params={"org": influxdb.org, "bucket": influxdb.bucket, "precision": "ns"},
        headers={"Authorization": f"Token {influxdb.token}"},
        data="\n".join(lines),
        timeout=30,
    )
    assert response.status_code == 204, response.text
    return influxdb


def run(influxdb, query: str) -> list[dict[str, Any]]:
    result = influxdb.influxql(query, database=influxdb.bucket)["results"][0]
    return result.get("series", [])


def single_value(series: list[dict[str, Any]]) -> Any:
    assert len(series) == 1 and len(series[0]["values"]) == 1, series
    return series[0]["values"][0][1]


def by_tag(series: list[dict[str, Any]], tag: str) -> dict[str, list[list[Any]]]:
    return {s["tags"][tag]: s["values"] for s in series}


WEATHER_VARS = {"city": ["Paris", "London"]}
FLEET_VARS = {"vehicle": ["$__all"], "silence": "5m"}
VARIABLES = {"weather": WEATHER_VARS, "fleet": FLEET_VARS, "pipeline": {}}


def panel_query(dashboard: str, title: str, ref: str = "A", variables=None) -> str:
    board = dashboards()[dashboard]
    for panel, target in panel_targets(board):
        if panel["title"] == title and target["refId"] == ref:
            return render(target["query"], variables or {})
    raise KeyError(title)


def test_every_panel_query_runs(loaded):
    for name, board in dashboards().items():
        variables = VARIABLES[name]
        for _panel, target in panel_targets(board):
            run(loaded, render(target["query"], variables))  # raises on an InfluxQL error
        for variable in board["templating"]["list"]:
            if variable["type"] == "query":
                assert run(loaded, variable["query"]), variable["name"]


def test_weather_panels_give_the_expected_numbers(loaded):
    q = lambda title, ref="A": run(loaded, panel_query("weather", title, ref, WEATHER_VARS))  # noqa: E731
    assert single_value(q("Messages in the last minute")) == 2  # Paris and London now; Oslo not selected
    newest = q("Age of the last measurement")[0]["values"][-1][0]
    assert newest == NOW_NS - int(0.2 * MIN)  # Paris's newest point: Grafana shows its age
    raining = {city: values[-1][1] for city, values in by_tag(q("Raining now"), "city").items()}
    assert raining == {"Paris": 1, "London": 0}
    assert {c: v[-1][1] for c, v in by_tag(q("Storm now"), "city").items()} == {"Paris": 1, "London": 0}
    temperature = by_tag(q("Temperature"), "city")
    assert sorted(v for _, v in temperature["Paris"]) == [20.0, 22.0]
    assert set(temperature) == {"Paris", "London"}
    assert max(v for _, v in by_tag(q("Rain and storm", "B"), "city")["London"]) == 0
    table = q("Debug: latest messages")[0]
    assert table["columns"][0] == "time" and len(table["values"]) == 4
    assert table["values"][0][table["columns"].index("city")] == "Paris"  # newest first


def test_fleet_panels_give_the_expected_numbers(loaded):
    q = lambda title: run(loaded, panel_query("fleet", title, variables=FLEET_VARS))  # noqa: E731
    assert single_value(q("Vehicles online")) == 2
    assert single_value(q("Vehicles offline")) == 1
    last_seen = {s["tags"]["vehicle_id"] for s in q("Last seen")}
    assert last_seen == {"truck-1", "bus-2", "van-3"}
    speeds = by_tag(q("Speed by vehicle"), "vehicle_id")
    assert {v for _, v in speeds["bus-2"]} == {72.0}  # 20 m/s in km/h
    per_source = {
        src: sum(v for _, v in values)
        for src, values in by_tag(q("Points per minute by source"), "source").items()
    }
    assert per_source == {"mqtt": 3, "http": 2, "owntracks": 2}
    histogram = q("Speed distribution")[0]["values"]
    assert sorted(v for _, v in histogram) == [18.0, 18.0, 36.0, 36.0, 36.0, 72.0, 72.0]


def test_pipeline_panels_give_the_expected_numbers(loaded):
    q = lambda title, ref="A": run(loaded, panel_query("pipeline", title, ref, {}))  # noqa: E731
    assert q("Age of the newest point")[0]["values"][-1][0] == NOW_NS - int(0.2 * MIN)  # bus-2's
    assert single_value(q("Stored points per second")) == pytest.approx(5 / 300)  # truck-1's 3, bus-2's 2
    assert single_value(q("Consumer lag now")) == 12  # both partitions' last value, the old one not

    def rates(title: str, ref: str, tag: str | None = None) -> dict[str, list[float]]:
        return {
            s["tags"][tag] if tag else s["tags"]["url"]: [v for _, v in s["values"]] for s in q(title, ref)
        }

    assert rates("Ingest rate", "A", "endpoint") == {"location": [1.0, 2.0]}
    assert rates("Ingest rate", "B") == {BRIDGE_URL: [1.0]}  # the restart gives no rate, not a negative one
    assert q("Ingest rate", "C") == []  # no udp-ingest in the data
    assert rates("Rejected and dead-lettered by reason", "A", "reason") == {"invalid_json": [0.1, 0.1]}
    assert rates("Rejected and dead-lettered by reason", "B", "reason") == {"contract": [0.05]}
    assert rates("Kafka errors", "A", "endpoint") == {"location": [0.5]}
    lag = q("Consumer lag")
    assert [(s["tags"]["consumer"], s["tags"]["topic"]) for s in lag] == [
        ("ws-relay", "websocket_updates_topic")
    ]
    assert [v for _, v in lag[0]["values"]] == [1000, 12]


def test_alert_queries_fire_exactly_where_they_should(loaded):
    rules = {rule["uid"]: rule for rule in alert_rules()}
    weather = run(loaded, rules["weather-no-data"]["data"][0]["model"]["query"])
    assert single_value(weather) == 3  # the three points of the last 10 min: the rule stays quiet (< 1)
    silent = {
        s["tags"]["vehicle_id"]: s["values"][-1][1]
        for s in run(loaded, rules["device-silent"]["data"][0]["model"]["query"])
    }
    assert silent == {"van-3": 0, "truck-1": 0.3, "bus-2": 0.2}  # points per minute over the last 10
