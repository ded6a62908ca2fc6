#!/usr/bin/env bash
# PyFlink 2.0 + the Kafka/JDBC connector jars in their own venv, for the local MiniCluster (tests,
# `make local`, the benchmark): ${GEOSTREAM_CACHE:-/var/cache/geostream}/flink-venv.
# Idempotent: a stamp named after the hash of requirements.txt and prune_jars.py skips the work
# (about 2 min and 900 MB) when nothing changed. Java 17 must be on PATH (Debian: openjdk-17-jre-headless).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${GEOSTREAM_CACHE:-/var/cache/geostream}
VENV=${FLINK_VENV:-$CACHE/flink-venv}
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}

log() { printf '[flink-job install] %s\n' "$*" >&2; }

stamp=$VENV/.geostream-$(cat "$HERE/requirements.txt" "$HERE/prune_jars.py" | sha256sum | cut -c1-16)
if [[ -f $stamp ]]; then
  exit 0
fi

if ! command -v java >/dev/null 2>&1; then
  log "java not found: installing openjdk-17-jre-headless"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
fi

log "PyFlink venv at $VENV"
mkdir -p "$CACHE"
[[ -x $VENV/bin/python ]] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check -r "$HERE/requirements.txt"
"$VENV/bin/python" "$HERE/prune_jars.py"
rm -f "$VENV"/.geostream-*
touch "$stamp"
log "ready"
