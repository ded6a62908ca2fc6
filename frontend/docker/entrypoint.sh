#!/bin/sh
# Writes config.json for the page from the environment, then starts nginx through the base
# image's entrypoint. Unset or empty variables are left out so the page uses its defaults
# (ws://<page host>:8082 and http://<page host>:8083).
#   WS_URL               ws-relay URL seen from the browser, e.g. ws://localhost:8082
#   API_URL              trips-api base URL seen from the browser, e.g. http://localhost:8083
#   LIVE_WINDOW_SECONDS  how old a point may be and still show in live mode (0 = no limit)
#   STALE_SECONDS        age from which a vehicle is drawn stale; OFFLINE_SECONDS: drawn offline
#   BASEMAP              a MapLibre style URL, an XYZ raster URL template, a .pmtiles URL, or "offline"
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

# add_string VARIABLE key / add_seconds VARIABLE key: the variable's value as config.json's key, if set.
add_string() {
    eval "value=\${$1:-}"
    if [ -n "$value" ]; then
        add_field "\"$2\": \"$(json_string "$value")\""
    fi
}
add_seconds() {
    eval "value=\${$1:-}"
    [ -n "$value" ] || return 0
    case "$value" in
        *[!0-9]* )
            printf '{"level":"error","service":"frontend","msg":"%s must be a whole number of seconds"}\n' "$1" >&2
            exit 64
            ;;
    esac
    add_field "\"$2\": $value"
}

add_string WS_URL wsUrl
add_string API_URL apiUrl
add_string BASEMAP basemap
add_seconds LIVE_WINDOW_SECONDS liveWindowSeconds
add_seconds STALE_SECONDS staleSeconds
add_seconds OFFLINE_SECONDS offlineSeconds

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
