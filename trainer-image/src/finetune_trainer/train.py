"""The training run: data, baseline, LoRA training loop with exact resume, tuned predictions, manifest.

Steps are optimizer steps. The data order of epoch e is a permutation seeded with seed + e, so a
global step number alone fixes the position in the data; checkpoints store it together with the
adapter weights, optimizer, scheduler and RNG states.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import random
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from finetune_trainer import data as data_mod
from finetune_trainer import evaluate, rng_state
from finetune_trainer import model as model_mod
from finetune_trainer.config import JobConfig
from finetune_trainer.errors import DataError, Preempted
from finetune_trainer.storage import Output

log = logging.getLogger(__name__)

STOP = threading.Event()  # set by the SIGTERM handler
CHECKPOINTS = "checkpoints"
STATE_FILE = "state.json"
WARMUP_FRACTION = 0.03


def now_rfc3339() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def collate(items: list[data_mod.Tokenized], pad_id: int, dev: torch.device) -> dict[str, torch.Tensor]:
    """Right padding for training; labels -100 on prompt and padding."""
    width = max(len(t.input_ids) for t in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    labels = torch.full((len(items), width), -100, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for i, t in enumerate(items):
        n = len(t.input_ids)
        ids[i, :n] = torch.tensor(t.input_ids, dtype=torch.long)
        labels[i, :n] = torch.tensor(t.labels, dtype=torch.long)
        mask[i, :n] = 1
    return {"input_ids": ids.to(dev), "labels": labels.to(dev), "attention_mask": mask.to(dev)}


class Dist:
    def __init__(self) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.enabled = self.world > 1

    def init(self, dev: torch.device) -> None:
        if self.enabled and not torch.distributed.is_initialized():
            torch.distributed.init_process_group("nccl" if dev.type == "cuda" else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            torch.distributed.barrier()

    def any(self, flag: bool, dev: torch.device) -> bool:
        if not self.enabled:
            return flag
        t = torch.tensor([1 if flag else 0], device=dev)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item())

    def sum(self, value: float, dev: torch.device) -> float:
        if not self.enabled:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=dev)
        torch.distributed.all_reduce(t)
        return float(t.item())


class Schedule:
    """Which examples each step uses; depends only on (seed, epoch, step)."""

    def __init__(self, n: int, batch: int, accum: int, world: int, epochs: float, seed: int) -> None:
        self.n, self.batch, self.accum, self.world, self.seed = n, batch, accum, world, seed
        self.micro_per_epoch = math.ceil(n / (batch * world))
        self.steps_per_epoch = math.ceil(self.micro_per_epoch / accum)
        self.total_steps = max(1, math.ceil(self.steps_per_epoch * epochs))
        self._order: tuple[int, list[int]] | None = None

    def order(self, epoch: int) -> list[int]:
        if self._order is None or self._order[0] != epoch:
            g = torch.Generator().manual_seed(self.seed + epoch)
            self._order = (epoch, torch.randperm(self.n, generator=g).tolist())
        return self._order[1]

    def micro_batches(self, step: int, rank: int) -> Iterator[list[int]]:
        epoch, in_epoch = divmod(step, self.steps_per_epoch)
        order = self.order(epoch)
        first = in_epoch * self.accum
        for m in range(first, min(first + self.accum, self.micro_per_epoch)):
            glob = order[m * self.batch * self.world : (m + 1) * self.batch * self.world]
            mine = glob[rank * self.batch : (rank + 1) * self.batch]
            if not mine:  # the last global batch may not reach every rank
                mine = glob[-1:]
            yield mine


class Run:
    def __init__(self, cfg: JobConfig, workdir: Path) -> None:
        self.cfg = cfg
        self.workdir = workdir
        self.out = Output(cfg.output)
        self.dist = Dist()
        self.started_at = now_rfc3339()
        self.last_checkpoint: str | None = None
        self.history: list[str] | None = None  # metrics.jsonl lines, loaded on first progress write
        self.attempt = 1
        self.resumed_from = 0

    # --- helpers -------------------------------------------------------------------------
    def _write_json(self, rel: str, obj: dict[str, Any]) -> None:
        if self.dist.main:
            self.out.write_text(rel, json.dumps(obj, indent=2) + "\n", "application/json")

    def _load_history(self, resumed_from: int) -> None:
        """metrics.jsonl of earlier attempts (a preempted run continues it); this attempt's number."""
        if not self.dist.main:
            return
        raw = self.out.read_bytes("metrics.jsonl")
        self.history = raw.decode().splitlines() if raw else []
        attempts = [json.loads(x).get("attempt", 1) for x in self.history if x.strip()]
        self.attempt = max(attempts) + 1 if attempts else 1
        if self.attempt > 1:
            log.info("attempt %d, resuming from step %d", self.attempt, resumed_from)
        self.resumed_from = resumed_from

    def _record(self, step: int, loss: float | None, lr: float, tps: float | None) -> None:
        """Appends a line to metrics.jsonl: the run's history across attempts (step, loss, lr, tokens/s)."""
        if not self.dist.main or self.history is None:
            return
        self.history.append(json.dumps({
            "step": step, "attempt": self.attempt, "resumedFrom": self.resumed_from,
            "loss": None if loss is None else round(loss, 6), "learningRate": lr,
            "tokensPerSecond": None if tps is None else round(tps, 2), "at": now_rfc3339()}))
        self.out.write_text("metrics.jsonl", "\n".join(self.history) + "\n", "application/x-ndjson")

    def _progress(self, step: int, total: int, epoch: float, loss: float | None, eval_loss: float | None,
                  tps: float | None) -> None:
        self._write_json("progress.json", {
            "step": step, "totalSteps": total, "epoch": round(epoch, 4),
            "loss": None if loss is None else round(loss, 6),
            "evalLoss": None if eval_loss is None else round(eval_loss, 6),
            "tokensPerSecond": None if tps is None else round(tps, 2),
            "updatedAt": now_rfc3339(),
            **({"lastCheckpoint": self.last_checkpoint} if self.last_checkpoint else {}),
        })

    def _complete_manifest(self) -> dict[str, Any] | None:
        raw = self.out.read_bytes("manifest.json")
        if raw is None:
            return None
        try:
            m = json.loads(raw)
        except json.JSONDecodeError:
            return None
        return m if m.get("status") == "succeeded" else None

    # --- phases --------------------------------------------------------------------------
    def load_data(self) -> None:
        cfg = self.cfg
        seed = int(cfg.training["seed"])
        self.train_ds = data_mod.load_dataset(cfg.train_uri, cfg.data_format, "train")
        if cfg.validation_uri:
            self.eval_ds: data_mod.Dataset | None = data_mod.load_dataset(
                cfg.validation_uri, cfg.data_format, "validation")
            self.train_examples = self.train_ds.examples
            self.eval_examples = self.eval_ds.examples
        else:
            self.eval_ds = None
            self.train_examples, self.eval_examples = data_mod.split_train_eval(
                self.train_ds.examples, cfg.validation_split, seed)
        log.info("data: %d train, %d evaluation examples (format %s)", len(self.train_examples),
                 len(self.eval_examples), self.train_ds.format)

    def run(self) -> str:
        done = self._complete_manifest()
        if done is not None:
            return f"already complete: {self.out.describe('adapter/')} ({done.get('metrics', {}).get('steps')} steps)"
        cfg = self.cfg
        tcfg, ecfg, method = cfg.training, cfg.evaluation, cfg.method
        seed = int(tcfg["seed"])
        seed_everything(seed)
        self.load_data()

        dev = model_mod.device(cfg.accelerator)
        self.dist.init(dev)
        if not self.dist.main:
            self.dist.barrier()
        resolved = model_mod.resolve(cfg.model_source, cfg.model_revision, cfg.model_token_file, self.workdir)
        if self.dist.main:
            self.dist.barrier()
        tokenizer = model_mod.load_tokenizer(resolved.path)
        model = model_mod.load_model(resolved.path, method["type"], dev)
        if STOP.is_set():
            raise Preempted("SIGTERM while loading the model; nothing to save yet")
        max_len = int(tcfg["maxSequenceLength"])
        use_autocast = dev.type == "cuda" and model_mod.compute_dtype(dev) == torch.bfloat16

        def autocast() -> Any:
            return torch.autocast("cuda", dtype=torch.bfloat16) if use_autocast else contextlib.nullcontext()

        train_items = [data_mod.tokenize_example(tokenizer, ex, max_len) for ex in self.train_examples]
        eval_items = [data_mod.tokenize_example(tokenizer, ex, max_len) for ex in self.eval_examples]
        for ex, item in zip(self.train_examples, train_items):
            if all(label == -100 for label in item.labels[1:]):
                raise DataError(cfg.train_uri, ex.line, f"no answer tokens left within maxSequenceLength {max_len}")
        gen_examples = self.eval_examples[: int(ecfg["maxExamples"])]
        gen_args = dict(max_new_tokens=int(ecfg["maxNewTokens"]), batch_size=int(ecfg["batchSize"]),
                        max_prompt_len=max_len, dev=dev, should_stop=STOP.is_set)

        # Baseline predictions with the base model (skipped when a complete one exists).
        baseline_rows: list[dict[str, str]] | None = None
        if ecfg["baseline"] and gen_examples:
            existing = self.out.read_bytes("predictions/baseline.jsonl")
            if existing is not None and existing.decode().count("\n") == len(gen_examples):
                log.info("baseline predictions already complete; not regenerating")
                baseline_rows = [json.loads(x) for x in existing.decode().splitlines()]
            elif self.dist.main:
                log.info("baseline: generating %d predictions with the base model", len(gen_examples))
                baseline_rows = evaluate.generate(model, tokenizer, gen_examples, **gen_args)
                if baseline_rows is None:
                    raise Preempted("SIGTERM during baseline generation")
                self.out.write_text("predictions/baseline.jsonl", evaluate.to_jsonl(baseline_rows),
                                    "application/jsonl")
            self.dist.barrier()

        grad_ckpt = dev.type == "cuda"
        torch.manual_seed(seed)
        model = model_mod.apply_lora(model, method, grad_ckpt)
        peft_model = model
        if self.dist.enabled:
            model = torch.nn.parallel.DistributedDataParallel(
                model, device_ids=[dev.index] if dev.type == "cuda" else None)
        params = [p for p in peft_model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=float(tcfg["learningRate"]), weight_decay=0.0)
        sched = Schedule(len(train_items), int(tcfg["batchSize"]), int(tcfg["gradientAccumulation"]),
                         self.dist.world, float(tcfg["epochs"]), seed)
        total = sched.total_steps
        warmup = max(1, int(total * WARMUP_FRACTION))

        def lr_lambda(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            return max(0.0, (total - step) / max(1, total - warmup))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)

        start, last_loss = self._resume(peft_model, optimizer, scheduler, dev)
        self._load_history(start)
        pad_id = tokenizer.pad_token_id
        every_ckpt, every_progress = int(tcfg["checkpointEverySteps"]), int(tcfg["progressEverySteps"])
        window: list[float] = []
        tokens, t0 = 0.0, time.perf_counter()
        tps: float | None = None
        saved_step = start
        model.train()
        log.info("training steps %d..%d of %d (%d per epoch)", start + 1, total, total, sched.steps_per_epoch)
        for step in range(start, total):
            micro = list(sched.micro_batches(step, self.dist.rank))
            batches = [collate([train_items[i] for i in idx], pad_id, dev) for idx in micro]
            n_answer = sum(int((b["labels"][:, 1:] != -100).sum()) for b in batches)
            step_loss = 0.0
            for k, b in enumerate(batches):
                sync = k == len(batches) - 1 or not self.dist.enabled
                ctx = contextlib.nullcontext() if sync else model.no_sync()
                with ctx:
                    with autocast():
                        logits = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits
                    loss_sum, _ = evaluate.token_loss(logits, b["labels"])
                    (loss_sum / max(1, n_answer)).backward()
                step_loss += float(loss_sum.detach())
                tokens += float(b["attention_mask"].sum())
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            done = step + 1
            last_loss = self.dist.sum(step_loss, dev) / max(1.0, self.dist.sum(float(n_answer), dev))
            window.append(last_loss)
            elapsed = time.perf_counter() - t0
            tps = self.dist.sum(tokens, dev) / elapsed if elapsed > 0 else None
            if self.dist.main:
                print(f"step={done}/{total} epoch={done / sched.steps_per_epoch:.3f} loss={last_loss:.5f} "
                      f"lr={scheduler.get_last_lr()[0]:.3e}", flush=True)
            stop = self.dist.any(STOP.is_set(), dev)
            if done % every_ckpt == 0 or stop or done == total:
                self._save_checkpoint(peft_model, optimizer, scheduler, done, last_loss)
                saved_step = done
            # After the checkpoint, so that progress.json names the newest one.
            if done % every_progress == 0 or done == total or stop:
                self._record(done, sum(window) / len(window), scheduler.get_last_lr()[0], tps)
                self._progress(done, total, done / sched.steps_per_epoch, sum(window) / len(window), None, tps)
                window = []
            if stop and done < total:
                raise Preempted(f"SIGTERM: checkpoint saved at step {done} of {total}")
        if saved_step != total:  # nothing to train (resumed at the end): make sure the end is saved
            self._save_checkpoint(peft_model, optimizer, scheduler, total, last_loss)

        # Evaluation with the adapter.
        eval_l = evaluate.eval_loss(peft_model, eval_items, int(ecfg["batchSize"]), pad_id, dev, autocast)
        self._progress(total, total, total / sched.steps_per_epoch, last_loss, eval_l, tps)
        tuned_rows: list[dict[str, str]] | None = []
        if self.dist.main and gen_examples:
            log.info("tuned: generating %d predictions with the adapter", len(gen_examples))
            tuned_rows = evaluate.generate(peft_model, tokenizer, gen_examples, **gen_args)
            if tuned_rows is None:
                raise Preempted("SIGTERM during tuned generation; training is complete and checkpointed")
            self.out.write_text("predictions/tuned.jsonl", evaluate.to_jsonl(tuned_rows), "application/jsonl")

        if self.dist.main:
            adapter_dir = self.workdir / "adapter"
            shutil.rmtree(adapter_dir, ignore_errors=True)
            peft_model.save_pretrained(str(adapter_dir))
            tokenizer.save_pretrained(str(adapter_dir))
            self.out.upload_dir(adapter_dir, "adapter", last="adapter_model.safetensors")
            manifest = self._manifest(resolved, sched, dev, grad_ckpt, last_loss, eval_l, tps,
                                      baseline_rows, tuned_rows)
            self._write_json("manifest.json", manifest)
        self.dist.barrier()
        return (f"succeeded: {total} steps"
                + (f", loss {last_loss:.4f}" if last_loss is not None else "")
                + (f", eval loss {eval_l:.4f}" if eval_l is not None else "")
                + f"; adapter at {self.out.describe('adapter/')}")

    # --- checkpoints ---------------------------------------------------------------------
    def _checkpoint_steps(self) -> list[int]:
        steps = []
        for name in self.out.list_children(CHECKPOINTS):
            if name.startswith("step-") and name[5:].isdigit():
                steps.append(int(name[5:]))
        return sorted(steps)

    def _save_checkpoint(self, peft_model: Any, optimizer: Any, scheduler: Any, step: int,
                         loss: float | None) -> None:
        rng = rng_state.capture()  # before saving anything: the state training continues from
        local = self.workdir / "checkpoint-staging" / f"step-{step}"
        if self.dist.main:
            shutil.rmtree(local, ignore_errors=True)
            local.mkdir(parents=True)
            peft_model.save_pretrained(str(local))
            torch.save(optimizer.state_dict(), local / "optimizer.pt")
            torch.save(scheduler.state_dict(), local / "scheduler.pt")
        self.dist.barrier()
        # Each rank keeps its own RNG streams (dropout differs per rank).
        rank_dir = self.workdir / "checkpoint-staging" / f"step-{step}"
        rank_dir.mkdir(parents=True, exist_ok=True)
        # JSON and safetensors, never pickle: the bucket may be writable by others.
        written = rng_state.save(rank_dir, self.dist.rank, rng)
        if self.dist.enabled and not self.dist.main:
            for f in written:
                self.out.write_bytes(f"{CHECKPOINTS}/step-{step}/{f.name}", f.read_bytes())
        self.dist.barrier()
        if self.dist.main:
            (local / STATE_FILE).write_text(json.dumps({
                "step": step, "loss": loss, "worldSize": self.dist.world, "savedAt": now_rfc3339()}) + "\n")
            self.out.upload_dir(local, f"{CHECKPOINTS}/step-{step}", last=STATE_FILE)
            shutil.rmtree(local, ignore_errors=True)
            keep = int(self.cfg.training["keepCheckpoints"])
            for old in self._checkpoint_steps()[:-keep]:
                self.out.delete_dir(f"{CHECKPOINTS}/step-{old}")
            self.last_checkpoint = self.out.describe(f"{CHECKPOINTS}/step-{step}/")
            log.info("checkpoint saved: %s", self.last_checkpoint)
        self.dist.barrier()

    def _resume(self, peft_model: Any, optimizer: Any, scheduler: Any, dev: torch.device,
                ) -> tuple[int, float | None]:
        """Loads the newest complete checkpoint; returns its step and loss ((0, None) without one)."""
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        for step in reversed(self._checkpoint_steps()):
            rel = f"{CHECKPOINTS}/step-{step}"
            state = self.out.read_bytes(f"{rel}/{STATE_FILE}")
            if state is None:
                log.warning("ignoring incomplete checkpoint %s", self.out.describe(rel))
                continue
            local = self.workdir / "checkpoint-restore" / f"step-{step}"
            shutil.rmtree(local, ignore_errors=True)
            local.mkdir(parents=True)
            self.out.download_dir(rel, local)
            weights = load_file(str(local / "adapter_model.safetensors"), device=str(dev))
            set_peft_model_state_dict(peft_model, weights)
            optimizer.load_state_dict(torch.load(local / "optimizer.pt", map_location=dev, weights_only=True))
            scheduler.load_state_dict(torch.load(local / "scheduler.pt", weights_only=True))
            try:
                restored = rng_state.restore(local, self.dist.rank)
            except rng_state.BadRngState as e:
                raise DataError(self.out.describe(rel), None, str(e)) from None
            if not restored:
                log.warning("checkpoint %s has no RNG state for rank %d", rel, self.dist.rank)
            self.last_checkpoint = self.out.describe(f"{CHECKPOINTS}/step-{step}/")
            print(f"resumed from checkpoint step-{step}", flush=True)
            log.info("resumed from %s", self.out.describe(rel))
            return step, json.loads(state).get("loss")
        return 0, None

    # --- manifest ------------------------------------------------------------------------
    def _manifest(self, resolved: model_mod.ResolvedModel, sched: Schedule, dev: torch.device, grad_ckpt: bool,
                  loss: float | None, eval_l: float | None, tps: float | None,
                  baseline: list[dict[str, str]] | None, tuned: list[dict[str, str]] | None) -> dict[str, Any]:
        import peft
        import transformers

        cfg = self.cfg

        def exact(rows: list[dict[str, str]] | None) -> float | None:
            if not rows:
                return None
            return sum(r["prediction"].strip() == r["reference"].strip() for r in rows) / len(rows)

        train = {"uri": self.train_ds.uri, "sha256": self.train_ds.sha256, "examples": len(self.train_examples)}
        if self.eval_ds is not None:
            validation: dict[str, Any] = {"uri": self.eval_ds.uri, "sha256": self.eval_ds.sha256,
                                          "examples": len(self.eval_examples)}
        else:
            validation = {"splitFrom": self.train_ds.uri, "fraction": cfg.validation_split,
                          "examples": len(self.eval_examples)}
        tcfg = cfg.training
        return {
            "apiVersion": cfg.raw["apiVersion"],
            "status": "succeeded",
            "job": cfg.raw["job"],
            "image": cfg.image,
            "baseModel": {"source": resolved.source, "revision": resolved.revision,
                          "resolvedRevision": resolved.resolved_revision},
            "dataset": {"format": self.train_ds.format, "sha256": self.train_ds.sha256,
                        "train": train, "validation": validation},
            "hyperparameters": {
                "method": cfg.method,
                "training": tcfg,
                "evaluation": cfg.evaluation,
                "worldSize": self.dist.world,
                "effectiveBatchSize": int(tcfg["batchSize"]) * int(tcfg["gradientAccumulation"]) * self.dist.world,
                "stepsPerEpoch": sched.steps_per_epoch,
                "totalSteps": sched.total_steps,
                "optimizer": "AdamW(weight_decay=0)",
                "scheduler": f"linear, warmup {WARMUP_FRACTION:.0%} of steps",
                "precision": str(model_mod.compute_dtype(dev)).replace("torch.", ""),
                "gradientCheckpointing": grad_ckpt,
                "device": dev.type,
            },
            "metrics": {"steps": sched.total_steps, "trainLoss": loss, "evalLoss": eval_l,
                        "tokensPerSecond": tps, "baselineExactMatch": exact(baseline),
                        "tunedExactMatch": exact(tuned), "evaluationExamples": len(tuned or [])},
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                         "peft": peft.__version__},
            "startedAt": self.started_at,
            "finishedAt": now_rfc3339(),
        }
