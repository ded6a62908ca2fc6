#!/usr/bin/env bash
# Installs everything the tests and `make local` need on a fresh Debian 12 machine (root), from the three
# reachable registries only: Debian apt, PyPI, npm. Heavy results are cached outside the checkout in
# $GEOSTREAM_CACHE (default /var/cache/geostream), so a second run takes seconds.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${GEOSTREAM_CACHE:-/var/cache/geostream}
VENV=$CACHE/venv
mkdir -p "$CACHE"

log() { printf '[install-deps] %s\n' "$*" >&2; }

APT_PACKAGES=(
  mosquitto mosquitto-clients   # MQTT broker and mosquitto_pub for the tests
  debootstrap                    # Debian 13 root for MobilityDB, base images for the compose smoke test
  shellcheck                     # lint
  docker.io docker-compose       # compose validation and the compose smoke test
  chromium                       # e2e tests and the map benchmark (driven by playwright-core)
  libegl-mesa0 libgl1-mesa-dri   # faster software GL for headless Chromium
  libsodium23                    # OwnTracks payload encryption
)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "apt: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python: one venv, rebuilt only when a requirements file changes.
req_hash=$(cat "$ROOT"/requirements-dev.txt "$ROOT"/services/*/requirements.txt | sha256sum | cut -c1-16)
if [[ ! -f $VENV/.requirements-$req_hash ]]; then
  log "python venv at $VENV"
  [[ -x $VENV/bin/python ]] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r "$ROOT/requirements-dev.txt"
  rm -f "$VENV"/.requirements-*
  touch "$VENV/.requirements-$req_hash"
fi

# npm tools used by the static checks (the current Compose JSON Schema ships in dclint).
NPM_TOOLS=$CACHE/npm-tools
if [[ ! -f $NPM_TOOLS/node_modules/dclint/schemas/compose.schema.json ]]; then
  log "npm tools at $NPM_TOOLS"
  mkdir -p "$NPM_TOOLS"
  npm install --silent --prefix "$NPM_TOOLS" --no-save dclint@3.1.0 >/dev/null
fi

# Frontend dependencies (npm's own cache keeps reruns fast).
if [[ -f $ROOT/frontend/package-lock.json ]]; then
  stamp=$ROOT/frontend/node_modules/.lock-$(sha256sum "$ROOT/frontend/package-lock.json" | cut -c1-16)
  if [[ ! -f $stamp ]]; then
    log "frontend npm ci"
    (cd "$ROOT/frontend" && npm ci --silent --no-audit --no-fund >/dev/null)
    touch "$stamp"
  fi
  dist=$ROOT/frontend/dist/index.html
  if [[ ! -f $dist ]] || [[ -n $(find "$ROOT/frontend/src" "$ROOT/frontend/index.html" "$ROOT/frontend/package.json" -newer "$dist" -print -quit) ]]; then
    log "frontend build"
    (cd "$ROOT/frontend" && npm run --silent build >/dev/null)
  fi
fi

# MobilityDB (PostgreSQL 17 + PostGIS 3.5 + MobilityDB 1.2 in a cached Debian 13 root).
if [[ -x $ROOT/scripts/install-mobilitydb.sh ]]; then
  "$ROOT/scripts/install-mobilitydb.sh"
fi

# Apache Kafka (KRaft) for the local servers and the compose stand-in: jars from Maven Central.
"$ROOT/scripts/install-kafka.sh"

# InfluxDB OSS 1.13 with the v2 write API, built from the Go module proxy (+ libflux from crates.io).
"$ROOT/scripts/install-influxdb.sh" >/dev/null

# OpenSearch 2.19 (Elasticsearch's stand-in in tests and `make local`): jars from Maven Central.
"$ROOT/scripts/install-opensearch.sh" >/dev/null

# Telegraf with only the project's plugins, built from the Go module proxy.
"$ROOT/scripts/install-telegraf.sh" >/dev/null

# PyFlink in its own venv (it pins many packages of its own).
if [[ -x $ROOT/services/flink-job/install-local.sh ]]; then
  "$ROOT/services/flink-job/install-local.sh"
fi
log "ready"
