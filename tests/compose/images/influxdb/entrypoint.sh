#!/bin/bash
# Entrypoint of the influxdb:2.7 stand-in (InfluxDB OSS 1.13, see the Dockerfile). Honours the official
# image's DOCKER_INFLUXDB_INIT_* variables on first start, then runs influxd on 127.0.0.1:8087 behind
# nginx on 8086, which turns "Authorization: Token ADMIN_TOKEN" into the admin's 1.x credentials.
set -euo pipefail

DATA=/var/lib/influxdb2
CONF=${INFLUXD_CONFIG_PATH:-/etc/influxdb2/influxdb.conf}
NGINX_CONF=/etc/influxdb2/nginx.conf
ADMIN_FILE=$DATA/.standin-admin   # user, password and token written by the setup; kept in the volume
PUBLIC_PORT=8086
INTERNAL=127.0.0.1:8087

log() { printf 'influxdb stand-in: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Anything but the server (bash, `influxd version`, `influx ping`) runs as given.
if [ "${1:-influxd}" != influxd ] || { [ "$#" -gt 1 ] && [ "${2#-}" = "$2" ]; }; then
    exec "$@"
fi
[ "$#" -le 1 ] || log "ignoring influxd flags (2.x flags have no 1.x equivalent): ${*:2}"

if [ "$(id -u)" = 0 ]; then
    # Like the official image: own the data and config volumes, then drop to the influxdb user.
    chown -R influxdb:influxdb "$DATA" "$(dirname "$CONF")"
    exec setpriv --reuid=influxdb --regid=influxdb --init-groups "$0" influxd
fi

write_influxd_config() {
    cat >"$CONF" <<CONF
# Written by the stand-in's entrypoint at each start.
reporting-disabled = true
bind-address = "127.0.0.1:8088"
[meta]
  dir = "$DATA/meta"
[data]
  dir = "$DATA/data"
  wal-dir = "$DATA/wal"
  query-log-enabled = false
[http]
  enabled = true
  bind-address = "$INTERNAL"
  auth-enabled = true
  flux-enabled = true
  log-enabled = false
  pprof-enabled = false
[logging]
  level = "info"
[monitor]
  store-enabled = false
CONF
}

wait_influxd() {
    local pid=$1
    for _ in $(seq 1 600); do
        curl -fs -o /dev/null "http://$INTERNAL/ping" && return 0
        kill -0 "$pid" 2>/dev/null || die "influxd exited during start-up"
        sleep 0.1
    done
    die "influxd not answering on $INTERNAL after 60 s"
}

# InfluxQL on the internal port. $1 names the step for errors (the query may hold a password).
influxql() {
    local step=$1
    shift
    curl -fsS -o /dev/null "$@" "http://$INTERNAL/query" || die "InfluxQL failed: $step"
}

# InfluxQL string literal.
quote() {
    local value=${1//\\/\\\\}
    printf "'%s'" "${value//\'/\\\'}"
}

# 2.x retention ("", "0", "0s": forever; "30d", "1w", "72h") as an InfluxQL duration.
retention_duration() {
    case "${1:-0}" in
    0 | 0s | 0h | 0d | infinite | INF) echo INF ;;
    *[!0-9a-z]*) die "DOCKER_INFLUXDB_INIT_RETENTION=$1 is not a duration such as 30d, 1w or 72h" ;;
    *) echo "$1" ;;
    esac
}

setup() {
    local user=${DOCKER_INFLUXDB_INIT_USERNAME:-} password=${DOCKER_INFLUXDB_INIT_PASSWORD:-}
    local org=${DOCKER_INFLUXDB_INIT_ORG:-} bucket=${DOCKER_INFLUXDB_INIT_BUCKET:-}
    local token=${DOCKER_INFLUXDB_INIT_ADMIN_TOKEN:-} duration pid script
    [ -n "$user" ] || die "DOCKER_INFLUXDB_INIT_USERNAME is required in setup mode"
    [ -n "$password" ] || die "DOCKER_INFLUXDB_INIT_PASSWORD is required in setup mode"
    [ -n "$org" ] || die "DOCKER_INFLUXDB_INIT_ORG is required in setup mode"
    [ -n "$bucket" ] || die "DOCKER_INFLUXDB_INIT_BUCKET is required in setup mode"
    [ "${#password}" -ge 8 ] || die "DOCKER_INFLUXDB_INIT_PASSWORD must be at least 8 characters (as in 2.x)"
    [[ $user =~ ^[A-Za-z0-9._-]+$ ]] || die "DOCKER_INFLUXDB_INIT_USERNAME: use letters, digits, . _ -"
    [[ $bucket =~ ^[A-Za-z0-9._-]+$ ]] || die "DOCKER_INFLUXDB_INIT_BUCKET: use letters, digits, . _ -"
    # The token is written into nginx's configuration: a conservative character set keeps that safe.
    [ -n "$token" ] || token=$(head -c 48 /dev/urandom | base64 -w0 | tr '+/' '-_')
    [[ $token =~ ^[A-Za-z0-9._~+/=:@-]{1,400}$ ]] ||
        die "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN: up to 400 letters, digits and ._~+/=:@-"
    duration=$(retention_duration "${DOCKER_INFLUXDB_INIT_RETENTION:-}")

    log "first start: setting up user $user, bucket $bucket (retention ${DOCKER_INFLUXDB_INIT_RETENTION:-infinite}); org $org is only a name here"
    influxd run -config "$CONF" &
    pid=$!
    wait_influxd "$pid"
    # With auth on and no user yet, influxd accepts exactly this: creating the first admin.
    influxql "create user $user" --data-urlencode "q=CREATE USER \"$user\" WITH PASSWORD $(quote "$password") WITH ALL PRIVILEGES"
    influxql "create database $bucket" -u "$user:$password" \
        --data-urlencode "q=CREATE DATABASE \"$bucket\" WITH DURATION $duration NAME \"autogen\""
    (umask 077 && printf '%s\n%s\n%s\n' "$user" "$password" "$token" >"$ADMIN_FILE.new")
    mv "$ADMIN_FILE.new" "$ADMIN_FILE"
    for script in /docker-entrypoint-initdb.d/*.sh; do
        [ -f "$script" ] || continue
        log "running $script"
        INFLUX_HOST=http://$INTERNAL INFLUX_TOKEN=$user:$password INFLUX_ORG=$org INFLUX_BUCKET=$bucket \
            bash "$script"
    done
    kill -TERM "$pid"
    wait "$pid" || true
}

write_nginx_config() {
    local map_line=""
    if [ -f "$ADMIN_FILE" ]; then
        local user password token
        { read -r user; read -r password; read -r token; } <"$ADMIN_FILE"
        map_line="\"Token $token\" \"Basic $(printf '%s:%s' "$user" "$password" | base64 -w0)\";"
    fi
    (umask 077 && cat >"$NGINX_CONF" <<NGINX
worker_processes 1;
pid /tmp/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path /tmp/nginx-client;
    proxy_temp_path /tmp/nginx-proxy;
    fastcgi_temp_path /tmp/nginx-fastcgi;
    uwsgi_temp_path /tmp/nginx-uwsgi;
    scgi_temp_path /tmp/nginx-scgi;
    client_max_body_size 0;
    proxy_http_version 1.1;
    proxy_request_buffering off;
    proxy_buffering off;
    proxy_read_timeout 1h;
    proxy_send_timeout 1h;
    map_hash_bucket_size 512;   # the token is the key: room for long ones
    map \$http_authorization \$influxd_authorization {
        default \$http_authorization;
        $map_line
    }
    upstream influxd {
        server $INTERNAL;
        keepalive 16;
    }
    server {
        listen $PUBLIC_PORT;
        location / {
            proxy_pass http://influxd;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header Authorization \$influxd_authorization;
        }
    }
}
NGINX
    )
}

write_influxd_config
if [ ! -f "$DATA/meta/meta.db" ] && [ "${DOCKER_INFLUXDB_INIT_MODE:-}" = setup ]; then
    setup
elif [ -n "${DOCKER_INFLUXDB_INIT_MODE:-}" ] && [ "${DOCKER_INFLUXDB_INIT_MODE}" != setup ]; then
    die "DOCKER_INFLUXDB_INIT_MODE=${DOCKER_INFLUXDB_INIT_MODE}: the stand-in supports only setup"
fi
write_nginx_config
[ -f "$ADMIN_FILE" ] || log "not set up: auth is on and no user exists; create the first admin with InfluxQL CREATE USER"

influxd run -config "$CONF" &
influxd_pid=$!
wait_influxd "$influxd_pid"
nginx -c "$NGINX_CONF" -g 'daemon off;' &
nginx_pid=$!
log "ready on :$PUBLIC_PORT (influxd $(influxd version | awk '{print $2}'))"

signalled=0
stop() {
    kill -TERM "$nginx_pid" "$influxd_pid" 2>/dev/null || true
}
# shellcheck disable=SC2317  # invoked by the trap
on_signal() {
    signalled=1
    stop
}
trap on_signal TERM INT
status=0
wait -n "$influxd_pid" "$nginx_pid" || status=$?
[ "$signalled" = 1 ] || log "influxd or nginx exited (status $status): stopping"
stop
influxd_status=0
wait "$influxd_pid" 2>/dev/null || influxd_status=$?
wait "$nginx_pid" 2>/dev/null || true
if [ "$signalled" = 1 ]; then
    exit "$influxd_status"   # a clean shutdown on docker stop exits 0
fi
exit $((status == 0 ? 1 : status))
