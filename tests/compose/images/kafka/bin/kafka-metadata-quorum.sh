#!/bin/bash
# kafka-metadata-quorum.sh: org.apache.kafka.tools.MetadataQuorumCommand from the Kafka jars (see kafka-run-class.sh).
exec "$(dirname "${BASH_SOURCE[0]}")/kafka-run-class.sh" org.apache.kafka.tools.MetadataQuorumCommand "$@"
