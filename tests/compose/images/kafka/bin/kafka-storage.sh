#!/bin/bash
# kafka-storage.sh: kafka.tools.StorageTool from the Kafka jars (see kafka-run-class.sh).
exec "$(dirname "${BASH_SOURCE[0]}")/kafka-run-class.sh" kafka.tools.StorageTool "$@"
