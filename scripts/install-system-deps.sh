#!/usr/bin/env bash
# Install the Debian packages telmon's tests need, only the ones missing.
# Usage: install-system-deps.sh SPEC ...
#   COMMAND:PACKAGE         the package is missing when COMMAND is not on PATH (e.g. sox:sox)
#   file:/PATH:PACKAGE      the package is missing when /PATH does not exist: for packages that
#                           install no command, e.g. fonts
#                           (file:/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc:fonts-noto-cjk)
# CI runs as root on a fresh machine; elsewhere sudo is used when available.
set -euo pipefail
missing=()
for spec in "$@"; do
  pkg=${spec##*:}
  if [[ $spec == file:* ]]; then
    path=${spec#file:}
    path=${path%:*}
    [ -e "$path" ] || missing+=("$pkg")
  else
    cmd=${spec%%:*}
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
