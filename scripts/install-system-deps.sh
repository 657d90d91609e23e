#!/usr/bin/env bash
# Install the Debian packages telmon's tests need, only the ones missing.
# Usage: install-system-deps.sh COMMAND:PACKAGE ...   (e.g. sox:sox)
# CI runs as root on a fresh machine; elsewhere sudo is used when available.
set -euo pipefail
missing=()
for spec in "$@"; do
  cmd=${spec%%:*}
  pkg=${spec#*:}
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
