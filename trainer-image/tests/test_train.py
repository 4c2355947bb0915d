from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rouge_score import rouge_scorer

from finetune_trainer import cli
from helpers import job_config, write_config, write_jsonl


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def mean_rouge_l(rows: list[dict]) -> float:
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    return sum(scorer.score(r["reference"], r["prediction"])["rougeL"].fmeasure for r in rows) / len(rows)


def test_learning_beats_baseline(tmp_path, tiny_model, termination_log, capsys):
    train = write_jsonl(tmp_path / "train.jsonl", "prompt-completion", 240, seed=1)
    validation = write_jsonl(tmp_path / "validation.jsonl", "prompt-completion", 24, seed=2)
    out = tmp_path / "out"
    cfg = job_config(str(tiny_model), str(train), str(out),
                     dataset={"validation": str(validation), "format": "prompt-completion"},
                     method={"rank": 16, "alpha": 32},
                     training={"epochs": 2, "learningRate": 0.01, "checkpointEverySteps": 40},
                     evaluation={"maxExamples": 16, "maxNewTokens": 20})
    assert cli.main(["--config", str(write_config(tmp_path / "job.json", cfg))]) == 0, termination_log.read_text()

    baseline, tuned = read_jsonl(out / "predictions/baseline.jsonl"), read_jsonl(out / "predictions/tuned.jsonl")
    assert [r["id"] for r in baseline] == [r["id"] for r in tuned] == [f"validation-{i}" for i in range(1, 17)]
    base_score, tuned_score = mean_rouge_l(baseline), mean_rouge_l(tuned)
    print(f"ROUGE-L F baseline={base_score:.3f} tuned={tuned_score:.3f}")
    assert tuned_score - base_score >= 0.3, (base_score, tuned_score, tuned[:3])

    progress = json.loads((out / "progress.json").read_text())
    assert progress["step"] == progress["totalSteps"] == 60
    assert progress["evalLoss"] is not None and progress["tokensPerSecond"] > 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", progress["updatedAt"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "succeeded" and manifest["image"] == "trainer:test"
    assert len(manifest["dataset"]["train"]["sha256"]) == 64
    assert manifest["hyperparameters"]["totalSteps"] == 60
    for name in ("adapter_model.safetensors", "adapter_config.json", "tokenizer.json"):
        assert (out / "adapter" / name).is_file(), name
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-40", "step-60"]
    assert "succeeded" in termination_log.read_text()
    assert manifest["hardware"] == {"device": "cpu", "gpu": None, "gpuCount": 0, "driver": None, "cuda": None}
    assert manifest["dataset"]["train"]["truncated"] == 0 and progress["truncatedExamples"] == 0

    # The adapter names its base model: PEFT's AutoPeftModelForCausalLM loads it as it is.
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoTokenizer

    adapter_config = json.loads((out / "adapter/adapter_config.json").read_text())
    assert adapter_config["base_model_name_or_path"] == str(tiny_model)
    loaded = AutoPeftModelForCausalLM.from_pretrained(str(out / "adapter"))
    tok = AutoTokenizer.from_pretrained(str(out / "adapter"))
    first = json.loads(validation.read_text().splitlines()[0])
    prompt = tok(first["prompt"] + "\n", return_tensors="pt")
    generated = loaded.generate(**prompt, max_new_tokens=20, do_sample=False, eos_token_id=tok.eos_token_id)
    text = tok.decode(generated[0, prompt["input_ids"].shape[1]:], skip_special_tokens=True).strip()
    assert text == tuned[0]["prediction"], (text, tuned[0])  # the adapter the trainer evaluated

    # A retry of a finished job is a no-op that succeeds.
    assert cli.main(["--config", str(tmp_path / "job.json")]) == 0
    assert "already complete" in termination_log.read_text()


    # Stopped after training but before the manifest (e.g. SIGTERM during tuned generation): the
    # retry resumes from the final checkpoint, trains no step and finishes the evidence.
    (out / "manifest.json").unlink()
    (out / "predictions/tuned.jsonl").unlink()
    capsys.readouterr()
    assert cli.main(["--config", str(tmp_path / "job.json")]) == 0, termination_log.read_text()
    printed = capsys.readouterr().out.splitlines()
    assert "resumed from checkpoint step-60" in printed
    assert not [line for line in printed if line.startswith("step=")]
    assert read_jsonl(out / "predictions/tuned.jsonl") == tuned
    assert json.loads((out / "manifest.json").read_text())["status"] == "succeeded"
    assert "succeeded: 60 steps, loss" in termination_log.read_text()


@pytest.mark.parametrize(("fmt", "chat"), [("messages", True), ("gemini", True), ("messages", False),
                                           ("gemini", False)])
def test_formats_train(tmp_path, tiny_model, tiny_chat_model, fmt, chat, termination_log):
    train = write_jsonl(tmp_path / "train.jsonl", fmt, 40, seed=3)
    out = tmp_path / "out"
    model = tiny_chat_model if chat else tiny_model
    cfg = job_config(str(model), str(train), str(out), dataset={"format": "auto" if chat else fmt},
                     evaluation={"maxExamples": 4, "maxNewTokens": 8, "baseline": False})
    assert cli.main(["--config", str(write_config(tmp_path / "job.json", cfg))]) == 0, termination_log.read_text()
    tuned = read_jsonl(out / "predictions/tuned.jsonl")
    assert len(tuned) == 4 and all(r["id"].startswith("train-") for r in tuned)
    assert not (out / "predictions/baseline.jsonl").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["dataset"]["format"] == fmt
    assert manifest["dataset"]["validation"]["examples"] == 4
