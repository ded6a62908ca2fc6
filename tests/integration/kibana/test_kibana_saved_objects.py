"""Kibana cannot run here, so the Buoys saved objects are checked as data: every object parses, every
reference resolves, and every field they use exists with a fitting type in the mapping that the real
local engine (OpenSearch through the shim) reports for documents indexed the way es-indexer indexes them.
The import script is run against a recording stand-in of Kibana's two endpoints it calls."""

from __future__ import annotations

import email.parser
import email.policy
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from elasticsearch import helpers
from support.processes import ROOT

from es_indexer.indexer import install
from es_indexer.settings import Settings
from es_indexer.targets import SENSORS
from geostream.sensors import bulk_action

NDJSON = ROOT / "kibana" / "buoys.ndjson"
NUMERIC = {"float", "double", "half_float", "scaled_float", "long", "integer", "short", "byte"}
KEYWORD = {"keyword", "constant_keyword"}
ANY = None


def saved_objects() -> list[dict]:
    return [json.loads(line) for line in NDJSON.read_text(encoding="utf-8").splitlines() if line.strip()]


def by_type(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["type"] == kind]


def field_uses(objects: list[dict]) -> list[tuple[str, str, set[str] | None]]:
    """(where, field, accepted types) for every field a saved object names."""
    uses: list[tuple[str, str, set[str] | None]] = []
    for view in by_type(objects, "index-pattern"):
        uses.append((view["id"], view["attributes"]["timeFieldName"], {"date", "date_nanos"}))
    lens_types = {"date_histogram": {"date"}, "terms": KEYWORD, "average": NUMERIC, "max": NUMERIC}
    for lens in by_type(objects, "lens"):
        for layer in lens["attributes"]["state"]["datasourceStates"]["formBased"]["layers"].values():
            for column in layer["columns"].values():
                uses.append((lens["id"], column["sourceField"], lens_types[column["operationType"]]))
    for saved_map in by_type(objects, "map"):
        for layer in json.loads(saved_map["attributes"]["layerListJSON"]):
            source = layer["sourceDescriptor"]
            if source["type"] != "ES_SEARCH":
                continue
            where = f"{saved_map['id']}/{layer['id']}"
            uses += [
                (where, source["geoField"], {"geo_point"}),
                (where, source["topHitsSplitField"], KEYWORD),
                (where, source["sortField"], {"date"}),
            ]
            uses += [(where, name, ANY) for name in source["tooltipProperties"]]
            for prop in layer["style"]["properties"].values():
                if prop.get("type") == "DYNAMIC":
                    accepted = NUMERIC if prop["options"].get("type") == "ORDINAL" else ANY
                    uses.append((where, prop["options"]["field"]["name"], accepted))
    for vis in by_type(objects, "visualization"):
        state = json.loads(vis["attributes"]["visState"])
        assert state["type"] == "vega"
        spec = json.loads(state["params"]["spec"])
        for data in spec["data"]:
            url = data.get("url")
            if not isinstance(url, dict):
                continue
            uses.append((vis["id"], url["%timefield%"], {"date"}))
            aggs = url["body"]["aggs"]["sensors"]
            uses.append((vis["id"], aggs["terms"]["field"], KEYWORD))
            top_hits = aggs["aggs"]["latest"]["top_hits"]
            uses += [(vis["id"], next(iter(key)), {"date"}) for key in top_hits["sort"]]
            uses += [(vis["id"], name, ANY) for name in top_hits["_source"]]
    return uses


def test_every_object_parses_and_has_a_unique_id():
    objects = saved_objects()
    assert [o["type"] for o in objects].count("index-pattern") == 1
    assert len({(o["type"], o["id"]) for o in objects}) == len(objects)
    for obj in objects:
        for key, value in obj["attributes"].items():
            if key.endswith("JSON"):
                json.loads(value)
    (view,) = by_type(objects, "index-pattern")
    assert view["attributes"]["title"] == "sensor-readings*"
    assert view["attributes"]["timeFieldName"] == "@timestamp"
    (board,) = by_type(objects, "dashboard")
    assert board["attributes"]["title"] == "Buoys"


def test_every_reference_resolves():
    objects = saved_objects()
    ids = {(o["type"], o["id"]) for o in objects}
    for obj in objects:
        names = [ref["name"] for ref in obj["references"]]
        assert len(names) == len(set(names)), obj["id"]
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in ids, f"{obj['id']}: {ref} points nowhere"
    (board,) = by_type(objects, "dashboard")
    panel_refs = {p["panelRefName"] for p in json.loads(board["attributes"]["panelsJSON"])}
    assert panel_refs == {ref["name"].split(":", 1)[1] for ref in board["references"]}
    assert {ref["type"] for ref in board["references"]} == {"lens", "map", "visualization"}
    for lens in by_type(objects, "lens"):
        layers = lens["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
        for layer_id in layers:
            assert f"indexpattern-datasource-layer-{layer_id}" in {r["name"] for r in lens["references"]}
        for vis_layer in lens["attributes"]["state"]["visualization"]["layers"]:
            columns = layers[vis_layer["layerId"]]["columns"]
            for accessor in (vis_layer["xAccessor"], vis_layer["splitAccessor"], *vis_layer["accessors"]):
                assert accessor in columns
    for saved_map in by_type(objects, "map"):
        ref_names = {r["name"] for r in saved_map["references"]}
        for layer in json.loads(saved_map["attributes"]["layerListJSON"]):
            ref = layer["sourceDescriptor"].get("indexPatternRefName")
            assert ref is None or ref in ref_names


def test_the_ndjson_is_what_the_builder_writes():
    sys.path.insert(0, str(ROOT / "kibana"))
    try:
        import build_saved_objects
    finally:
        sys.path.remove(str(ROOT / "kibana"))
    assert build_saved_objects.render() == NDJSON.read_text(encoding="utf-8")


@pytest.fixture
def indexed_mapping(es) -> dict[str, str]:
    """Readings indexed as es-indexer indexes them; the field types the engine reports for them."""
    install(es, Settings(), [SENSORS])
    record = {
        "timestamp": "2024-01-21T10:06:04.095931Z",
        "temperature": 20.9,
        "humidity": 59.22,
        "pressure": 1001.87,
        "sensor_id": "kibana-check-1",
        "location": {"lon": 3.185785, "lat": 42.488629},
    }
    helpers.bulk(es, [bulk_action(record)], raise_on_error=False, refresh=True)
    assert es.count(index="sensor-readings", query={"term": {"sensor_id": "kibana-check-1"}})["count"] == 1
    mappings = es.indices.get_mapping(index="sensor-readings*")
    types: dict[str, str] = {}
    for index in mappings.values():
        for name, spec in index["mappings"]["properties"].items():
            types[name] = spec["type"]
    return types


def test_every_field_exists_with_a_fitting_type_in_the_engines_mapping(indexed_mapping):
    uses = field_uses(saved_objects())
    assert len(uses) > 15
    for where, name, accepted in uses:
        assert name in indexed_mapping, f"{where}: field {name!r} is not in the index mapping"
        if accepted is not None:
            assert indexed_mapping[name] in accepted, f"{where}: {name} is {indexed_mapping[name]}"


class KibanaStandIn:
    """Records what the import script sends to ``/api/status`` and ``/api/saved_objects/_import``."""

    def __init__(self, available_after: int = 2):
        self.requests: list[dict] = []
        self.status_calls = 0
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
                count = sum(1 for line in NDJSON.read_text().splitlines() if line.strip())
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
    password, sent = kibana.requests
    assert password["path"] == "/_security/user/kibana_system/_password"
    assert json.loads(password["body"]) == {"password": "k1bana"}
    assert sent["path"] == "/api/saved_objects/_import?overwrite=true"
    assert sent["headers"]["kbn-xsrf"]
    assert sent["headers"]["Authorization"] == "Basic ZWxhc3RpYzpzM2NyZXQ="  # elastic:s3cret
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + sent["headers"]["Content-Type"].encode() + b"\r\n\r\n" + sent["body"]
    )
    (part,) = message.iter_parts()
    assert part.get_param("name", header="content-disposition") == "file"
    payload = part.get_payload(decode=True)
    assert payload == NDJSON.read_bytes()
