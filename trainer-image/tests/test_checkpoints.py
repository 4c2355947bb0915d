"""Checkpoint hygiene: stale partial checkpoints, configuration changes between attempts, NaN steps."""

from __future__ import annotations

import json
import math

import pytest
import torch

from finetune_trainer import cli
from helpers import job_config, write_config, write_jsonl


def strict_json(text: str):
    """json.loads that refuses NaN and Infinity (which Python's json accepts, but JSON is not)."""
    def refuse(name: str):
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=refuse)


def test_pruning_ignores_a_stale_partial_checkpoint_and_a_changed_config_exits_2(tmp_path, tiny_model,
                                                                                   termination_log):
    train = write_jsonl(tmp_path / "train.jsonl", "prompt-completion", 40, seed=4)
    out = tmp_path / "out"
    # An upload cut short by an earlier attempt: files but no state.json, at a higher step number.
    stale = out / "checkpoints/step-999"
    stale.mkdir(parents=True)
    (stale / "adapter_model.safetensors").write_bytes(b"partial")
    cfg = job_config(str(tiny_model), str(train), str(out),
                     training={"batchSize": 4, "checkpointEverySteps": 2, "keepCheckpoints": 1},
                     evaluation={"maxExamples": 2, "maxNewTokens": 4})
    assert cli.main(["--config", str(write_config(tmp_path / "job.json", cfg))]) == 0, termination_log.read_text()
    # 36 examples / 4 = 9 steps; keep=1 keeps the newest complete checkpoint, the partial one is gone.
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-9"]
    state = json.loads((out / "checkpoints/step-9/state.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    assert state["configHash"] == manifest["metrics"]["configHash"]

    # The same output with another LoRA rank: resuming would load tensors of the wrong shape.
    (out / "manifest.json").unlink()
    cfg["method"]["rank"] = 4
    assert cli.main(["--config", str(write_config(tmp_path / "job.json", cfg))]) == 2
    message = termination_log.read_text()
    assert "belongs to a different training configuration" in message, message
    assert "method.rank 8 -> 4" in message and "checkpoints/step-9" in message


def poisoned_model(tiny_model, tmp_path):
    """The tiny model with NaN in the embedding of <unk>: any batch holding that token has a NaN loss."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(tiny_model))
    tok = AutoTokenizer.from_pretrained(str(tiny_model))
    with torch.no_grad():
        model.model.embed_tokens.weight[tok.unk_token_id] = float("nan")
    dest = tmp_path / "poisoned"
    model.save_pretrained(str(dest))
    tok.save_pretrained(str(dest))
    return dest


def poison(path, every: int) -> None:
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    for i, r in enumerate(rows):
        if i % every == 0:
            r["prompt"] += " <unk>"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture(scope="module")
def poisoned(tiny_model, tmp_path_factory):
    return poisoned_model(tiny_model, tmp_path_factory.mktemp("poisoned"))


def test_nan_steps_are_skipped_and_counted(tmp_path, poisoned, termination_log):
    train = write_jsonl(tmp_path / "train.jsonl", "prompt-completion", 40, seed=4)
    poison(train, every=17)  # 3 of 40 examples
    validation = write_jsonl(tmp_path / "validation.jsonl", "prompt-completion", 4, seed=5)
    out = tmp_path / "out"
    cfg = job_config(str(poisoned), str(train), str(out),
                     dataset={"validation": str(validation)},
                     training={"batchSize": 4, "progressEverySteps": 1, "checkpointEverySteps": 5},
                     evaluation={"maxExamples": 2, "maxNewTokens": 4})
    assert cli.main(["--config", str(write_config(tmp_path / "job.json", cfg))]) == 0, termination_log.read_text()
    manifest = strict_json((out / "manifest.json").read_text())
    skipped = manifest["metrics"]["nonFiniteStepsSkipped"]
    assert 1 <= skipped <= 3
    assert math.isfinite(manifest["metrics"]["trainLoss"])
    progress = strict_json((out / "progress.json").read_text())
    assert progress["nonFiniteStepsSkipped"] == skipped and progress["step"] == 10
    for line in (out / "metrics.jsonl").read_text().splitlines():
        strict_json(line)
    # The skipped updates never reached the weights.
    from safetensors.torch import load_file

    weights = load_file(str(out / "adapter/adapter_model.safetensors"))
    assert all(bool(torch.isfinite(w).all()) for w in weights.values())


def test_a_run_that_stays_nan_fails_with_exit_2(tmp_path, poisoned, termination_log):
    train = write_jsonl(tmp_path / "train.jsonl", "prompt-completion", 40, seed=4)
    poison(train, every=1)
    out = tmp_path / "out"
    cfg = job_config(str(poisoned), str(train), str(out),
                     training={"batchSize": 4, "progressEverySteps": 1},
                     evaluation={"maxExamples": 2, "maxNewTokens": 4, "baseline": False})
    assert cli.main(["--config", str(write_config(tmp_path / "job.json", cfg))]) == 2
    message = termination_log.read_text()
    assert "not finite for 5 steps in a row" in message, message
    progress = strict_json((out / "progress.json").read_text())
    assert progress["loss"] is None and progress["nonFiniteStepsSkipped"] == 4
