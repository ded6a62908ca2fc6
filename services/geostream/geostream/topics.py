"""Every Kafka topic of the platform, in one place.

The topic initialiser (compose), the local servers (`make local`) and the tests all create topics from
this table, so partition counts and retention cannot drift apart. Partition counts are final: Kafka can
add partitions later, but that moves keys to other partitions and breaks per-vehicle ordering.
"""

from __future__ import annotations

from dataclasses import dataclass

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    retention_ms: int
    key: str
    """What the record key holds ("" when records are not keyed)."""
    dlq: str | None = None
    """The dead-letter topic for records of this topic that fail their contract."""

    @property
    def config(self) -> dict[str, str]:
        return {"retention.ms": str(self.retention_ms), "cleanup.policy": "delete"}


LOCATIONS = Topic("locations_topic", 6, 7 * DAY_MS, key="vehicle id", dlq="locations_dlq")
WEBSOCKET_UPDATES = Topic("websocket_updates_topic", 6, 1 * HOUR_MS, key="vehicle id")
LOCATIONS_DLQ = Topic("locations_dlq", 1, 14 * DAY_MS, key="")
WEATHER = Topic("weather_data_v2", 3, 7 * DAY_MS, key="city")
SENSOR_READINGS = Topic("sensor_readings", 3, 7 * DAY_MS, key="sensor id", dlq="sensor_readings_dlq")
SENSOR_READINGS_DLQ = Topic("sensor_readings_dlq", 1, 14 * DAY_MS, key="")
RIDES_RAW = Topic("rides_raw", 6, 7 * DAY_MS, key="ride id", dlq="rides_dlq")
RIDES_RESULT = Topic("rides_result", 6, 7 * DAY_MS, key="ride id")
RIDES_DLQ = Topic("rides_dlq", 1, 14 * DAY_MS, key="")

ALL_TOPICS: tuple[Topic, ...] = (
    LOCATIONS,
    WEBSOCKET_UPDATES,
    LOCATIONS_DLQ,
    WEATHER,
    SENSOR_READINGS,
    SENSOR_READINGS_DLQ,
    RIDES_RAW,
    RIDES_RESULT,
    RIDES_DLQ,
)
BY_NAME: dict[str, Topic] = {t.name: t for t in ALL_TOPICS}
