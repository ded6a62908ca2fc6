"""The MQTT part of the bad-input campaign: generated malformed publishes over a real Mosquitto (with the
compose authentication) into a real mqtt-bridge and Kafka, each followed by a valid point.

Every topic of a malformed publish names its case (``devices/bad-<n>/location``,
``owntracks/bad/<n>``), so each case is traced to its dead letter. Asserted: the bridge's threads never
die (/health stays 200), no valid point is lost, every certainly-invalid publish is in ``locations_dlq``
with a reason, every other one is accounted for (a point or a dead letter), every publish is
acknowledged. Prints one figures line.
"""

from __future__ import annotations

import shutil
import string
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.kafka import read_topic
from support.processes import ROOT, ServiceProcess

from geostream import contracts
from geostream.kafka import ensure_topics
from geostream.topics import DAY_MS, Topic
from localservers import MosquittoServer, free_port

CASES = 250
NOW_MS = int(time.time() * 1000)
LETTERS = string.ascii_letters
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)  # what JSON encoders and orjson handle


@dataclass(frozen=True)
class Case:
    kind: str
    """device or owntracks: which topic family it is published on."""
    payload: bytes
    certain: bool
    """True: must be dead-lettered. False: garbage in an optional field, which the rules may drop or
    refuse; it must then be a point or a dead letter, never lost."""
    label: str


def json_bytes(doc: object) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_NON_STR_KEYS)


WRONG_TYPES = st.one_of(
    st.lists(INT64, max_size=3),
    st.dictionaries(st.text(LETTERS, max_size=4), INT64, max_size=3),
    st.text(LETTERS, min_size=1, max_size=12),
)
BAD_LAT = st.one_of(
    WRONG_TYPES,
    st.floats(min_value=90.0001, max_value=1e308),
    st.floats(max_value=-90.0001, min_value=-1e308),
)
BAD_LON = st.one_of(
    WRONG_TYPES,
    st.floats(min_value=180.0001, max_value=1e308),
    st.floats(max_value=-180.0001, min_value=-1e308),
)
BAD_TS_MS = st.one_of(
    st.lists(INT64, max_size=2),
    st.dictionaries(st.text(LETTERS, max_size=3), INT64, max_size=2),
    st.text(LETTERS, min_size=1, max_size=12),
    st.floats(min_value=1e20, max_value=1e308),
    st.integers(min_value=-(10**15), max_value=0),
    st.just(NOW_MS + 30 * DAY_MS),  # far future
)
BAD_ID = st.builds(
    lambda head, ctrl, tail: head + ctrl + tail,
    st.text(LETTERS, max_size=6),
    st.sampled_from(["\x00", "\n", "\x1b", "\u202e", "\x7f"]),
    st.text(LETTERS, max_size=6),
) | WRONG_TYPES.filter(lambda v: not isinstance(v, str))
OPTIONAL_GARBAGE = st.one_of(WRONG_TYPES, st.floats(min_value=1e6, max_value=1e308), st.booleans())


def device_base() -> dict:
    return {"ts": NOW_MS - 60_000, "lon": 2.35, "lat": 48.85}


def owntracks_base() -> dict:
    return {"_type": "location", "tst": NOW_MS // 1000 - 60, "lon": 2.35, "lat": 48.85}


@st.composite
def device_case(draw) -> Case:
    field = draw(st.sampled_from(["lat", "lon", "ts", "vehicle_id", "drop", "optional", "source"]))
    doc = device_base()
    if field == "lat":
        doc["lat"] = draw(BAD_LAT)
    elif field == "lon":
        doc["lon"] = draw(BAD_LON)
    elif field == "ts":
        doc["ts"] = draw(BAD_TS_MS)
    elif field == "vehicle_id":
        doc["vehicle_id"] = draw(BAD_ID)
    elif field == "drop":
        del doc[draw(st.sampled_from(["lat", "lon"]))]
    elif field == "source":
        doc["source"] = draw(WRONG_TYPES)
        return Case("device", json_bytes(doc), False, "source")
    else:
        name = draw(st.sampled_from(["speed", "heading", "alt", "accuracy", "battery"]))
        doc[name] = draw(OPTIONAL_GARBAGE)
        return Case("device", json_bytes(doc), False, name)
    return Case("device", json_bytes(doc), True, field)


@st.composite
def owntracks_case(draw) -> Case:
    field = draw(st.sampled_from(["lat", "lon", "tst", "drop", "optional"]))
    doc = owntracks_base()
    if field == "lat":
        doc["lat"] = draw(BAD_LAT)
    elif field == "lon":
        doc["lon"] = draw(BAD_LON)
    elif field == "tst":
        doc["tst"] = draw(
            st.one_of(
                st.just(1e308), st.just(-1e308), st.floats(min_value=1e12, max_value=1e300),
                st.integers(max_value=0, min_value=-(10**12)), WRONG_TYPES,
            )
        )  # fmt: skip
    elif field == "drop":
        del doc[draw(st.sampled_from(["lat", "lon", "tst"]))]
    else:
        name = draw(st.sampled_from(["vel", "cog", "alt", "acc", "batt"]))
        doc[name] = draw(OPTIONAL_GARBAGE)
        return Case("owntracks", json_bytes(doc), False, f"ot-{name}")
    return Case("owntracks", json_bytes(doc), True, f"ot-{field}")


def not_an_object(payload: bytes) -> bool:
    if not payload.strip():
        return False  # a zero-length or blank publish clears a retained message: ignored, not refused
    try:
        return not isinstance(orjson.loads(payload), dict)
    except orjson.JSONDecodeError:
        return True


RAW = st.one_of(
    st.binary(min_size=1, max_size=200),
    st.text(max_size=200).map(str.encode),
    st.sampled_from(
        [
            b'{"lat": NaN, "lon": 1, "ts": 1}',
            b'{"lat": Infinity}',
            b"{" * 5000,
            b"[" * 2000 + b"]" * 2000,
            b'{"lat": 1, "lon": 2',
            b"\xff\xfe\x00",
            b'{"a": "\xed\xa0\x80"}',
            b"null",
            b"1e999",
        ]
    ),
    st.recursive(
        INT64 | st.text(max_size=10) | st.none(), lambda c: st.lists(c, max_size=4), max_leaves=8
    ).map(json_bytes),
).filter(not_an_object)


@st.composite
def malformed(draw) -> Case:
    kind = draw(st.sampled_from(["device-doc", "owntracks-doc", "raw"]))
    if kind == "device-doc":
        return draw(device_case())
    if kind == "owntracks-doc":
        return draw(owntracks_case())
    return Case(draw(st.sampled_from(["device", "owntracks"])), draw(RAW), True, "not-an-object")


def case_topic(kind: str, n: int) -> str:
    return f"devices/bad-{n}/location" if kind == "device" else f"owntracks/bad/{n}"


def case_vehicle(kind: str, n: int) -> str:
    return f"bad-{n}" if kind == "device" else f"bad/{n}"


@pytest.fixture
def campaign(kafka, workdir):
    base = Path(tempfile.mkdtemp(prefix="geostream-mqtt-campaign-"))
    base.chmod(0o755)  # mosquitto drops to its own user
    broker = MosquittoServer(base / "mosquitto").start()
    run = uuid.uuid4().hex[:8]
    locations, dlq = f"campaign-locations-{run}", f"campaign-dlq-{run}"
    ensure_topics(
        kafka.bootstrap, [Topic(locations, 6, DAY_MS, key="vehicle id"), Topic(dlq, 1, DAY_MS, key="")]
    )
    port = free_port()
    bridge = ServiceProcess(
        [sys.executable, "-m", "mqtt_bridge"],
        {
            "KAFKA_BROKERS": kafka.bootstrap,
            "KAFKA_TOPIC": locations,
            "KAFKA_DLQ_TOPIC": dlq,
            "MQTT_BROKER_HOST": "127.0.0.1",
            "MQTT_BROKER_PORT": str(broker.port),
            "MQTT_CLIENT_ID": f"bridge-campaign-{run}",
            **broker.credentials("bridge"),
            "HEALTH_HOST": "127.0.0.1",
            "HEALTH_PORT": str(port),
            "STATS_INTERVAL_S": "1",
        },
        ROOT / "services" / "mqtt-bridge",
        workdir / "logs" / f"mqtt-bridge-campaign-{run}.log",
    ).start()
    health = f"http://127.0.0.1:{port}/health"
    bridge.wait_healthy(health)
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"campaign-{run}")
    publisher.username_pw_set(broker.username, broker.password)
    publisher.connect("127.0.0.1", broker.port)
    publisher.loop_start()
    try:
        yield {"publisher": publisher, "health": health, "locations": locations, "dlq": dlq, "bridge": bridge}
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        assert bridge.stop() == 0
        broker.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_mqtt_bad_input_campaign(kafka, campaign):
    started = time.monotonic()
    publisher, health = campaign["publisher"], campaign["health"]
    sent: list[Case] = []
    good: list[tuple[str, int]] = []
    health_checks: Counter[int] = Counter()

    def publish(topic: str, payload: bytes) -> None:
        info = publisher.publish(topic, payload, qos=1)
        info.wait_for_publish(30)
        assert info.is_published(), f"Mosquitto did not acknowledge {topic}"

    @settings(max_examples=CASES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=malformed())
    def send(case: Case) -> None:
        n = len(sent)
        sent.append(case)
        publish(case_topic(case.kind, n), case.payload)
        vehicle, ts = f"campaign-good-{n % 7}", NOW_MS - 120_000 + n
        if n % 2:
            publish(f"devices/{vehicle}/location", json_bytes({"ts": ts, "lon": 1.5, "lat": 47.5}))
            good.append((vehicle, ts))
        else:
            doc = {"_type": "location", "tst": ts // 1000, "lon": 1.5, "lat": 47.5}
            publish(f"owntracks/campaign/good-{n}", json_bytes(doc))
            good.append((f"campaign/good-{n}", (ts // 1000) * 1000))
        if n % 25 == 0:
            health_checks[requests.get(health, timeout=10).status_code] += 1

    send()
    assert len(sent) >= 200, f"hypothesis generated only {len(sent)} cases"
    publish("devices/campaign-sentinel/location", json_bytes({"ts": NOW_MS, "lon": 0.1, "lat": 0.1}))
    published = 2 * len(sent) + 1

    # Every publish is acknowledged only once Kafka has its record: wait for the bridge to say so.
    deadline = time.monotonic() + 120
    stats: dict = {}
    while time.monotonic() < deadline:
        lines = [orjson.loads(x) for x in campaign["bridge"].log().splitlines() if '"msg":"stats"' in x]
        stats = lines[-1] if lines else {}
        if stats.get("acked") == published and stats.get("pending") == 0:
            break
        time.sleep(0.5)
    assert stats.get("acked") == published, f"not every publish was acknowledged: {stats}"

    locations = read_topic(kafka.bootstrap, campaign["locations"], settle=2.0, timeout=120)
    dead = read_topic(kafka.bootstrap, campaign["dlq"], settle=2.0, timeout=120)
    points = Counter((r.key, r.value["ts"]) for r in locations)
    lost = [g for g in good if points[g] == 0]
    duplicates = sum(c - 1 for c in points.values() if c > 1)
    dead_by_topic: dict[str, list[dict]] = {}
    for record in dead:
        contracts.check("locations_dlq", record.value)
        assert record.value["reason"] and record.value["source"] == "mqtt-bridge"
        dead_by_topic.setdefault(record.value["topic"], []).append(record.value)
    point_vehicles = {key for key, _ in points}
    unaccounted, accepted_unsure, reasons = [], 0, Counter()
    for n, case in enumerate(sent):
        letters = dead_by_topic.get(case_topic(case.kind, n), [])
        if letters:
            reasons[letters[0]["reason"].split(":")[0][:40]] += 1
        elif case.certain or case_vehicle(case.kind, n) not in point_vehicles:
            unaccounted.append((n, case))
        else:
            accepted_unsure += 1

    final = requests.get(health, timeout=10)
    health_checks[final.status_code] += 1
    print(
        f"\nMQTT campaign: {len(sent)} malformed publishes ({sum(c.certain for c in sent)} certainly invalid)"
        f" + {len(good)} valid points; dead-lettered {sum(len(v) for v in dead_by_topic.values())},"
        f" accepted (optional-field garbage dropped) {accepted_unsure}, unaccounted {len(unaccounted)};"
        f" valid points lost {len(lost)}, duplicates {duplicates}; bridge /health {dict(health_checks)},"
        f" callback errors {stats.get('callback_errors')}, rejected by kind {stats.get('rejected')};"
        f" {time.monotonic() - started:.0f} s"
    )
    print(f"MQTT campaign reasons (first words): {dict(reasons.most_common(12))}")
    assert unaccounted == [], (
        f"{len(unaccounted)} malformed publishes neither dead-lettered nor points: {unaccounted[:5]}"
    )
    assert lost == [], f"{len(lost)} valid points lost: {lost[:5]}"
    assert set(health_checks) == {200}, "the bridge was unhealthy during the campaign"
    assert final.json()["checks"]["threads"] == "up"
    assert campaign["bridge"].process.poll() is None
