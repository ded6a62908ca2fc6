#!/bin/sh
# Writes config.json for the page from the environment, then starts nginx through the base
# image's entrypoint. Unset or empty variables are left out so the page uses its defaults
# (ws://<page host>:8082 and http://<page host>:8083).
#   WS_URL               ws-relay URL seen from the browser, e.g. ws://localhost:8082
#   API_URL              trips-api base URL seen from the browser, e.g. http://localhost:8083
#   LIVE_WINDOW_SECONDS  how old a point may be and still show in live mode (0 = no limit)
set -eu

CONFIG_FILE="${GEOSTREAM_CONFIG_FILE:-/tmp/geostream/config.json}"

# JSON string body: escape backslashes and quotes, drop control characters.
json_string() {
    printf '%s' "$1" | tr -d '\000-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'
}

fields=""
add_field() {
    if [ -n "$fields" ]; then
        fields="$fields, "
    fi
    fields="$fields$1"
}

if [ -n "${WS_URL:-}" ]; then
    add_field "\"wsUrl\": \"$(json_string "$WS_URL")\""
fi
if [ -n "${API_URL:-}" ]; then
    add_field "\"apiUrl\": \"$(json_string "$API_URL")\""
fi
if [ -n "${LIVE_WINDOW_SECONDS:-}" ]; then
    case "$LIVE_WINDOW_SECONDS" in
        *[!0-9]* )
            printf '%s\n' '{"level":"error","service":"frontend","msg":"LIVE_WINDOW_SECONDS must be a whole number of seconds"}' >&2
            exit 64
            ;;
    esac
    add_field "\"liveWindowSeconds\": $LIVE_WINDOW_SECONDS"
fi

mkdir -p "$(dirname "$CONFIG_FILE")"
tmp="$CONFIG_FILE.tmp.$$"
printf '{%s}\n' "$fields" > "$tmp"
mv "$tmp" "$CONFIG_FILE"
printf '{"level":"info","service":"frontend","msg":"wrote config.json","config":%s}\n' "$(cat "$CONFIG_FILE")"

if [ "$#" -eq 0 ]; then
    set -- nginx -g 'daemon off;'
fi
if [ -x /docker-entrypoint.sh ]; then
    exec /docker-entrypoint.sh "$@"
fi
exec "$@"
