"""``python -m dataset_loader FILE``: send a dataset file to the ingest API.

    python -m dataset_loader samples/opensky_sample.jsonl --api-url http://localhost:5000/ingest/location

Exit status: 0 when every batch was accepted, 1 when some were not or the file held no valid point
(see the summary), 2 when the file cannot be read. Malformed lines, rows and items are skipped and
counted ("invalid rows"); they never stop the load.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import requests

from dataset_loader.reader import DatasetError, batches, group_by_vehicle, parse_dataset
from dataset_loader.sender import send_batch
from geostream.timestamps import DEFAULT_MAX_FUTURE_MS, TimestampError, to_epoch_ms

DEFAULT_API_URL = "http://localhost:5000/ingest/location"


class Progress:
    """A progress bar on a terminal, one line per batch otherwise (logs, CI)."""

    def __init__(self, total_points: int, stream=sys.stderr):
        self.total = max(total_points, 1)
        self.done = 0
        self.stream = stream
        self.tty = stream.isatty()

    def update(self, batch: int, objects: int, points: int, status: str) -> None:
        self.done += points
        if self.tty:
            filled = int(30 * self.done / self.total)
            bar = "#" * filled + "." * (30 - filled)
            self.stream.write(f"\r[{bar}] {self.done}/{self.total} points, batch {batch} {status}   ")
        else:
            self.stream.write(f"batch {batch} ({objects} objects, {points} points): {status}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dataset_loader", description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--api-url", default=os.environ.get("API_URL", DEFAULT_API_URL))
    parser.add_argument("--batch-size", type=int, default=int(os.environ.get("BATCH_SIZE", "500")),
                        help="objects (vehicles) per request")  # fmt: skip
    parser.add_argument("--max-points", type=int, default=int(os.environ.get("MAX_POINTS", "50000")),
                        help="points per request (at most the API's INGEST_MAX_POINTS)")  # fmt: skip
    parser.add_argument("--retries", type=int, default=int(os.environ.get("RETRIES", "8")))
    parser.add_argument("--timeout", type=float, default=float(os.environ.get("TIMEOUT_S", "60")))
    future_s = int(os.environ.get("INGEST_MAX_FUTURE_S", DEFAULT_MAX_FUTURE_MS // 1000))
    parser.add_argument("--max-future-s", type=int, default=future_s,
                        help="skip points further ahead (INGEST_MAX_FUTURE_S of http-ingest)")  # fmt: skip
    floor = os.environ.get("INGEST_MIN_TIMESTAMP", "2000-01-01T00:00:00Z")
    parser.add_argument("--min-timestamp", default=floor,
                        help="skip points before this (http-ingest's INGEST_MIN_TIMESTAMP)")  # fmt: skip
    parser.add_argument("--token", default=os.environ.get("INGEST_TOKEN"),
                        help="API token sent as Authorization: Bearer (env INGEST_TOKEN)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.max_points < 1:
        parser.error("--batch-size and --max-points must be positive")
    try:
        min_ts_ms = max(to_epoch_ms(args.min_timestamp), 1)
    except TimestampError as exc:
        parser.error(f"--min-timestamp: {exc}")

    print(f"reading {args.file}...")
    try:
        text = args.file.read_text(encoding="utf-8")
        dataset = parse_dataset(
            text, now_ms=int(time.time() * 1000), max_future_ms=args.max_future_s * 1000, min_ts_ms=min_ts_ms
        )
    except (OSError, UnicodeError, DatasetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    tracks = group_by_vehicle(dataset.points)
    total = sum(len(t) for t in tracks.values())
    print(f"processing {len(tracks)} vehicles, {total} points ({dataset.format}"
          + (f", {dataset.snapshots} snapshots" if dataset.format == "opensky" else "") + ")...")  # fmt: skip
    for reason in dataset.invalid[:20]:
        print(f"skipped invalid row: {reason[:300]}", file=sys.stderr)
    if len(dataset.invalid) > 20:
        print(f"... and {len(dataset.invalid) - 20} more invalid rows", file=sys.stderr)

    progress = Progress(total)
    session = requests.Session()
    sent = failed_points = 0
    failures: list[str] = []
    number = 0
    for number, items in enumerate(batches(tracks, args.batch_size, args.max_points), 1):
        points = sum(len(item["timestamps"]) for item in items)
        outcome = send_batch(
            session, args.api_url, items, retries=args.retries, timeout=args.timeout, token=args.token,
            on_retry=lambda attempt, problem, delay, n=number: print(
                f"batch {n}: {problem}; retry {attempt} in {delay:.1f} s", file=sys.stderr),
        )  # fmt: skip
        if outcome.ok:
            sent += outcome.sent
        else:
            failed_points += points
            failures.append(f"batch {number}: {outcome.error}")
        progress.update(number, len(items), points, "ok" if outcome.ok else "FAILED")
    progress.close()

    print(
        f"done. batches: {number}, points sent: {sent}, points failed: {failed_points}, "
        f"rows without position: {dataset.without_position}, invalid rows: {len(dataset.invalid)}"
    )
    for failure in failures:
        print(f"failed {failure}", file=sys.stderr)
    return 1 if failures or not total else 0


if __name__ == "__main__":
    sys.exit(main())
