"""``python -m geostream.create_topics``: create every platform topic that is missing (compose's topic-init).

Waits for the broker first, so it can run as soon as the broker container starts; exits 0 when every
topic exists, so services can depend on it with ``condition: service_completed_successfully``.
"""

from __future__ import annotations

from geostream.kafka import ensure_topics, wait_for_broker
from geostream.logs import setup_logging
from geostream.settings import ServiceSettings
from geostream.topics import ALL_TOPICS


def main() -> None:
    settings = ServiceSettings()
    log = setup_logging("topic-init", settings.log_level)
    wait_for_broker(settings.kafka_brokers, timeout=120)
    created = ensure_topics(settings.kafka_brokers)
    log.info("topics ready", extra={"created_topics": created, "topics": [t.name for t in ALL_TOPICS]})


if __name__ == "__main__":
    main()
