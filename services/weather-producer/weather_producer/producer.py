"""One round = one ``weather_data_v2`` message per city: from the API when it is due and answers, else
simulated. Each message is checked against the shared contract and acknowledged by Kafka before the round
counts it; a message that fails its contract is logged and counted, never sent."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from prometheus_client import Counter

from geostream import contracts
from geostream.health import Check
from geostream.kafka import ReplaceableProducer, broker_reachable, make_batch_producer, produce_and_wait
from weather_producer.api_client import ApiUnavailableError, VisualCrossingClient
from weather_producer.cities import City, parse_cities
from weather_producer.observation import Observation, weather_message
from weather_producer.settings import Settings
from weather_producer.simulation import CitySimulator
from weather_producer.visual_crossing import ResponseError, observation

log = logging.getLogger("weather-producer")

SENT = Counter("weather_messages_sent", "Messages acknowledged by Kafka", ["data_origin"])
FAILED = Counter("weather_messages_failed", "Messages Kafka did not acknowledge")
INVALID = Counter("weather_messages_invalid", "Observations that broke the weather_data_v2 contract")
FALLBACKS = Counter("weather_api_fallbacks", "Rounds a city was simulated because the API could not answer")


@dataclass
class Stats:
    sent_api: int = 0
    sent_simulated: int = 0
    failed: int = 0
    invalid: int = 0
    api_fallbacks: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


class WeatherProducer:
    def __init__(self, settings: Settings, client: VisualCrossingClient | None = None):
        self.settings = settings
        self.cities = parse_cities(settings.weather_cities)
        self.client = client or VisualCrossingClient(
            settings.visual_crossing_api_key.get_secret_value(),
            daily_budget=settings.visual_crossing_daily_budget,
            timeout_s=settings.visual_crossing_timeout_s,
            base_url=settings.visual_crossing_base_url,
        )
        rng = random.Random(settings.weather_seed)
        self.simulators = {c.name: CitySimulator(c, random.Random(rng.random())) for c in self.cities}
        self.last_api_fetch: dict[str, float] = {}
        self.stats = Stats()
        self.kafka = ReplaceableProducer(
            lambda: make_batch_producer(
                settings.kafka_brokers, client_id="weather-producer", timeout_s=settings.delivery_timeout_s
            )
        )

    def _from_api(self, city: City, now: float) -> Observation | None:
        """The API's observation when one is due for ``city``; None to simulate (the reason is logged)."""
        if not self.client.api_key:
            return None
        due = now - self.last_api_fetch.get(city.name, float("-inf")) >= self.settings.weather_api_refresh_s
        if not due:
            return None
        try:
            obs, forecast = observation(self.client.fetch(city.query))
        except (ApiUnavailableError, ResponseError) as exc:
            self.stats.api_fallbacks += 1
            FALLBACKS.inc()
            log.warning("api unavailable, simulating", extra={"city": city.name, "reason": str(exc)})
            return None
        self.last_api_fetch[city.name] = now
        if not forecast:
            log.info("no hourly forecast in the response: next hour = current", extra={"city": city.name})
        return obs

    def messages(self, moment: datetime) -> list[dict[str, object]]:
        now = moment.timestamp()
        out = []
        for city in self.cities:
            obs = self._from_api(city, now)
            origin = "api" if obs is not None else "simulated"
            if obs is None:
                obs = self.simulators[city.name].observe(moment)
            try:
                message = weather_message(city.name, city.country, obs, origin)
                contracts.check(self.settings.kafka_topic, message)
            except ValueError as exc:
                self.stats.invalid += 1
                INVALID.inc()
                log.error("observation rejected", extra={"city": city.name, "reason": str(exc)})
                continue
            out.append(message)
        return out

    def send_round(self, moment: datetime | None = None) -> int:
        batch = self.messages(moment or datetime.now(UTC).replace(microsecond=0))
        if not batch:
            return 0
        producer = self.kafka.producer
        records = [(str(m["city"]).encode(), orjson.dumps(m)) for m in batch]
        report = produce_and_wait(
            producer, self.settings.kafka_topic, records, timeout=self.settings.delivery_timeout_s
        )
        self.kafka.record(report, producer)
        if report.complete:
            for m in batch:
                SENT.labels(m["data_origin"]).inc()
                if m["data_origin"] == "api":
                    self.stats.sent_api += 1
                else:
                    self.stats.sent_simulated += 1
        else:
            self.stats.failed += len(batch) - report.delivered
            FAILED.inc(len(batch) - report.delivered)
            log.error("kafka did not acknowledge", extra={"errors": report.errors[:3]})
        return report.delivered

    def health_checks(self) -> dict[str, Check]:
        return {
            "kafka": lambda: broker_reachable(self.kafka.producer),
            "delivering": self.kafka.delivering,
        }

    def close(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        self.kafka.producer.flush(max(deadline - time.monotonic(), 0.0))
