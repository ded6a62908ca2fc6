#!/bin/bash
# Health probe standing in for Kafka's kafka-broker-api-versions.sh: succeeds when the broker answers a
# metadata request. Usage: kafka-broker-api-versions.sh --bootstrap-server HOST:PORT
set -euo pipefail
bootstrap=localhost:9092
while [ $# -gt 0 ]; do
    case "$1" in
    --bootstrap-server) bootstrap=$2; shift ;;
    esac
    shift
done
timeout 10 tansu topic list --broker "tcp://${bootstrap%%,*}" >/dev/null
echo "${bootstrap%%,*} (id: 0 rack: null) -> (answers Kafka metadata requests: Tansu)"
