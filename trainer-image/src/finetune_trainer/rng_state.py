"""RNG state of one rank, saved and restored without pickle.

Checkpoints live in a bucket that other principals may be able to write, so nothing read back from
one is unpickled: the Python and NumPy generator states go to JSON (lists of integers, checked for
shape and range before use) and the torch CPU and CUDA generator states to safetensors (plain
uint8 tensors). A checkpoint from an older trainer that holds only ``rng-<rank>.pkl`` is resumed
without its RNG state (with a warning) rather than unpickled.
"""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

log = logging.getLogger(__name__)

MT_WORDS = 624  # Mersenne Twister state words (Python keeps one more: the position)


class BadRngState(ValueError):
    """The stored RNG state is not what this trainer writes; it is not applied."""


def json_name(rank: int) -> str:
    return f"rng-{rank}.json"


def tensors_name(rank: int) -> str:
    return f"rng-{rank}.safetensors"


def capture() -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The current generator states as (JSON-able dict, tensors)."""
    version, words, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    doc = {
        "python": {"version": version, "state": list(words), "gauss": gauss},
        "numpy": {"kind": kind, "keys": [int(k) for k in keys], "pos": int(pos),
                  "hasGauss": int(has_gauss), "cachedGaussian": float(cached)},
    }
    tensors = {"torch": torch.get_rng_state().contiguous()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"cuda.{i}"] = s.contiguous()
    return doc, tensors


def save(directory: Path, rank: int,
         state: tuple[dict[str, Any], dict[str, torch.Tensor]] | None = None) -> list[Path]:
    """Writes this rank's RNG state (``state`` from :func:`capture`, else the current one) into
    ``directory``; returns the files written."""
    from safetensors.torch import save_file

    doc, tensors = state if state is not None else capture()
    j = directory / json_name(rank)
    t = directory / tensors_name(rank)
    j.write_text(json.dumps(doc) + "\n")
    save_file(tensors, str(t))
    return [j, t]


def _int(v: Any, lo: int, hi: int, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise BadRngState(f"{what} must be an integer in [{lo}, {hi}]")
    return v


def parse(doc: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """Checks a stored state document; returns (python state, numpy state) ready to set."""
    if not isinstance(doc, dict) or not isinstance(doc.get("python"), dict) \
            or not isinstance(doc.get("numpy"), dict):
        raise BadRngState("expected an object with python and numpy states")
    py, npy = doc["python"], doc["numpy"]
    words = py.get("state")
    if not isinstance(words, list) or len(words) != MT_WORDS + 1:
        raise BadRngState(f"python.state must hold {MT_WORDS + 1} integers")
    state = tuple(_int(w, 0, 2**32 - 1, "python.state[i]") for w in words[:-1]) + (
        _int(words[-1], 0, MT_WORDS, "python.state position"),)
    gauss = py.get("gauss")
    if gauss is not None and (isinstance(gauss, bool) or not isinstance(gauss, (int, float))):
        raise BadRngState("python.gauss must be a number or null")
    version = _int(py.get("version"), 1, 3, "python.version")
    if npy.get("kind") != "MT19937":
        raise BadRngState("numpy.kind must be MT19937")
    keys = npy.get("keys")
    if not isinstance(keys, list) or len(keys) != MT_WORDS:
        raise BadRngState(f"numpy.keys must hold {MT_WORDS} integers")
    np_keys = np.array([_int(k, 0, 2**32 - 1, "numpy.keys[i]") for k in keys], dtype=np.uint32)
    cached = npy.get("cachedGaussian")
    if isinstance(cached, bool) or not isinstance(cached, (int, float)):
        raise BadRngState("numpy.cachedGaussian must be a number")
    np_state = ("MT19937", np_keys, _int(npy.get("pos"), 0, MT_WORDS, "numpy.pos"),
                _int(npy.get("hasGauss"), 0, 1, "numpy.hasGauss"), float(cached))
    return (version, state, None if gauss is None else float(gauss)), np_state


def restore(directory: Path, rank: int) -> bool:
    """Applies this rank's stored RNG state; False when the checkpoint has none this trainer reads."""
    from safetensors.torch import load_file

    j = directory / json_name(rank)
    t = directory / tensors_name(rank)
    if not (j.is_file() and t.is_file()):
        if (directory / f"rng-{rank}.pkl").is_file():
            log.warning("checkpoint holds a pickled RNG state (older trainer); not loading it")
        return False
    try:
        py_state, np_state = parse(json.loads(j.read_text()))
        tensors = load_file(str(t), device="cpu")
    except (ValueError, OSError) as e:  # json and safetensors errors are ValueErrors
        raise BadRngState(f"unreadable RNG state: {type(e).__name__}") from None
    cpu = tensors.get("torch")
    if cpu is None or cpu.dtype != torch.uint8 or cpu.dim() != 1:
        raise BadRngState("torch RNG state must be a 1-D uint8 tensor")
    random.setstate(py_state)
    np.random.set_state(np_state)
    torch.set_rng_state(cpu)
    if torch.cuda.is_available():
        cuda = [tensors[f"cuda.{i}"] for i in range(torch.cuda.device_count()) if f"cuda.{i}" in tensors]
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
    return True
