#!/usr/bin/env bash
# Creates (or reuses) a Python virtualenv with the reference `rouge-score`
# package and prints the path of its python interpreter on the last line of
# stdout. The venv is cached outside the repository, keyed by the hash of
# requirements.txt, so CI runners can cache ~/.cache/finetune-operator.
#
# Environment:
#   PYTHON                 interpreter used to create the venv (default: python3)
#   FINETUNE_CACHE_DIR     cache root (default: ${XDG_CACHE_HOME:-~/.cache}/finetune-operator)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
req="${here}/requirements.txt"
python="${PYTHON:-python3}"
cache_root="${FINETUNE_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME}/.cache}/finetune-operator}"

if command -v sha256sum >/dev/null 2>&1; then
  hash="$(sha256sum "${req}" | cut -c1-12)"
else
  hash="$(shasum -a 256 "${req}" | cut -c1-12)"
fi
venv="${cache_root}/venv-rouge-${hash}"

if [[ ! -f "${venv}/.complete" ]]; then
  echo "creating ${venv}" >&2
  rm -rf "${venv}"
  mkdir -p "${cache_root}"
  "${python}" -m venv "${venv}" >&2
  "${venv}/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "${req}" >&2
  "${venv}/bin/python" -c "import rouge_score.rouge_scorer, nltk.stem.porter" >&2
  touch "${venv}/.complete"
fi
echo "${venv}/bin/python"
