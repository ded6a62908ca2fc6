#!/bin/bash
# kafka-console-producer.sh: kafka.tools.ConsoleProducer from the Kafka jars (see kafka-run-class.sh).
exec "$(dirname "${BASH_SOURCE[0]}")/kafka-run-class.sh" kafka.tools.ConsoleProducer "$@"
