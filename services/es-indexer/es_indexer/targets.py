"""What the indexer writes where: one :class:`IndexTarget` per Kafka topic.

A target names its data stream, its index template and lifecycle policy (pure dictionaries, installed at
start) and turns one contract record into a bulk action. The rides issue adds ``rides_result`` -> ``rides``
by appending a target to :data:`TARGETS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
    lifecycle: Callable[[Settings], dict[str, Any]]
    """settings -> body of ``PUT _ilm/policy/<index>``."""

    @property
    def dlq_topic(self) -> str:
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

TARGETS: dict[str, IndexTarget] = {t.topic: t for t in (SENSORS,)}
