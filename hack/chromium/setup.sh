#!/usr/bin/env bash
# Prints the path of a headless-capable Chromium on the last line of stdout, installing Debian's
# `chromium` package with apt-get when none is on PATH. Used by the report's rendering test; exits
# non-zero (and the test fails) when Chromium can be neither found nor installed.
#
# Environment:
#   FINETUNE_CHROMIUM   use this binary instead of looking one up
set -euo pipefail

if [[ -n "${FINETUNE_CHROMIUM:-}" ]]; then
  echo "${FINETUNE_CHROMIUM}"
  exit 0
fi
for c in chromium chromium-browser; do
  if command -v "$c" >/dev/null 2>&1; then
    command -v "$c"
    exit 0
  fi
done
echo "chromium not found; installing Debian's chromium package" >&2
if [[ "$(id -u)" != 0 ]] && command -v sudo >/dev/null 2>&1; then
  apt_get=(sudo apt-get)
else
  apt_get=(apt-get)
fi
export DEBIAN_FRONTEND=noninteractive
"${apt_get[@]}" update -qq >&2
"${apt_get[@]}" install -y -qq --no-install-recommends chromium >&2
command -v chromium
