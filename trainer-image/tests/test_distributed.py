"""hardware.count > 1: the entrypoint starts one DDP worker per device under torchrun (gloo on CPU)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from helpers import job_config, write_config, write_jsonl


def test_two_workers_train_and_report(tmp_path, tiny_model):
    train = write_jsonl(tmp_path / "train.jsonl", "prompt-completion", 44, seed=9)
    cfg = job_config(str(tiny_model), str(train), str(tmp_path / "out"), hardware={"count": 2},
                     training={"batchSize": 4, "checkpointEverySteps": 3},
                     evaluation={"maxExamples": 2, "maxNewTokens": 4})
    env = dict(os.environ, TERMINATION_MESSAGE_PATH=str(tmp_path / "termination"))
    res = subprocess.run([sys.executable, "-m", "finetune_trainer", "--config",
                          str(write_config(tmp_path / "job.json", cfg))],
                         capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-4000:]
    manifest = json.loads((tmp_path / "out/manifest.json").read_text())
    hp = manifest["hyperparameters"]
    # 40 train examples, 4 per worker x 2 workers => 5 steps
    assert hp["worldSize"] == 2 and hp["effectiveBatchSize"] == 8 and hp["totalSteps"] == 5
    steps = [line.split()[0] for line in res.stdout.splitlines() if line.startswith("step=")]
    assert steps == [f"step={i}/5" for i in range(1, 6)]  # printed once, by rank 0
    ckpt = tmp_path / "out/checkpoints/step-5"
    assert all((ckpt / f"rng-{r}.{e}").is_file() for r in (0, 1) for e in ("json", "safetensors"))
    assert not list(ckpt.glob("*.pkl"))
    assert "succeeded" in (tmp_path / "termination").read_text()
    assert len((tmp_path / "out/predictions/tuned.jsonl").read_text().splitlines()) == 2
