#!/usr/bin/env bash
# Resolves Apache Kafka (the broker, KRaft mode, and its command-line tools) from Maven Central with mvn,
# for the local servers (scripts/localservers/kafka.py) and the compose stand-in image
# (tests/compose/images.sh). No release tarball is reachable here, but the jars are.
#
#   scripts/install-kafka.sh          -> $GEOSTREAM_CACHE/kafka-<version>/libs/*.jar
#
# The version is KAFKA_VERSION in .env.example, the one compose runs. scripts/kafka/pom.xml lists the
# artifacts (kafka_2.13, kafka-tools, and the reload4j logging backend Kafka 3.9's core POM leaves out);
# Maven verifies every download's checksum (-C fails on a mismatch) and keeps its local repository in
# $GEOSTREAM_CACHE/m2-servers, shared with install-opensearch.sh, which scripts/install-deps.sh runs after
# this one. PyFlink's connectors have $CACHE/m2 to themselves so that they install in parallel: two Maven
# processes must not write one local repository at once. The jars are copied into a temporary directory
# and renamed into place, and a stamp file names the POM they came from: a rerun with the same POM prints
# nothing and exits at once.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${GEOSTREAM_CACHE:-/var/cache/geostream}
POM=$ROOT/scripts/kafka/pom.xml
VERSION=$(sed -n 's/^KAFKA_VERSION=//p' "$ROOT/.env.example")
DEST=$CACHE/kafka-$VERSION
STAMP=$DEST/.libs-$(sha256sum "$POM" | cut -c1-16)

log() { printf '[install-kafka] %s\n' "$*" >&2; }

[[ -n $VERSION ]] || { log "KAFKA_VERSION not found in $ROOT/.env.example"; exit 1; }
[[ -f $STAMP ]] && exit 0

mkdir -p "$CACHE"
exec 9>"$CACHE/.kafka-$VERSION.lock"
flock 9
[[ -f $STAMP ]] && exit 0

if ! command -v mvn >/dev/null || ! command -v java >/dev/null; then
    log "apt: maven openjdk-17-jdk-headless"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        maven openjdk-17-jdk-headless >/dev/null
fi

started=$SECONDS
mkdir -p "$DEST"
rm -rf "$DEST/libs.tmp"
if ! mvn -B -q -C -f "$POM" -Dmaven.repo.local="$CACHE/m2-servers" -Dkafka.version="$VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$DEST/libs.tmp" \
    >"$DEST/mvn.log" 2>&1; then
    tail -n 30 "$DEST/mvn.log" >&2
    log "mvn failed (log: $DEST/mvn.log)"
    exit 1
fi
[[ -f $DEST/libs.tmp/kafka_2.13-$VERSION.jar ]] || { log "kafka_2.13-$VERSION.jar missing"; exit 1; }
# Class-data archives (scripts/localservers/kafka.py) name the jars they were dumped from: drop them too.
rm -rf "$DEST/libs" "$DEST/cds" "$DEST"/.libs-*
mv "$DEST/libs.tmp" "$DEST/libs"
touch "$STAMP"
jars=$(find "$DEST/libs" -name '*.jar' | wc -l)
log "Apache Kafka $VERSION: $jars jars ($(du -sh "$DEST/libs" | cut -f1)) in $DEST/libs, $((SECONDS - started)) s"
