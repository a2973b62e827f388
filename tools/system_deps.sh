#!/usr/bin/env bash
# Debian packages that the tests (chromium, for browser tests through Playwright's executable_path —
# never a downloaded browser; tilemaker, which `siaga map import` runs to build the street basemap; the
# libraries WeasyPrint loads to write PDF reports) or the benchmarks (wrk,
# a load generator in C) drive for real.
# Usage: tools/system_deps.sh [COMMAND...] [--lib PACKAGE...]
#   COMMAND        a program, looked up with `command -v` (its Debian package has the same name);
#   --lib PACKAGE  a Debian (library) package, checked with `dpkg -s`. "a|b" accepts either name (Debian 12
#                  and 13 name some libraries differently) and installs the first one the package index has.
#   --lib weasyprint  stands for what WeasyPrint (the PDF reports) loads: Pango, PangoFT2, HarfBuzz (and its
#                  subset library), fontconfig, GLib, and the DejaVu fonts.
# Each missing one is installed, as root; otherwise we say exactly what to install and stop, rather than
# skip the tests.
set -euo pipefail
WEASYPRINT_LIBS=(libpango-1.0-0t64\|libpango-1.0-0 libpangoft2-1.0-0t64\|libpangoft2-1.0-0
                 libharfbuzz0b libharfbuzz-subset0 libfontconfig1 libglib2.0-0t64\|libglib2.0-0 fonts-dejavu-core)

commands=()
libs=()
mode=command
for arg in "$@"; do
  case "$arg" in
    --lib) mode=lib ;;
    weasyprint) [ "$mode" = lib ] && libs+=("${WEASYPRINT_LIBS[@]}") || commands+=("$arg") ;;
    *) if [ "$mode" = lib ]; then libs+=("$arg"); else commands+=("$arg"); fi ;;
  esac
done

installed() {  # any of the "a|b" names installed?
  local name
  IFS='|' read -r -a names <<<"$1"
  for name in "${names[@]}"; do
    dpkg -s "$name" 2>/dev/null | grep -q '^Status: install ok installed' && return 0
  done
  return 1
}

missing=()        # what to install (names as given, "a|b" resolved later)
for cmd in "${commands[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
done
for lib in "${libs[@]}"; do
  installed "$lib" || missing+=("$lib")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  packages=()
  for wanted in "${missing[@]}"; do
    IFS='|' read -r -a names <<<"$wanted"
    chosen="${names[-1]}"
    for name in "${names[@]}"; do
      if apt-cache show "$name" >/dev/null 2>&1; then chosen="$name"; break; fi
    done
    packages+=("$chosen")
  done
  echo "Installing Debian packages: ${packages[*]}"
  apt-get install -y -qq "${packages[@]}" >/dev/null
else
  readable=("${missing[@]//|/ or }")
  echo "Needed Debian packages: ${readable[*]}" >&2
  plain=()
  for wanted in "${missing[@]}"; do plain+=("${wanted##*|}"); done  # the Debian 12 name of each
  echo "Install them: sudo apt-get install ${plain[*]}" >&2
  echo "(on Debian 13 some are named with t64: libpango-1.0-0t64, libpangoft2-1.0-0t64, libglib2.0-0t64)" >&2
  exit 1
fi
