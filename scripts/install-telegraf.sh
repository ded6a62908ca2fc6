#!/usr/bin/env bash
# Builds, once, a real Telegraf from the Go module proxy with only the plugins the project uses, for the
# tests, `make local` and the compose stand-in image (tests/compose/images/telegraf).
#
#   scripts/install-telegraf.sh        -> prints the binary's path
#
# Cached outside the checkout in ${GEOSTREAM_CACHE:-/var/cache/geostream}:
#   go/mod, go/build           the Go module and build caches (a rebuild after a plugin change is quick)
#   telegraf-VERSION/telegraf  the static binary (CGO_ENABLED=0), with a .plugins stamp of its tag set
#   bin/telegraf               a symlink to it
# A rerun with the same version and plugin set exits at once. Built in a temporary directory and moved
# into place when complete; concurrent runs serialise on a lock file.
set -euo pipefail

CACHE=${GEOSTREAM_CACHE:-/var/cache/geostream}
TELEGRAF_VERSION=1.39.3
MODULE=github.com/influxdata/telegraf
# Build tags of telegraf's plugins/*/all/*.go files; "custom" leaves every other plugin out.
PLUGINS=(
    inputs.kafka_consumer   # weather_data_v2 and locations_topic
    inputs.prometheus       # scrape every service's /metrics
    inputs.internal         # telegraf's own metrics
    parsers.json_v2
    parsers.json
    parsers.influx
    processors.converter
    processors.rename
    processors.starlark
    serializers.influx
    serializers.json
    outputs.influxdb_v2
    outputs.influxdb
    outputs.file
    outputs.health          # /health for compose health checks and the local runner
)

DIR=$CACHE/telegraf-$TELEGRAF_VERSION
BINARY=$DIR/telegraf
STAMP=$DIR/.plugins
LINK=$CACHE/bin/telegraf
TAGS=$(IFS=,; echo "custom,${PLUGINS[*]}")

log() { printf '[install-telegraf] %s\n' "$*" >&2; }

ready() { [[ -x $BINARY && -f $STAMP && $(<"$STAMP") == "$TAGS" ]]; }

link() {
    mkdir -p "$CACHE/bin"
    ln -sfn "$BINARY" "$LINK"
}

if ready; then
    [[ $(readlink "$LINK" 2>/dev/null) == "$BINARY" ]] || link
    echo "$BINARY"
    exit 0
fi

PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || { log "go not found (the machine's Go 1.26 is expected on PATH)"; exit 1; }

mkdir -p "$CACHE"
exec 9>"$CACHE/.telegraf.lock"
flock 9
if ready; then
    link
    echo "$BINARY"
    exit 0
fi

started=$SECONDS
BUILD=$DIR.build
rm -rf "$BUILD"
mkdir -p "$BUILD" "$CACHE/go/mod" "$CACHE/go/build"
# GOPATH too: Go keeps the checksum database's state in GOPATH/pkg/sumdb, whatever GOMODCACHE says.
if ! CGO_ENABLED=0 GOPATH=$CACHE/go GOMODCACHE=$CACHE/go/mod GOCACHE=$CACHE/go/build GOBIN=$BUILD GOFLAGS=-buildvcs=false \
    go install -tags "$TAGS" -trimpath \
    -ldflags "-s -w -X $MODULE/internal.Version=$TELEGRAF_VERSION" \
    "$MODULE/cmd/telegraf@v$TELEGRAF_VERSION" >"$BUILD/build.log" 2>&1; then
    tail -n 30 "$BUILD/build.log" >&2
    log "go install $MODULE/cmd/telegraf@v$TELEGRAF_VERSION failed (log: $BUILD/build.log)"
    exit 1
fi
"$BUILD/telegraf" --version >/dev/null
mkdir -p "$DIR"
mv -f "$BUILD/telegraf" "$BINARY.new"
mv -f "$BINARY.new" "$BINARY"
printf '%s\n' "$TAGS" >"$STAMP"
rm -rf "$BUILD"
link
log "telegraf $TELEGRAF_VERSION (${#PLUGINS[@]} plugins, $(du -h "$BINARY" | cut -f1)) at $BINARY in $((SECONDS - started)) s"
echo "$BINARY"
