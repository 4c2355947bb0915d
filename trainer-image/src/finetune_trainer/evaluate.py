"""Greedy generation on the evaluation set (predictions/*.jsonl) and teacher-forced eval loss."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import torch

from finetune_trainer.data import Example, Tokenized, prompt_ids


@torch.no_grad()
def generate(model: Any, tokenizer: Any, examples: list[Example], max_new_tokens: int, batch_size: int,
             max_prompt_len: int, dev: torch.device, should_stop: Callable[[], bool] = lambda: False,
             ) -> list[dict[str, str]] | None:
    """Greedy, batched, LEFT padded. Returns None when interrupted (should_stop)."""
    was_training = model.training
    model.eval()
    pad = tokenizer.pad_token_id
    rows: list[dict[str, str]] = []
    try:
        for start in range(0, len(examples), batch_size):
            if should_stop():
                return None
            batch = examples[start : start + batch_size]
            prompts = [prompt_ids(tokenizer, ex)[-max_prompt_len:] for ex in batch]
            width = max(len(p) for p in prompts)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for i, p in enumerate(prompts):
                ids[i, width - len(p) :] = torch.tensor(p, dtype=torch.long)
                mask[i, width - len(p) :] = 1
            out = model.generate(input_ids=ids.to(dev), attention_mask=mask.to(dev),
                                 max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                                 pad_token_id=pad, eos_token_id=tokenizer.eos_token_id)
            for ex, seq in zip(batch, out[:, width:].tolist()):
                text = tokenizer.decode(seq, skip_special_tokens=True).strip()
                rows.append({"id": ex.id, "reference": ex.answer, "prediction": text})
    finally:
        model.train(was_training)
    return rows


def to_jsonl(rows: list[dict[str, str]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


@torch.no_grad()
def eval_loss(model: Any, items: list[Tokenized], batch_size: int, pad_id: int, dev: torch.device,
              autocast: Callable[[], Any]) -> float | None:
    from finetune_trainer.train import collate

    if not items:
        return None
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        for start in range(0, len(items), batch_size):
            batch = collate(items[start : start + batch_size], pad_id, dev)
            with autocast():
                logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            loss_sum, n = token_loss(logits, batch["labels"])
            total += float(loss_sum)
            count += int(n)
    finally:
        model.train(was_training)
    return total / count if count else None


def token_loss(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed next-token cross entropy over answer tokens, and their count.

    Shifts the labels rather than the logits, so the (large) logits are not copied."""
    shift_labels = torch.nn.functional.pad(labels, (0, 1), value=-100)[:, 1:].reshape(-1)
    flat = logits.float().reshape(-1, logits.size(-1))
    loss = torch.nn.functional.cross_entropy(flat, shift_labels, ignore_index=-100, reduction="sum")
    return loss, (shift_labels != -100).sum()
