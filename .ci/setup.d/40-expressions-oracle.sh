#!/usr/bin/env bash
# GitHub's own TypeScript expression evaluator (npm @actions/expressions, pinned), used by
# tests/unit/expressions/test_oracle.py as a differential oracle. Installed outside the repo.
set -euo pipefail
dir=${EXPRESSIONS_ORACLE_DIR:-/var/cache/github-runner/expressions-oracle}
version=0.3.61
pkg="$dir/node_modules/@actions/expressions/package.json"
if [[ -f "$pkg" ]] && grep -q "\"version\": \"$version\"" "$pkg"; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null \
    || echo "WARNING: could not install nodejs/npm" >&2
fi
mkdir -p "$dir"
# A failed download must not stop the rest of CI: the oracle test then fails on its own,
# naming the missing package (tests/conftest.py require()).
if ! timeout 300 npm install --prefix "$dir" --no-audit --no-fund --silent "@actions/expressions@$version"; then
  echo "WARNING: could not install @actions/expressions@$version into $dir" >&2
fi
