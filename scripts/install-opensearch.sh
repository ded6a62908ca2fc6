#!/usr/bin/env bash
# Installs, once, a one-node OpenSearch for the tests and `make local`: the server and module jars from
# Maven Central (scripts/opensearch/pom.xml pins the version) plus our small launcher
# (scripts/opensearch/LocalNode.java), compiled with the default JDK 17. No distribution archive is
# downloaded: none is reachable here.
#
#   scripts/install-opensearch.sh      -> prints the install directory
#
# Result: ${GEOSTREAM_CACHE:-/var/cache/geostream}/opensearch-<version>/{lib,classes}; the Maven local
# repository is $CACHE/m2-servers (see install-kafka.sh). Built in a temporary directory and renamed into
# place when complete; a rerun whose pom and launcher are unchanged exits at once. Concurrent runs
# serialise on a lock file.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$HERE/opensearch
CACHE=${GEOSTREAM_CACHE:-/var/cache/geostream}
VERSION=$(sed -n 's:.*<opensearch.version>\(.*\)</opensearch.version>.*:\1:p' "$SRC/pom.xml")
DEST=$CACHE/opensearch-$VERSION
MARKER=.geostream-opensearch-ready
RECIPE=$(cat "$SRC/pom.xml" "$SRC/LocalNode.java" | sha256sum | cut -c1-16)

log() { printf '[install-opensearch] %s\n' "$*" >&2; }

ready() {
  local first=""
  [[ -f $DEST/$MARKER ]] && read -r first <"$DEST/$MARKER"
  [[ $first == "$RECIPE" ]]
}

if ready; then
  echo "$DEST"
  exit 0
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.opensearch.lock"
flock 9
if ready; then
  echo "$DEST"
  exit 0
fi

started=$SECONDS
if ! command -v mvn >/dev/null || ! command -v javac >/dev/null; then
  log "apt: maven openjdk-17-jdk-headless"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends maven openjdk-17-jdk-headless >/dev/null
fi
BUILD=$(mktemp -d "$CACHE/.opensearch-build.XXXXXX")
chmod 755 "$BUILD"
trap 'rm -rf "$BUILD"' EXIT

if ! mvn -B -Dstyle.color=never -f "$SRC/pom.xml" -Dmaven.repo.local="$CACHE/m2-servers" \
  dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$BUILD/lib" >"$BUILD/mvn.log" 2>&1; then
  tail -n 40 "$BUILD/mvn.log" >&2
  log "mvn failed resolving OpenSearch $VERSION (log above)"
  exit 1
fi
javac -d "$BUILD/classes" -cp "$BUILD/lib/*" "$SRC/LocalNode.java"
rm "$BUILD/mvn.log"
echo "$RECIPE" >"$BUILD/$MARKER"

rm -rf "$DEST"
mv -T "$BUILD" "$DEST"
trap - EXIT
log "OpenSearch $VERSION ready in $((SECONDS - started)) s: $(find "$DEST/lib" -name '*.jar' | wc -l) jars, $(du -sh "$DEST/lib" | cut -f1) at $DEST"
echo "$DEST"
