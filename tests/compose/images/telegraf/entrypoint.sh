#!/bin/sh
# Like the official image: arguments that start with "-" are telegraf's flags, and when started as root
# the agent runs as the user telegraf (HOME=/etc/telegraf).
set -e
case "${1:-}" in
-*) set -- telegraf "$@" ;;
esac
if [ "$(id -u)" != 0 ]; then
    exec "$@"
fi
HOME=$(getent passwd telegraf | cut -d: -f6)
export HOME
exec setpriv --reuid telegraf --regid telegraf --init-groups "$@"
