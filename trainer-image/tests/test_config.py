from __future__ import annotations

import copy
import json

import jsonschema
import pytest

from finetune_trainer import cli, config
from helpers import job_config, write_config


def test_schema_accepts_a_full_config():
    jsonschema.Draft202012Validator.check_schema(config.load_schema())
    config.validate(job_config("/models/x", "/data/train.jsonl", "/out"))


@pytest.mark.parametrize("missing", ["model", "dataset", "method", "training", "evaluation", "output"])
def test_schema_rejects_a_missing_required_field(missing):
    cfg = job_config("/models/x", "/data/train.jsonl", "/out")
    del cfg[missing]
    validator = jsonschema.Draft202012Validator(config.load_schema())
    assert not validator.is_valid(cfg)
    with pytest.raises(config.ConfigError, match=missing):
        config.validate(cfg)


def test_schema_rejects_a_missing_nested_field():
    cfg = job_config("/models/x", "/data/train.jsonl", "/out")
    cfg = copy.deepcopy(cfg)
    del cfg["training"]["seed"]
    assert not jsonschema.Draft202012Validator(config.load_schema()).is_valid(cfg)


def test_trainer_exits_2_on_invalid_config(tmp_path, termination_log):
    cfg = job_config(str(tmp_path), str(tmp_path / "train.jsonl"), str(tmp_path / "out"))
    del cfg["method"]["rank"]
    path = write_config(tmp_path / "job.json", cfg)
    assert cli.main(["--config", str(path)]) == 2
    message = termination_log.read_text()
    assert "job.json" in message and "rank" in message


def test_trainer_exits_2_on_unparsable_config(tmp_path, termination_log):
    path = tmp_path / "job.json"
    path.write_text('{"apiVersion": \n  oops}')
    assert cli.main(["--config", str(path)]) == 2
    assert "job.json:2" in termination_log.read_text()


def test_defaults_are_applied(tmp_path):
    raw = job_config("/m", "/t", "/o")
    del raw["training"]["keepCheckpoints"], raw["training"]["progressEverySteps"]
    path = write_config(tmp_path / "job.json", raw)
    cfg = config.load(str(path))
    assert cfg.training["keepCheckpoints"] == 3 and cfg.training["progressEverySteps"] == 5
    assert json.loads(path.read_text()) == raw


@pytest.mark.parametrize("strategy", ["ddp", "fsdp"])
def test_schema_accepts_the_sharding_strategies_the_operator_renders(strategy):
    cfg = job_config("/models/x", "/data/train.jsonl", "/out")
    cfg["hardware"] = {"accelerator": "nvidia-a100-80gb", "count": 8, "strategy": strategy}
    config.validate(cfg)


def test_schema_rejects_an_unknown_strategy():
    cfg = job_config("/models/x", "/data/train.jsonl", "/out")
    cfg["hardware"] = {"accelerator": "nvidia-a100-80gb", "count": 8, "strategy": "zero3"}
    with pytest.raises(config.ConfigError, match="hardware/strategy"):
        config.validate(cfg)
