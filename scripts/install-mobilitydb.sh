#!/usr/bin/env bash
# Builds, once, a Debian 13 (trixie) root filesystem with PostgreSQL 17 + PostGIS 3.5 + MobilityDB 1.2
# (Debian package postgresql-17-mobilitydb) for tests and local runs; bookworm has no MobilityDB package.
#
#   sudo scripts/install-mobilitydb.sh        -> prints the root directory
#
# The result lives in ${GEOSTREAM_CACHE:-/var/cache/geostream}/mobilitydb-trixie. It is built in a
# temporary directory and renamed into place once complete, so an interrupted run never leaves a
# half-built root behind; a rerun finds the marker file and exits at once. Concurrent runs serialise
# on a lock file. Nothing stays mounted: the build needs no mounts, and the server runs with
# dynamic_shared_memory_type=mmap, so neither /proc nor /dev/shm has to be mounted in the root.
# debootstrap's and apt's output goes to $CACHE/.mobilitydb-trixie.log, shown when the build fails.
set -euo pipefail

CACHE="${GEOSTREAM_CACHE:-/var/cache/geostream}"
ROOT="$CACHE/mobilitydb-trixie"
MARKER=".geostream-mobilitydb-ready"
# Bump when the recipe below changes: a root built by an older recipe is rebuilt.
RECIPE="recipe 2"
MIRROR="${GEOSTREAM_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PACKAGES=(postgresql-17 postgresql-17-postgis-3 postgresql-17-postgis-3-scripts postgresql-17-mobilitydb)
PG_BIN=/usr/lib/postgresql/17/bin

log() { printf '[install-mobilitydb] %s\n' "$*" >&2; }

ready() {
    local first=""
    [[ -f "$ROOT/$MARKER" ]] && read -r first <"$ROOT/$MARKER"
    [[ "$first" == "$RECIPE" ]]
}

if ready; then
    echo "$ROOT"
    exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
    log "must run as root (debootstrap and chroot)"
    exit 1
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.mobilitydb-trixie.lock"
flock 9
if ready; then
    echo "$ROOT"
    exit 0
fi

# Clusters of scripts/localservers/postgres.py live in $ROOT/srv/geostream: never rebuild under a
# running server (keep using the older root until none runs); stopped clusters are carried over.
for pidfile in "$ROOT"/srv/geostream/*/data/postmaster.pid; do
    [[ -f "$pidfile" ]] || continue
    read -r pid <"$pidfile" || continue
    if kill -0 "$pid" 2>/dev/null; then
        log "$ROOT is outdated but in use ($pidfile); rebuild postponed"
        echo "$ROOT"
        exit 0
    fi
done

BUILD="$CACHE/.mobilitydb-trixie.build"
# Outside $BUILD, so that it outlives a failed build's removal.
BUILD_LOG="$CACHE/.mobilitydb-trixie.log"

# Unmounts whatever an earlier, killed debootstrap may have left mounted below $1 (deepest first),
# then removes the tree without ever crossing into another file system.
remove_tree() {
    local dir="$1" mountpoint
    [[ -e "$dir" ]] || return 0
    while read -r mountpoint; do
        umount -l "$mountpoint" 2>/dev/null || true
    done < <(awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
    rm -rf --one-file-system "$dir"
}

SMOKE=/tmp/geostream-smoke

cleanup() {
    local status=$?
    if [[ -f "$BUILD$SMOKE/data/postmaster.pid" ]]; then
        in_root_as_postgres "$PG_BIN/pg_ctl" -D "$SMOKE/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    if [[ $status -ne 0 ]]; then
        [[ -f "$BUILD_LOG" ]] && tail -n 40 "$BUILD_LOG" >&2
        log "failed (exit $status; log: $BUILD_LOG); removing the partial build"
        remove_tree "$BUILD"
    fi
}
trap cleanup EXIT

in_root() {
    chroot "$BUILD" /usr/bin/env -i \
        PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
        http_proxy="${http_proxy:-}" https_proxy="${https_proxy:-}" "$@"
}

in_root_as_postgres() {
    local ids
    ids="$(in_root id -u postgres):$(in_root id -g postgres)"
    chroot --userspec="$ids" "$BUILD" /usr/bin/env -i \
        PATH=/usr/bin:/bin HOME=/var/lib/postgresql LC_ALL=C.UTF-8 "$@"
}

if ! command -v debootstrap >/dev/null 2>&1; then
    log "apt: debootstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

started=$SECONDS
remove_tree "$BUILD"

echo "debootstrap trixie into $BUILD" >"$BUILD_LOG"
debootstrap --variant=minbase trixie "$BUILD" "$MIRROR" >>"$BUILD_LOG" 2>&1

cp /etc/resolv.conf "$BUILD/etc/resolv.conf"
if [[ -f /etc/ssl/certs/ca-certificates.crt && ! -f "$BUILD/etc/ssl/certs/ca-certificates.crt" ]]; then
    mkdir -p "$BUILD/etc/ssl/certs"
    cp /etc/ssl/certs/ca-certificates.crt "$BUILD/etc/ssl/certs/ca-certificates.crt"
fi
cat >"$BUILD/etc/apt/sources.list" <<EOF
deb $MIRROR trixie main
deb $MIRROR trixie-updates main
deb ${MIRROR%/debian}/debian-security trixie-security main
EOF
# No daemon may start inside the root, and postgresql-common must not create its "main" cluster:
# servers are initialised per work directory by scripts/localservers/postgres.py.
printf '#!/bin/sh\nexit 101\n' >"$BUILD/usr/sbin/policy-rc.d"
chmod 0755 "$BUILD/usr/sbin/policy-rc.d"
mkdir -p "$BUILD/etc/postgresql-common"
echo "create_main_cluster = false" >"$BUILD/etc/postgresql-common/createcluster.conf"

{
    echo "apt-get install ${PACKAGES[*]}"
    in_root apt-get update
    in_root apt-get install -y --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${PACKAGES[@]}"
} >>"$BUILD_LOG" 2>&1
in_root apt-get clean
rm -rf "$BUILD"/var/lib/apt/lists/* "$BUILD"/usr/share/doc/* "$BUILD"/usr/share/man/*

# MobilityDB 1.2.0's extension script has two declaration bugs that PostgreSQL >= 17.7 rejects
# (CREATE EXTENSION fails), both fixed upstream the same way:
#  - span_intersection(datespanset, date) is declared to return date; its C function returns a
#    datespanset, so the "*" operator and its commutator disagree on the result type;
#  - the three ttext "#>" operators name "#<=" as their commutator instead of "#<".
for script in "$BUILD"/usr/share/postgresql/17/extension/mobilitydb--*.sql; do
    sed -i -e '/^CREATE FUNCTION span_intersection(datespanset, date)$/{n;s/^  RETURNS date$/  RETURNS datespanset/}' \
        -e '/^CREATE OPERATOR #> ($/,/^);$/s/^  COMMUTATOR = #<=$/  COMMUTATOR = #</' "$script"
done

# Checked inside the root: some of these are absolute symbolic links (update-alternatives).
in_root test -x "$PG_BIN/postgres"
in_root test -f /usr/share/postgresql/17/extension/mobilitydb.control
in_root test -f /usr/share/postgresql/17/extension/postgis.control
in_root getent passwd postgres >/dev/null

# Smoke test: a throw-away cluster (Unix socket only, no TCP port) must create the extension.
echo "smoke test (initdb, CREATE EXTENSION mobilitydb)" >>"$BUILD_LOG"
in_root install -d -o postgres -g postgres -m 0700 "$SMOKE"
in_root_as_postgres "$PG_BIN/initdb" -D "$SMOKE/data" -U postgres -A trust --no-sync >/dev/null
in_root_as_postgres "$PG_BIN/pg_ctl" -D "$SMOKE/data" -l "$SMOKE/log" -w -t 60 \
    -o "-c listen_addresses='' -c unix_socket_directories=$SMOKE -c dynamic_shared_memory_type=mmap -c shared_preload_libraries=postgis-3" \
    start >/dev/null
in_root_as_postgres "$PG_BIN/psql" -h "$SMOKE" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt \
    -c "CREATE EXTENSION mobilitydb CASCADE" \
    -c "SELECT asText(tgeogpoint '[Point(1 2)@2000-01-01, Point(1 3)@2000-01-02]')" >>"$BUILD_LOG" 2>&1
in_root_as_postgres "$PG_BIN/pg_ctl" -D "$SMOKE/data" -m fast -w stop >/dev/null
rm -rf --one-file-system "${BUILD:?}$SMOKE"

if [[ -d "$ROOT/srv/geostream" ]]; then
    mkdir -p "$BUILD/srv"
    mv -T "$ROOT/srv/geostream" "$BUILD/srv/geostream"
fi
remove_tree "$ROOT"
{
    echo "$RECIPE"
    # shellcheck disable=SC2016  # dpkg-query's own format fields
    in_root dpkg-query -W -f '${Package} ${Version}\n' "${PACKAGES[@]}"
} >"$BUILD/$MARKER"
mv -T "$BUILD" "$ROOT"
rm -f "$BUILD_LOG"
log "$(tail -n +2 "$ROOT/$MARKER" | tr '\n' ' ')at $ROOT in $((SECONDS - started)) s"
echo "$ROOT"
