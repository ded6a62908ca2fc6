#!/bin/sh
# fetch-connectors.sh DEST: the jars listed in connectors.txt, resolved from Maven Central with mvn and
# checked against their pinned SHA-256, into DEST (created). A jar already in DEST with the right checksum
# is kept, so a rerun costs nothing. MAVEN_REPO_LOCAL chooses Maven's local repository (its cache).
# Used by install-local.sh (the local MiniCluster) and by the Dockerfile (the image).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
DEST=${1:?usage: fetch-connectors.sh DEST}
mkdir -p "$DEST"
repo_opt=${MAVEN_REPO_LOCAL:+-Dmaven.repo.local=$MAVEN_REPO_LOCAL}

grep -v -e '^#' -e '^[[:space:]]*$' "$HERE/connectors.txt" | while read -r coordinate sha256; do
    artifact=$(echo "$coordinate" | cut -d: -f2)
    version=$(echo "$coordinate" | cut -d: -f3)
    jar=$DEST/$artifact-$version.jar
    if [ -f "$jar" ] && echo "$sha256  $jar" | sha256sum -c --status; then
        continue
    fi
    # shellcheck disable=SC2086 # repo_opt is one optional word
    mvn -q -B -Dstyle.color=never --strict-checksums $repo_opt dependency:copy \
        "-Dartifact=$coordinate" "-DoutputDirectory=$DEST" >&2
    if ! echo "$sha256  $jar" | sha256sum -c --status; then
        rm -f "$jar"
        echo "fetch-connectors: $coordinate: checksum mismatch (expected $sha256)" >&2
        exit 1
    fi
done
