#!/usr/bin/env bash
# Installs everything the tests and `make local` need on a fresh Debian 12 machine (root), from the package
# registries only (Debian apt, PyPI, npm, Maven Central, the Go module proxy, crates.io). Heavy results are
# cached outside the checkout in $GEOSTREAM_CACHE (default /var/cache/geostream), keyed by version, so a
# second run takes seconds.
#
#   scripts/install-deps.sh                 everything: base, then the servers and time-series groups in parallel
#   scripts/install-deps.sh NAME...         only these groups or components, in this order
#
# Groups: base (apt python npm-tools frontend), servers (three parallel chains, mostly downloads: mobilitydb;
# kafka then opensearch, which share a Maven repository; flink, with a repository of its own), timeseries
# (influxdb telegraf: Go and Rust builds, CPU-bound). scripts/test.sh runs servers and timeseries in the background while it lints and
# runs the tests that need neither.
#
# Every component that does work logs "[install-deps] NAME: W s wall, C s CPU" (CPU = user + sys of all its
# processes) after its own line. Package-manager caches live in $GEOSTREAM_CACHE too, never in ~.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${GEOSTREAM_CACHE:-/var/cache/geostream}
VENV=$CACHE/venv
mkdir -p "$CACHE"
export PIP_CACHE_DIR=${PIP_CACHE_DIR:-$CACHE/pip}
export npm_config_cache=${npm_config_cache:-$CACHE/npm}

log() { printf '[install-deps] %s\n' "$*" >&2; }

APT_PACKAGES=(
  mosquitto mosquitto-clients   # MQTT broker and mosquitto_pub for the tests
  debootstrap                    # Debian 13 root for MobilityDB, base images for the compose smoke test
  shellcheck                     # lint
  docker.io docker-compose       # compose validation and the compose smoke test
  chromium                       # e2e tests and the map benchmark (driven by playwright-core)
  libegl-mesa0 libgl1-mesa-dri   # faster software GL for headless Chromium
  libsodium23                    # OwnTracks payload encryption
  maven openjdk-17-jdk-headless  # Kafka, OpenSearch, Flink connectors; here so no background install runs apt
)

install_apt() {
  local installed missing=() pkg
  # One dpkg-query for all: the loop of one call per package took seconds on a busy machine.
  installed=" $(dpkg-query -W -f='${db:Status-Abbrev}${Package} ' "${APT_PACKAGES[@]}" 2>/dev/null | grep -o 'ii *[^ ]*' | awk '{print $2}' | tr '\n' ' ') "
  for pkg in "${APT_PACKAGES[@]}"; do
    [[ $installed == *" $pkg "* ]] || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    log "apt: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Python: one venv, rebuilt only when a requirements file changes.
install_python() {
  local req_hash
  req_hash=$(cat "$ROOT"/requirements-dev.txt "$ROOT"/services/*/requirements.txt | sha256sum | cut -c1-16)
  [[ -f $VENV/.requirements-$req_hash ]] && return 0
  log "python venv at $VENV"
  [[ -x $VENV/bin/python ]] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check pip==26.3
  "$VENV/bin/pip" install -q -r "$ROOT/requirements-dev.txt"
  rm -f "$VENV"/.requirements-*
  touch "$VENV/.requirements-$req_hash"
}

# npm tools used by the static checks (the current Compose JSON Schema ships in dclint).
install_npm_tools() {
  local tools=$CACHE/npm-tools
  [[ -f $tools/node_modules/dclint/schemas/compose.schema.json ]] && return 0
  log "npm tools at $tools"
  mkdir -p "$tools"
  npm install --silent --prefix "$tools" --no-save dclint@3.1.0 >/dev/null
}

# Frontend dependencies (npm's cache in $CACHE/npm keeps a fresh clone's npm ci fast) and its build.
install_frontend() {
  local stamp dist
  [[ -f $ROOT/frontend/package-lock.json ]] || return 0
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
}

# Each installer exits at once when its cached result is complete; those printing a path go to /dev/null.
install_component() {
  case $1 in
    apt) install_apt ;;
    python) install_python ;;
    npm-tools) install_npm_tools ;;
    frontend) install_frontend ;;
    # PostgreSQL 17 + PostGIS 3.5 + MobilityDB 1.2 in a cached Debian 13 root.
    mobilitydb) "$ROOT/scripts/install-mobilitydb.sh" >/dev/null ;;
    # Apache Kafka (KRaft) for the local servers and the compose stand-in: jars from Maven Central.
    kafka) "$ROOT/scripts/install-kafka.sh" ;;
    # OpenSearch 2.19 (Elasticsearch's stand-in in tests and `make local`): jars from Maven Central.
    opensearch) "$ROOT/scripts/install-opensearch.sh" >/dev/null ;;
    # PyFlink in its own venv (it pins many packages of its own) + connector jars from Maven Central.
    flink) "$ROOT/services/flink-job/install-local.sh" ;;
    # InfluxDB OSS 1.13 with the v2 write API, built from the Go module proxy (+ libflux from crates.io).
    influxdb) "$ROOT/scripts/install-influxdb.sh" >/dev/null ;;
    # Telegraf with only the project's plugins, built from the Go module proxy.
    telegraf) "$ROOT/scripts/install-telegraf.sh" >/dev/null ;;
    *) log "unknown component or group: $1"; return 2 ;;
  esac
}

# Sets CPU_TICKS: user + sys CPU, in clock ticks, of every finished child this (sub)shell has waited for.
# Not a command substitution: that would read the substitution's own subshell.
read_children_cpu() {
  local stat fields
  read -r stat <"/proc/$BASHPID/stat"
  stat=${stat##*) }   # the fields after "(comm)": state is field 3, cutime 16, cstime 17
  read -r -a fields <<<"$stat"
  CPU_TICKS=$((fields[13] + fields[14]))
}

timed_component() {
  local name=$1 started=$SECONDS cpu_before ticks
  read_children_cpu
  cpu_before=$CPU_TICKS
  install_component "$name"
  # A cached component returns in well under a second: only real work is reported.
  if ((SECONDS - started >= 2)); then
    read_children_cpu
    ticks=$(getconf CLK_TCK)
    log "$name: $((SECONDS - started)) s wall, $(((CPU_TICKS - cpu_before + ticks / 2) / ticks)) s CPU"
  fi
}

# Runs each argument (a space-separated list of components, run in order) as a parallel chain with its own
# log; prints every log when all are done; fails, after showing them, if any chain failed.
parallel_chains() {
  local chains=("$@") logs pids=() chain component i failed=()
  logs=$(mktemp -d /tmp/geostream-install.XXXXXX)
  for chain in "$@"; do
    # shellcheck disable=SC2086  # a chain is a word list
    (for component in $chain; do timed_component "$component"; done) >"$logs/${#pids[@]}.log" 2>&1 &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed+=("${chains[$i]}")
    cat "$logs/$i.log" >&2
  done
  rm -rf "$logs"
  if ((${#failed[@]})); then
    for chain in "${failed[@]}"; do log "FAILED: $chain (its log is above)"; done
    return 1
  fi
}

install() {
  local name component
  for name in "$@"; do
    case $name in
      base) for component in apt python npm-tools frontend; do timed_component "$component"; done ;;
      servers) parallel_chains mobilitydb "kafka opensearch" flink ;;
      timeseries) for component in influxdb telegraf; do timed_component "$component"; done ;;
      *) timed_component "$name" ;;
    esac
  done
}

if (($#)); then
  install "$@"
else
  install base
  parallel_chains mobilitydb "kafka opensearch" flink "influxdb telegraf"
  log "ready"
fi
