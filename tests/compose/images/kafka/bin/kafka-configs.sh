#!/bin/bash
# kafka-configs.sh: kafka.admin.ConfigCommand from the Kafka jars (see kafka-run-class.sh).
exec "$(dirname "${BASH_SOURCE[0]}")/kafka-run-class.sh" kafka.admin.ConfigCommand "$@"
