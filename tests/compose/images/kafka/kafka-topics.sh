#!/bin/bash
# The subset of Kafka's kafka-topics.sh that topic set-up scripts use, on top of `tansu topic`:
#   --bootstrap-server HOST:PORT (--create [--if-not-exists] --topic T [--partitions N]
#   [--replication-factor R] [--config K=V] | --list | --delete --topic T | --describe [--topic T])
set -euo pipefail

bootstrap=localhost:9092
action=""
topic=""
partitions=1
if_not_exists=0
while [ $# -gt 0 ]; do
    case "$1" in
    --bootstrap-server) bootstrap=$2; shift ;;
    --create | --list | --delete | --describe) action=${1#--} ;;
    --if-not-exists) if_not_exists=1 ;;
    --topic) topic=$2; shift ;;
    --partitions) partitions=$2; shift ;;
    --replication-factor | --config | --command-config) shift ;;
    --if-exists) ;;
    *) echo "kafka-topics.sh (tansu stand-in): unsupported option $1" >&2; exit 2 ;;
    esac
    shift
done
broker=tcp://${bootstrap%%,*}

names() {
    tansu topic list --broker "$broker" | grep -o '"name":"[^"]*"' | sed 's/"name":"\(.*\)"/\1/'
}

case "$action" in
create)
    [ -n "$topic" ] || { echo "--topic is required" >&2; exit 2; }
    if names | grep -qxF "$topic"; then
        if [ "$if_not_exists" = 1 ]; then exit 0; fi
        echo "Error while executing topic command : Topic '$topic' already exists." >&2
        exit 1
    fi
    tansu topic create --broker "$broker" --partitions "$partitions" "$topic"
    echo "Created topic $topic."
    ;;
list) names ;;
delete) tansu topic delete --broker "$broker" "$topic" ;;
describe)
    tansu topic list --broker "$broker" | if [ -n "$topic" ]; then grep -F "\"name\":\"$topic\""; else cat; fi
    ;;
*) echo "one of --create, --list, --delete, --describe is required" >&2; exit 2 ;;
esac
