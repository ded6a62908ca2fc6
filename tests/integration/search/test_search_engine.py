"""What the project's search indexing relies on, against a real engine with the official 8.x client.

The engine is OpenSearch 2.19 (Elasticsearch cannot be installed here), reached through the test-only
shim; tests/SEARCH_ENGINE.md says what this does and does not prove about Elasticsearch 8.
"""

from __future__ import annotations

import uuid

import pytest
from elasticsearch import Elasticsearch, helpers

PLACES = {  # (lon, lat)
    "aberdeen": (-2.0943, 57.1497),
    "edinburgh": (-3.1883, 55.9533),
    "north-sea-rig": (1.1543, 56.74),
    "london": (-0.1276, 51.5072),
    "paris": (2.3522, 48.8566),
}
T0 = 1_693_564_800_000  # 2023-09-01T10:40:00Z, epoch ms

POSITION_MAPPINGS = {
    "dynamic": "strict",
    "properties": {
        "vehicle_id": {"type": "keyword"},
        "source": {"type": "keyword"},
        "ts": {"type": "date", "format": "epoch_millis"},
        "speed": {"type": "float"},
        "location": {"type": "geo_point"},
    },
}
# OpenSearch says mapper_parsing_exception where Elasticsearch 8.8+ says document_parsing_exception.
PARSING_ERRORS = {
    "mapper_parsing_exception",
    "document_parsing_exception",
    "strict_dynamic_mapping_exception",
}


@pytest.fixture
def positions_index(es: Elasticsearch):
    """A composable index template for ``<prefix>-*``, and the name of an index it will shape."""
    prefix = f"positions-{uuid.uuid4().hex[:12]}"
    es.indices.put_index_template(
        name=prefix,
        index_patterns=[f"{prefix}-*"],
        priority=500,
        template={
            "settings": {"number_of_shards": 1, "number_of_replicas": 0},
            "mappings": POSITION_MAPPINGS,
        },
    )
    yield f"{prefix}-2023.09"
    es.indices.delete(index=f"{prefix}-*", allow_no_indices=True)
    es.indices.delete_index_template(name=prefix)


def position_actions(index: str, speed_offset: float = 0.0) -> list[dict]:
    return [
        {
            "_index": index,
            "_id": f"{name}-{T0 + i * 60_000}",
            "vehicle_id": name,
            "source": "mqtt" if i % 2 else "http",
            "ts": T0 + i * 60_000,
            "speed": 10.0 + i + speed_offset,
            "location": {"lon": lon, "lat": lat},
        }
        for i, (name, (lon, lat)) in enumerate(PLACES.items())
    ]


def test_the_template_shapes_the_index_and_the_engine_reports_that_mapping(
    es: Elasticsearch, positions_index: str
) -> None:
    helpers.bulk(es, position_actions(positions_index), refresh="wait_for")

    mapping = es.indices.get_mapping(index=positions_index)[positions_index]["mappings"]

    assert mapping == POSITION_MAPPINGS
    template = es.indices.get_index_template(name=positions_index.rsplit("-", 1)[0])
    assert template["index_templates"][0]["index_template"]["template"]["mappings"] == POSITION_MAPPINGS


def test_bulk_with_explicit_ids_is_idempotent(es: Elasticsearch, positions_index: str) -> None:
    first = position_actions(positions_index)
    indexed, errors = helpers.bulk(es, first, refresh="wait_for")
    assert (indexed, errors) == (len(PLACES), [])

    again, errors = helpers.bulk(es, position_actions(positions_index, speed_offset=0.5), refresh="wait_for")

    assert (again, errors) == (len(PLACES), [])
    assert es.count(index=positions_index)["count"] == len(PLACES)
    stored = es.get(index=positions_index, id=first[0]["_id"])
    assert stored["_version"] == 2
    assert stored["_source"]["speed"] == first[0]["speed"] + 0.5


def test_geo_distance_finds_the_document_near_a_point(es: Elasticsearch, positions_index: str) -> None:
    helpers.bulk(es, position_actions(positions_index), refresh="wait_for")
    lon, lat = PLACES["edinburgh"]

    near = es.search(
        index=positions_index,
        query={"geo_distance": {"distance": "20km", "location": {"lon": lon + 0.05, "lat": lat + 0.05}}},
    )
    by_distance = es.search(
        index=positions_index,
        sort=[{"_geo_distance": {"location": {"lon": PLACES["aberdeen"][0], "lat": PLACES["aberdeen"][1]},
                                 "order": "asc", "unit": "km"}}],
    )  # fmt: skip

    assert [hit["_source"]["vehicle_id"] for hit in near["hits"]["hits"]] == ["edinburgh"]
    assert [hit["_source"]["vehicle_id"] for hit in by_distance["hits"]["hits"]] == [
        "aberdeen", "edinburgh", "north-sea-rig", "london", "paris",
    ]  # fmt: skip
    edinburgh_km = by_distance["hits"]["hits"][1]["sort"][0]
    assert 140 < edinburgh_km < 160  # Aberdeen to Edinburgh: about 150 km as the crow flies


def test_a_bad_document_is_rejected_alone_with_its_reason(es: Elasticsearch, positions_index: str) -> None:
    good = position_actions(positions_index)
    bad = [
        {**good[0], "_id": "bad-speed", "speed": "fast"},
        {**good[1], "_id": "bad-latitude", "location": {"lon": 1.0, "lat": 123.0}},
        {**good[2], "_id": "unknown-field", "colour": "red"},
    ]
    actions = [good[0], bad[0], good[1], bad[1], good[2], bad[2], *good[3:]]

    indexed, errors = helpers.bulk(es, actions, raise_on_error=False, refresh="wait_for")

    assert indexed == len(good)
    assert es.count(index=positions_index)["count"] == len(good)
    rejected = {item["index"]["_id"]: item["index"] for item in errors}
    assert set(rejected) == {"bad-speed", "bad-latitude", "unknown-field"}
    for item in rejected.values():
        assert item["status"] == 400
        assert item["error"]["type"] in PARSING_ERRORS
    assert "[speed]" in rejected["bad-speed"]["error"]["reason"]
    assert "location" in rejected["bad-latitude"]["error"]["reason"]
    assert "latitude" in str(rejected["bad-latitude"]["error"])
    assert "colour" in rejected["unknown-field"]["error"]["reason"]


def test_the_default_bulk_helper_raises_with_every_failed_item(
    es: Elasticsearch, positions_index: str
) -> None:
    good = position_actions(positions_index)
    with pytest.raises(helpers.BulkIndexError) as raised:
        helpers.bulk(es, [*good, {**good[0], "_id": "bad-speed", "speed": "fast"}], refresh="wait_for")

    assert [item["index"]["_id"] for item in raised.value.errors] == ["bad-speed"]
    assert es.count(index=positions_index)["count"] == len(good)


def test_aggregations_over_positions(es: Elasticsearch, positions_index: str) -> None:
    helpers.bulk(es, position_actions(positions_index), refresh="wait_for")

    result = es.search(
        index=positions_index,
        size=0,
        aggs={
            "by_source": {"terms": {"field": "source"}, "aggs": {"top_speed": {"max": {"field": "speed"}}}},
            "per_minute": {"date_histogram": {"field": "ts", "fixed_interval": "1m"}},
            "area": {"geo_bounds": {"field": "location"}},
        },
    )["aggregations"]

    by_source = {b["key"]: (b["doc_count"], b["top_speed"]["value"]) for b in result["by_source"]["buckets"]}
    assert by_source == {"http": (3, 14.0), "mqtt": (2, 13.0)}
    assert [b["doc_count"] for b in result["per_minute"]["buckets"]] == [1] * len(PLACES)
    bounds = result["area"]["bounds"]
    assert bounds["top_left"]["lat"] == pytest.approx(57.1497, abs=1e-4)
    assert bounds["bottom_right"]["lon"] == pytest.approx(2.3522, abs=1e-4)


def test_a_data_stream_takes_appended_positions(es: Elasticsearch) -> None:
    name = f"positions-stream-{uuid.uuid4().hex[:12]}"
    es.indices.put_index_template(
        name=name,
        index_patterns=[name],
        data_stream={},
        priority=500,
        template={
            "settings": {"number_of_replicas": 0},
            "mappings": {"properties": {"location": {"type": "geo_point"}}},
        },
    )
    try:
        docs = [
            {"_op_type": "create", "_index": name, "@timestamp": T0 + i, "location": {"lon": lon, "lat": lat}}
            for i, (lon, lat) in enumerate(PLACES.values())
        ]
        created, errors = helpers.bulk(es, docs, refresh="wait_for")

        assert (created, errors) == (len(PLACES), [])
        streams = es.indices.get_data_stream(name=name)["data_streams"]
        assert [s["name"] for s in streams] == [name]
        assert streams[0]["indices"][0]["index_name"].startswith(f".ds-{name}-")
        assert es.count(index=name)["count"] == len(PLACES)
    finally:
        es.indices.delete_data_stream(name=name)
        es.indices.delete_index_template(name=name)


def test_documents_survive_an_engine_restart(opensearch, es: Elasticsearch, positions_index: str) -> None:
    helpers.bulk(es, position_actions(positions_index), refresh="wait_for")

    opensearch.restart()

    es.cluster.health(index=positions_index, wait_for_status="yellow", timeout="60s")
    assert es.count(index=positions_index)["count"] == len(PLACES)
    assert es.get(index=positions_index, id=f"paris-{T0 + 4 * 60_000}")["_source"]["vehicle_id"] == "paris"
