#!/usr/bin/env bash
# Compose smoke test: the real docker-compose.yml, built and run on a private Docker engine, then the
# e2e tests pointed at it.
#
#   1. start the private engine (engine.sh) and build base images + stand-ins (images.sh, cached);
#   2. build every project image of the runnable services, start them, wait until all are healthy;
#   3. run probe.py (each stand-in's protocol, then every pipeline leg that runs here, the buoys' included:
#      buoy-simulator -> udp-ingest -> Kafka -> es-indexer -> Elasticsearch stand-in), then
#      `pytest tests/e2e` with GEOSTREAM_E2E_TARGET=compose (endpoints below), inside the engine's
#      network namespace where the stack's published ports are on localhost;
#   4. always: docker-compose down -v, prune networks/volumes/dangling images, stop the engine (daemons,
#      network namespace, iptables chains, cgroups).
#
# Environment:
#   GEOSTREAM_SKIP_COMPOSE=1         skip (quick local runs); ignored when CI=true
#   GEOSTREAM_COMPOSE_KEEP=1         leave the stack and the engine running after the tests (debugging;
#                                    clean up later with: tests/compose/engine.sh stop)
#   GEOSTREAM_COMPOSE_TIMEOUT=900    seconds to wait for the stack to become healthy
#   GEOSTREAM_COMPOSE_EXTRA=FILE     one more compose file after the override (debugging)
#   GEOSTREAM_PYTHON                 python with pytest and the test dependencies
#                                    (default /var/cache/geostream/venv/bin/python)
#   extra arguments are passed to pytest
set -euo pipefail

# shellcheck source=tests/compose/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Services that cannot run on this machine, with the reason printed for each: Grafana and Kibana have no
# runnable server in any registry reachable here, so images.sh has no stand-in for them (InfluxDB,
# Telegraf and Elasticsearch have one: a real InfluxDB 1.13 and Telegraf from the Go module proxy, a real
# OpenSearch from Maven Central behind the test-only Elasticsearch shim).
declare -A NOT_RUN_HERE=(
    [grafana]="no runnable Grafana exists here"
    [kibana]="no runnable Kibana exists here"
    [kibana-setup]="imports the saved objects into Kibana, which does not run here"
)

PYTHON=${GEOSTREAM_PYTHON:-/var/cache/geostream/venv/bin/python}
TIMEOUT=${GEOSTREAM_COMPOSE_TIMEOUT:-900}
COMPOSE_FILES=(-f "$GS_REPO_ROOT/docker-compose.yml" -f "$GS_COMPOSE_DIR/docker-compose.override.yml")
if [ -n "${GEOSTREAM_COMPOSE_EXTRA:-}" ]; then
    COMPOSE_FILES+=(-f "$(realpath "$GEOSTREAM_COMPOSE_EXTRA")")
fi
WORK=""
ENV_FILE=""
STARTED_STACK=0
declare -a TIMINGS=()

if [ "${GEOSTREAM_SKIP_COMPOSE:-}" = 1 ]; then
    if [ "${CI:-}" = true ]; then
        gs_log "GEOSTREAM_SKIP_COMPOSE is ignored in CI"
    else
        gs_log "compose smoke test skipped (GEOSTREAM_SKIP_COMPOSE=1)"
        exit 0
    fi
fi

gs_require_root

now() { date +%s; }

# Runs a stage and records its duration; a failing stage ends the script (set -e), and teardown runs.
timed() {
    local label=$1 start
    shift
    start=$(now)
    "$@"
    TIMINGS+=("$(printf '%-34s %5ss' "$label" "$(($(now) - start))")")
}

compose() {
    docker-compose --project-directory "$GS_REPO_ROOT" --env-file "$ENV_FILE" "${COMPOSE_FILES[@]}" "$@"
}

# .env.example (every variable the compose file expects) overlaid with the smoke test's values; a
# developer's own .env is never read.
make_env_file() {
    ENV_FILE=$WORK/compose.env
    : >"$ENV_FILE"
    if [ -f "$GS_REPO_ROOT/.env.example" ]; then
        grep -E '^[A-Za-z_][A-Za-z0-9_]*=' "$GS_REPO_ROOT/.env.example" >>"$ENV_FILE" || true
    fi
    grep -E '^[A-Za-z_][A-Za-z0-9_]*=' "$GS_COMPOSE_DIR/smoke.env" >>"$ENV_FILE"
}

env_value() {
    local value
    value=$(grep -E "^$1=" "$ENV_FILE" | tail -n 1 | cut -d= -f2-)
    echo "${value:-$2}"
}

# Every project Dockerfile is built through the compose file; one that no service uses would go
# untested, so it is named.
warn_unused_dockerfiles() {
    local used f
    used=$(compose config | "$PYTHON" -c '
import os, sys, yaml
for svc in (yaml.safe_load(sys.stdin).get("services") or {}).values():
    build = svc.get("build")
    if isinstance(build, dict):
        print(os.path.realpath(os.path.join(build["context"], build.get("dockerfile", "Dockerfile"))))
')
    while IFS= read -r f; do
        if ! grep -qxF "$(realpath "$f")" <<<"$used"; then
            gs_log "WARNING: $f is used by no service of docker-compose.yml, so it is not built here"
        fi
    done < <(find "$GS_REPO_ROOT/services" "$GS_REPO_ROOT/frontend" -name node_modules -prune -o \
        -name Dockerfile -type f -print 2>/dev/null)
}

# Decides what runs: every service of docker-compose.yml except the NOT_RUN_HERE ones, those behind a
# compose profile that is off by default, and those depending on either. Each one left out is printed.
select_services() {
    local plan verdict name reason
    plan=$(compose config | "$PYTHON" -c '
import os, sys, yaml
raw = yaml.safe_load(open(sys.argv[1])).get("services") or {}
active = yaml.safe_load(sys.stdin).get("services") or {}
cannot = dict(line.split("=", 1) for line in sys.argv[2].splitlines())
enabled = set(filter(None, os.environ.get("COMPOSE_PROFILES", "").split(",")))
reasons = {}
for name, svc in raw.items():
    profiles = set((svc or {}).get("profiles") or [])
    if name in cannot:
        reasons[name] = cannot[name]
    elif profiles and not profiles & enabled:
        reasons[name] = "in compose profile(s) " + ", ".join(sorted(profiles)) + ", not enabled by default"
changed = True
while changed:
    changed = False
    for name, svc in active.items():
        deps = svc.get("depends_on") or {}
        blocked = sorted(d for d in deps if d in reasons)
        if name not in reasons and blocked:
            reasons[name] = "depends on " + ", ".join(blocked) + ", not run here"
            changed = True
for name in raw:
    print("skip", name, reasons[name]) if name in reasons else print("run", name)
for name in sorted(cannot.keys() - raw.keys()):
    print("absent", name, "-")
' "$GS_REPO_ROOT/docker-compose.yml" "$(for name in "${!NOT_RUN_HERE[@]}"; do printf '%s=%s\n' "$name" "${NOT_RUN_HERE[$name]}"; done)")
    RUN_SERVICES=()
    while read -r verdict name reason; do
        case "$verdict" in
        run) RUN_SERVICES+=("$name") ;;
        skip) gs_log "NOT RUN HERE: $name ($reason)" ;;
        absent) gs_log "not run here, and not defined in docker-compose.yml: $name" ;;
        esac
    done <<<"$plan"
    [ "${#RUN_SERVICES[@]}" -gt 0 ] || gs_die "docker-compose.yml has no runnable service"
    gs_log "services run here: ${RUN_SERVICES[*]}"
    warn_unused_dockerfiles
}

# Waits until every container of the project is healthy (health check) or running (none), and every
# one-shot container (restart: "no") has exited 0. Fails fast on an unhealthy or failed container.
wait_healthy() {
    local deadline=$(($(now) + TIMEOUT)) ids id line name state health exitcode restart restarts pending
    while :; do
        pending=()
        ids=$(compose ps -q)
        [ -n "$ids" ] || gs_die "no container was started"
        for id in $ids; do
            line=$(gs_docker inspect -f '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.ExitCode}} {{.HostConfig.RestartPolicy.Name}} {{.RestartCount}}' "$id")
            read -r name state health exitcode restart restarts <<<"$line"
            name=${name#/}
            if [ "$restarts" -ge 3 ]; then
                gs_docker logs --tail 60 "$id" >&2 || true
                gs_die "container $name keeps restarting ($restarts restarts)"
            fi
            case "$state/$health" in
            running/healthy | running/none) ;;
            exited/*)
                if [ "$exitcode" = 0 ] && { [ "$restart" = no ] || [ -z "$restart" ]; }; then
                    continue
                fi
                gs_docker logs --tail 60 "$id" >&2 || true
                gs_die "container $name exited with code $exitcode"
                ;;
            */unhealthy)
                gs_docker logs --tail 60 "$id" >&2 || true
                gs_die "container $name is unhealthy"
                ;;
            *) pending+=("$name($state/$health)") ;;
            esac
        done
        if [ "${#pending[@]}" -eq 0 ]; then
            gs_log "stack healthy:"
            compose ps >&2
            return 0
        fi
        if [ "$(now)" -ge "$deadline" ]; then
            compose ps >&2 || true
            compose logs --tail 40 >&2 || true
            gs_die "stack not healthy after ${TIMEOUT}s; waiting for: ${pending[*]}"
        fi
        sleep 3
    done
}

# Build output (pip and npm progress) goes to a log file, shown only when a build fails.
build_images() {
    local log=$GS_LOG_DIR/compose-build.log
    gs_log "building the project images: ${RUN_SERVICES[*]} (log: $log)"
    if ! compose build "${RUN_SERVICES[@]}" >"$log" 2>&1; then
        tail -n 80 "$log" >&2
        gs_die "docker-compose build failed (log: $log)"
    fi
    grep -E '^Successfully tagged' "$log" >&2 || true
}

stack_up() {
    if ! compose up -d --no-build "${RUN_SERVICES[@]}"; then
        compose ps >&2 || true
        compose logs --tail 60 >&2 || true
        gs_die "docker-compose up failed"
    fi
    wait_healthy
}

run_e2e() {
    local kafka_port ingest_port pg_port mqtt_port pg_password pg_db pg_user
    kafka_port=$(env_value KAFKA_PORT 9092)
    ingest_port=$(env_value INGEST_PORT 5000)
    pg_port=$(env_value POSTGRES_PORT 5432)
    mqtt_port=$(env_value MQTT_PORT 1883)
    pg_password=$(env_value POSTGRES_PASSWORD postgres)
    pg_db=$(env_value POSTGRES_DB geostream)
    pg_user=$(env_value POSTGRES_USER postgres)
    local e2e_env=(
        GEOSTREAM_E2E_TARGET=compose
        COMPOSE_PROJECT_NAME="$(env_value COMPOSE_PROJECT_NAME geostream-smoke)"
        DOCKER_HOST="$DOCKER_HOST"
        INGEST_URL="http://localhost:$ingest_port"
        WS_URL="ws://localhost:$(env_value WS_RELAY_PORT 8082)"
        API_URL="http://localhost:$(env_value TRIPS_API_PORT 8083)"
        FRONTEND_URL="http://localhost:$(env_value FRONTEND_PORT 8080)"
        FLINK_URL="http://localhost:$(env_value FLINK_UI_PORT 8081)"
        KAFKA_BROKERS="localhost:$kafka_port"
        DATABASE_URL="postgresql://$pg_user:$pg_password@localhost:$pg_port/$pg_db"
        MQTT_BROKER_HOST=localhost
        MQTT_BROKER_PORT="$mqtt_port"
        MQTT_USERNAME="$(env_value MQTT_USERNAME admin)"
        MQTT_PASSWORD="$(env_value MQTT_PASSWORD '')"
        INGEST_TOKEN="$(env_value INGEST_TOKEN '')"
    )
    if printf '%s\n' "${RUN_SERVICES[@]}" | grep -qx telegraf; then
        e2e_env+=(
            INFLUXDB_URL="http://localhost:$(env_value INFLUXDB_PORT 8086)"
            INFLUXDB_TOKEN="$(env_value INFLUXDB_TOKEN '')"
        )
    fi
    # The buoy leg (buoy-simulator -> udp-ingest -> Kafka -> es-indexer -> Elasticsearch stand-in).
    if printf '%s\n' "${RUN_SERVICES[@]}" | grep -qx es-indexer; then
        e2e_env+=(
            ELASTICSEARCH_URL="http://localhost:$(env_value ELASTICSEARCH_PORT 9200)"
            ELASTICSEARCH_USERNAME=elastic
            ELASTICSEARCH_PASSWORD="$(env_value ELASTIC_PASSWORD '')"
        )
    fi
    gs_log "probing the stack (its stand-ins, then every pipeline leg that runs here)"
    "$GS_COMPOSE_DIR/engine.sh" exec env "${e2e_env[@]}" "$PYTHON" "$GS_COMPOSE_DIR/probe.py"
    if [ ! -d "$GS_REPO_ROOT/tests/e2e" ]; then
        gs_log "tests/e2e does not exist yet: only the probe ran"
        return 0
    fi
    gs_log "running pytest tests/e2e against the stack: ${e2e_env[*]}"
    (cd "$GS_REPO_ROOT" && "$GS_COMPOSE_DIR/engine.sh" exec env "${e2e_env[@]}" \
        "$PYTHON" -m pytest -p no:cacheprovider "$GS_REPO_ROOT/tests/e2e" "$@")
}

teardown() {
    local rc=$?
    trap - EXIT INT TERM
    if [ "${GEOSTREAM_COMPOSE_KEEP:-}" = 1 ]; then
        gs_log "GEOSTREAM_COMPOSE_KEEP=1: stack and engine left running (DOCKER_HOST=$DOCKER_HOST)"
    else
        local start
        start=$(now)
        if gs_engine_up; then
            if [ "$STARTED_STACK" = 1 ]; then
                compose down --volumes --remove-orphans --timeout 20 >&2 || rc=1
            fi
            gs_docker container prune -f >/dev/null || true
            gs_docker network prune -f >/dev/null || true
            gs_docker volume prune -f >/dev/null || true
            gs_docker image prune -f >/dev/null || true
        fi
        "$GS_COMPOSE_DIR/engine.sh" stop || rc=1
        TIMINGS+=("$(printf '%-34s %5ss' "teardown" "$(($(now) - start))")")
    fi
    [ -n "$WORK" ] && rm -rf "$WORK"
    gs_log "timings:"
    local t
    for t in "${TIMINGS[@]}"; do
        printf '    %s\n' "$t" >&2
    done
    if [ "$rc" = 0 ]; then
        gs_log "compose smoke test passed"
    else
        gs_log "compose smoke test FAILED (exit $rc)"
    fi
    exit "$rc"
}

main() {
    # The "tools" profile (dataset-loader) runs too: it sends its sample to http-ingest and must exit 0.
    export COMPOSE_PROFILES=${COMPOSE_PROFILES:-tools}
    mkdir -p "$GS_DOCKER_CACHE"
    exec 9>"$GS_DOCKER_CACHE/smoke.lock"
    flock -n 9 || gs_die "another compose smoke test is running on this machine"
    [ -f "$GS_REPO_ROOT/docker-compose.yml" ] || gs_die "no docker-compose.yml at $GS_REPO_ROOT"
    WORK=$(mktemp -d /tmp/geostream-smoke.XXXXXX)
    trap teardown EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    timed "engine start (+ packages)" "$GS_COMPOSE_DIR/engine.sh" start
    timed "base images + stand-ins" "$GS_COMPOSE_DIR/images.sh" all
    make_env_file
    compose config -q
    select_services

    STARTED_STACK=1
    # A stack left by an interrupted run is removed first, volumes included.
    compose down --volumes --remove-orphans --timeout 10 >/dev/null 2>&1 || true
    timed "project image builds" build_images
    timed "stack up + healthy" stack_up
    timed "e2e tests" run_e2e "$@"
}

main "$@"
