#!/usr/bin/env bash
# System packages the test suite drives for real: Debian's chromium (browser tests, through Playwright's
# executable_path — never a downloaded browser). Installed when running as root; otherwise we say what
# to install and stop, rather than skip the tests.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "The tests need these Debian packages: ${missing[*]}" >&2
  echo "Install them: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
