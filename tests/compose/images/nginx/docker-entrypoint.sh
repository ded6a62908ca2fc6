#!/bin/sh
# Like the official nginx image: before starting nginx, run the executable /docker-entrypoint.d/*.sh
# (and source the non-executable *.envsh) in name order.
set -e
if [ "$1" = nginx ] || [ "$1" = nginx-debug ]; then
    for f in $(find /docker-entrypoint.d/ -mindepth 1 -maxdepth 1 -type f | sort); do
        case "$f" in
        *.envsh)
            if [ -x "$f" ]; then
                echo "$0: sourcing $f"
                # shellcheck disable=SC1090
                . "$f"
            fi
            ;;
        *.sh)
            if [ -x "$f" ]; then
                echo "$0: launching $f"
                "$f"
            else
                echo "$0: ignoring $f, not executable"
            fi
            ;;
        *) echo "$0: ignoring $f" ;;
        esac
    done
    echo "$0: configuration complete; ready for start up"
fi
exec "$@"
