#!/usr/bin/env bash
# Debian packages the integration tests use. apt-get update first: a new machine has no lists.
set -euo pipefail
pkgs=(docker.io bubblewrap nftables runsc iproute2 busybox-static procps psmisc iptables util-linux)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
