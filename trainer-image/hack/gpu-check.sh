#!/usr/bin/env bash
# The trainer on one NVIDIA GPU, against TRL's SFTTrainer. Needs a machine with one GPU, its
# driver (R580+ for the CUDA 13 torch wheels), Python 3.11 and PyPI.
#
#   bash trainer-image/hack/gpu-check.sh           # ~1B Llama (random weights): LoRA and QLoRA, bf16
#   bash trainer-image/hack/gpu-check.sh --tiny    # a toy model, LoRA only: proves the code paths (CPU too)
#
# With two or more GPUs (and with --tiny, on gloo) it also runs method fsdp: two workers with
# hardware.strategy fsdp against two DDP workers (tokens/s, peak GPU memory of the busiest rank).
#
# Sets up the trainer's locked environment (requirements.lock, hashes checked, --no-deps) in a venv
# plus trl, then runs bench/sft_compare.py: the trainer and SFTTrainer with the same model, data,
# LoRA config and effective batch, each in its own process, printing tokens/s, peak memory and MFU
# and failing when a loss does not fall. The measurements are bounded by GPU_CHECK_BUDGET_S (480 s).
# Env: GPU_CHECK_VENV (default ~/.cache/finetune-operator/venv-gpu-check-<lock sha>), PYTHON, TRL_VERSION.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
python="${PYTHON:-python3}"
trl_version="${TRL_VERSION:-1.16.0}"
budget="${GPU_CHECK_BUDGET_S:-480}"
preset=1b
methods=lora,qlora
repeats=1
if [[ "${1:-}" == "--tiny" ]]; then
  preset=tiny
  methods=lora
fi
log() { echo "[gpu-check] $*" >&2; }

key="$(sha256sum <requirements.lock | cut -c1-16)"
venv="${GPU_CHECK_VENV:-${FINETUNE_CACHE:-$HOME/.cache/finetune-operator}/venv-gpu-check-$key}"
pins="$(mktemp)"
trap 'rm -f "$pins"' EXIT
sed -e '/^ *--hash=/d' -e 's/ \\$//' requirements.lock >"$pins"
if [[ ! -f "$venv/.complete" ]]; then
  log "creating $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  if "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    # What the image installs: exactly the locked files.
    "$venv/bin/python" -m pip install --quiet --no-deps --require-hashes -r requirements.lock
  else
    # The hashes are those of the CPython 3.11 wheels; another Python gets the same versions unhashed.
    log "Python $("$venv/bin/python" -V) is not the lock's 3.11: installing the pinned versions without hashes"
    "$venv/bin/python" -m pip install --quiet --no-deps -r "$pins"
  fi
  # TRL for the comparison only (not a trainer dependency), constrained to the locked versions.
  "$venv/bin/python" -m pip install --quiet -c "$pins" "trl==$trl_version"
  touch "$venv/.complete"
fi
"$venv/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e .

if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >&2 || true
fi
"$venv/bin/python" - <<'PY' >&2
import torch
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, available: {torch.cuda.is_available()}"
      + (f", {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""))
PY
if [[ "$preset" != tiny ]] && ! "$venv/bin/python" -c 'import torch, sys; sys.exit(not torch.cuda.is_available())'; then
  log "no usable CUDA device (see the driver version above); --tiny runs the code paths on CPU"
  exit 1
fi
gpus="$(command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name --format=csv,noheader | wc -l || echo 0)"
if [[ "$preset" == tiny || "$gpus" -ge 2 ]]; then
  methods="$methods,fsdp"
fi
log "running $methods on preset $preset (budget ${budget}s)"
export FINETUNE_ALLOW_CPU=true OMP_NUM_THREADS="${OMP_NUM_THREADS:-4}"
exec timeout --signal=TERM "$budget" "$venv/bin/python" bench/sft_compare.py --preset "$preset" \
  --methods "$methods" --repeats "$repeats"
