#!/bin/sh
# geostream/flink-job image: one image, three roles (compose services flink-jobmanager,
# flink-taskmanager, flink-job). Flink's own scripts come from the PyFlink package (FLINK_HOME).
#   jobmanager | taskmanager   the session cluster, in the foreground, logs as JSON on stdout
#   submit                     keep the locations job running on that cluster (cluster.py)
#   anything else              run as given (e.g. `flink list`, a shell)
set -eu

JOB_MANAGER=${JOB_MANAGER_RPC_ADDRESS:-flink-jobmanager}
# Flink unpacks its RPC system (a 20 MB jar) into io.tmp.dirs at every start and leaves it there when
# stopped, so a restarted container would pile them up; one JVM per directory: the old ones are unused.
TMP_DIR=${FLINK_TMP_DIR:-/tmp}

case "${1:-}" in
jobmanager)
    shift
    rm -f "$TMP_DIR"/flink-rpc-akka*.jar
    exec "$FLINK_HOME/bin/jobmanager.sh" start-foreground \
        -D "jobmanager.rpc.address=$JOB_MANAGER" \
        -D jobmanager.bind-host=0.0.0.0 \
        -D rest.bind-address=0.0.0.0 \
        -D "rest.address=$JOB_MANAGER" \
        -D "jobmanager.memory.process.size=${JOB_MANAGER_MEMORY:-1024m}" \
        -D "io.tmp.dirs=$TMP_DIR" \
        "$@"
    ;;
taskmanager)
    shift
    rm -f "$TMP_DIR"/flink-rpc-akka*.jar
    # Advertise this container's address: TaskManagers are scaled, so there is no fixed host name.
    address=$(python -c 'import socket; print(socket.gethostbyname(socket.gethostname()))')
    exec "$FLINK_HOME/bin/taskmanager.sh" start-foreground \
        -D "jobmanager.rpc.address=$JOB_MANAGER" \
        -D taskmanager.bind-host=0.0.0.0 \
        -D "taskmanager.host=$address" \
        -D "taskmanager.numberOfTaskSlots=${TASK_MANAGER_NUMBER_OF_TASK_SLOTS:-2}" \
        -D "taskmanager.memory.process.size=${TASK_MANAGER_MEMORY:-1536m}" \
        -D "io.tmp.dirs=$TMP_DIR" \
        "$@"
    ;;
submit)
    exec python /opt/flink-job/cluster.py submit
    ;;
*)
    exec "$@"
    ;;
esac
