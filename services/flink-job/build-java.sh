#!/bin/sh
# build-java.sh DEST: compiles the locations job's Java parts (java/: the PARSE_LOCATION function and the
# 'geostream-points' sink), runs their JUnit tests and puts geostream-flink.jar into DEST (created), for
# Flink's lib/ next to the connector jars. Needs a JDK 17 (javac) and Maven. Maven works offline when its
# repository already holds every artifact (after the first build), else it resolves them from Maven
# Central. MAVEN_REPO_LOCAL chooses Maven's local repository; the build directory is a temporary one, never
# inside the checkout. Used by install-local.sh (the local MiniCluster) and by the Dockerfile (the image).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
DEST=${1:?usage: build-java.sh DEST}
mkdir -p "$DEST"
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
repo_opt=${MAVEN_REPO_LOCAL:+-Dmaven.repo.local=$MAVEN_REPO_LOCAL}

mvn_package() {
    # shellcheck disable=SC2086 # repo_opt is one optional word
    mvn -q -B -Dstyle.color=never --strict-checksums $repo_opt "$@" -f "$HERE/java/pom.xml" \
        "-Dgeostream.build.directory=$build" package >&2
}
if ! mvn_package -o 2>/dev/null; then
    echo "build-java: resolving from Maven Central (offline build failed)" >&2
    mvn_package
fi
cp "$build/geostream-flink.jar" "$DEST/"
