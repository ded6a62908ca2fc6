#!/usr/bin/env bash
# Private Docker engine for the compose smoke test.
#
#   engine.sh start    install docker.io/docker-compose if needed, start containerd + dockerd (idempotent)
#   engine.sh stop     stop them, kill every process they left, remove their network namespace,
#                      the host's masquerade chains and the runtime directory (idempotent)
#   engine.sh status   exit 0 when the engine answers
#   engine.sh exec CMD run CMD inside the engine's network namespace, where published ports are on
#                      localhost (this is how the e2e tests reach the stack)
#
# The daemons run in their own network namespace and mount namespace, with their own data root, exec
# root, socket, containerd, cgroup parent and config file: a system-wide Docker is never touched.
# Use it from other shells with: DOCKER_HOST=unix:///run/geostream-docker/docker.sock docker ...
set -euo pipefail

# shellcheck source=tests/compose/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SELF=$GS_COMPOSE_DIR/engine.sh
STATE=$GS_RUN/state
# Paths hard-coded in dockerd 20.10 (its trust key, the plugin socket directory) and containerd 1.6's
# shims (shim sockets, named by a hash of our containerd's address, so they never clash with a system
# containerd's). Removed on stop when they did not exist before start (directories only when empty).
SHARED_PATHS=(/etc/docker/key.json /run/docker/plugins /run/docker /run/containerd/s /run/containerd)
ENGINE_LOG=$GS_LOG_DIR/engine.log

pid_alive() {
    [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null
}

read_pid() {
    if [ -f "$1" ]; then cat "$1" 2>/dev/null || true; fi
}

# Signals one pid, waits for it to go, then kills it hard.
stop_pid() {
    local pid=$1 name=$2 timeout=${3:-20} i
    pid_alive "$pid" || return 0
    gs_log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
        pid_alive "$pid" || return 0
        sleep 0.1
    done
    gs_log "$name did not stop in ${timeout}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
}

write_configs() {
    mkdir -p "$GS_RUN/containerd" "$GS_EXEC_ROOT" "$GS_DATA_ROOT" "$GS_CONTAINERD_ROOT" "$GS_LOG_DIR"
    cat >"$GS_RUN/containerd.toml" <<EOF
version = 2
root = "$GS_CONTAINERD_ROOT"
state = "$GS_RUN/containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$GS_CONTAINERD_SOCK"
[ttrpc]
  address = "$GS_CONTAINERD_SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$GS_CONTAINERD_ROOT/opt"
EOF
    # An explicit (empty) config file keeps /etc/docker/daemon.json of a system-wide Docker out.
    printf '{}\n' >"$GS_RUN/daemon.json"
}

setup_network() {
    ip netns add "$GS_NETNS"
    ip link add "$GS_VETH_HOST" type veth peer name "$GS_VETH_NS"
    ip link set "$GS_VETH_NS" netns "$GS_NETNS"
    ip addr add "$GS_VETH_HOST_IP/30" dev "$GS_VETH_HOST"
    ip link set "$GS_VETH_HOST" up
    ip netns exec "$GS_NETNS" ip link set lo up
    ip netns exec "$GS_NETNS" ip addr add "$GS_VETH_NS_IP/30" dev "$GS_VETH_NS"
    ip netns exec "$GS_NETNS" ip link set "$GS_VETH_NS" up
    ip netns exec "$GS_NETNS" ip route add default via "$GS_VETH_HOST_IP"

    # `ip netns exec` bind-mounts these over /etc for processes of the namespace: the tests resolve the
    # broker's advertised name (kafka) to the port the stack publishes on the namespace's localhost.
    mkdir -p "/etc/netns/$GS_NETNS"
    printf '127.0.0.1\tlocalhost kafka\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
        >"/etc/netns/$GS_NETNS/hosts"

    local fwd path
    fwd=$(cat /proc/sys/net/ipv4/ip_forward)
    printf 'ip_forward=%s\n' "$fwd" >"$STATE"
    for path in "${SHARED_PATHS[@]}"; do
        [ -e "$path" ] || printf 'created=%s\n' "$path" >>"$STATE"
    done
    [ "$fwd" = 1 ] || echo 1 >/proc/sys/net/ipv4/ip_forward

    iptables -w -N "$GS_CHAIN_FWD"
    iptables -w -A "$GS_CHAIN_FWD" -i "$GS_VETH_HOST" -j ACCEPT
    iptables -w -A "$GS_CHAIN_FWD" -o "$GS_VETH_HOST" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
    iptables -w -I FORWARD 1 -j "$GS_CHAIN_FWD"
    iptables -w -t nat -N "$GS_CHAIN_NAT"
    iptables -w -t nat -A "$GS_CHAIN_NAT" -s "$GS_VETH_NET" ! -o "$GS_VETH_HOST" -j MASQUERADE
    iptables -w -t nat -I POSTROUTING 1 -j "$GS_CHAIN_NAT"
}

remove_chain() {
    local table=$1 parent=$2 chain=$3
    while iptables -w -t "$table" -C "$parent" -j "$chain" 2>/dev/null; do
        iptables -w -t "$table" -D "$parent" -j "$chain"
    done
    if iptables -w -t "$table" -S "$chain" >/dev/null 2>&1; then
        iptables -w -t "$table" -F "$chain"
        iptables -w -t "$table" -X "$chain"
    fi
}

teardown_network() {
    if command -v iptables >/dev/null 2>&1; then
        remove_chain filter FORWARD "$GS_CHAIN_FWD"
        remove_chain nat POSTROUTING "$GS_CHAIN_NAT"
    fi
    if [ -f "$STATE" ]; then
        local fwd path
        fwd=$(sed -n 's/^ip_forward=//p' "$STATE")
        if [ -n "$fwd" ] && [ "$fwd" != "$(cat /proc/sys/net/ipv4/ip_forward)" ]; then
            echo "$fwd" >/proc/sys/net/ipv4/ip_forward
        fi
        while IFS= read -r path; do
            if [ -d "$path" ]; then
                rmdir "$path" 2>/dev/null || true
            else
                rm -f "$path"
            fi
        done < <(sed -n 's/^created=//p' "$STATE")
    fi
    if ip netns list | grep -qw "^$GS_NETNS"; then
        ip netns del "$GS_NETNS"
    fi
    # Deleting the namespace destroys the pair asynchronously: the host end may vanish between the check
    # and the delete, which is as good as deleting it.
    if ip link show "$GS_VETH_HOST" >/dev/null 2>&1; then
        ip link del "$GS_VETH_HOST" 2>/dev/null || ! ip link show "$GS_VETH_HOST" >/dev/null 2>&1
    fi
    rm -rf "/etc/netns/$GS_NETNS"
}

# Every process of the engine's network namespace (containerd shims, docker-proxy, a crashed dockerd)
# and every process in the container cgroups: all ours, each killed by pid.
kill_leftovers() {
    local pids=() pid f
    if ip netns list | grep -qw "^$GS_NETNS"; then
        mapfile -t pids < <(ip netns pids "$GS_NETNS" 2>/dev/null || true)
    fi
    for f in /sys/fs/cgroup/*/"$GS_CGROUP_PARENT"; do
        [ -d "$f" ] || continue
        while IFS= read -r pid; do
            pids+=("$pid")
        done < <(find "$f" -name cgroup.procs -exec cat {} + 2>/dev/null)
    done
    [ "${#pids[@]}" -eq 0 ] && return 0
    gs_log "killing ${#pids[@]} leftover engine/container processes"
    for pid in "${pids[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    sleep 0.5
}

remove_cgroups() {
    local f
    for f in /sys/fs/cgroup/*/"$GS_CGROUP_PARENT"; do
        [ -d "$f" ] || continue
        find "$f" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
}

# Runs inside the engine's network namespace and a private mount namespace (from `ip netns exec`).
# `ip netns exec` mounts a fresh sysfs, which hides the host's cgroup mounts: mount the same hierarchies
# again so that runc finds them (they are the host's hierarchies, so the host sees our cgroups too).
inner_daemons() {
    local _dev mnt fstype opts _rest
    mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup
    while read -r _dev mnt fstype opts _rest; do
        case "$mnt" in /sys/fs/cgroup/*) ;; *) continue ;; esac
        case "$fstype" in cgroup | cgroup2) ;; *) continue ;; esac
        mkdir -p "$mnt"
        mount -t "$fstype" -o "$opts" "$fstype" "$mnt"
    done </proc/1/mounts

    containerd --config "$GS_RUN/containerd.toml" &
    echo $! >"$GS_RUN/containerd.pid"
    local i
    for ((i = 0; i < 300; i++)); do
        [ -S "$GS_CONTAINERD_SOCK" ] && break
        sleep 0.1
    done
    exec dockerd \
        --config-file "$GS_RUN/daemon.json" \
        --data-root "$GS_DATA_ROOT" \
        --exec-root "$GS_EXEC_ROOT" \
        --pidfile "$GS_RUN/dockerd.pid" \
        --host "unix://$GS_SOCK" \
        --containerd "$GS_CONTAINERD_SOCK" \
        --storage-driver overlay2 \
        --exec-opt native.cgroupdriver=cgroupfs \
        --cgroup-parent "/$GS_CGROUP_PARENT" \
        --log-driver json-file --log-opt max-size=10m --log-opt max-file=2 \
        --group root
}

cmd_start() {
    gs_require_root
    if gs_engine_up; then
        gs_log "engine already running at $GS_SOCK"
        return 0
    fi
    gs_engine_packages
    cmd_stop quiet
    mkdir -p "$GS_RUN"
    write_configs
    setup_network
    gs_log "starting containerd + dockerd in network namespace $GS_NETNS (log: $ENGINE_LOG)"
    # fd 9 is smoke.sh's lock: the daemons must not hold it after the run.
    setsid ip netns exec "$GS_NETNS" "$SELF" __daemons </dev/null >>"$ENGINE_LOG" 2>&1 9>&- &
    # `ip netns exec` and the inner script exec into dockerd: this pid is the daemon's.
    local daemon=$! i
    for ((i = 0; i < 600; i++)); do
        if gs_engine_up; then
            gs_log "engine up: $(gs_docker version --format 'dockerd {{.Server.Version}}, API {{.Server.APIVersion}}')"
            return 0
        fi
        pid_alive "$daemon" || break
        sleep 0.1
    done
    tail -n 20 "$ENGINE_LOG" >&2 || true
    cmd_stop
    gs_die "dockerd did not come up (log: $ENGINE_LOG)"
}

cmd_stop() {
    gs_require_root
    local quiet=${1:-}
    if gs_engine_up; then
        local running
        running=$(gs_docker ps -q)
        if [ -n "$running" ]; then
            gs_log "killing running containers"
            # shellcheck disable=SC2086
            gs_docker kill $running >/dev/null 2>&1 || true
        fi
    fi
    stop_pid "$(read_pid "$GS_RUN/dockerd.pid")" dockerd 30
    stop_pid "$(read_pid "$GS_RUN/containerd.pid")" containerd 15
    kill_leftovers
    remove_cgroups
    teardown_network
    if [ -d "$GS_RUN" ]; then
        # Mounts made by the daemons lived in their own mount namespace, gone with them; never cross
        # into another file system all the same.
        rm -rf --one-file-system "$GS_RUN"
    fi
    [ -n "$quiet" ] || gs_log "engine stopped and cleaned up"
}

cmd_exec() {
    gs_require_root
    ip netns list | grep -qw "^$GS_NETNS" || gs_die "engine namespace $GS_NETNS does not exist: run '$SELF start'"
    exec ip netns exec "$GS_NETNS" "$@"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) gs_engine_up ;;
exec)
    shift
    cmd_exec "$@"
    ;;
__daemons) inner_daemons ;;
*)
    echo "usage: $0 start|stop|status|exec CMD..." >&2
    exit 2
    ;;
esac
