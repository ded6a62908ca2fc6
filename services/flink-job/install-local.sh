#!/usr/bin/env bash
# PyFlink 2.0 in its own venv plus the Kafka/JDBC connector jars from Maven Central (connectors.txt, checked
# by SHA-256), for the local MiniCluster (tests, `make local`, the benchmark):
# ${GEOSTREAM_CACHE:-/var/cache/geostream}/flink-venv. The jars are cached in $CACHE/flink-connectors and
# Maven's repository in $CACHE/m2. Idempotent: a stamp named after the hash of requirements.txt,
# connectors.txt and fetch-connectors.sh skips the work when nothing changed.
# Java 17 and Maven must be on PATH (Debian: openjdk-17-jre-headless, maven; installed when missing).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${GEOSTREAM_CACHE:-/var/cache/geostream}
VENV=${FLINK_VENV:-$CACHE/flink-venv}
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}

log() { printf '[flink-job install] %s\n' "$*" >&2; }

inputs_hash=$(cat "$HERE/requirements.txt" "$HERE/connectors.txt" "$HERE/fetch-connectors.sh" | sha256sum | cut -c1-16)
stamp=$VENV/.geostream-$inputs_hash
if [[ -f $stamp ]]; then
  exit 0
fi
started=$SECONDS

missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
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

rm -f "$VENV"/.geostream-*
touch "$stamp"
log "ready in $((SECONDS - started)) s"
