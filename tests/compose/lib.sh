# shellcheck shell=bash
# shellcheck disable=SC2034  # settings used by the scripts that source this file
# Shared settings and helpers of the private Docker engine and the compose smoke test.
# Sourced by engine.sh, images.sh and smoke.sh; never executed on its own.

GEOSTREAM_CACHE=${GEOSTREAM_CACHE:-/var/cache/geostream}
GS_COMPOSE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GS_REPO_ROOT=$(cd "$GS_COMPOSE_DIR/../.." && pwd)

# Persistent: debootstrap tarballs, build contexts and the engine's data root (which keeps every image
# between runs, so a rerun reuses the base images and the layer cache).
GS_DOCKER_CACHE=$GEOSTREAM_CACHE/docker
GS_DATA_ROOT=$GS_DOCKER_CACHE/engine
GS_CONTAINERD_ROOT=$GS_DOCKER_CACHE/containerd
# Runtime state only; removed on stop. Kept short: unix socket paths are limited to 108 bytes.
GS_RUN=/run/geostream-docker
GS_EXEC_ROOT=$GS_RUN/exec
GS_SOCK=$GS_RUN/docker.sock
GS_CONTAINERD_SOCK=$GS_RUN/containerd/containerd.sock
GS_LOG_DIR=$GS_DOCKER_CACHE/logs

# The engine lives in its own network namespace: its bridges, iptables chains and published ports never
# meet the host's (or a system-wide Docker's). One veth pair plus a masquerade rule on the host give
# build and service containers the host's route to the package registries.
GS_NETNS=geostream-docker
GS_VETH_HOST=gsd-host
GS_VETH_NS=gsd-ns
GS_VETH_NET=10.213.254.0/30
GS_VETH_HOST_IP=10.213.254.1
GS_VETH_NS_IP=10.213.254.2
GS_CHAIN_FWD=GEOSTREAM-DOCKER-FWD
GS_CHAIN_NAT=GEOSTREAM-DOCKER-NAT
# Container cgroups are created under this parent so that teardown can find every container process.
GS_CGROUP_PARENT=geostream-docker

DOCKER=/usr/bin/docker
export DOCKER_HOST=unix://$GS_SOCK
# Debian's docker-compose 1.29 builds through the Python Docker SDK (classic builder); keep it so.
export COMPOSE_DOCKER_CLI_BUILD=0 DOCKER_BUILDKIT=0

gs_log() {
    printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

gs_die() {
    gs_log "ERROR: $*"
    exit 1
}

gs_require_root() {
    [ "$(id -u)" = 0 ] || gs_die "must run as root (dockerd, network namespaces and debootstrap need it)"
}

gs_docker() {
    "$DOCKER" "$@"
}

gs_engine_up() {
    [ -S "$GS_SOCK" ] && gs_docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# Installs Debian packages that are missing. Service start-up is suppressed during the install so the
# packages never launch a system-wide daemon (docker.io ships a docker service).
gs_ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        if [ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" != installed ]; then
            missing+=("$pkg")
        fi
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    gs_log "installing Debian packages: ${missing[*]}"
    local own_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    local rc=0
    {
        DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    } >"${TMPDIR:-/tmp}/geostream-apt.log" 2>&1 || rc=$?
    [ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    [ "$rc" = 0 ] || {
        tail -n 30 "${TMPDIR:-/tmp}/geostream-apt.log" >&2
        gs_die "apt-get install ${missing[*]} failed"
    }
}

gs_engine_packages() {
    gs_ensure_packages docker.io docker-compose containerd runc iptables iproute2 debootstrap
}
