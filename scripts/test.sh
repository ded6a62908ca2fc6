#!/usr/bin/env bash
# `make test`: installs what is missing (apt, PyPI, npm; cached), lints, then runs every test tier on real
# local servers, then the compose smoke test. GEOSTREAM_SKIP_COMPOSE=1 skips the smoke test for quick local
# runs; it is ignored in CI (CI=true).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV=${GEOSTREAM_CACHE:-/var/cache/geostream}/venv

scripts/install-deps.sh
scripts/lint.sh
(cd frontend && npm test --silent)
"$VENV/bin/python" -m pytest tests/unit tests/static tests/integration tests/e2e "$@"

if [[ ${CI:-} != true && ${GEOSTREAM_SKIP_COMPOSE:-} == 1 ]]; then
  echo "compose smoke test skipped (GEOSTREAM_SKIP_COMPOSE=1)"
elif [[ -x tests/compose/smoke.sh ]]; then
  tests/compose/smoke.sh
fi
