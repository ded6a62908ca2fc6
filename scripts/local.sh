#!/usr/bin/env bash
# `make local`: the pipeline without Docker on the default ports (see scripts/localservers/stack.py).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${GEOSTREAM_CACHE:-/var/cache/geostream}/venv
export PYTHONPATH=$ROOT/services/geostream:$ROOT/scripts:$ROOT/tests
exec "$VENV/bin/python" -m localservers.stack "$@"
