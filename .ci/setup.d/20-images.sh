#!/usr/bin/env bash
# Local job images (no registry is reachable): a static busybox root and a debootstrap minbase
# Debian, tagged by a hash of their inputs so they are rebuilt only when an input changes.
# Stdlib-only module, so the system python3 runs it before `uv sync`.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHONPATH=src python3 -m github_runner.executors.images all
