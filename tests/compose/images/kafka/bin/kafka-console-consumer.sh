#!/bin/bash
# kafka-console-consumer.sh: org.apache.kafka.tools.consumer.ConsoleConsumer from the Kafka jars (see kafka-run-class.sh).
exec "$(dirname "${BASH_SOURCE[0]}")/kafka-run-class.sh" org.apache.kafka.tools.consumer.ConsoleConsumer "$@"
