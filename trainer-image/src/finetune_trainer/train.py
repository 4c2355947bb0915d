"""The training run: data, baseline, LoRA training loop with exact resume, tuned predictions, manifest.

Steps are optimizer steps. The data order of epoch e is a permutation seeded with seed + e, so a
global step number alone fixes the position in the data; checkpoints store it together with the
adapter weights, optimizer, scheduler and RNG states, and a hash of the configuration that shapes
them (a changed configuration cannot resume into someone else's run).

Several ranks: local rank 0 downloads the model while the others wait on a CPU (gloo) group with a
long timeout (NCCL's 10 minutes would abort a large download); generation is sharded across ranks;
each rank stages files in its own work directory.

hardware.strategy fsdp with several ranks shards the model instead of replicating it (fsdp.py): the
same schedule, loss and checkpoints, with the adapter and optimizer state gathered whole to rank 0
when saved; a single rank trains as ddp does (nothing to shard).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import random
import shutil
import threading
import time
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from finetune_trainer import data as data_mod
from finetune_trainer import evaluate, fsdp, rng_state
from finetune_trainer import model as model_mod
from finetune_trainer.config import JobConfig
from finetune_trainer.errors import BadInputError, ConfigError, DataError, Preempted, TrainingDiverged
from finetune_trainer.storage import Output

log = logging.getLogger(__name__)

STOP = threading.Event()  # set by the SIGTERM handler
CHECKPOINTS = "checkpoints"
STATE_FILE = "state.json"
WARMUP_FRACTION = 0.03
MAX_GRAD_NORM = 1.0
MAX_NONFINITE_STEPS = 5  # consecutive steps with a NaN/inf loss or gradient before the run fails
COLLECTIVE_TIMEOUT_ENV = "FINETUNE_COLLECTIVE_TIMEOUT_S"
DEFAULT_COLLECTIVE_TIMEOUT_S = 4 * 3600
# Training fields that shape the checkpoint or the data order; the others (how often to save or
# report) may change between attempts.
HASHED_TRAINING = ("epochs", "learningRate", "batchSize", "gradientAccumulation", "maxSequenceLength", "seed")


def now_rfc3339() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def finite_or_none(x: float | None, digits: int = 6) -> float | None:
    """progress.json and the manifest are JSON: NaN and infinities become null."""
    return None if x is None or not math.isfinite(x) else round(x, digits)


class Dist:
    def __init__(self) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", str(self.rank)))
        self.node = int(os.environ.get("GROUP_RANK", "0"))  # torchrun's node rank
        self.enabled = self.world > 1
        self.cpu_group: Any = None

    def init(self, dev: torch.device) -> None:
        if self.enabled and not torch.distributed.is_initialized():
            timeout = timedelta(seconds=float(os.environ.get(COLLECTIVE_TIMEOUT_ENV, DEFAULT_COLLECTIVE_TIMEOUT_S)))
            backend = "nccl" if dev.type == "cuda" else "gloo"
            kwargs: dict[str, Any] = {"timeout": timeout}
            if dev.type == "cuda":
                kwargs["device_id"] = dev
            torch.distributed.init_process_group(backend, **kwargs)
            # Waits for rank 0 (downloads, uploads) and object exchange go over gloo: a CPU wait
            # with the long timeout, no GPU kernel spinning in a barrier.
            self.cpu_group = (torch.distributed.new_group(backend="gloo", timeout=timeout)
                              if backend != "gloo" else None)

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            torch.distributed.barrier(group=self.cpu_group)

    def broadcast(self, obj: Any) -> Any:
        """rank 0's obj on every rank."""
        if not self.enabled:
            return obj
        box = [obj if self.main else None]
        torch.distributed.broadcast_object_list(box, src=0, group=self.cpu_group)
        return box[0]

    def gather(self, obj: Any) -> list[Any]:
        if not self.enabled:
            return [obj]
        out: list[Any] = [None] * self.world
        torch.distributed.all_gather_object(out, obj, group=self.cpu_group)
        return out

    def any(self, flag: bool, dev: torch.device) -> bool:
        if not self.enabled:
            return flag
        t = torch.tensor([1 if flag else 0], device=dev)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item())

    def flags(self, values: list[bool], dev: torch.device) -> list[bool]:
        """Element-wise OR across ranks (one collective for several flags)."""
        if not self.enabled:
            return values
        t = torch.tensor([1 if v else 0 for v in values], device=dev)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return [bool(x) for x in t.tolist()]

    def sum(self, value: float, dev: torch.device) -> float:
        if not self.enabled:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=dev)
        torch.distributed.all_reduce(t)
        return float(t.item())


GROUP_MICRO_BATCHES = 32  # length grouping sorts windows of this many global micro-batches


class Schedule:
    """Which examples each step uses; depends only on (seed, epoch, step) and the lengths.

    Length-grouped: the epoch's random permutation is cut into windows of GROUP_MICRO_BATCHES
    global micro-batches; each window is sorted by length, cut into micro-batches, and those are
    shuffled. A micro-batch holds examples of similar length (little padding, and no attention
    across examples as packing into one row would cost with SDPA), the order stays random."""

    def __init__(self, n: int, batch: int, accum: int, world: int, epochs: float, seed: int,
                 lengths: list[int] | None = None) -> None:
        self.n, self.batch, self.accum, self.world, self.seed = n, batch, accum, world, seed
        self.lengths = lengths
        self.micro_per_epoch = math.ceil(n / (batch * world))
        self.steps_per_epoch = math.ceil(self.micro_per_epoch / accum)
        self.total_steps = max(1, math.ceil(self.steps_per_epoch * epochs))
        self._order: tuple[int, list[int]] | None = None

    def order(self, epoch: int) -> list[int]:
        if self._order is None or self._order[0] != epoch:
            g = torch.Generator().manual_seed(self.seed + epoch)
            perm = torch.randperm(self.n, generator=g).tolist()
            if self.lengths is not None:
                lengths, micro = self.lengths, self.batch * self.world
                window = micro * GROUP_MICRO_BATCHES
                grouped: list[int] = []
                for w in range(0, self.n, window):
                    part = sorted(perm[w : w + window], key=lambda i: lengths[i])
                    blocks = [part[j : j + micro] for j in range(0, len(part), micro)]
                    full = [b for b in blocks if len(b) == micro]  # a short last block stays last
                    for k in torch.randperm(len(full), generator=g).tolist():
                        grouped += full[k]
                    grouped += [i for b in blocks if len(b) < micro for i in b]
                perm = grouped
            self._order = (epoch, perm)
        return self._order[1]

    def micro_batches(self, step: int, rank: int) -> Iterator[list[int]]:
        """This rank's examples for each micro-batch of step; empty where the last global batch
        does not reach this rank (the rank still runs a zero-weight pass, as DDP needs)."""
        epoch, in_epoch = divmod(step, self.steps_per_epoch)
        order = self.order(epoch)
        first = in_epoch * self.accum
        for m in range(first, min(first + self.accum, self.micro_per_epoch)):
            glob = order[m * self.batch * self.world : (m + 1) * self.batch * self.world]
            yield glob[rank * self.batch : (rank + 1) * self.batch]


def shard(items: list[Any], rank: int, world: int) -> list[Any]:
    return items[rank::world]


def unshard(parts: list[list[Any]]) -> list[Any]:
    """Inverse of shard over every rank's part: the original order."""
    out: list[Any] = []
    for i in range(max((len(p) for p in parts), default=0)):
        out += [p[i] for p in parts if i < len(p)]
    return out


class Run:
    def __init__(self, cfg: JobConfig, workdir: Path) -> None:
        self.cfg = cfg
        self.workdir = workdir
        self.out = Output(cfg.output)
        self.dist = Dist()
        self.fsdp = cfg.strategy == "fsdp" and self.dist.world > 1
        # Staging and restore directories are per rank: ranks never rmtree each other's files.
        self.rank_dir = workdir / f"rank-{self.dist.rank}"
        self.started_at = now_rfc3339()
        self.last_checkpoint: str | None = None
        self.history: list[str] | None = None  # metrics.jsonl lines, loaded on first progress write
        self.attempt = 1
        self.resumed_from = 0
        self.truncated = 0
        self.nonfinite_steps = 0
        self._upload: threading.Thread | None = None
        self._upload_error: BaseException | None = None

    # --- helpers -------------------------------------------------------------------------
    def _write_json(self, rel: str, obj: dict[str, Any]) -> None:
        if self.dist.main:
            self.out.write_text(rel, json.dumps(obj, indent=2, allow_nan=False) + "\n", "application/json")

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
            "loss": finite_or_none(loss), "learningRate": lr,
            "tokensPerSecond": finite_or_none(tps, 2), "at": now_rfc3339()}, allow_nan=False))
        self.out.write_text("metrics.jsonl", "\n".join(self.history) + "\n", "application/x-ndjson")

    def _progress(self, step: int, total: int, epoch: float, loss: float | None, eval_loss: float | None,
                  tps: float | None) -> None:
        self._write_json("progress.json", {
            "step": step, "totalSteps": total, "epoch": round(epoch, 4),
            "loss": finite_or_none(loss),
            "evalLoss": finite_or_none(eval_loss),
            "tokensPerSecond": finite_or_none(tps, 2),
            "truncatedExamples": self.truncated,
            "nonFiniteStepsSkipped": self.nonfinite_steps,
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

    def fingerprint(self) -> dict[str, Any]:
        """The configuration a checkpoint belongs to: model, data, LoRA shape, schedule, world size."""
        cfg = self.cfg
        return {
            "model": {"source": cfg.model_source, "revision": cfg.model_revision},
            "train": self.train_ds.sha256,
            "validation": self.eval_ds.sha256 if self.eval_ds is not None else {"split": cfg.validation_split},
            "method": {k: cfg.method[k] for k in sorted(cfg.method)},
            "training": {k: cfg.training.get(k) for k in HASHED_TRAINING},
            "worldSize": self.dist.world,
            # Sharded checkpoints name optimizer state by parameter; ddp ones (and their hash) as before.
            **({"strategy": "fsdp"} if self.fsdp else {}),
        }

    def config_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.fingerprint(), sort_keys=True).encode()).hexdigest()[:16]

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

    def _resolve_model(self) -> model_mod.ResolvedModel:
        """Local rank 0 of each node downloads into that node's work dir; the node's other ranks
        wait (CPU group, long timeout) and use its copy."""
        cfg = self.cfg
        if not self.dist.enabled:
            return model_mod.resolve(cfg.model_source, cfg.model_revision, cfg.model_token_file, self.workdir)
        resolved: Any = None
        error: BaseException | None = None
        if self.dist.local_rank == 0:
            try:
                resolved = model_mod.resolve(cfg.model_source, cfg.model_revision, cfg.model_token_file,
                                             self.workdir)
                log.info("node %d: model at %s", self.dist.node, resolved.path)
            except BaseException as e:  # the other ranks fail with it instead of waiting forever
                error = e
                resolved = ("error", isinstance(e, BadInputError), f"{type(e).__name__}: {e}")
        # Every rank learns every node's result: it takes its own node's copy, and fails with any.
        results = self.dist.gather((self.dist.node, self.dist.local_rank, resolved))
        if error is not None:
            raise error
        failed = [r for _, lr, r in results if lr == 0 and isinstance(r, tuple)]
        if failed:
            _, bad_input, message = failed[0]
            raise (ConfigError if bad_input else RuntimeError)(f"a node could not fetch the model: {message}")
        return next(r for node, lr, r in results if node == self.dist.node and lr == 0)

    def _generate(self, model: Any, tokenizer: Any, examples: list[data_mod.Example],
                  **gen_args: Any) -> list[dict[str, str]] | None:
        """Predictions for examples, each rank generating its shard; every rank gets all rows
        (None on every rank when any was interrupted)."""
        if self.fsdp:  # every rank runs as many batches and forwards (rank 0's shard is the largest)
            dev = gen_args["dev"]
            gen_args = dict(gen_args, batches=math.ceil(len(shard(examples, 0, self.dist.world))
                                                        / int(gen_args["batch_size"])),
                            filler=examples[0], should_stop=lambda: self.dist.any(STOP.is_set(), dev))
        mine = evaluate.generate(model, tokenizer, shard(examples, self.dist.rank, self.dist.world), **gen_args)
        parts = self.dist.gather(mine)
        if any(p is None for p in parts):
            return None
        return unshard(parts)

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
        shutil.rmtree(self.rank_dir, ignore_errors=True)
        self.rank_dir.mkdir(parents=True, exist_ok=True)
        resolved = self._resolve_model()
        tokenizer = model_mod.load_tokenizer(resolved.path)
        grad_ckpt = dev.type == "cuda"
        if self.fsdp:  # the LoRA model, sharded: baseline predictions come from it with the adapter off
            model = fsdp.load_sharded(resolved.path, method, dev, seed, grad_ckpt, self.dist.rank)
        else:
            if cfg.strategy == "fsdp":
                log.info("hardware.strategy fsdp with one worker: nothing to shard, training one replica")
            model = model_mod.load_model(resolved.path, method["type"], dev)
        if STOP.is_set():
            raise Preempted("SIGTERM while loading the model; nothing to save yet")
        max_len = int(tcfg["maxSequenceLength"])
        use_autocast = dev.type == "cuda" and model_mod.compute_dtype(dev) == torch.bfloat16

        def autocast() -> Any:
            return torch.autocast("cuda", dtype=torch.bfloat16) if use_autocast else contextlib.nullcontext()

        terminator = data_mod.turn_terminator(tokenizer)
        eos_ids = data_mod.end_token_ids(tokenizer, getattr(model, "generation_config", None))
        train_items = [data_mod.tokenize_example(tokenizer, ex, max_len, terminator) for ex in self.train_examples]
        eval_items = [data_mod.tokenize_example(tokenizer, ex, max_len, terminator) for ex in self.eval_examples]
        for ex, item in zip(self.train_examples, train_items):
            if item.answer_tokens == 0:
                raise DataError(cfg.train_uri, ex.line, f"no answer tokens left within maxSequenceLength {max_len}")
        self.truncated = sum(t.truncated for t in train_items)
        if self.truncated:
            log.warning("%d of %d training examples were longer than maxSequenceLength %d and were truncated "
                        "(prompt middle cut, answer end cut before the turn terminator)", self.truncated,
                        len(train_items), max_len)
        gen_examples = self.eval_examples[: int(ecfg["maxExamples"])]
        gen_args = dict(max_new_tokens=int(ecfg["maxNewTokens"]), batch_size=int(ecfg["batchSize"]),
                        max_prompt_len=max_len, dev=dev, eos_ids=eos_ids, should_stop=STOP.is_set)

        # Baseline predictions with the base model (skipped when a complete one exists).
        baseline_rows: list[dict[str, str]] | None = None
        if ecfg["baseline"] and gen_examples:
            existing = self.out.read_bytes("predictions/baseline.jsonl")
            if existing is not None and existing.decode().count("\n") == len(gen_examples):
                log.info("baseline predictions already complete; not regenerating")
                baseline_rows = [json.loads(x) for x in existing.decode().splitlines()]
            else:
                log.info("baseline: generating %d predictions with the base model", len(gen_examples))
                with model.disable_adapter() if self.fsdp else contextlib.nullcontext():
                    baseline_rows = self._generate(model, tokenizer, gen_examples, **gen_args)
                if baseline_rows is None:
                    raise Preempted("SIGTERM during baseline generation")
                if self.dist.main:
                    self.out.write_text("predictions/baseline.jsonl", evaluate.to_jsonl(baseline_rows),
                                        "application/jsonl")

        if not self.fsdp:
            torch.manual_seed(seed)
            model = model_mod.apply_lora(model, method, grad_ckpt)
        peft_model = model
        # The adapter names its base model (AutoPeftModelForCausalLM loads it from there), not a temp dir.
        base_name = cfg.model_source[len("hf://"):] if cfg.model_source.startswith("hf://") else cfg.model_source
        for pc in peft_model.peft_config.values():
            pc.base_model_name_or_path = base_name
            if resolved.resolved_revision or resolved.revision:
                pc.revision = resolved.resolved_revision or resolved.revision
        if self.dist.enabled and not self.fsdp:
            model = torch.nn.parallel.DistributedDataParallel(
                model, device_ids=[dev.index] if dev.type == "cuda" else None)
        params = [p for p in peft_model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=float(tcfg["learningRate"]), weight_decay=0.0,
                                      **({"fused": True} if dev.type == "cuda" else {}))
        sched = Schedule(len(train_items), int(tcfg["batchSize"]), int(tcfg["gradientAccumulation"]),
                         self.dist.world, float(tcfg["epochs"]), seed, [len(t.input_ids) for t in train_items])
        total = sched.total_steps
        warmup = max(1, int(total * WARMUP_FRACTION))

        def lr_lambda(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            return max(0.0, (total - step) / max(1, total - warmup))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)

        start, last_loss = self._resume(peft_model, optimizer, scheduler, dev)
        pad_id = tokenizer.pad_token_id
        self._load_history(start)
        every_ckpt, every_progress = int(tcfg["checkpointEverySteps"]), int(tcfg["progressEverySteps"])
        window: list[float] = []
        tokens, t0 = 0.0, time.perf_counter()
        tps: float | None = None
        saved_step = start
        consecutive_bad = 0
        # DDP and FSDP average gradients over ranks: scaling by world / (answer tokens of all ranks) makes
        # the loss a token-weighted mean over the global batch, as on one rank.
        grad_scale = float(self.dist.world) if self.dist.enabled else 1.0
        model.train()
        log.info("training steps %d..%d of %d (%d per epoch)", start + 1, total, total, sched.steps_per_epoch)
        for step in range(start, total):
            # The RNG state that step `step` ends with, should a SIGTERM interrupt step + 1.
            rng_before = rng_state.capture()
            micro = list(sched.micro_batches(step, self.dist.rank))
            packed = [evaluate.collate([train_items[i] for i in (idx or [0])], pad_id, dev) for idx in micro]
            n_local = sum(int(b["targets"].numel()) for b, idx in zip(packed, micro) if idx)
            n_global = self.dist.sum(float(n_local), dev)
            step_loss = 0.0
            interrupted = False
            for k, (b, idx) in enumerate(zip(packed, micro)):
                # Between micro-batches: all ranks agree to stop at the same one.
                if k > 0 and self.dist.any(STOP.is_set(), dev):
                    interrupted = True
                    break
                sync = k == len(packed) - 1 or not self.dist.enabled
                ctx = contextlib.nullcontext() if sync else fsdp.no_sync(model) if self.fsdp else model.no_sync()
                with ctx:
                    with autocast():
                        loss_sum, _ = evaluate.answer_loss(model, b)
                    if not idx:
                        loss_sum = loss_sum * 0.0
                    (loss_sum * (grad_scale / max(1.0, n_global))).backward()
                step_loss += float(loss_sum.detach())
                tokens += float(b["attention_mask"].sum()) if idx else 0.0
            if interrupted:
                optimizer.zero_grad(set_to_none=True)
                if saved_step != step:
                    self._save_checkpoint(peft_model, optimizer, scheduler, step, last_loss, rng_before,
                                          background=False)
                    saved_step = step
                self._finish_upload()
                if window:
                    self._record(step, sum(window) / len(window), scheduler.get_last_lr()[0], tps)
                self._progress(step, total, step / sched.steps_per_epoch,
                               sum(window) / len(window) if window else last_loss, None, tps)
                raise Preempted(f"SIGTERM during step {step + 1}: checkpoint of step {step} of {total} saved")
            grad_norm = fsdp.as_float(torch.nn.utils.clip_grad_norm_(params, MAX_GRAD_NORM))
            loss_now = self.dist.sum(step_loss, dev) / max(1.0, n_global)
            bad, stop = self.dist.flags([not (math.isfinite(loss_now) and math.isfinite(grad_norm)),
                                         STOP.is_set()], dev)
            if bad:
                self.nonfinite_steps += 1
                consecutive_bad += 1
                log.warning("step %d: loss %s, gradient norm %s: update skipped (%d in a row)",
                            step + 1, loss_now, grad_norm, consecutive_bad)
                if consecutive_bad >= MAX_NONFINITE_STEPS:
                    raise TrainingDiverged(
                        f"loss or gradients not finite for {consecutive_bad} steps in a row (steps "
                        f"{step + 2 - consecutive_bad}..{step + 1}); lower training.learningRate or check the "
                        "data and the model's precision")
            else:
                consecutive_bad = 0
                optimizer.step()
                last_loss = loss_now
                window.append(loss_now)
            with warnings.catch_warnings():  # a skipped update still advances the schedule (on purpose)
                warnings.filterwarnings("ignore", message=".*lr_scheduler.step.*")
                scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            done = step + 1
            elapsed = time.perf_counter() - t0
            tps = self.dist.sum(tokens, dev) / elapsed if elapsed > 0 else None
            if self.dist.main:
                shown = f"{loss_now:.5f}" if not bad else "skipped"
                print(f"step={done}/{total} epoch={done / sched.steps_per_epoch:.3f} loss={shown} "
                      f"lr={scheduler.get_last_lr()[0]:.3e} gradNorm={grad_norm:.3f}", flush=True)
            if done % every_ckpt == 0 or stop or done == total:
                self._save_checkpoint(peft_model, optimizer, scheduler, done, last_loss,
                                      background=not stop and done != total)
                saved_step = done
            if stop or done == total:
                self._finish_upload()
            # After the checkpoint, so that progress.json names the newest one.
            if done % every_progress == 0 or done == total or stop:
                mean = sum(window) / len(window) if window else None
                self._record(done, mean, scheduler.get_last_lr()[0], tps)
                self._progress(done, total, done / sched.steps_per_epoch, mean, None, tps)
                window = []
            if stop and done < total:
                raise Preempted(f"SIGTERM: checkpoint saved at step {done} of {total}")
        if saved_step != total:  # nothing to train (resumed at the end): make sure the end is saved
            self._save_checkpoint(peft_model, optimizer, scheduler, total, last_loss, background=False)
        self._finish_upload()

        # Evaluation with the adapter.
        eval_l = evaluate.eval_loss(peft_model, eval_items, int(ecfg["batchSize"]), pad_id, dev, autocast)
        self._progress(total, total, total / sched.steps_per_epoch, last_loss, eval_l, tps)
        tuned_rows: list[dict[str, str]] | None = []
        if gen_examples:
            log.info("tuned: generating %d predictions with the adapter", len(gen_examples))
            tuned_rows = self._generate(peft_model, tokenizer, gen_examples, **gen_args)
            if tuned_rows is None:
                raise Preempted("SIGTERM during tuned generation; training is complete and checkpointed")
            if self.dist.main:
                self.out.write_text("predictions/tuned.jsonl", evaluate.to_jsonl(tuned_rows), "application/jsonl")

        lora = fsdp.trainable_state(peft_model) if self.fsdp else None  # collective
        # The most accelerator memory any rank held (what sizing a GPU for this job needs).
        peaks = [p for p in self.dist.gather(torch.cuda.max_memory_allocated(dev) if dev.type == "cuda" else None)
                 if p is not None]
        self.peak_memory = max(peaks) if peaks else None
        if self.dist.main:
            adapter_dir = self.rank_dir / "adapter"
            shutil.rmtree(adapter_dir, ignore_errors=True)
            if lora is not None:
                fsdp.save_adapter(peft_model, lora, adapter_dir)
            else:
                peft_model.save_pretrained(str(adapter_dir), save_embedding_layers=False)
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

    def _complete_steps(self) -> list[int]:
        """Checkpoints whose state.json (written last) exists."""
        return [s for s in self._checkpoint_steps()
                if self.out.read_bytes(f"{CHECKPOINTS}/step-{s}/{STATE_FILE}") is not None]

    def _finish_upload(self) -> None:
        """Waits for the background checkpoint upload; re-raises its error."""
        if self._upload is not None:
            self._upload.join()
            self._upload = None
        if self._upload_error is not None:
            err, self._upload_error = self._upload_error, None
            raise err

    def _publish(self, local: Path, step: int) -> None:
        """rank 0: uploads a staged checkpoint (state.json last), prunes older complete ones."""
        rel = f"{CHECKPOINTS}/step-{step}"
        self.out.upload_dir(local, rel, last=STATE_FILE)
        shutil.rmtree(local, ignore_errors=True)
        keep = int(self.cfg.training["keepCheckpoints"])
        complete = self._complete_steps()
        for old in complete[:-keep]:
            self.out.delete_dir(f"{CHECKPOINTS}/step-{old}")
        self.last_checkpoint = self.out.describe(f"{rel}/")
        log.info("checkpoint saved: %s", self.last_checkpoint)

    def _save_checkpoint(self, peft_model: Any, optimizer: Any, scheduler: Any, step: int,
                         loss: float | None, rng: Any = None, background: bool = False) -> None:
        """Writes the checkpoint locally (fast), then uploads it: in the background for periodic
        checkpoints (training goes on; the next save waits for it), in the foreground otherwise."""
        if rng is None:
            rng = rng_state.capture()  # before saving anything: the state training continues from
        self._finish_upload()
        local = self.rank_dir / "checkpoint-staging" / f"step-{step}"
        shutil.rmtree(local, ignore_errors=True)
        local.mkdir(parents=True)
        # JSON and safetensors, never pickle: the bucket may be writable by others.
        written = rng_state.save(local, self.dist.rank, rng)
        if self.fsdp:  # whole on rank 0 (collectives: every rank takes part)
            lora, optim = fsdp.trainable_state(peft_model), fsdp.optimizer_state(peft_model, optimizer)
        if self.dist.main:
            if self.fsdp:
                fsdp.save_adapter(peft_model, lora, local)
                torch.save(optim, local / "optimizer.pt")
            else:
                peft_model.save_pretrained(str(local), save_embedding_layers=False)
                torch.save(optimizer.state_dict(), local / "optimizer.pt")
            torch.save(scheduler.state_dict(), local / "scheduler.pt")
            (local / STATE_FILE).write_text(json.dumps({
                "step": step, "loss": finite_or_none(loss), "worldSize": self.dist.world,
                "configHash": self.config_hash(), "config": self.fingerprint(),
                "nonFiniteStepsSkipped": self.nonfinite_steps, "savedAt": now_rfc3339()}) + "\n")
        else:
            # Each rank keeps its own RNG streams (dropout differs per rank); small files.
            for f in written:
                self.out.write_bytes(f"{CHECKPOINTS}/step-{step}/{f.name}", f.read_bytes())
            shutil.rmtree(local, ignore_errors=True)
        self.dist.barrier()  # every rank's RNG files are up before rank 0 writes state.json
        if not self.dist.main:
            return
        if not background:
            self._publish(local, step)
            return

        def upload() -> None:
            try:
                self._publish(local, step)
            except BaseException as e:
                self._upload_error = e

        self._upload = threading.Thread(target=upload, name=f"upload-step-{step}", daemon=True)
        self._upload.start()

    def _resume(self, peft_model: Any, optimizer: Any, scheduler: Any, dev: torch.device,
                ) -> tuple[int, float | None]:
        """Loads the newest complete checkpoint; returns its step and loss ((0, None) without one).
        Incomplete checkpoints (no state.json: an upload cut short) are deleted."""
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        steps = self._checkpoint_steps()
        complete = self._complete_steps()
        self.dist.barrier()  # every rank has listed before rank 0 deletes anything
        if self.dist.main:
            for step in steps:
                if step not in complete:
                    log.warning("deleting incomplete checkpoint %s", self.out.describe(f"{CHECKPOINTS}/step-{step}"))
                    self.out.delete_dir(f"{CHECKPOINTS}/step-{step}")
        for step in reversed(complete):
            rel = f"{CHECKPOINTS}/step-{step}"
            state = json.loads(self.out.read_bytes(f"{rel}/{STATE_FILE}") or b"{}")
            want = self.config_hash()
            if state.get("configHash") is not None and state["configHash"] != want:
                raise ConfigError(self._mismatch(rel, state))
            local = self.rank_dir / "checkpoint-restore" / f"step-{step}"
            shutil.rmtree(local, ignore_errors=True)
            local.mkdir(parents=True)
            self.out.download_dir(rel, local)
            weights = load_file(str(local / "adapter_model.safetensors"), device=str(dev))
            optim = torch.load(local / "optimizer.pt", map_location=dev, weights_only=True)
            if self.fsdp:
                fsdp.load_adapter(peft_model, weights)
                fsdp.load_optimizer(peft_model, optimizer, optim)
            else:
                set_peft_model_state_dict(peft_model, weights)
                optimizer.load_state_dict(optim)
            scheduler.load_state_dict(torch.load(local / "scheduler.pt", weights_only=True))
            try:
                restored = rng_state.restore(local, self.dist.rank)
            except rng_state.BadRngState as e:
                raise DataError(self.out.describe(rel), None, str(e)) from None
            if not restored:
                log.warning("checkpoint %s has no RNG state for rank %d", rel, self.dist.rank)
            shutil.rmtree(local, ignore_errors=True)
            self.nonfinite_steps = int(state.get("nonFiniteStepsSkipped", 0))
            self.last_checkpoint = self.out.describe(f"{CHECKPOINTS}/step-{step}/")
            print(f"resumed from checkpoint step-{step}", flush=True)
            log.info("resumed from %s", self.out.describe(rel))
            return step, state.get("loss")
        return 0, None

    def _mismatch(self, rel: str, state: dict[str, Any]) -> str:
        old, new = state.get("config") or {}, self.fingerprint()
        diffs: list[str] = []

        def walk(a: Any, b: Any, path: str) -> None:
            if isinstance(a, dict) and isinstance(b, dict):
                for k in sorted(set(a) | set(b)):
                    walk(a.get(k), b.get(k), f"{path}.{k}" if path else k)
            elif a != b:
                diffs.append(f"{path} {json.dumps(a)} -> {json.dumps(b)}")

        walk(old, new, "")
        what = "; ".join(diffs[:5]) or "configuration hash differs"
        return (f"checkpoint {self.out.describe(rel)} belongs to a different training configuration ({what}); "
                f"it cannot be resumed with this one. Use a new output location, or delete "
                f"{self.out.describe(CHECKPOINTS)}/ to start over")

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

        train = {"uri": self.train_ds.uri, "sha256": self.train_ds.sha256, "examples": len(self.train_examples),
                 "truncated": self.truncated}
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
                "strategy": "fsdp" if self.fsdp else "ddp",
                "effectiveBatchSize": int(tcfg["batchSize"]) * int(tcfg["gradientAccumulation"]) * self.dist.world,
                "stepsPerEpoch": sched.steps_per_epoch,
                "totalSteps": sched.total_steps,
                "optimizer": "AdamW(weight_decay=0" + (", fused)" if dev.type == "cuda" else ")"),
                "scheduler": f"linear, warmup {WARMUP_FRACTION:.0%} of steps",
                "precision": str(model_mod.compute_dtype(dev)).replace("torch.", ""),
                "gradientCheckpointing": grad_ckpt,
                "maxGradNorm": MAX_GRAD_NORM,
                "attention": "sdpa",
                "batching": "length-grouped",
                "device": dev.type,
            },
            "hardware": model_mod.hardware(dev),
            "metrics": {"steps": sched.total_steps, "trainLoss": finite_or_none(loss),
                        "evalLoss": finite_or_none(eval_l), "tokensPerSecond": finite_or_none(tps, 2),
                        "baselineExactMatch": exact(baseline),
                        "tunedExactMatch": exact(tuned), "evaluationExamples": len(tuned or []),
                        "nonFiniteStepsSkipped": self.nonfinite_steps, "configHash": self.config_hash(),
                        "peakGpuMemoryBytes": getattr(self, "peak_memory", None)},
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                         "peft": peft.__version__},
            "startedAt": self.started_at,
            "finishedAt": now_rfc3339(),
        }
