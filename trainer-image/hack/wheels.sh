#!/usr/bin/env bash
# Downloads (once per lock hash) every wheel of requirements.lock and requirements-test.lock into
#   ${FINETUNE_CACHE:-~/.cache/finetune-operator}/wheels-trainer-<sha>
# and prints that directory. The test virtualenv and the trainer image both install from it, so
# torch and its CUDA wheels are fetched from the package index once, and the image build runs
# with no network.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
cache="${FINETUNE_CACHE:-$HOME/.cache/finetune-operator}"
key="$(cat "$here/requirements.lock" | sha256sum | cut -c1-16)"
dir="$cache/wheels-trainer-$key"
mkdir -p "$cache"
exec 8>"$cache/.wheels-trainer-$key.lock"
flock 8
if [[ ! -d "$dir" ]]; then
  echo "[wheels] downloading the trainer's locked requirements into $dir" >&2
  rm -rf "$dir.tmp"
  "$python" -m pip download --quiet --disable-pip-version-check -d "$dir.tmp" \
    -r "$here/requirements.lock" -r "$here/requirements-test.lock" >&2
  mv "$dir.tmp" "$dir"
fi
echo "$dir"
