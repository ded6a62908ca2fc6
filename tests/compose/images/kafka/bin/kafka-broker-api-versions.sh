#!/bin/bash
# kafka-broker-api-versions.sh: kafka.admin.BrokerApiVersionsCommand from the Kafka jars (see kafka-run-class.sh).
exec "$(dirname "${BASH_SOURCE[0]}")/kafka-run-class.sh" kafka.admin.BrokerApiVersionsCommand "$@"
