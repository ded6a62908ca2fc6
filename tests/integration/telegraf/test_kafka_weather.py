"""The real Telegraf reads weather records from the real Kafka broker and writes line protocol.

The config has the shape the platform's telegraf.conf uses for ``weather_data_v2`` (kafka_consumer +
json_v2, the point's time taken from the record's RFC 3339 ``timestamp``), with ``outputs.file`` in place
of InfluxDB so the points can be compared byte for byte.
"""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from geostream.kafka import make_producer
from localservers import free_port
from localservers.telegraf import TelegrafConfigError, TelegrafProcess, check_config

REPO = Path(__file__).resolve().parents[3]

WEATHER_CONFIG = """
[agent]
  interval = "1s"
  flush_interval = "1s"
  flush_jitter = "0s"
  omit_hostname = true
  skip_processors_after_aggregators = true

[[inputs.kafka_consumer]]
  brokers = ["${KAFKA_BROKERS}"]
  topics = ["${WEATHER_TOPIC}"]
  consumer_group = "${WEATHER_GROUP}"
  offset = "oldest"
  data_format = "json_v2"

  [[inputs.kafka_consumer.json_v2]]
    measurement_name = "weather"
    timestamp_path = "timestamp"
    timestamp_format = "rfc3339"

    [[inputs.kafka_consumer.json_v2.tag]]
      path = "city"
    [[inputs.kafka_consumer.json_v2.tag]]
      path = "country"
    [[inputs.kafka_consumer.json_v2.tag]]
      path = "station_id"
    [[inputs.kafka_consumer.json_v2.tag]]
      path = "data_origin"

    [[inputs.kafka_consumer.json_v2.field]]
      path = "temperature"
      type = "float"
    [[inputs.kafka_consumer.json_v2.field]]
      path = "humidity"
      type = "float"
    [[inputs.kafka_consumer.json_v2.field]]
      path = "wind_speed"
      type = "float"
    [[inputs.kafka_consumer.json_v2.field]]
      path = "precipitation"
      type = "float"
    [[inputs.kafka_consumer.json_v2.field]]
      path = "is_rain"
      type = "int"

# Written every second.
[[outputs.file]]
  alias = "prompt"
  files = ["${PROMPT_OUT}"]
  data_format = "influx"
  influx_sort_fields = true

# Written only when Telegraf stops: SIGTERM must flush it.
[[outputs.file]]
  alias = "on_stop"
  flush_interval = "1h"
  files = ["${ON_STOP_OUT}"]
  data_format = "influx"
  influx_sort_fields = true

[[outputs.health]]
  service_address = "http://127.0.0.1:${HEALTH_PORT}"
"""


def weather(city: str, country: str, station: str, timestamp: str, temperature: float, **extra) -> dict:
    return {
        "city": city,
        "country": country,
        "station_id": station,
        "timestamp": timestamp,
        "temperature": temperature,
        "humidity": 65,
        "wind_speed": 12.5,
        "precipitation": 0.0,
        "next_hour_temp": temperature + 0.5,
        "next_hour_precip": 0.0,
        "is_rain": 0,
        "is_storm": 0,
        "data_origin": "api",
        **extra,
    }


def read_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def wait_for_lines(path: Path, count: int, telegraf: TelegrafProcess, timeout: float = 90) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(lines := read_lines(path)) < count:
        if not telegraf.running():
            pytest.fail(f"telegraf exited:\n{telegraf.log()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{len(lines)} of {count} points after {timeout:.0f} s: {lines}\n{telegraf.log()}")
        time.sleep(0.2)
    return lines


def test_weather_records_become_points_at_their_event_time(kafka, new_topic, telegraf_bin, tmp_path):
    topic = new_topic("weather-telegraf")
    records = [
        orjson.dumps(weather("Paris", "FR", "LFPG", "2026-07-14T12:00:00Z", 21.5)),
        b'{"city": "Paris", "timestamp": ',  # not JSON
        orjson.dumps(weather("Paris", "FR", "LFPG", "yesterday at noon", 22.0)),  # not RFC 3339
        # A UTC offset, a fraction of a second and a tag value with a space (escaped in line protocol).
        orjson.dumps(
            weather(
                "New York", "US", "KJFK", "2026-07-14T08:30:15.250-04:00", 27, is_rain=1, precipitation=2.4
            )
        ),
    ]
    producer = make_producer(kafka.bootstrap, client_id="telegraf-test")
    for record in records:
        producer.produce(topic, record, key=b"city")
    assert producer.flush(30) == 0

    prompt, on_stop = tmp_path / "prompt.lp", tmp_path / "on_stop.lp"
    config = tmp_path / "telegraf.conf"
    config.write_text(WEATHER_CONFIG)
    health_port = free_port()
    env = {
        "KAFKA_BROKERS": kafka.bootstrap,
        "WEATHER_TOPIC": topic,
        "WEATHER_GROUP": f"telegraf-{topic}",
        "PROMPT_OUT": str(prompt),
        "ON_STOP_OUT": str(on_stop),
        "HEALTH_PORT": str(health_port),
    }
    check_config(config, env)
    telegraf = TelegrafProcess(config, env, tmp_path, health_url=f"http://127.0.0.1:{health_port}/health")
    telegraf.start()
    try:
        # Floats are written bare (65 is a float), integers with an "i"; the time is the record's, in ns.
        expected = [
            "weather,city=Paris,country=FR,data_origin=api,station_id=LFPG "
            "humidity=65,is_rain=0i,precipitation=0,temperature=21.5,wind_speed=12.5 1784030400000000000",
            "weather,city=New\\ York,country=US,data_origin=api,station_id=KJFK "
            "humidity=65,is_rain=1i,precipitation=2.4,temperature=27,wind_speed=12.5 1784032215250000000",
        ]
        assert wait_for_lines(prompt, 2, telegraf) == expected
        assert read_lines(on_stop) == []
        # Each broken record was dropped with an error in the log, and Telegraf kept consuming.
        errors = [line for line in telegraf.log().splitlines() if " E! [inputs.kafka_consumer]" in line]
        assert len(errors) == 2, errors
        assert "invalid JSON" in errors[0]
        assert 'unable to parse timestamp "yesterday at noon"' in errors[1]
        assert telegraf.running()
    finally:
        exit_code = telegraf.stop()
    assert exit_code == 0, telegraf.log()
    assert read_lines(on_stop) == expected
    assert read_lines(prompt) == expected


def test_a_plugin_left_out_of_the_build_is_rejected(tmp_path, telegraf_bin):
    config = tmp_path / "telegraf.conf"
    config.write_text('[[inputs.cpu]]\n[[outputs.file]]\n  files = ["stdout"]\n')
    with pytest.raises(TelegrafConfigError, match="undefined but requested input: cpu"):
        check_config(config)


def test_a_non_string_setting_from_the_environment_is_rejected(tmp_path, telegraf_bin):
    # Strict environment handling (Telegraf's default since 1.38): ${NAME} works in strings only.
    config = tmp_path / "telegraf.conf"
    config.write_text("[agent]\n  metric_batch_size = ${BATCH}\n[[inputs.internal]]\n[[outputs.file]]\n")
    with pytest.raises(TelegrafConfigError, match="invalid TOML syntax"):
        check_config(config, {"BATCH": "100"})


def test_the_platform_config_loads_with_this_build(tmp_path, telegraf_bin):
    """telegraf/telegraf.conf names only plugins compiled in, with valid options."""
    env = {
        "KAFKA_BROKERS": "127.0.0.1:9092",
        "INFLUXDB_URL": "http://127.0.0.1:8086",
        "INFLUXDB_TOKEN": "token",
        "INFLUXDB_ORG": "speed_org",
        "INFLUXDB_BUCKET": "speed_bucket",
    }
    check_config(REPO / "telegraf" / "telegraf.conf", env)
