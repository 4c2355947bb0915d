"""metrics.jsonl, the progress history the operator's report draws the loss curve from."""

from __future__ import annotations

import json

from finetune_trainer.train import Dist, Run


class _Out:
    def __init__(self) -> None:
        self.files: dict[str, str] = {}

    def write_text(self, rel: str, text: str, content_type: str) -> None:
        self.files[rel] = text


def _run() -> tuple[Run, _Out]:
    run = Run.__new__(Run)  # the writer alone: no config, model or data needed
    out = _Out()
    run.out, run.dist, run.history, run.attempt, run.resumed_from = out, Dist(), [], 2, 40
    return run, out


def test_each_line_has_step_loss_learning_rate_and_tokens_per_second() -> None:
    run, out = _run()
    run._record(41, 1.23456789, 2e-4, 812.3456)
    run._record(42, None, 1e-4, None)
    lines = [json.loads(x) for x in out.files["metrics.jsonl"].splitlines()]
    assert [x["step"] for x in lines] == [41, 42]
    assert lines[0]["loss"] == 1.234568 and lines[0]["learningRate"] == 2e-4
    assert lines[0]["tokensPerSecond"] == 812.35
    assert lines[0]["attempt"] == 2 and lines[0]["resumedFrom"] == 40 and lines[0]["at"]
    # A step without a loss or a throughput still records the step and learning rate.
    assert lines[1]["loss"] is None and lines[1]["tokensPerSecond"] is None
    assert lines[1]["learningRate"] == 1e-4
