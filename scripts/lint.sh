#!/usr/bin/env bash
# Linters: ruff (check + format) for Python, hadolint for Dockerfiles, shellcheck for scripts, yamllint.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV=${GEOSTREAM_CACHE:-/var/cache/geostream}/venv
export PATH=$VENV/bin:$PATH

echo "== ruff"
ruff check .
ruff format --check .
echo "== hadolint"
mapfile -t dockerfiles < <(git ls-files --cached --others --exclude-standard '*Dockerfile*')
hadolint "${dockerfiles[@]}"
echo "== shellcheck"
mapfile -t scripts < <(git ls-files --cached --others --exclude-standard '*.sh' | grep -v node_modules)
shellcheck "${scripts[@]}"
echo "== yamllint"
mapfile -t yamls < <(git ls-files --cached --others --exclude-standard 'docker-compose*.yml' 'tests/compose/*.yml')
yamllint -d '{extends: default, rules: {line-length: {max: 140}, document-start: disable, truthy: {check-keys: false}}}' \
  "${yamls[@]}"
echo "lint ok"
