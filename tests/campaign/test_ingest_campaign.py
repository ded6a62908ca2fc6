"""Bad-input campaign against http-ingest (schemathesis, from its OpenAPI document) and the dataset loader
(hypothesis-generated files), on the real broker, with valid points sent alongside.

Asserts: no 5xx answer, no worker process lost, every valid point in Kafka (0 lost, 0 duplicated), and
every 4xx the service answered counted in its ``http_ingest_rejected_total`` metric. Prints the figures.
"""

from __future__ import annotations

import base64
import contextlib
import io
import itertools
import random
import time
import uuid
from collections import Counter
from pathlib import Path

import orjson
import psutil
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from support.kafka import read_topic
from support.processes import gunicorn_http_ingest

from dataset_loader.__main__ import main as load_dataset
from geostream.kafka import ensure_topics
from geostream.topics import DAY_MS, Topic
from localservers import free_port

TOKEN = "tok-campaign-5e1f0c"
OWNTRACKS_USER, OWNTRACKS_PASSWORD = "camp", "pw-campaign-1"
EXAMPLES_PER_OPERATION = 30
DATASET_FILES = 120
RUN = uuid.uuid4().hex[:8]


class Ingest:
    def __init__(self, url: str, topic: str, service):
        self.url, self.topic, self.service = url, topic, service
        self.workers = {p.pid for p in psutil.Process(service.process.pid).children()}

    def live_workers(self) -> set[int]:
        return {p.pid for p in psutil.Process(self.service.process.pid).children()}

    def rejected_total(self) -> float:
        text = requests.get(f"{self.url}/metrics", timeout=30).text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("http_ingest_rejected_total{")
        )


@pytest.fixture(scope="module")
def ingest(kafka, workdir):
    topic = f"campaign-locations-{RUN}"
    ensure_topics(kafka.bootstrap, [Topic(topic, 6, DAY_MS, key="vehicle id")])
    port = free_port()
    service = gunicorn_http_ingest(
        port,
        kafka.bootstrap,
        workdir / "logs" / f"http-ingest-campaign-{RUN}.log",
        KAFKA_TOPIC=topic,
        INGEST_TOKENS=TOKEN,
        OWNTRACKS_USERS=f"{OWNTRACKS_USER}:{OWNTRACKS_PASSWORD}",
        OSMAND_ALLOW_GET="true",
    ).start()
    url = f"http://127.0.0.1:{port}"
    service.wait_healthy(f"{url}/health")
    yield Ingest(url, topic, service)
    assert service.stop() == 0, "gunicorn did not shut down cleanly"


class ValidPoints:
    """Valid points sent alongside the bad inputs; each one must be in Kafka exactly once at the end."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.sent: set[tuple[str, int]] = set()
        self.counter = itertools.count()

    def next_item(self) -> dict:
        n = next(self.counter)
        vid = f"{self.prefix}-{n % 7}"
        ts = int(time.time()) - 3600 + n
        self.sent.add((vid, ts * 1000))
        return {"vehicleID": vid, "path": [[round(2 + n / 1000, 6), 48.5]], "timestamps": [ts]}

    def check(self, kafka, topic: str) -> tuple[int, int]:
        """(lost, duplicates)."""
        deadline = time.monotonic() + 60
        while True:
            records = read_topic(
                kafka.bootstrap, topic, where=lambda r: (r.key or "").startswith(self.prefix + "-")
            )
            seen = Counter((r.key, r.value["ts"]) for r in records)
            lost = len(self.sent - set(seen))
            if not lost or time.monotonic() > deadline:
                return lost, sum(c - 1 for c in seen.values() if c > 1)
            time.sleep(1)


def credentials(case, rng: random.Random) -> dict[str, str]:
    """Usually the right credentials (so the input reaches validation), sometimes none or wrong ones."""
    roll = rng.random()
    if roll < 0.1:
        return {}
    if roll < 0.15:
        return {"Authorization": "Bearer tok-wrong"}
    if case.path in ("/pub", "/ingest/owntracks"):
        basic = base64.b64encode(f"{OWNTRACKS_USER}:{OWNTRACKS_PASSWORD}".encode()).decode()
        return {"Authorization": f"Basic {basic}"}
    return {"Authorization": f"Bearer {TOKEN}"}


def test_http_campaign(ingest, kafka):
    schema = schemathesis.openapi.from_url(f"{ingest.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    documented = {op.path for op in operations}
    assert documented >= {"/ingest/location", "/pub", "/ingest/owntracks", "/ingest/osmand", "/", "/health",
                          "/metrics"}  # fmt: skip
    valid = ValidPoints(f"campaign-http-{RUN}")
    statuses: Counter[int] = Counter()
    server_errors: list[str] = []
    json_rejects = plain_rejects = 0
    rng = random.Random(20260101)
    rejected_before = ingest.rejected_total()
    cases = 0

    for operation in operations:
        for mode in GenerationMode:

            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def attack(case) -> None:
                nonlocal cases, json_rejects, plain_rejects
                cases += 1
                try:
                    response = case.call(
                        headers={**(case.headers or {}), **credentials(case, rng)}, timeout=30
                    )
                except (requests.exceptions.InvalidHeader, ValueError, UnicodeError):
                    statuses[0] += 1  # the client library refused to send it (e.g. a header with CR/LF)
                    return
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    server_errors.append(
                        f"{case.method} {case.path} -> {response.status_code}: {response.text[:200]}"
                    )
                elif response.status_code >= 400:
                    if _content_type(response).startswith("application/json"):
                        json_rejects += 1
                    else:
                        plain_rejects += 1  # refused by gunicorn before the application (bad request line)
                if cases % 10 == 0:
                    reply = requests.post(
                        f"{ingest.url}/ingest/location",
                        data=orjson.dumps([valid.next_item()]),
                        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
                        timeout=30,
                    )
                    assert reply.status_code == 202, reply.text

            with contextlib.suppress(Unsatisfiable):  # nothing to make invalid (GET /health has no input)
                attack()

    rejected = ingest.rejected_total() - rejected_before
    lost, duplicates = valid.check(kafka, ingest.topic)
    live = ingest.live_workers()
    figures = (
        f"HTTP campaign: {cases} cases on {len(operations)} operations, answers by status "
        f"{dict(sorted(statuses.items()))}, 5xx: {len(server_errors)}, rejects counted by the service: "
        f"{rejected:.0f} of {json_rejects} (+{plain_rejects} refused by gunicorn itself), valid points sent "
        f"alongside: {len(valid.sent)}, points lost: {lost}, duplicates: {duplicates}, workers lost: "
        f"{len(ingest.workers - live)}"
    )
    print("\n" + figures)
    assert cases >= 300, figures
    assert not server_errors, server_errors[:5]
    assert live == ingest.workers, "a gunicorn worker died and was replaced"
    assert (lost, duplicates) == (0, 0), figures
    assert rejected == json_rejects, figures
    assert "Traceback" not in Path(ingest.service.log_path).read_text(errors="replace")


def _content_type(response) -> str:
    headers = {k.lower(): v for k, v in response.headers.items()}
    value = headers.get("content-type", "")
    return (value[0] if value else "") if isinstance(value, list) else value


# --- the dataset loader: generated files with poison rows and valid rows ---

JUNK = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
POISON_CELL = st.sampled_from(
    [None, 1e308, -1e308, 0, -1, "", "\x00", "a\x00b", "\ud800", [], {}, True, 10**30]
)


BAD_IDS = st.sampled_from(
    ["", " ", "p\x00", "p\n1", "p\u202e", "p\ufffd", "p" * 200, "a//b", None, 7, [], {}]
)


def _poison_row(draw, now: int) -> list:
    """A state vector whose id no stage accepts, with junk in a few more columns."""
    row = [draw(BAD_IDS), "CS", "X", now - 60, now, 2.0, 48.0, 100.0, False, 10.0, 90.0]
    for column in draw(st.lists(st.integers(1, len(row) - 1), max_size=3)):
        row[column] = draw(st.one_of(POISON_CELL, JUNK))
    return row


@st.composite
def dataset_file(draw, prefix: str, counter: itertools.count) -> tuple[str, list[tuple[str, int]]]:
    """A file's text and the (vehicle id, ts ms) of its valid rows."""
    now = int(time.time())
    valid: list[tuple[str, int]] = []
    as_batch = draw(st.booleans())
    docs: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        rows = []
        for _ in range(draw(st.integers(1, 4))):
            n = next(counter)
            vid, ts = f"{prefix}-{n}", now - 600 + n % 500
            valid.append((vid, ts * 1000))
            rows.append([vid, "CS", "X", ts, now, 2.0 + n % 90 / 100, 48.0, 1000.0])
        rows += [_poison_row(draw, now) for _ in range(draw(st.integers(0, 4)))]
        draw(st.randoms()).shuffle(rows)
        if as_batch:
            docs += [_batch_item(r) for r in rows]
        else:
            docs.append(_snapshot(now, rows))
    for _ in range(draw(st.integers(0, 2))):
        docs.insert(
            draw(st.integers(0, len(docs))),
            draw(st.sampled_from(["{not json", "\x00", "[1,2", "null", '"x"'])),
        )
    return "\n".join(docs), valid


def _batch_item(row: list) -> str:
    if not _serialisable(row):
        return '{"vehicleID": "junk", "path": 7}'
    return orjson.dumps({"vehicleID": row[0], "path": [[row[5], row[6]]], "timestamps": [row[3]]}).decode()


def _serialisable(row: list) -> bool:
    try:
        orjson.dumps(row)
    except TypeError:
        return False
    return True


def _snapshot(now: int, rows: list) -> str:
    good = [r for r in rows if _serialisable(r)]
    return orjson.dumps({"time": now, "states": good}).decode()


def test_dataset_loader_campaign(ingest, kafka, tmp_path):
    prefix = f"campaign-ds-{RUN}"
    counter = itertools.count()
    exits: Counter[int] = Counter()
    crashes: list[str] = []
    expected: set[tuple[str, int]] = set()
    files = 0

    @settings(max_examples=DATASET_FILES, deadline=None, database=None, derandomize=True,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(generated=dataset_file(prefix, counter))
    def load(generated) -> None:
        nonlocal files
        text, valid = generated
        files += 1
        path = tmp_path / f"file-{files}.jsonl"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = load_dataset(
                    [
                        str(path),
                        "--api-url",
                        f"{ingest.url}/ingest/location",
                        "--token",
                        TOKEN,
                        "--retries",
                        "3",
                    ]
                )
        except Exception as exc:  # a crash is what this campaign looks for
            crashes.append(f"{type(exc).__name__}: {exc}")
            return
        exits[code] += 1
        if valid:
            expected.update(valid)
            assert code == 0, err.getvalue()[-2000:]
            assert f"points sent: {len(set(valid))}" in out.getvalue(), (
                out.getvalue(),
                err.getvalue()[-2000:],
            )

    load()
    deadline = time.monotonic() + 60
    while True:
        records = read_topic(
            kafka.bootstrap, ingest.topic, where=lambda r: (r.key or "").startswith(prefix + "-")
        )
        seen = Counter((r.key, r.value["ts"]) for r in records)
        lost = len(expected - set(seen))
        if not lost or time.monotonic() > deadline:
            break
        time.sleep(1)
    duplicates = sum(c - 1 for c in seen.values() if c > 1)
    strangers = set(seen) - expected
    figures = (
        f"dataset-loader campaign: {files} generated files, exit codes {dict(sorted(exits.items()))}, "
        f"crashes: {len(crashes)}, valid points: {len(expected)}, points lost: {lost}, "
        f"duplicates: {duplicates}, poison points that got through: {len(strangers)}"
    )
    print("\n" + figures)
    assert files >= 100 and not crashes, (figures, crashes[:5])
    assert (lost, duplicates, len(strangers)) == (0, 0, 0), figures
