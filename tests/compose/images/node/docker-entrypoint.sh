#!/bin/sh
# Like the official node image: run node when the first argument is an option or not a command.
set -e
if [ "${1#-}" != "$1" ] || [ -z "$(command -v "${1:-}" 2>/dev/null)" ]; then
    set -- node "$@"
fi
exec "$@"
