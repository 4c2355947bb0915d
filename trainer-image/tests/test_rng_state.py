"""RNG state in checkpoints: restored exactly, and never unpickled."""

from __future__ import annotations

import json
import pickle
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from finetune_trainer import rng_state


def draws() -> tuple[float, float, float]:
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_round_trip_restores_every_generator(tmp_path: Path) -> None:
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    draws()
    rng_state.save(tmp_path, 0)
    expected = draws()
    draws()
    assert rng_state.restore(tmp_path, 0)
    assert draws() == expected
    doc = json.loads((tmp_path / "rng-0.json").read_text())
    assert set(doc) == {"python", "numpy"}


class Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # what an attacker with write access to the bucket would plant
        return (Path.touch, (self.marker,))


def test_a_planted_pickle_is_never_loaded(tmp_path: Path) -> None:
    marker = tmp_path / "owned"
    (tmp_path / "rng-0.pkl").write_bytes(pickle.dumps(Exploit(marker)))
    assert not marker.exists()
    assert rng_state.restore(tmp_path, 0) is False
    assert not marker.exists()


def test_a_tampered_state_is_refused_without_applying_it(tmp_path: Path) -> None:
    rng_state.save(tmp_path, 0)
    doc = json.loads((tmp_path / "rng-0.json").read_text())
    doc["numpy"]["keys"] = doc["numpy"]["keys"][:10]
    (tmp_path / "rng-0.json").write_text(json.dumps(doc))
    random.seed(7)
    before = random.getstate()
    with pytest.raises(rng_state.BadRngState):
        rng_state.restore(tmp_path, 0)
    assert random.getstate() == before


def test_a_non_json_state_is_refused(tmp_path: Path) -> None:
    rng_state.save(tmp_path, 0)
    (tmp_path / "rng-0.json").write_bytes(pickle.dumps({"python": 1}))
    with pytest.raises(rng_state.BadRngState):
        rng_state.restore(tmp_path, 0)
