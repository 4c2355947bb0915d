"""A job placed on a GPU never trains on CPU silently: only the local-cluster setting allows it."""
from __future__ import annotations

import json

import pytest
import torch

from finetune_trainer import cli
from helpers import job_config, write_config, write_jsonl

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="asserts the behaviour without CUDA")


def gpu_job(tmp_path, tiny_model):
    train = write_jsonl(tmp_path / "train.jsonl", "prompt-completion", 16, seed=1)
    cfg = job_config(str(tiny_model), str(train), str(tmp_path / "out"),
                     hardware={"accelerator": "nvidia-l4", "count": 1},
                     evaluation={"maxExamples": 2, "maxNewTokens": 4})
    return write_config(tmp_path / "job.json", cfg)


def test_a_gpu_job_without_cuda_fails_loudly(tmp_path, tiny_model, termination_log, monkeypatch):
    monkeypatch.delenv("FINETUNE_ALLOW_CPU", raising=False)
    assert cli.main(["--config", str(gpu_job(tmp_path, tiny_model))]) == cli.EXIT_RETRYABLE
    message = termination_log.read_text()
    assert "asks for nvidia-l4 but CUDA is not available" in message
    assert not (tmp_path / "out" / "progress.json").exists(), "nothing was trained"


def test_the_local_cluster_setting_trains_a_gpu_job_on_cpu(tmp_path, tiny_model, termination_log, monkeypatch):
    monkeypatch.setenv("FINETUNE_ALLOW_CPU", "true")
    assert cli.main(["--config", str(gpu_job(tmp_path, tiny_model))]) == cli.EXIT_OK, termination_log.read_text()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["job"]["name"] == "tiny"
