"""Kibana cannot run here, so the saved objects (the Buoys and the Rides dashboards) are checked as data:
every object parses, every reference resolves, and every field they use exists with a fitting type in
the mapping that the real local engine (OpenSearch through the shim) reports, for each data view's index
pattern, for documents indexed the way es-indexer (sensor readings, rides) and rides-analytics
(rides-revenue) index them. The import script is run against a recording stand-in of Kibana's two
endpoints it calls."""

from __future__ import annotations

import email.parser
import email.policy
import json
import subprocess
import sys
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from elasticsearch import helpers
from support.processes import ROOT

from es_indexer.indexer import install
from es_indexer.settings import Settings
from es_indexer.targets import RIDES, SENSORS, ride_action
from geostream.rides import price_record
from geostream.sensors import bulk_action
from rides_analytics import search as revenue_search
from rides_analytics.zones import revenue_documents

FILES = ("buoys.ndjson", "rides.ndjson")
NUMERIC = {"float", "double", "half_float", "scaled_float", "long", "integer", "short", "byte"}
KEYWORD = {"keyword", "constant_keyword"}
ANY = None
RIDE_ID = "0b7e7d2c-5c1a-4d8e-9f3a-2a6c1e9d4b01"


def saved_objects(name: str = "buoys.ndjson") -> list[dict]:
    path = ROOT / "kibana" / name
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def all_objects() -> list[dict]:
    return [obj for name in FILES for obj in saved_objects(name)]


def by_type(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["type"] == kind]


def field_uses(objects: list[dict]) -> list[tuple[str, str, str, set[str] | None]]:
    """(where, index pattern, field, accepted types) for every field a saved object names; the index
    pattern is the title of the data view the object reads (or a Vega spec's own index)."""
    titles = {v["id"]: v["attributes"]["title"] for v in by_type(objects, "index-pattern")}
    uses: list[tuple[str, str, str, set[str] | None]] = []
    for view in by_type(objects, "index-pattern"):
        title = view["attributes"]["title"]
        uses.append((view["id"], title, view["attributes"]["timeFieldName"], {"date", "date_nanos"}))
    lens_types = {
        "date_histogram": {"date"},
        "terms": KEYWORD | {"integer", "long", "short", "byte"},
        "average": NUMERIC,
        "sum": NUMERIC,
        "max": NUMERIC,
        "last_value": NUMERIC,
    }
    for lens in by_type(objects, "lens"):
        views = {r["name"]: titles[r["id"]] for r in lens["references"]}
        for layer_id, layer in lens["attributes"]["state"]["datasourceStates"]["formBased"]["layers"].items():
            title = views[f"indexpattern-datasource-layer-{layer_id}"]
            for column in layer["columns"].values():
                if column["operationType"] == "count":
                    assert column["sourceField"] == "___records___"
                    continue
                uses.append((lens["id"], title, column["sourceField"], lens_types[column["operationType"]]))
                if column["operationType"] == "last_value":
                    uses.append((lens["id"], title, column["params"]["sortField"], {"date"}))
    for saved_map in by_type(objects, "map"):
        views = {r["name"]: titles[r["id"]] for r in saved_map["references"]}
        for layer in json.loads(saved_map["attributes"]["layerListJSON"]):
            source = layer["sourceDescriptor"]
            if source["type"] != "ES_SEARCH":
                continue
            where, title = f"{saved_map['id']}/{layer['id']}", views[source["indexPatternRefName"]]
            uses.append((where, title, source["geoField"], {"geo_point"}))
            if "topHitsSplitField" in source:
                uses.append((where, title, source["topHitsSplitField"], KEYWORD))
            if "sortField" in source:
                uses.append((where, title, source["sortField"], {"date"}))
            uses += [(where, title, name, ANY) for name in source["tooltipProperties"]]
            for prop in layer["style"]["properties"].values():
                if prop.get("type") == "DYNAMIC":
                    accepted = NUMERIC if prop["options"].get("type") == "ORDINAL" else ANY
                    uses.append((where, title, prop["options"]["field"]["name"], accepted))
    for vis in by_type(objects, "visualization"):
        state = json.loads(vis["attributes"]["visState"])
        assert state["type"] == "vega"
        spec = json.loads(state["params"]["spec"])
        for data in spec["data"]:
            url = data.get("url")
            if not isinstance(url, dict):
                continue
            title = url["index"]
            uses.append((vis["id"], title, url["%timefield%"], {"date"}))
            aggs = url["body"]["aggs"]["sensors"]
            uses.append((vis["id"], title, aggs["terms"]["field"], KEYWORD))
            top_hits = aggs["aggs"]["latest"]["top_hits"]
            uses += [(vis["id"], title, next(iter(key)), {"date"}) for key in top_hits["sort"]]
            uses += [(vis["id"], title, name, ANY) for name in top_hits["_source"]]
    return uses


EXPECTED_VIEWS = {
    "buoys.ndjson": {"sensor-readings": ("sensor-readings*", "@timestamp")},
    "rides.ndjson": {
        "rides": ("rides*,-rides-revenue*", "ts"),
        "rides-revenue": ("rides-revenue*", "@timestamp"),
    },
}
DASHBOARDS = {"buoys.ndjson": "Buoys", "rides.ndjson": "Rides"}


@pytest.mark.parametrize("name", FILES)
def test_every_object_parses_and_has_a_unique_id(name):
    objects = saved_objects(name)
    assert len({(o["type"], o["id"]) for o in objects}) == len(objects)
    for obj in objects:
        for key, value in obj["attributes"].items():
            if key.endswith("JSON"):
                json.loads(value)
    views = {
        v["id"]: (v["attributes"]["title"], v["attributes"]["timeFieldName"])
        for v in by_type(objects, "index-pattern")
    }
    assert views == EXPECTED_VIEWS[name]
    (board,) = by_type(objects, "dashboard")
    assert board["attributes"]["title"] == DASHBOARDS[name]


def test_ids_are_unique_across_files():
    objects = all_objects()
    assert len({(o["type"], o["id"]) for o in objects}) == len(objects)


def test_the_rides_dashboard_has_the_panels_the_issue_asks_for():
    objects = {o["id"]: o for o in saved_objects("rides.ndjson")}
    board = objects["rides-dashboard"]
    panels = {ref["id"] for ref in board["references"]}
    assert panels == {
        "rides-per-minute",
        "rides-average-distance",
        "rides-average-price",
        "rides-by-comfort",
        "rides-map",
        "rides-revenue-by-comfort",
        "rides-revenue-by-zone",
    }
    # rides-analytics runs hourly: the zone panel looks a day back whatever the dashboard's range.
    by_ref = {ref["name"].split(":", 1)[1]: ref["id"] for ref in board["references"]}
    ranges = {
        by_ref[panel["panelRefName"]]: panel["embeddableConfig"].get("timeRange")
        for panel in json.loads(board["attributes"]["panelsJSON"])
    }
    assert ranges.pop("rides-revenue-by-zone") == {"from": "now-24h", "to": "now"}
    assert set(ranges.values()) == {None}
    layers = json.loads(objects["rides-map"]["attributes"]["layerListJSON"])
    assert {layer["sourceDescriptor"].get("geoField") for layer in layers} == {None, "origin", "destination"}
    per_minute = objects["rides-per-minute"]["attributes"]["state"]["datasourceStates"]["formBased"]
    (layer,) = per_minute["layers"].values()
    assert layer["columns"]["minute"]["params"]["interval"] == "1m"


def accessors(visualization_type: str, visualization: dict) -> list[tuple[str, list[str]]]:
    """(layer id, the column ids it shows) for the Lens visualization types these files use."""
    if visualization_type == "lnsXY":
        return [
            (
                layer["layerId"],
                [layer["xAccessor"], *layer["accessors"], *filter(None, [layer.get("splitAccessor")])],
            )
            for layer in visualization["layers"]
        ]
    if visualization_type == "lnsMetric":
        return [(visualization["layerId"], [visualization["metricAccessor"]])]
    if visualization_type == "lnsPie":
        return [
            (layer["layerId"], [*layer["primaryGroups"], *layer["metrics"]])
            for layer in visualization["layers"]
        ]
    raise AssertionError(f"unexpected Lens visualization {visualization_type}")


@pytest.mark.parametrize("name", FILES)
def test_every_reference_resolves(name):
    objects = saved_objects(name)
    ids = {(o["type"], o["id"]) for o in objects}
    for obj in objects:
        names = [ref["name"] for ref in obj["references"]]
        assert len(names) == len(set(names)), obj["id"]
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in ids, f"{obj['id']}: {ref} points nowhere"
    (board,) = by_type(objects, "dashboard")
    panel_refs = {p["panelRefName"] for p in json.loads(board["attributes"]["panelsJSON"])}
    assert panel_refs == {ref["name"].split(":", 1)[1] for ref in board["references"]}
    assert {ref["type"] for ref in board["references"]} <= {"lens", "map", "visualization"}
    for lens in by_type(objects, "lens"):
        attributes = lens["attributes"]
        layers = attributes["state"]["datasourceStates"]["formBased"]["layers"]
        for layer_id in layers:
            assert f"indexpattern-datasource-layer-{layer_id}" in {r["name"] for r in lens["references"]}
        for layer_id, shown in accessors(
            attributes["visualizationType"], attributes["state"]["visualization"]
        ):
            columns = layers[layer_id]["columns"]
            assert shown and all(column in columns for column in shown), lens["id"]
            assert set(layers[layer_id]["columnOrder"]) == set(columns)
    for saved_map in by_type(objects, "map"):
        ref_names = {r["name"] for r in saved_map["references"]}
        for layer in json.loads(saved_map["attributes"]["layerListJSON"]):
            ref = layer["sourceDescriptor"].get("indexPatternRefName")
            assert ref is None or ref in ref_names


@pytest.mark.parametrize("name", FILES)
def test_the_ndjson_is_what_the_builder_writes(name):
    sys.path.insert(0, str(ROOT / "kibana"))
    try:
        import build_saved_objects
    finally:
        sys.path.remove(str(ROOT / "kibana"))
    assert build_saved_objects.render(name) == (ROOT / "kibana" / name).read_text(encoding="utf-8")


def a_ride() -> dict:
    raw = {
        "ride_id": RIDE_ID,
        "ts": "2026-12-01T08:15:30.250Z",
        "origin": {"lat": 40.758, "lon": -73.9855},
        "destination": {"lat": 40.6413, "lon": -73.7781},
        "comfort": "high",
        "duration_min": 35.0,
        "price_base": 5.0,
        "price_per_km": 2.1,
        "price_per_min": 0.5,
    }
    return price_record(json.dumps(raw)).result


@pytest.fixture
def engine_mapping(es):
    """Documents indexed as es-indexer (readings, rides) and rides-analytics (revenue) index them; then a
    function: index pattern -> (the indices it matches, field -> type), as the engine reports them."""
    install(es, Settings(), [SENSORS, RIDES])
    record = {
        "timestamp": "2024-01-21T10:06:04.095931Z",
        "temperature": 20.9,
        "humidity": 59.22,
        "pressure": 1001.87,
        "sensor_id": "kibana-check-1",
        "location": {"lon": 3.185785, "lat": 42.488629},
    }
    actions = [bulk_action(record), ride_action(a_ride())]
    helpers.bulk(es, actions, raise_on_error=False, refresh=True)
    assert es.count(index="sensor-readings", query={"term": {"sensor_id": "kibana-check-1"}})["count"] == 1
    assert es.count(index="rides", query={"ids": {"values": [RIDE_ID]}})["count"] == 1
    rows = [
        {
            "cluster_id": 3,
            "comfort": "high",
            "revenue": 1234.5,
            "rides": 42,
            "centroid_lat": 40.75,
            "centroid_lon": -73.98,
        }
    ]
    revenue_search.index_revenue(es, revenue_documents(rows, datetime(2026, 12, 1, 9, tzinfo=UTC)))

    def mapping(pattern: str) -> tuple[set[str], dict[str, str]]:
        answer = es.indices.get_mapping(index=pattern)
        types: dict[str, str] = {}
        for index in answer.values():
            for name, spec in index["mappings"]["properties"].items():
                assert types.setdefault(name, spec["type"]) == spec["type"], f"{pattern}: {name} conflicts"
        return set(answer), types

    return mapping


def test_every_field_exists_with_a_fitting_type_in_the_engines_mapping(engine_mapping):
    uses = field_uses(all_objects())
    assert len(uses) > 40
    checked: dict[str, dict[str, str]] = {}
    for where, pattern, name, accepted in uses:
        if pattern not in checked:
            checked[pattern] = engine_mapping(pattern)[1]
        types = checked[pattern]
        assert name in types, f"{where}: field {name!r} is not in the mapping of {pattern}"
        if accepted is not None:
            assert types[name] in accepted, f"{where}: {name} is {types[name]} in {pattern}"
    assert set(checked) == {"sensor-readings*", "rides*,-rides-revenue*", "rides-revenue*"}


def test_the_rides_view_reads_the_rides_index_only(engine_mapping):
    indices, types = engine_mapping("rides*,-rides-revenue*")
    assert indices == {"rides"}
    assert "revenue" not in types and "ts" in types
    assert engine_mapping("rides-revenue*")[0] == {"rides-revenue"}


class KibanaStandIn:
    """Records what the import script sends to ``/api/status`` and ``/api/saved_objects/_import``."""

    def __init__(self, available_after: int = 2):
        self.requests: list[dict] = []
        self.status_calls = 0
        self.files = [ROOT / "kibana" / name for name in FILES]
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stand_in.status_calls += 1
                level = "available" if stand_in.status_calls > available_after else "unavailable"
                self._reply({"status": {"overall": {"level": level}}})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stand_in.requests.append({"path": self.path, "headers": self.headers, "body": body})
                if self.path.startswith("/_security/"):
                    self._reply({})
                    return
                count = sum(1 for line in stand_in.files.pop(0).read_text().splitlines() if line.strip())
                self._reply({"success": True, "successCount": count})

            def _reply(self, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


def test_the_import_script_waits_for_kibana_then_imports_with_overwrite():
    kibana = KibanaStandIn(available_after=1)
    try:
        result = subprocess.run(
            [sys.executable, str(ROOT / "kibana/import_saved_objects.py")],
            env={
                "KIBANA_URL": kibana.url,
                "KIBANA_PASSWORD": "s3cret",
                "KIBANA_WAIT_S": "60",
                "ELASTICSEARCH_URL": kibana.url,  # the stand-in answers for both
                "KIBANA_SYSTEM_PASSWORD": "k1bana",
            },
            capture_output=True,
            timeout=120,
            check=False,
        )
    finally:
        kibana.server.shutdown()
    assert result.returncode == 0, result.stderr
    assert kibana.status_calls >= 2
    password, *imports = kibana.requests
    assert password["path"] == "/_security/user/kibana_system/_password"
    assert json.loads(password["body"]) == {"password": "k1bana"}
    assert len(imports) == len(FILES)  # one import per file: buoys, then rides
    for sent, name in zip(imports, FILES, strict=True):
        assert sent["path"] == "/api/saved_objects/_import?overwrite=true"
        assert sent["headers"]["kbn-xsrf"]
        assert sent["headers"]["Authorization"] == "Basic ZWxhc3RpYzpzM2NyZXQ="  # elastic:s3cret
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + sent["headers"]["Content-Type"].encode() + b"\r\n\r\n" + sent["body"]
        )
        (part,) = message.iter_parts()
        assert part.get_param("name", header="content-disposition") == "file"
        assert part.get_filename() == name
        assert part.get_payload(decode=True) == (ROOT / "kibana" / name).read_bytes()


def vega_specs() -> list[tuple[str, dict]]:
    return [
        (vis["id"], json.loads(json.loads(vis["attributes"]["visState"])["params"]["spec"]))
        for vis in by_type(all_objects(), "visualization")
    ]


def test_every_vega_panel_renders_the_engines_answer(engine_mapping, es):
    """Each Vega panel is given what the engine answers to its query (Kibana adds only the time filter)
    and rendered by Vega itself: a spec error, an expression Vega rejects or a field path that finds
    nothing shows here, not first in a user's Kibana."""
    import vl_convert

    specs = vega_specs()
    assert specs
    for vis_id, spec in specs:
        for data in spec["data"]:
            url = data.pop("url", None)
            if isinstance(url, dict):
                answer = es.search(index=url["index"], body=url["body"]).body
                data["values"] = answer
        svg = vl_convert.vega_to_svg(spec)
        for shown in ("kibana-check-1", "2024-01-21 10:06:04", "20.90", "59.22", "1001.87"):
            assert shown in svg, f"{vis_id}: {shown!r} is not drawn"
