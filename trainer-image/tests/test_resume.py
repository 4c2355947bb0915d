"""SIGTERM mid-training, restart, and the run ends exactly where an uninterrupted one does."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from safetensors.torch import load_file

from helpers import job_config, write_config, write_jsonl

STEP = re.compile(r"^step=(\d+)/(\d+) ")


def start(config: Path, tmp: Path, name: str) -> subprocess.Popen:
    env = dict(os.environ, TERMINATION_MESSAGE_PATH=str(tmp / f"{name}.termination"), PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "finetune_trainer", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def finish(proc: subprocess.Popen, stop_after: int | None = None) -> tuple[int, list[int], list[str], str]:
    steps: list[int] = []
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip())
        m = STEP.match(line)
        if m:
            steps.append(int(m.group(1)))
            if stop_after is not None and int(m.group(1)) == stop_after:
                proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    return proc.wait(timeout=300), steps, lines, err


def test_sigterm_checkpoint_and_exact_resume(tmp_path, tiny_model):
    train = write_jsonl(tmp_path / "train.jsonl", "prompt-completion", 160, seed=5)

    def config(name: str) -> Path:
        cfg = job_config(str(tiny_model), str(train), str(tmp_path / name),
                         training={"epochs": 3, "checkpointEverySteps": 4, "keepCheckpoints": 2,
                                   "gradientAccumulation": 2, "batchSize": 4, "progressEverySteps": 1},
                         evaluation={"maxExamples": 4, "maxNewTokens": 6})
        return write_config(tmp_path / f"{name}.json", cfg)

    ref_cfg, cfg = config("reference"), config("interrupted")
    code, ref_steps, _, err = finish(start(ref_cfg, tmp_path, "reference"))
    assert code == 0, err[-3000:]
    total = ref_steps[-1]
    assert ref_steps == list(range(1, total + 1)) and total == 54  # ceil(144/4/2)=18 per epoch x 3

    code, first, _, err = finish(start(cfg, tmp_path, "first"), stop_after=3)
    assert code == 143, err[-3000:]
    assert first and first[-1] < total, first
    stopped_at = first[-1]
    assert first == list(range(1, stopped_at + 1))
    assert (tmp_path / "interrupted/checkpoints" / f"step-{stopped_at}/state.json").is_file()
    assert "preempted" in (tmp_path / "first.termination").read_text()
    progress = json.loads((tmp_path / "interrupted/progress.json").read_text())
    assert progress["step"] == stopped_at
    assert progress["lastCheckpoint"].endswith(f"checkpoints/step-{stopped_at}/")
    baseline = tmp_path / "interrupted/predictions/baseline.jsonl"
    baseline_mtime = baseline.stat().st_mtime_ns
    assert not (tmp_path / "interrupted/manifest.json").exists()

    code, second, lines, err = finish(start(cfg, tmp_path, "second"))
    assert code == 0, err[-3000:]
    assert f"resumed from checkpoint step-{stopped_at}" in lines
    assert second == list(range(stopped_at + 1, total + 1))  # no step repeated, none skipped
    assert first + second == ref_steps
    assert "baseline predictions already complete" in err
    assert baseline.stat().st_mtime_ns == baseline_mtime
    assert json.loads((tmp_path / "interrupted/progress.json").read_text())["step"] == total

    # metrics.jsonl keeps the history across both attempts: what the operator and people read to
    # see how much work a preemption cost (here none: the checkpoint was taken at the SIGTERM step).
    history = [json.loads(x) for x in (tmp_path / "interrupted/metrics.jsonl").read_text().splitlines()]
    first_attempt = [h for h in history if h["attempt"] == 1]
    second_attempt = [h for h in history if h["attempt"] == 2]
    assert {h["attempt"] for h in history} == {1, 2}
    assert first_attempt[-1]["step"] == stopped_at
    assert {h["resumedFrom"] for h in second_attempt} == {stopped_at}
    assert second_attempt[-1]["step"] == total

    ref = load_file(str(tmp_path / "reference/adapter/adapter_model.safetensors"))
    got = load_file(str(tmp_path / "interrupted/adapter/adapter_model.safetensors"))
    assert ref.keys() == got.keys()
    worst = max(float((ref[k] - got[k]).abs().max()) for k in ref)
    assert worst < 1e-5, worst
    ref_pred = (tmp_path / "reference/predictions/tuned.jsonl").read_text()
    assert (tmp_path / "interrupted/predictions/tuned.jsonl").read_text() == ref_pred
