"""What the indexer writes where: one :class:`IndexTarget` per Kafka topic.

A target names its data stream, its index template and lifecycle policy (pure dictionaries, installed at
start) and turns one contract record into a bulk action. ``sensor_readings`` -> the data stream
``sensor-readings``; ``rides_result`` -> the index ``rides`` (one document per ride, ``_id`` = ride id).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from es_indexer.settings import Settings
from geostream import sensors, topics

SENSOR_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "@timestamp": {"type": "date", "format": "strict_date_optional_time||epoch_millis"},
        "sensor_id": {"type": "keyword"},
        "temperature": {"type": "float"},
        "humidity": {"type": "float"},
        "pressure": {"type": "float"},
        "location": {"type": "geo_point"},
    },
}


@dataclass(frozen=True)
class IndexTarget:
    topic: str
    index: str
    """Data stream name (also the template's and the ILM policy's name)."""
    build_action: Callable[[dict[str, Any]], dict[str, Any]]
    """Contract record -> bulk action; raises ValueError for a record that cannot be indexed."""
    template: Callable[[Settings, bool], dict[str, Any]]
    """(settings, with ILM) -> body of ``PUT _index_template/<index>``."""
    lifecycle: Callable[[Settings], dict[str, Any]] | None
    """settings -> body of ``PUT _ilm/policy/<index>``; None: no lifecycle policy."""
    data_stream: bool = True
    """True: an append-only data stream; False: a plain index created at start."""
    dlq: str | None = None
    """Dead-letter topic; None: the one ``geostream.topics`` names for ``topic``."""

    @property
    def dlq_topic(self) -> str:
        if self.dlq is not None:
            return self.dlq
        topic = topics.BY_NAME.get(self.topic)
        if topic is None or topic.dlq is None:
            raise KeyError(f"topic {self.topic} has no dead-letter topic in geostream.topics")
        return topic.dlq


def sensor_template(settings: Settings, with_ilm: bool) -> dict[str, Any]:
    index_settings: dict[str, Any] = {
        "index.number_of_shards": 1,
        "index.number_of_replicas": settings.index_replicas,
        "index.refresh_interval": "1s",
    }
    if with_ilm:
        index_settings["index.lifecycle.name"] = sensors.INDEX
    return {
        "index_patterns": [f"{sensors.INDEX}*"],
        "data_stream": {},
        "priority": 200,
        "template": {"settings": index_settings, "mappings": SENSOR_MAPPING},
        "_meta": {"managed_by": "es-indexer", "contract": "sensor_readings"},
    }


def sensor_lifecycle(settings: Settings) -> dict[str, Any]:
    return {
        "policy": {
            "_meta": {"managed_by": "es-indexer"},
            "phases": {
                "hot": {
                    "min_age": "0ms",
                    "actions": {
                        "rollover": {
                            "max_age": settings.sensor_rollover_max_age,
                            "max_primary_shard_size": settings.sensor_rollover_max_primary_shard_size,
                        }
                    },
                },
                "delete": {
                    "min_age": f"{settings.sensor_retention_days}d",
                    "actions": {"delete": {}},
                },
            },
        }
    }


SENSORS = IndexTarget(
    topic=topics.SENSOR_READINGS.name,
    index=sensors.INDEX,
    build_action=sensors.bulk_action,
    template=sensor_template,
    lifecycle=sensor_lifecycle,
)

RIDES_INDEX = "rides"
_DOUBLE = {"type": "double"}
_DATE = {"type": "date", "format": "strict_date_optional_time||epoch_millis"}
RIDES_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "ride_id": {"type": "keyword"},
        "ts": _DATE,
        "agent_timestamp": _DATE,
        "comfort": {"type": "keyword"},
        "origin": {"type": "geo_point"},
        "destination": {"type": "geo_point"},
        **{
            name: _DOUBLE
            for name in (
                "origin_lat",
                "origin_lon",
                "destination_lat",
                "destination_lon",
                "duration_min",
                "price_base",
                "price_per_km",
                "price_per_min",
                "distance_km",
                "price_total",
            )
        },
    },
}


def rides_template(settings: Settings, with_ilm: bool) -> dict[str, Any]:
    # Exactly "rides": a wildcard would also take "rides-revenue", which has its own template.
    return {
        "index_patterns": [RIDES_INDEX],
        "priority": 200,
        "template": {
            "settings": {
                "index.number_of_shards": 1,
                "index.number_of_replicas": settings.index_replicas,
                "index.refresh_interval": "1s",
            },
            "mappings": RIDES_MAPPING,
        },
        "_meta": {"managed_by": "es-indexer", "contract": "rides_result"},
    }


def ride_action(record: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """A ``rides_result`` record -> a bulk ``create`` of the ride's document, ``_id`` = ride id.

    As the prototype's TransformJSON: the points also flattened (``origin_lat`` ...) and an
    ``agent_timestamp`` (indexing time, UTC). ``ts`` goes as the record has it (the pricing job writes
    ``YYYY-MM-DDTHH:MM:SS.sssZ``): a date the engine cannot read is its mapping reject, dead-lettered.
    ``create`` keeps the first copy of a replayed ride (409, counted as a duplicate), so its
    ``agent_timestamp`` stays the time it was first indexed.
    """
    origin, destination = record["origin"], record["destination"]
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    source = {
        "ride_id": record["ride_id"],
        "ts": record["ts"],
        "agent_timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
        "comfort": record["comfort"],
        "origin": {"lat": origin["lat"], "lon": origin["lon"]},
        "destination": {"lat": destination["lat"], "lon": destination["lon"]},
        "origin_lat": origin["lat"],
        "origin_lon": origin["lon"],
        "destination_lat": destination["lat"],
        "destination_lon": destination["lon"],
        **{
            name: record[name]
            for name in (
                "duration_min",
                "price_base",
                "price_per_km",
                "price_per_min",
                "distance_km",
                "price_total",
            )
        },
    }
    return {"_op_type": "create", "_index": RIDES_INDEX, "_id": record["ride_id"], "_source": source}


RIDES = IndexTarget(
    topic=topics.RIDES_RESULT.name,
    index=RIDES_INDEX,
    build_action=ride_action,
    template=rides_template,
    lifecycle=None,
    data_stream=False,
    dlq=topics.RIDES_DLQ.name,
)

TARGETS: dict[str, IndexTarget] = {t.topic: t for t in (SENSORS, RIDES)}
