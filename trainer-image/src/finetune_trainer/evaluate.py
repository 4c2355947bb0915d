"""Greedy generation on the evaluation set (predictions/*.jsonl), batches and the answer-only loss."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import torch

from finetune_trainer.data import Example, Tokenized, fit_prompt, prompt_ids

LOSS_CHUNK = 1024  # answer positions whose logits are upcast to float32 at a time


@torch.no_grad()
def generate(model: Any, tokenizer: Any, examples: list[Example], max_new_tokens: int, batch_size: int,
             max_prompt_len: int, dev: torch.device, eos_ids: Sequence[int] | None = None,
             should_stop: Callable[[], bool] = lambda: False, batches: int = 0,
             filler: Example | None = None) -> list[dict[str, str]] | None:
    """Greedy, batched, LEFT padded; stops on any of eos_ids (the model's generation_config eos ids
    and the chat template's turn terminator). Returns None when interrupted (should_stop).

    A sharded (FSDP) model runs every forward on all ranks together: ``batches`` makes this rank
    run at least that many batches (the missing ones generate ``filler`` and are dropped), and
    ``synced_gpus`` keeps a rank that has finished its batch running forwards until every rank has;
    should_stop must then give the same answer on every rank."""
    was_training = model.training
    model.eval()
    pad = tokenizer.pad_token_id
    stop_ids = list(eos_ids) if eos_ids else [tokenizer.eos_token_id]
    rows: list[dict[str, str]] = []
    try:
        synced = batches > 0
        for start in range(0, max(len(examples), batches * batch_size), batch_size):
            if should_stop():
                return None
            batch = examples[start : start + batch_size]
            real = bool(batch)
            if not real:
                assert filler is not None, "batches beyond the examples need a filler example"
                batch = [filler]
            prompts = [fit_prompt(prompt_ids(tokenizer, ex), max_prompt_len) for ex in batch]
            width = max(len(p) for p in prompts)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for i, p in enumerate(prompts):
                ids[i, width - len(p) :] = torch.tensor(p, dtype=torch.long)
                mask[i, width - len(p) :] = 1
            out = model.generate(input_ids=ids.to(dev), attention_mask=mask.to(dev),
                                 max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                                 pad_token_id=pad, eos_token_id=stop_ids,
                                 **({"synced_gpus": True} if synced else {}))
            if not real:
                continue
            for ex, seq in zip(batch, out[:, width:].tolist()):
                cut = next((i for i, t in enumerate(seq) if t in stop_ids), len(seq))
                text = tokenizer.decode(seq[:cut], skip_special_tokens=True).strip()
                rows.append({"id": ex.id, "reference": ex.answer, "prediction": text})
    finally:
        model.train(was_training)
    return rows


def to_jsonl(rows: list[dict[str, str]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def collate(items: Sequence[Tokenized], pad_id: int, dev: torch.device) -> dict[str, torch.Tensor]:
    """Right-padded batch of length-grouped examples (the schedule puts similar lengths together, so
    little is padding). ``keep`` marks the positions whose logits predict an answer token and
    ``targets`` holds those tokens, row by row."""
    width = max(len(t.input_ids) for t in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    keep = torch.zeros((len(items), width), dtype=torch.bool)
    targets: list[int] = []
    for r, t in enumerate(items):
        n = len(t.input_ids)
        ids[r, :n] = torch.tensor(t.input_ids, dtype=torch.long)
        mask[r, :n] = 1
        for i in range(1, n):
            if t.labels[i] != -100:
                keep[r, i - 1] = True
                targets.append(t.labels[i])
    return {"input_ids": ids.to(dev), "attention_mask": mask.to(dev), "keep": keep.to(dev),
            "targets": torch.tensor(targets, dtype=torch.long, device=dev)}


def answer_loss(model: Any, batch: dict[str, torch.Tensor], chunk: int = LOSS_CHUNK) -> tuple[torch.Tensor, int]:
    """Summed next-token cross entropy over the answer tokens of a batch, and their count.

    The LM head runs only at the answer positions (logits_to_keep with a boolean mask), and the
    logits are upcast to float32 a chunk at a time: never full-vocabulary float32 logits over
    every position."""
    n = int(batch["targets"].numel())
    if n == 0:
        # Keep the graph connected (DDP expects every rank to produce gradients).
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False,
                    logits_to_keep=1)
        return out.logits.sum() * 0.0, 0
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False,
                   logits_to_keep=batch["keep"]).logits
    logits = logits.reshape(-1, logits.size(-1))
    total = logits.new_zeros((), dtype=torch.float32)
    for s in range(0, n, chunk):
        total = total + torch.nn.functional.cross_entropy(
            logits[s : s + chunk].float(), batch["targets"][s : s + chunk], reduction="sum")
    return total, n


@torch.no_grad()
def eval_loss(model: Any, items: list[Tokenized], batch_size: int, pad_id: int, dev: torch.device,
              autocast: Callable[[], Any]) -> float | None:
    if not items:
        return None
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        for start in range(0, len(items), batch_size):
            with autocast():
                loss_sum, n = answer_loss(model, collate(items[start : start + batch_size], pad_id, dev))
            total += float(loss_sum)
            count += n
    finally:
        model.train(was_training)
    return total / count if count else None
