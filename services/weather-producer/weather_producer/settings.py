from __future__ import annotations

from pydantic import SecretStr

from geostream.settings import ServiceSettings
from weather_producer.api_client import BASE_URL
from weather_producer.cities import DEFAULT_CITIES


class Settings(ServiceSettings):
    kafka_topic: str = "weather_data_v2"
    visual_crossing_api_key: SecretStr = SecretStr("")
    """Without a key every observation is simulated (data_origin "simulated")."""
    visual_crossing_daily_budget: int = 1000
    """Records per UTC day the producer may spend (the free plan's limit)."""
    visual_crossing_timeout_s: float = 10.0
    visual_crossing_base_url: str = BASE_URL
    """The Timeline API's base; the tests point it at a local stand-in."""
    weather_cities: str = DEFAULT_CITIES
    weather_interval_s: float = 60.0
    """Seconds between two rounds (one message per city per round); ``--interval`` overrides it."""
    weather_api_refresh_s: float = 900.0
    """A city is asked of the API at most this often; rounds in between re-send nothing new for it."""
    weather_seed: int | None = None
    health_host: str = "0.0.0.0"
    health_port: int = 8092
    delivery_timeout_s: float = 10.0
