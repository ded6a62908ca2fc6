#!/bin/sh
# Renders $NGINX_ENVSUBST_TEMPLATE_DIR/**/*$NGINX_ENVSUBST_TEMPLATE_SUFFIX into
# $NGINX_ENVSUBST_OUTPUT_DIR with envsubst, substituting only variables that are set (as the official
# image does, so nginx's own $variables survive).
set -e
template_dir=${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}
suffix=${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}
output_dir=${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}
filter=${NGINX_ENVSUBST_FILTER:-}

[ -d "$template_dir" ] || exit 0
if [ ! -w "$output_dir" ]; then
    echo "$0: ERROR: $template_dir exists, but $output_dir is not writable" >&2
    exit 0
fi
defined=$(env | cut -d= -f1 | grep -E "${filter:-.}" | sed 's/^/\$/' | tr '\n' ' ')
find "$template_dir" -follow -type f -name "*$suffix" -print | while read -r template; do
    relative=${template#"$template_dir/"}
    output=$output_dir/${relative%"$suffix"}
    mkdir -p "$(dirname "$output")"
    echo "$0: running envsubst on $template to $output"
    envsubst "$defined" <"$template" >"$output"
done
