#!/usr/bin/env bash
# Builds, once, a real InfluxDB OSS 1.x server (influxd) from the Go module proxy, for the tests,
# `make local` and the compose stand-in image (tests/compose/images/influxdb).
#
#   scripts/install-influxdb.sh        -> prints the binary's path
#
# Why 1.x and not 2.x: see scripts/localservers/influxdb.py. InfluxDB 1.8+ serves the v2 write API
# (/api/v2/write with "Token user:password"), /api/v2/query (Flux), /api/v2/buckets and InfluxQL /query.
#
# influxd links Flux's Rust library (libflux). InfluxData's pkg-config wrapper, given as PKG_CONFIG,
# builds it with cargo (crates from crates.io) when cgo asks for "flux". Flux pins a Rust release that
# rustup cannot download here, so the machine's stable toolchain builds it, with lints capped so newer
# compiler warnings do not fail its deny(warnings). Built without the `assets` tag: no UI, API only.
#
# Cached outside the checkout in ${GEOSTREAM_CACHE:-/var/cache/geostream}:
#   go/mod, go/build             Go module and build caches (shared with install-telegraf.sh); the
#                                wrapper copies flux's sources to go/build/pkgconfig and cargo builds there
#   cargo                        CARGO_HOME (the crates.io index and crate sources)
#   influxdb-tools/pkg-config    the wrapper
#   influxdb-VERSION/influxd     the binary;  bin/influxd -> it
# A rerun finds the binary and exits at once. Built in a temporary directory and moved into place when
# complete; concurrent runs serialise on a lock file.
set -euo pipefail

CACHE=${GEOSTREAM_CACHE:-/var/cache/geostream}
INFLUXDB_VERSION=1.13.2
PKG_CONFIG_WRAPPER_VERSION=0.3.0   # the version influxdb 1.13.2's go.mod requires
MODULE=github.com/influxdata/influxdb

DIR=$CACHE/influxdb-$INFLUXDB_VERSION
BINARY=$DIR/influxd
LINK=$CACHE/bin/influxd
TOOLS=$CACHE/influxdb-tools

log() { printf '[install-influxdb] %s\n' "$*" >&2; }

ready() { [[ -x $BINARY ]]; }

link() {
    mkdir -p "$CACHE/bin"
    ln -sfn "$BINARY" "$LINK"
}

if ready; then
    [[ $(readlink "$LINK" 2>/dev/null) == "$BINARY" ]] || link
    echo "$BINARY"
    exit 0
fi

for tool in go cargo pkg-config cc; do
    command -v "$tool" >/dev/null || { log "$tool not found on PATH (needed to build influxd and libflux)"; exit 1; }
done

mkdir -p "$CACHE"
exec 9>"$CACHE/.influxdb.lock"
flock 9
if ready; then
    link
    echo "$BINARY"
    exit 0
fi

started=$SECONDS
BUILD=$DIR.build
rm -rf "$BUILD"
mkdir -p "$BUILD" "$TOOLS" "$CACHE/go/mod" "$CACHE/go/build" "$CACHE/cargo"
# GOPATH too: Go keeps the checksum database's state in GOPATH/pkg/sumdb, whatever GOMODCACHE says.
export GOPATH=$CACHE/go GOMODCACHE=$CACHE/go/mod GOCACHE=$CACHE/go/build GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
export CARGO_HOME=$CACHE/cargo RUSTUP_TOOLCHAIN=${RUSTUP_TOOLCHAIN:-stable} RUSTFLAGS="--cap-lints warn"
# The wrapper's own log, kept with the build log for a failed build.
export PKG_CONFIG_LOG=$BUILD/pkg-config.log

if [[ ! -x $TOOLS/pkg-config-$PKG_CONFIG_WRAPPER_VERSION ]]; then
    if ! GOBIN=$BUILD go install "github.com/influxdata/pkg-config@v$PKG_CONFIG_WRAPPER_VERSION" \
        >"$BUILD/build.log" 2>&1; then
        tail -n 30 "$BUILD/build.log" >&2
        log "go install github.com/influxdata/pkg-config@v$PKG_CONFIG_WRAPPER_VERSION failed (log: $BUILD/build.log)"
        exit 1
    fi
    mv -f "$BUILD/pkg-config" "$TOOLS/pkg-config-$PKG_CONFIG_WRAPPER_VERSION"
fi
# cgo runs "$PKG_CONFIG --cflags -- flux"; the wrapper must be named pkg-config and find the real one on
# PATH for every other library.
ln -sfn "pkg-config-$PKG_CONFIG_WRAPPER_VERSION" "$TOOLS/pkg-config"
export PKG_CONFIG=$TOOLS/pkg-config

if ! GOBIN=$BUILD go install -trimpath \
    -ldflags "-s -w -X main.version=$INFLUXDB_VERSION -X main.branch=v$INFLUXDB_VERSION" \
    "$MODULE/cmd/influxd@v$INFLUXDB_VERSION" >>"$BUILD/build.log" 2>&1; then
    tail -n 30 "$BUILD/build.log" >&2
    [[ -f $PKG_CONFIG_LOG ]] && tail -n 30 "$PKG_CONFIG_LOG" >&2
    log "go install $MODULE/cmd/influxd@v$INFLUXDB_VERSION failed (log: $BUILD/build.log)"
    exit 1
fi
"$BUILD/influxd" version >/dev/null
mkdir -p "$DIR"
mv -f "$BUILD/influxd" "$BINARY.new"
mv -f "$BINARY.new" "$BINARY"
rm -rf "$BUILD"
link
log "influxd $INFLUXDB_VERSION (Go $(go env GOVERSION | sed 's/^go//'), libflux with $(rustc --version | cut -d' ' -f1-2), $(du -h "$BINARY" | cut -f1)) at $BINARY in $((SECONDS - started)) s"
echo "$BINARY"
