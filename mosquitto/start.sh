#!/bin/sh
# Entrypoint of the mosquitto container: credentials and ACLs from the environment (.env), then the
# broker. As root, the broker drops to the "mosquitto" user, which must own what it reads and writes.
set -eu
auth_dir=/mosquitto/auth
sh /mosquitto/config/generate-auth.sh "$auth_dir"
if [ "$(id -u)" = 0 ]; then
    chown -R mosquitto:mosquitto "$auth_dir" /mosquitto/data
fi
exec mosquitto -c /mosquitto/config/mosquitto.conf
