#!/usr/bin/env bash
# Local job images (no registry is reachable): a static busybox root and a debootstrap minbase
# Debian, tagged by a hash of their inputs so they are rebuilt only when an input changes.
# Stdlib-only module, so the system python3 runs it before `uv sync`.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v debootstrap >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }
fi
PYTHONPATH=src python3 -m github_runner.executors.images all
