"""Pure parts of the lake: the Parquet schema, rows from rides_result records, paths and file names.

Layout: ``<root>/<prefix>/YYYY/MM/DD/HH/part-p<kafka partition>-o<first offset>.parquet``, the hour of
the ride's event time (``ts``, UTC). A file holds the rows of one hour from one Kafka partition, from
one write cycle that started at ``<first offset>``: every cycle starts at the partition's committed
offset, so a file whose offset is at or past the committed one was written by a cycle that never
committed, and is deleted before the partition is consumed again (see README, "Idempotent").
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

SCHEMA = pa.schema(
    [
        ("ride_id", pa.string()),
        ("ts", pa.timestamp("ms", tz="UTC")),
        ("origin_lat", pa.float64()),
        ("origin_lon", pa.float64()),
        ("destination_lat", pa.float64()),
        ("destination_lon", pa.float64()),
        ("comfort", pa.string()),
        ("duration_min", pa.float64()),
        ("price_base", pa.float64()),
        ("price_per_km", pa.float64()),
        ("price_per_min", pa.float64()),
        ("distance_km", pa.float64()),
        ("price_total", pa.float64()),
        ("kafka_partition", pa.int32()),
        ("kafka_offset", pa.int64()),
    ]
)

FILE_RE = re.compile(r"part-p(\d+)-o(\d+)\.parquet")


def event_time(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(record["ts"]).replace("Z", "+00:00")).astimezone(UTC)


def hour_partition(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y/%m/%d/%H")


def file_name(kafka_partition: int, first_offset: int) -> str:
    return f"part-p{kafka_partition:04d}-o{first_offset:020d}.parquet"


def parse_file_name(name: str) -> tuple[int, int] | None:
    """(kafka partition, first offset) of a lake file name; None for anything else."""
    match = FILE_RE.fullmatch(name)
    return (int(match.group(1)), int(match.group(2))) if match else None


def row(record: dict[str, Any], kafka_partition: int, kafka_offset: int) -> dict[str, Any]:
    """A rides_result record (already checked against its contract) as a flat lake row."""
    return {
        "ride_id": record["ride_id"],
        "ts": event_time(record),
        "origin_lat": float(record["origin"]["lat"]),
        "origin_lon": float(record["origin"]["lon"]),
        "destination_lat": float(record["destination"]["lat"]),
        "destination_lon": float(record["destination"]["lon"]),
        "comfort": record["comfort"],
        **{
            k: float(record[k])
            for k in (
                "duration_min",
                "price_base",
                "price_per_km",
                "price_per_min",
                "distance_km",
                "price_total",
            )
        },
        "kafka_partition": kafka_partition,
        "kafka_offset": kafka_offset,
    }


def table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMA)
