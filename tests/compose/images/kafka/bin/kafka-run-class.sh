#!/bin/bash
# kafka-run-class.sh CLASS [ARGS...]: runs a class from /opt/kafka/libs with the options the
# distribution's script reads: KAFKA_HEAP_OPTS, KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_OPTS, KAFKA_LOG4J_OPTS
# (defaults: a JVM tuned to start fast, as the command-line tools need, and their logging: warnings on
# stderr; kafka-server-start.sh sets the broker's).
set -euo pipefail
home=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
heap=${KAFKA_HEAP_OPTS:--Xmx256M}
performance=${KAFKA_JVM_PERFORMANCE_OPTS:--XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true}
log4j=${KAFKA_LOG4J_OPTS:--Dlog4j.configuration=file:$home/config/tools-log4j.properties}
# shellcheck disable=SC2086  # the option variables hold several options each, split on purpose
exec java $heap $performance ${KAFKA_OPTS:-} $log4j -cp "$home/libs/*" "$@"
