"""Buffers rows per Kafka partition and hour, writes them as Parquet files, durable before commit."""

from __future__ import annotations

import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import pyarrow.parquet as pq

from rides_lake.layout import file_name, hour_partition, parse_file_name, table

log = logging.getLogger("rides-lake")


def open_root(root: str) -> tuple[pafs.FileSystem, str]:
    """A pyarrow filesystem and base path for a local directory or a URI (s3://, gs://, file://)."""
    if "://" in root:
        return pafs.FileSystem.from_uri(root)
    return pafs.LocalFileSystem(), str(Path(root).resolve())


@dataclass
class PartitionCycle:
    """What one Kafka partition buffered since its last commit."""

    first_offset: int
    last_offset: int
    rows: int = 0
    bytes: int = 0
    by_hour: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    """hour partition -> ride id -> row (a ride seen twice in a cycle is written once)."""


class LakeWriter:
    def __init__(self, root: str, prefix: str):
        self.fs, base = open_root(root)
        self.base = f"{base.rstrip('/')}/{prefix.strip('/')}"
        self.fs.create_dir(self.base, recursive=True)
        self.cycles: dict[int, PartitionCycle] = {}
        self.started: float | None = None
        self.files_written = 0

    def add(self, kafka_partition: int, offset: int, row: dict[str, Any], size: int) -> None:
        cycle = self.cycles.get(kafka_partition)
        if cycle is None:
            cycle = self.cycles[kafka_partition] = PartitionCycle(offset, offset)
        cycle.last_offset = offset
        rides = cycle.by_hour.setdefault(hour_partition(row["ts"]), {})
        cycle.rows += row["ride_id"] not in rides
        cycle.bytes += size
        rides[row["ride_id"]] = row
        if self.started is None:
            self.started = time.monotonic()

    def skip(self, kafka_partition: int, offset: int) -> None:
        """A record that is not written (invalid) still moves the partition's offset on."""
        cycle = self.cycles.get(kafka_partition)
        if cycle is None:
            cycle = self.cycles[kafka_partition] = PartitionCycle(offset, offset)
        cycle.last_offset = offset
        if self.started is None:
            self.started = time.monotonic()

    @property
    def rows(self) -> int:
        return sum(c.rows for c in self.cycles.values())

    @property
    def bytes(self) -> int:
        return sum(c.bytes for c in self.cycles.values())

    def due(self, max_rows: int, max_bytes: int, max_age_s: float) -> bool:
        if self.started is None:
            return False
        return (
            self.rows >= max_rows or self.bytes >= max_bytes or time.monotonic() - self.started >= max_age_s
        )

    def flush(self, partitions: set[int] | None = None) -> dict[int, int]:
        """Write the buffered cycles (all, or of ``partitions``); returns the offsets to commit."""
        commit: dict[int, int] = {}
        for kp in sorted(self.cycles if partitions is None else partitions & set(self.cycles)):
            cycle = self.cycles.pop(kp)
            for hour, rides in cycle.by_hour.items():
                self._write(f"{self.base}/{hour}", file_name(kp, cycle.first_offset), list(rides.values()))
            commit[kp] = cycle.last_offset + 1
        if not self.cycles:
            self.started = None
        return commit

    def _write(self, directory: str, name: str, rows: list[dict[str, Any]]) -> None:
        self.fs.create_dir(directory, recursive=True)
        final = f"{directory}/{name}"
        if isinstance(self.fs, pafs.LocalFileSystem):
            # Written aside, fsynced by close, then renamed: a reader never sees half a file.
            temporary = f"{directory}/.{name}.{uuid.uuid4().hex}.tmp"
            pq.write_table(table(rows), temporary, filesystem=self.fs, compression="zstd")
            _fsync(temporary)
            self.fs.move(temporary, final)
            _fsync(directory)  # the rename itself survives a power cut
        else:  # object stores: a PUT is atomic
            pq.write_table(table(rows), final, filesystem=self.fs, compression="zstd")
        self.files_written += 1

    def remove_uncommitted(self, committed: dict[int, int]) -> list[str]:
        """Delete files of ``committed``'s partitions written by a cycle that never committed."""
        removed = []
        selector = pafs.FileSelector(self.base, recursive=True, allow_not_found=True)
        for info in self.fs.get_file_info(selector):
            if info.type != pafs.FileType.File:
                continue
            name = info.base_name
            if name.startswith(".") and name.endswith(".tmp"):  # a write cut short
                name = name[1:].rsplit(".", 2)[0]
            parsed = parse_file_name(name)
            if parsed and parsed[0] in committed and parsed[1] >= committed[parsed[0]]:
                self.fs.delete_file(info.path)
                removed.append(info.path)
        if removed:
            log.info("removed files of an uncommitted cycle", extra={"files": removed})
        return removed


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
