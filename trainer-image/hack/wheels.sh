#!/usr/bin/env bash
# Downloads (once per lock hash) every wheel of requirements.lock and requirements-test.lock into
#   ${FINETUNE_CACHE:-~/.cache/finetune-operator}/wheels-trainer-<sha>
# and prints that directory. The test virtualenv and the trainer image both install from it, so
# torch and its CUDA wheels are fetched from the package index once, and the image build runs
# with no network. The key is the pins alone (hash lines left out), so adding hashes to the lock
# (hack/hash-lock.py) does not fetch torch again; requirements.lock is downloaded in pip's
# hash-checking mode, so a wheel that does not match the lock is refused.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
cache="${FINETUNE_CACHE:-$HOME/.cache/finetune-operator}"
pins() { sed -e '/^ *--hash=/d' -e 's/ \\$//' "$1"; }
key="$(pins "$here/requirements.lock" | sha256sum | cut -c1-16)"
dir="$cache/wheels-trainer-$key"
mkdir -p "$cache"
exec 8>"$cache/.wheels-trainer-$key.lock"
flock 8
if [[ ! -d "$dir" ]]; then
  echo "[wheels] downloading the trainer's locked requirements into $dir" >&2
  rm -rf "$dir.tmp"
  args=(--quiet --disable-pip-version-check -d "$dir.tmp")
  if grep -q -- '--hash=' "$here/requirements.lock"; then args+=(--require-hashes --no-deps); fi
  "$python" -m pip download "${args[@]}" -r "$here/requirements.lock" >&2
  "$python" -m pip download --quiet --disable-pip-version-check -d "$dir.tmp" \
    -r "$here/requirements-test.lock" >&2
  mv "$dir.tmp" "$dir"
fi
echo "$dir"
