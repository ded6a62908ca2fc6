#!/usr/bin/env bash
# `make test`: installs what is missing (cached), lints, then runs every test tier on real local servers,
# then the compose smoke test. GEOSTREAM_SKIP_COMPOSE=1 skips the smoke test for quick local runs; it is
# ignored in CI (CI=true). Arguments go to every pytest run. Ends with one line counting every test of every
# runner; exits non-zero if any failed.
#
# On a fresh machine the servers' installs (Maven downloads, debootstrap, the Go and Rust builds: most of a
# cold run's install time) start in the background at once, each group with its own log, while the
# foreground installs the Python and npm tools, lints, and runs vitest and the tests that need no server.
# Each group is waited for just before the first tests that need it; a failed install stops the run and
# shows its log. With a warm cache every install returns in seconds and the order is the same.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV=${GEOSTREAM_CACHE:-/var/cache/geostream}/venv
REPORTS=$(mktemp -d /tmp/geostream-test-reports.XXXXXX)
PYTEST_ARGS=("$@")
declare -A INSTALLS=()

start_install() {
  # Its own process group, so that an early exit stops all of it (every installer is safe to interrupt).
  setsid scripts/install-deps.sh "$1" >"$REPORTS/install-$1.log" 2>&1 &
  INSTALLS[$1]=$!
}

wait_install() {
  local started=$SECONDS status=0
  wait "${INSTALLS[$1]}" || status=$?
  unset "INSTALLS[$1]"
  cat "$REPORTS/install-$1.log" >&2
  if ((status)); then
    echo "[test] installing $1 FAILED (exit $status); its log is above" >&2
    exit 1
  fi
  echo "[test] $1 installed (waited $((SECONDS - started)) s for it)" >&2
}

# shellcheck disable=SC2317  # called by the EXIT trap
stop_installs() {
  local pid
  for pid in "${INSTALLS[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
}
trap 'stop_installs; rm -rf "$REPORTS"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

failed=0
run_pytest() {
  local name=$1 status=0
  shift
  "$VENV/bin/python" -m pytest "$@" --junitxml="$REPORTS/$name.xml" "${PYTEST_ARGS[@]}" || status=$?
  # 5: no test selected (arguments such as -k can leave one run empty).
  ((status == 0 || status == 5)) || failed=1
}

# The test directories that need InfluxDB or Telegraf run last: those two builds take longest.
mapfile -t TIMESERIES_TESTS < <(grep -rliE --include='*.py' 'influx|telegraf' tests/integration | cut -d/ -f1-3 | sort -u)

scripts/install-deps.sh apt
start_install servers      # MobilityDB, Kafka, OpenSearch, PyFlink + connectors
start_install timeseries   # InfluxDB, Telegraf
scripts/install-deps.sh base
scripts/lint.sh
(cd frontend && npx vitest run --reporter=default --reporter=junit --outputFile.junit="$REPORTS/frontend.xml")
run_pytest offline tests/unit tests/static
wait_install servers
run_pytest servers tests/integration "${TIMESERIES_TESTS[@]/#/--ignore=}" tests/campaign tests/e2e tests/faults
wait_install timeseries
((${#TIMESERIES_TESTS[@]} == 0)) || run_pytest timeseries "${TIMESERIES_TESTS[@]}"

if ((failed)); then
  echo "compose smoke test not run: tests failed above"
elif [[ ${CI:-} != true && ${GEOSTREAM_SKIP_COMPOSE:-} == 1 ]]; then
  echo "compose smoke test skipped (GEOSTREAM_SKIP_COMPOSE=1)"
elif [[ -x tests/compose/smoke.sh ]]; then
  tests/compose/smoke.sh --junitxml="$REPORTS/compose.xml" || failed=1
fi

"$VENV/bin/python" - "$REPORTS"/*.xml <<'PY'
import sys
import xml.etree.ElementTree as ET

passed = failed = skipped = 0
for path in sys.argv[1:]:
    root = ET.parse(path).getroot()
    for suite in [root] if root.tag == "testsuite" else root.iter("testsuite"):
        tests, bad = int(suite.get("tests", 0)), int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skip = int(suite.get("skipped", 0))
        passed, failed, skipped = passed + tests - bad - skip, failed + bad, skipped + skip
print(f"total: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit "$failed"
