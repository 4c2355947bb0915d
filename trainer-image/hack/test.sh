#!/usr/bin/env bash
# Lints and tests the trainer. Creates (once per lock hash) a virtualenv outside the repository:
#   ${FINETUNE_CACHE:-~/.cache/finetune-operator}/venv-trainer-<sha>
# installs the pinned requirements, the test requirements and the package (editable), then runs
# ruff and pytest. Extra arguments go to pytest; `test.sh --venv` only prepares the virtualenv and
# prints its path (the end-to-end tests and hack/dev.sh use it).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
python="${PYTHON:-python3}"
cache="${FINETUNE_CACHE:-$HOME/.cache/finetune-operator}"
key="$(cat requirements.lock requirements-test.lock <("$python" -c 'import sys; print(sys.version)') \
  | sha256sum | cut -c1-16)"
venv="$cache/venv-trainer-$key"
log() { echo "[trainer-test] $*" >&2; }

mkdir -p "$cache"
exec 9>"$cache/.venv-trainer-$key.lock"
flock 9
if [[ ! -f "$venv/.complete" ]]; then
  log "creating $venv (installs torch and friends once per lock hash)"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  wheels="$(bash "$here/hack/wheels.sh")"
  # The runtime lock as the image installs it (hashes checked, nothing resolved), then the test tools.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-index --find-links "$wheels" \
    --no-deps --require-hashes -r requirements.lock
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --find-links "$wheels" \
    -r requirements-test.lock
  touch "$venv/.complete"
else
  log "reusing $venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
flock -u 9
if [[ "${1:-}" == "--venv" ]]; then
  echo "$venv"
  exit 0
fi

export PATH="$venv/bin:$PATH"
log "ruff check"
ruff check .
log "pytest"
exec python -m pytest "$@"
