#!/usr/bin/env bash
# PyFlink 2.0 in its own venv plus the Kafka/JDBC connector jars from Maven Central (connectors.txt, checked
# by SHA-256), for the local MiniCluster (tests, `make local`, the benchmark):
# ${GEOSTREAM_CACHE:-/var/cache/geostream}/flink-venv. The jars are cached in $CACHE/flink-connectors and
# Maven's repository in $CACHE/m2. The job's Java parts (java/: PARSE_LOCATION and the points sink, built
# by build-java.sh with their JUnit tests) are cached in $CACHE/flink-java/<hash of java/ and build-java.sh>
# and copied into pyflink's lib/ too. Idempotent: a stamp named after the hash of requirements.txt,
# connectors.txt, fetch-connectors.sh and the Java sources skips the work when nothing changed.
# A JDK 17 and Maven must be on PATH (Debian: openjdk-17-jdk-headless, maven; installed when missing).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${GEOSTREAM_CACHE:-/var/cache/geostream}
VENV=${FLINK_VENV:-$CACHE/flink-venv}
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}

log() { printf '[flink-job install] %s\n' "$*" >&2; }

# The Java module by content (file names and bytes, in a stable order), whatever the files' dates.
java_hash=$(cd "$HERE" && find java/pom.xml java/src build-java.sh -type f -print0 | LC_ALL=C sort -z \
  | xargs -0 sha256sum | sha256sum | cut -c1-16)
inputs_hash=$( (cat "$HERE/requirements.txt" "$HERE/connectors.txt" "$HERE/fetch-connectors.sh"; echo "$java_hash") \
  | sha256sum | cut -c1-16)
stamp=$VENV/.geostream-$inputs_hash
if [[ -f $stamp ]]; then
  exit 0
fi
started=$SECONDS

missing=()
command -v javac >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

log "PyFlink venv at $VENV"
mkdir -p "$CACHE"
[[ -x $VENV/bin/python ]] || "$PYTHON" -m venv "$VENV"
# The third-party repackage of the connector jars used before; its files go with it.
"$VENV/bin/pip" uninstall -q -y shigawire-apache-flink-libraries >/dev/null 2>&1 || true
"$VENV/bin/pip" install -q --disable-pip-version-check -r "$HERE/requirements.txt"

jars=$CACHE/flink-connectors
log "connector jars (connectors.txt) into $jars"
MAVEN_REPO_LOCAL=$CACHE/m2 "$HERE/fetch-connectors.sh" "$jars"
lib=$("$VENV/bin/python" -c 'import os, pyflink; print(os.path.join(os.path.dirname(pyflink.__file__), "lib"))')
while read -r coordinate _; do
  artifact=$(cut -d: -f2 <<<"$coordinate")
  rm -f "$lib/$artifact"-*.jar "$lib/$artifact.jar"
  cp "$jars/$artifact-$(cut -d: -f3 <<<"$coordinate").jar" "$lib/"
done < <(grep -v -e '^#' -e '^[[:space:]]*$' "$HERE/connectors.txt")

# Test sessions may run this script at the same time: build into a directory of our own, then rename.
java_jars=$CACHE/flink-java/$java_hash
if [[ ! -f $java_jars/geostream-flink.jar ]]; then
  log "Java parts (java/, JUnit tests included) into $java_jars"
  java_started=$SECONDS
  mkdir -p "$CACHE/flink-java"
  built=$(mktemp -d "$CACHE/flink-java/.build-XXXXXX")
  MAVEN_REPO_LOCAL=$CACHE/m2 "$HERE/build-java.sh" "$built"
  mv -T "$built" "$java_jars" 2>/dev/null || rm -rf "$built" # another run was first: same content
  log "Java parts built in $((SECONDS - java_started)) s"
fi
cp "$java_jars/geostream-flink.jar" "$lib/.geostream-flink.jar.$$"
mv -f "$lib/.geostream-flink.jar.$$" "$lib/geostream-flink.jar"

rm -f "$VENV"/.geostream-*
touch "$stamp"
log "ready in $((SECONDS - started)) s"
