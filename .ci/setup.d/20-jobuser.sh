#!/usr/bin/env bash
# The unprivileged user job processes drop to (shell/sandbox executors' default `user`).
set -euo pipefail
id ghr-job >/dev/null 2>&1 || useradd --system --create-home --home-dir /home/ghr-job \
  --shell /bin/bash ghr-job
