# Geostream: the commands a newcomer needs. See README.md.
.PHONY: help test faults lint up down logs local servers bench

help:
	@echo "make up     run the platform with Docker (docker compose up -d)"
	@echo "make test   install what is missing, lint, run every test (CI runs this)"
	@echo "make local  run the whole pipeline here without Docker, on the default ports (Ctrl-C stops it)"
	@echo "make servers  only the servers (Kafka, Mosquitto, MobilityDB, InfluxDB, OpenSearch) on free ports (prints the settings)"
	@echo "make bench  run the benchmarks and print their figures"
	@echo "make faults the fault-injection suite alone (Kafka, MobilityDB, Mosquitto, bridge, Flink, slow client)"

test:
	scripts/test.sh

faults:
	scripts/install-deps.sh
	$${GEOSTREAM_CACHE:-/var/cache/geostream}/venv/bin/python -m pytest tests/faults -q

lint:
	scripts/install-deps.sh
	scripts/lint.sh

up:
	test -f .env || cp .env.example .env
	docker compose up -d

down:
	docker compose down

logs:
	docker compose logs -f --tail=100

local:
	scripts/install-deps.sh
	scripts/local.sh

servers:
	scripts/install-deps.sh
	PYTHONPATH=services/geostream:scripts $${GEOSTREAM_CACHE:-/var/cache/geostream}/venv/bin/python -m localservers

bench:
	scripts/install-deps.sh
	scripts/bench.sh
