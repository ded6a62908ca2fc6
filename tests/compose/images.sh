#!/usr/bin/env bash
# Builds, in the private engine (engine.sh start first), the images that cannot be pulled here:
#
#   geostream-base/debian:bookworm|trixie   debootstrap minbase roots + the host's CA certificates
#   python:3.11-slim-bookworm               stand-in: Debian's Python 3.11, pip, venv at /usr/local/bin
#   node:20-bookworm-slim                   stand-in: the host's Node 20 + npm
#   nginxinc/nginx-unprivileged:1.27-bookworm  stand-in: Debian nginx as uid 101 on :8080
#   apache/kafka:3.9.1                      stand-in: real Apache Kafka (KRaft), scripts/install-kafka.sh jars
#   mobilitydb/mobilitydb:17-3.5-1.2        stand-in: trixie's postgresql-17-mobilitydb + postgres entrypoint
#   eclipse-mosquitto:2.0.20                stand-in: Debian mosquitto
#   influxdb:2.7.12                         stand-in: InfluxDB OSS 1.13 (v2 write API), scripts/install-influxdb.sh
#   telegraf:1.39.3                         stand-in: the real Telegraf, scripts/install-telegraf.sh (project's plugins)
#   docker.elastic.co/elasticsearch/elasticsearch:8.19.3
#                                           stand-in: OpenSearch 2.19 (scripts/install-opensearch.sh) behind
#                                           the test-only Elasticsearch shim, with basic auth
#
#   images.sh [all|base|NAME...]    NAME is one of: python node nginx kafka mobilitydb mosquitto influxdb telegraf
#                                   elasticsearch
#
# Debootstrap roots are cached as tarballs under $GEOSTREAM_CACHE/docker/rootfs and the images stay in
# the engine's data root, so a second run only checks the layer cache.
set -euo pipefail

# shellcheck source=tests/compose/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MIRROR=${GEOSTREAM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${GEOSTREAM_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
ROOTFS_CACHE=$GS_DOCKER_CACHE/rootfs
CONTEXT_CACHE=$GS_DOCKER_CACHE/context
IMAGES_DIR=$GS_COMPOSE_DIR/images
# Bump when the debootstrap recipe below changes, so cached tarballs are rebuilt.
ROOTFS_RECIPE=1

# One Kafka release for compose and the local servers: the jars of scripts/install-kafka.sh.
KAFKA_VERSION=$(sed -n 's/^KAFKA_VERSION=//p' "$GS_REPO_ROOT/.env.example")

declare -A TAGS=(
    [python]=python:3.11-slim-bookworm
    [node]=node:20-bookworm-slim
    [nginx]=nginxinc/nginx-unprivileged:1.27-bookworm
    [kafka]=apache/kafka:$KAFKA_VERSION
    [mobilitydb]=mobilitydb/mobilitydb:17-3.5-1.2
    [mosquitto]=eclipse-mosquitto:2.0.20
    [influxdb]=influxdb:$(sed -n 's/^INFLUXDB_VERSION=//p' "$GS_REPO_ROOT/.env.example")
    [telegraf]=telegraf:$(sed -n 's/^TELEGRAF_VERSION=//p' "$GS_REPO_ROOT/.env.example")
    [elasticsearch]=docker.elastic.co/elasticsearch/elasticsearch:$(sed -n 's/^ELASTIC_VERSION=//p' "$GS_REPO_ROOT/.env.example")
)
STANDINS=(python node nginx kafka mobilitydb mosquitto influxdb telegraf elasticsearch)

# debootstrap SUITE into a cached tarball (about a minute per suite, once per machine).
rootfs_tarball() {
    local suite=$1
    local tarball=$ROOTFS_CACHE/$suite-minbase-r$ROOTFS_RECIPE.tar.gz
    if [ -s "$tarball" ]; then
        echo "$tarball"
        return 0
    fi
    mkdir -p "$ROOTFS_CACHE"
    local root=$ROOTFS_CACHE/$suite.build
    rm -rf --one-file-system "$root"
    gs_log "debootstrap --variant=minbase $suite (cached afterwards in $tarball)"
    if ! debootstrap --variant=minbase --include=ca-certificates "$suite" "$root" "$MIRROR" \
        >"$GS_LOG_DIR/debootstrap-$suite.log" 2>&1; then
        tail -n 30 "$GS_LOG_DIR/debootstrap-$suite.log" >&2
        gs_die "debootstrap $suite failed (log: $GS_LOG_DIR/debootstrap-$suite.log)"
    fi
    rm -f "$root/etc/apt/sources.list"
    cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    # Like the official Debian images: no service starts inside builds, no apt caches in layers.
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
    printf 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };\n' \
        >"$root/etc/apt/apt.conf.d/docker-clean"
    printf 'Acquire::Languages "none";\n' >"$root/etc/apt/apt.conf.d/docker-no-languages"
    chroot "$root" apt-get clean
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/log/*.log "$root"/var/cache/debconf/*-old "${root:?}"/dev/*
    tar --numeric-owner -C "$root" -czf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf --one-file-system "$root"
    echo "$tarball"
}

# geostream-base/debian:SUITE = the debootstrap root + the host's CA certificates (the package registries
# are reached through a TLS-intercepting egress, whose CA is among them) and the environment variables
# that make pip, requests, OpenSSL and Node use that bundle.
build_base() {
    local suite=$1 tarball raw=geostream-base/debian-raw:$1 ctx
    tarball=$(rootfs_tarball "$suite")
    local stamp
    stamp=$(basename "$tarball")
    if [ "$(gs_docker image inspect -f '{{index .Config.Labels "geostream.rootfs"}}' "$raw" 2>/dev/null)" != "$stamp" ]; then
        gs_log "importing $tarball as $raw"
        gs_docker import \
            --change "LABEL geostream.rootfs=$stamp" \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'CMD ["bash"]' \
            "$tarball" "$raw" >/dev/null
    fi
    ctx=$CONTEXT_CACHE/base
    rm -rf "$ctx"
    mkdir -p "$ctx/certs"
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
        cp /usr/local/share/ca-certificates/*.crt "$ctx/certs/"
    fi
    cp "$IMAGES_DIR/base/Dockerfile" "$ctx/Dockerfile"
    gs_build "geostream-base/debian:$suite" "$ctx" --build-arg "SUITE=$suite"
    rm -rf "$ctx"
}

gs_build() {
    local tag=$1 ctx=$2
    shift 2
    local log
    log=$GS_LOG_DIR/build-$(printf '%s' "$tag" | tr '/:' '__').log
    gs_log "building $tag"
    if ! gs_docker build --rm --force-rm -t "$tag" "$@" "$ctx" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        gs_die "building $tag failed (log: $log)"
    fi
}

build_standin() {
    local name=$1 tag=${TAGS[$1]} ctx=$IMAGES_DIR/$1
    case "$name" in
    node)
        # The official image's Node and npm are not reachable; the host's Node 20 is (ENVIRONMENT.md).
        ctx=$CONTEXT_CACHE/node
        rm -rf "$ctx"
        mkdir -p "$ctx/lib"
        cp -a "$IMAGES_DIR/node/." "$ctx/"
        cp "$(readlink -f "$(command -v node)")" "$ctx/node"
        cp -a "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$ctx/lib/npm"
        ;;
    kafka)
        ctx=$CONTEXT_CACHE/kafka
        rm -rf "$ctx"
        mkdir -p "$ctx/config"
        cp -a "$IMAGES_DIR/kafka/." "$ctx/"
        "$GS_REPO_ROOT/scripts/install-kafka.sh" || gs_die "scripts/install-kafka.sh failed"
        cp -a "$GEOSTREAM_CACHE/kafka-$KAFKA_VERSION/libs" "$ctx/libs"
        cp "$GS_REPO_ROOT"/scripts/kafka/*log4j.properties "$ctx/config/"
        ;;
    influxdb)
        # influxd is built from the Go module proxy (cached; a rerun prints the cached binary at once).
        ctx=$CONTEXT_CACHE/influxdb
        rm -rf "$ctx"
        mkdir -p "$ctx"
        cp -a "$IMAGES_DIR/influxdb/." "$ctx/"
        local influxd
        influxd=$("$GS_REPO_ROOT/scripts/install-influxdb.sh") || gs_die "scripts/install-influxdb.sh failed"
        cp "$influxd" "$ctx/influxd"
        ;;
    telegraf)
        # Built from the Go module proxy with the project's plugins (cached; a rerun prints it at once).
        ctx=$CONTEXT_CACHE/telegraf
        rm -rf "$ctx"
        mkdir -p "$ctx"
        cp -a "$IMAGES_DIR/telegraf/." "$ctx/"
        local telegraf
        telegraf=$("$GS_REPO_ROOT/scripts/install-telegraf.sh") || gs_die "scripts/install-telegraf.sh failed"
        cp "$telegraf" "$ctx/telegraf"
        ;;
    elasticsearch)
        # The OpenSearch node of the local servers (Maven Central jars + launcher, cached) and the
        # project's test-only shim, the same file the integration tests use.
        ctx=$CONTEXT_CACHE/elasticsearch
        rm -rf "$ctx"
        mkdir -p "$ctx/opensearch"
        cp -a "$IMAGES_DIR/elasticsearch/." "$ctx/"
        local opensearch
        opensearch=$("$GS_REPO_ROOT/scripts/install-opensearch.sh") || gs_die "scripts/install-opensearch.sh failed"
        cp -a "$opensearch/lib" "$opensearch/classes" "$ctx/opensearch/"
        cp "$GS_REPO_ROOT/tests/support/search_shim.py" "$ctx/search_shim.py"
        ;;
    esac
    gs_build "$tag" "$ctx"
    case "$name" in node | kafka | influxdb | telegraf | elasticsearch) rm -rf "$ctx" ;; esac
}

main() {
    gs_require_root
    gs_engine_up || gs_die "the private engine is not running: tests/compose/engine.sh start"
    mkdir -p "$GS_LOG_DIR" "$CONTEXT_CACHE"
    local targets=("$@")
    [ "${#targets[@]}" -gt 0 ] || targets=(all)
    if [ "${targets[0]}" = all ]; then
        targets=(base "${STANDINS[@]}")
    fi
    local t need_bookworm=0 need_trixie=0
    for t in "${targets[@]}"; do
        case "$t" in
        base) need_bookworm=1 need_trixie=1 ;;
        mobilitydb) need_trixie=1 ;;
        python | node | nginx | kafka | mosquitto | influxdb | telegraf | elasticsearch) need_bookworm=1 ;;
        *) gs_die "unknown image: $t (base ${STANDINS[*]})" ;;
        esac
    done
    # The trixie root is bootstrapped while the bookworm images build (debootstrap waits on the network
    # more than on the CPU).
    local trixie_job=""
    if [ "$need_trixie" = 1 ] && [ "$need_bookworm" = 1 ]; then
        rootfs_tarball trixie >/dev/null &
        trixie_job=$!
    fi
    if [ "$need_bookworm" = 1 ]; then
        build_base bookworm
        for t in "${targets[@]}"; do
            case "$t" in base | mobilitydb) ;; *) build_standin "$t" ;; esac
        done
    fi
    if [ -n "$trixie_job" ]; then
        wait "$trixie_job" || gs_die "debootstrap trixie failed"
    fi
    if [ "$need_trixie" = 1 ]; then
        build_base trixie
        for t in "${targets[@]}"; do
            if [ "$t" = mobilitydb ]; then
                build_standin mobilitydb
            fi
        done
    fi
    gs_log "images ready"
}

main "$@"
