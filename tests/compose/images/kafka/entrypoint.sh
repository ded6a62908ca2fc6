#!/bin/bash
# Starts Tansu the way apache/kafka is configured. Tansu has one listener: it listens on the port of the
# inter-broker listener (else the first advertised one) and advertises that address; every other
# advertised listener's port is forwarded to it with socat, so a client bootstrapping there is sent on
# to the advertised address.
set -euo pipefail

advertised=${KAFKA_ADVERTISED_LISTENERS:-PLAINTEXT://localhost:9092}
primary_name=${KAFKA_INTER_BROKER_LISTENER_NAME:-}
primary=""
others=()
IFS=',' read -r -a entries <<<"$advertised"
for entry in "${entries[@]}"; do
    entry=${entry// /}
    [ -n "$entry" ] || continue
    name=${entry%%://*}
    if [ -z "$primary" ] && { [ -z "$primary_name" ] || [ "$name" = "$primary_name" ]; }; then
        primary=$entry
    else
        others+=("$entry")
    fi
done
[ -n "$primary" ] || primary=${entries[0]}
address=${primary#*://}
port=${address##*:}

for entry in "${others[@]}"; do
    other_port=${entry##*:}
    if [ "$other_port" != "$port" ]; then
        echo "kafka stand-in: forwarding :$other_port (${entry%%://*}) to :$port"
        socat "TCP-LISTEN:$other_port,fork,reuseaddr" "TCP:127.0.0.1:$port" &
    fi
done

echo "kafka stand-in: tansu listening on 0.0.0.0:$port, advertising $address"
exec tansu broker \
    --cluster-id "${CLUSTER_ID:-${KAFKA_CLUSTER_ID:-tansu_cluster}}" \
    --listener-url "tcp://0.0.0.0:$port" \
    --advertised-listener-url "tcp://$address" \
    --storage-engine "${TANSU_STORAGE_ENGINE:-memory://tansu/}"
