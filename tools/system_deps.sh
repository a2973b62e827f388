#!/usr/bin/env bash
# Debian packages that the tests (chromium, for browser tests through Playwright's executable_path —
# never a downloaded browser) or the benchmarks (wrk, a load generator in C) drive for real.
# Usage: tools/system_deps.sh PACKAGE... — each installed when missing, as root; otherwise we say what
# to install and stop, rather than skip the tests.
set -euo pipefail
missing=()
for pkg in "$@"; do
  command -v "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "Needed Debian packages: ${missing[*]}" >&2
  echo "Install them: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
