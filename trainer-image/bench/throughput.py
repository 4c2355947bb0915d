"""Training throughput of the trainer against a plain PEFT + transformers loop.

Both train the same tiny Llama with the same LoRA settings on the same data, alternately, in one
process; tokens/s counts non-padding tokens over the training loop only (model loading excluded).
Our number is the tokensPerSecond the trainer reports in progress.json. Runs alternate; the
ratio is the median of the trainer/plain ratios of back-to-back pairs. Best-of-N and a CPU-time
ratio (whole trainer job vs plain model load + training) are shown as cross-checks.

    python bench/throughput.py [--hidden 256 --layers 4 --examples 480 --epochs 1 --repeats 6]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from finetune_trainer import cli
from helpers import build_model, job_config, write_config, write_jsonl


def plain_peft(model_dir: Path, train: Path, args: argparse.Namespace) -> tuple[float, int]:
    """The reference: transformers model + peft LoRA + AdamW, nothing else. Returns tokens/s and tokens."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(7)
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir))
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05, target_modules="all-linear",
                                             task_type="CAUSAL_LM"))
    rows = [json.loads(x) for x in train.read_text().splitlines()]
    seqs = []
    for r in rows:
        p = tok(r["prompt"] + "\n")["input_ids"]
        a = tok(r["completion"], add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        seqs.append((p + a, [-100] * len(p) + a))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-3, weight_decay=0.0)
    steps = math.ceil(len(seqs) / args.batch) * args.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, (steps - s) / steps))
    model.train()
    tokens, t0 = 0, time.perf_counter()
    for epoch in range(args.epochs):
        order = torch.randperm(len(seqs), generator=torch.Generator().manual_seed(7 + epoch)).tolist()
        for i in range(0, len(order), args.batch):
            batch = [seqs[j] for j in order[i : i + args.batch]]
            width = max(len(s[0]) for s in batch)
            ids = torch.tensor([s[0] + [tok.pad_token_id] * (width - len(s[0])) for s in batch])
            labels = torch.tensor([s[1] + [-100] * (width - len(s[1])) for s in batch])
            mask = torch.tensor([[1] * len(s[0]) + [0] * (width - len(s[0])) for s in batch])
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            tokens += int(mask.sum())
    return tokens / (time.perf_counter() - t0), tokens


def ours(model_dir: Path, train: Path, validation: Path, work: Path, run: int, args: argparse.Namespace) -> float:
    out = work / f"out-{run}"
    cfg = job_config(str(model_dir), str(train), str(out),
                     dataset={"validation": str(validation), "format": "prompt-completion"},
                     training={"epochs": args.epochs, "batchSize": args.batch, "checkpointEverySteps": 100000,
                               "progressEverySteps": 100000},
                     evaluation={"maxExamples": 1, "maxNewTokens": 1, "baseline": False})
    code = cli.main(["--config", str(write_config(work / f"job-{run}.json", cfg)), "--workdir", str(work / "w")])
    if code != 0:
        raise SystemExit(f"trainer failed with exit code {code}")
    return float(json.loads((out / "progress.json").read_text())["tokensPerSecond"])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--examples", type=int, default=480)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--repeats", type=int, default=6)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model_dir = build_model(work / "model", hidden=args.hidden, layers=args.layers)
        train = write_jsonl(work / "train.jsonl", "prompt-completion", args.examples, seed=1)
        validation = write_jsonl(work / "validation.jsonl", "prompt-completion", 4, seed=2)
        plain_runs: list[float] = []
        our_runs: list[float] = []
        cpu_ratios: list[float] = []
        for run in range(args.repeats):
            cpu: dict[str, float] = {}

            def run_plain(cpu: dict[str, float] = cpu) -> None:
                c0 = time.process_time()
                plain_runs.append(plain_peft(model_dir, train, args)[0])
                cpu["plain"] = time.process_time() - c0

            def run_ours(cpu: dict[str, float] = cpu, run: int = run) -> None:
                c0 = time.process_time()
                our_runs.append(ours(model_dir, train, validation, work, run, args))
                cpu["ours"] = time.process_time() - c0

            # Alternate the order so that warm-up and drifting machine load hit both sides alike.
            for step in (run_plain, run_ours) if run % 2 == 0 else (run_ours, run_plain):
                step()
            # Both sides train on identical batches (same seed, same order), so the same tokens.
            # CPU seconds hardly depend on other load on the machine. Ours cover the whole job
            # (config, data, model load, final checkpoint, adapter, manifest), the plain side only
            # model load and training: an upper bound on the trainer's overhead.
            cpu_ratios.append(cpu["plain"] / cpu["ours"])
            print(f"run {run}: plain {plain_runs[-1]:.0f} tok/s, trainer {our_runs[-1]:.0f} tok/s, "
                  f"CPU-time ratio {cpu_ratios[-1]:.3f}", file=sys.stderr, flush=True)
    # The headline ratio is the median over back-to-back pairs (each pair sees about the same
    # machine load); best-of-N and CPU-time ratios are shown as cross-checks.
    ratio = statistics.median(o / p for o, p in zip(our_runs, plain_runs))
    result = {"device": "cuda" if torch.cuda.is_available() else "cpu", "threads": torch.get_num_threads(),
              "repeats": args.repeats, "plainTokensPerSecond": round(statistics.median(plain_runs), 1),
              "trainerTokensPerSecond": round(statistics.median(our_runs), 1), "ratio": round(ratio, 4),
              "overheadPercent": round(100 * (1 - ratio), 2),
              "bestOfRatio": round(max(our_runs) / max(plain_runs), 4),
              "medianCpuTimeRatio": round(statistics.median(cpu_ratios), 4),
              "plainRuns": [round(x, 1) for x in plain_runs], "trainerRuns": [round(x, 1) for x in our_runs]}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
