#!/usr/bin/env bash
# `make bench`: every benchmark, one after the other (each prints its figures and its same-run baseline).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${GEOSTREAM_CACHE:-/var/cache/geostream}/venv/bin/python
for bench in "$ROOT"/bench/*_bench.py; do
  echo "### $(basename "$bench")"
  "$PY" "$bench"
done
