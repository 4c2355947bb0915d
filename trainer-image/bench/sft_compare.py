"""The trainer against TRL's SFTTrainer: same model, data, LoRA config and effective batch, same run.

Each measurement runs in its own process (peak memory is per process), alternating the two sides;
tokens/s counts the tokens of the training sequences (no padding) over the training loop only, and
peak memory is CUDA's max_memory_allocated on a GPU, the process's peak RSS on CPU. The ratio is
the median of back-to-back pairs (trainer / SFTTrainer). Also prints MFU (6 x parameters x tokens/s
over the GPU's dense bf16 peak) on a GPU and whether the loss fell.

    python bench/sft_compare.py --preset tiny            # CPU, a few minutes
    python bench/sft_compare.py --preset 1b --methods lora,qlora --repeats 1   # one GPU (hack/gpu-check.sh)
    python bench/sft_compare.py --preset 1b --methods fsdp --repeats 1   # two GPUs (or CPU, gloo)

Method fsdp compares the trainer with itself: two workers with hardware.strategy fsdp against two
DDP workers (the baseline, side "ddp"), same data and batch; peak memory is the manifest's
peakGpuMemoryBytes (the most any rank held; null on CPU).

TRL is not a trainer dependency: run this with a Python that has trl too (hack/gpu-check.sh makes
one; on this machine: a venv whose .pth points at the test venv, plus `pip install trl`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent / "src"))

PRESETS: dict[str, dict[str, int]] = {
    # A 2-layer toy: seconds per run on a CPU.
    "tiny": {"hidden": 128, "layers": 2, "heads": 4, "kv": 2, "inter": 256, "vocab": 0, "examples": 256,
             "batch": 8, "accum": 2, "max_len": 256, "pairs": 12},
    # Llama 3.2 1B's shape (16 layers, hidden 2048, GQA 32/8, MLP 8192) with a 32k vocabulary, random weights.
    "1b": {"hidden": 2048, "layers": 16, "heads": 32, "kv": 8, "inter": 8192, "vocab": 32000, "examples": 512,
           "batch": 8, "accum": 2, "max_len": 1024, "pairs": 60},
}
PEAK_BF16 = {  # dense bf16 tensor FLOP/s
    "H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "L4": 121e12, "A10": 125e12,
    "RTX 6000 Ada": 364e12, "B200": 2250e12, "T4": 65e12,
}
LORA = {"r": 16, "alpha": 32, "dropout": 0.05}


def build(work: Path, p: dict[str, int], cuda: bool) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from helpers import build_tokenizer

    out = work / "model"
    out.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer(out)
    cfg = LlamaConfig(vocab_size=max(len(tok), p["vocab"]), hidden_size=p["hidden"], intermediate_size=p["inter"],
                      num_hidden_layers=p["layers"], num_attention_heads=p["heads"], num_key_value_heads=p["kv"],
                      max_position_embeddings=max(2048, p["max_len"]), bos_token_id=tok.bos_token_id,
                      eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, tie_word_embeddings=False)
    torch.manual_seed(0)
    with torch.device("cuda" if cuda else "cpu"):
        model = LlamaForCausalLM(cfg)
    if cuda:
        model = model.to(torch.bfloat16)
    model.save_pretrained(str(out))
    return out


def data(work: Path, p: dict[str, int]) -> Path:
    """Prompt-completion records of varied length (as real data is): a list of people in, JSON out."""
    from helpers import CITIES, NAMES

    rng = random.Random(1)
    path = work / "train.jsonl"
    with path.open("w") as f:
        for _ in range(p["examples"]):
            people = [(rng.choice(NAMES), rng.choice(CITIES)) for _ in range(rng.randint(1, p["pairs"]))]
            prompt = "; ".join(f"name: {n}; city: {c}" for n, c in people)
            completion = json.dumps([{"name": n, "city": c} for n, c in people])
            f.write(json.dumps({"prompt": prompt, "completion": completion}) + "\n")
    return path


def peak_memory() -> int:
    import torch

    if torch.cuda.is_available():
        return int(torch.cuda.max_memory_allocated())
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def ours(model: Path, train: Path, work: Path, method: str, p: dict[str, int],
         strategy: str | None = None) -> dict[str, Any]:
    from finetune_trainer import cli
    from helpers import job_config, write_config

    out = work / f"ours-{method}-{strategy}-{time.monotonic_ns()}"
    # Two workers sharing the global batch: the per-worker batch is halved.
    hardware = {"count": 2, "strategy": strategy} if strategy else {}
    batch = p["batch"] // 2 if strategy else p["batch"]
    cfg = job_config(str(model), str(train), str(out), dataset={"format": "prompt-completion", "validationSplit": 0.02},
                     hardware=hardware,
                     method={"type": "lora" if strategy else method, "rank": LORA["r"], "alpha": LORA["alpha"],
                             "dropout": LORA["dropout"]},
                     training={"epochs": 1, "batchSize": batch, "gradientAccumulation": p["accum"],
                               "maxSequenceLength": p["max_len"], "learningRate": 2e-4,
                               "checkpointEverySteps": 100000, "progressEverySteps": 1},
                     evaluation={"maxExamples": 1, "maxNewTokens": 1, "baseline": False})
    if os.environ.get("FINETUNE_ALLOW_CPU") is None:
        os.environ["FINETUNE_ALLOW_CPU"] = "true"
    code = cli.main(["--config", str(write_config(work / f"{out.name}.json", cfg)), "--workdir", str(work / "w")])
    if code != 0:
        raise SystemExit(f"trainer failed with exit code {code}")
    progress = json.loads((out / "progress.json").read_text())
    loss = [json.loads(x)["loss"] for x in (out / "metrics.jsonl").read_text().splitlines()]
    loss = [x for x in loss if x is not None]
    r = {"tokensPerSecond": progress["tokensPerSecond"], "firstLoss": loss[0], "lastLoss": loss[-1]}
    if strategy:  # the workers' memory, not this launcher's
        r["peakMemoryBytes"] = json.loads((out / "manifest.json").read_text())["metrics"]["peakGpuMemoryBytes"]
    return r


def trl(model: Path, train: Path, work: Path, method: str, p: dict[str, int]) -> dict[str, Any]:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    cuda = torch.cuda.is_available()
    rows = [json.loads(x) for x in train.read_text().splitlines()]
    rows = rows[: len(rows) - max(1, round(len(rows) * 0.02))]  # the trainer holds out 2%
    tok = AutoTokenizer.from_pretrained(str(model))
    kwargs: dict[str, Any] = {"dtype": torch.bfloat16 if cuda else torch.float32}
    if method == "qlora":
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                           bnb_4bit_use_double_quant=True,
                                                           bnb_4bit_compute_dtype=torch.bfloat16)
        kwargs["device_map"] = {"": 0}
    m = AutoModelForCausalLM.from_pretrained(str(model), **kwargs)
    args = SFTConfig(output_dir=str(work / "trl"), per_device_train_batch_size=p["batch"],
                     gradient_accumulation_steps=p["accum"], num_train_epochs=1, learning_rate=2e-4,
                     lr_scheduler_type="linear", warmup_steps=0.03, weight_decay=0.0, max_length=p["max_len"],
                     completion_only_loss=True, packing=False, bf16=cuda, gradient_checkpointing=cuda,
                     logging_steps=1, save_strategy="no", report_to="none", seed=7, dataloader_num_workers=0,
                     use_cpu=not cuda)
    lora = LoraConfig(r=LORA["r"], lora_alpha=LORA["alpha"], lora_dropout=LORA["dropout"],
                      target_modules="all-linear", task_type="CAUSAL_LM")
    trainer = SFTTrainer(model=m, args=args, train_dataset=Dataset.from_list(rows), processing_class=tok,
                         peft_config=lora)
    tokens = sum(len(x) for x in trainer.train_dataset["input_ids"])
    result = trainer.train()
    loss = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return {"tokensPerSecond": tokens / result.metrics["train_runtime"], "firstLoss": loss[0], "lastLoss": loss[-1]}


def one(args: argparse.Namespace) -> None:
    """A single measurement (child process): prints one JSON line."""
    import torch

    p = PRESETS[args.preset]
    work = Path(args.work)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    if args.method == "fsdp":  # two workers: fsdp (side ours) against ddp (side ddp)
        r = ours(work / "model", work / "train.jsonl", work, "lora", p, "fsdp" if args.one == "ours" else "ddp")
    else:
        fn = ours if args.one == "ours" else trl
        r = fn(work / "model", work / "train.jsonl", work, args.method, p)
        r["peakMemoryBytes"] = peak_memory()
    print("RESULT " + json.dumps(r), flush=True)


def params_of(model: Path) -> int:
    from safetensors import safe_open

    n = 0
    for f in model.glob("*.safetensors"):
        with safe_open(str(f), "pt") as st:
            for k in st.keys():
                if "embed_tokens" not in k:
                    shape = st.get_slice(k).get_shape()
                    size = 1
                    for d in shape:
                        size *= d
                    n += size
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    ap.add_argument("--methods", default="lora", help="comma-separated: lora, qlora (GPU), fsdp (2 GPUs or CPU)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-trl", action="store_true", help="the trainer alone (no TRL in this Python)")
    ap.add_argument("--one", choices=["ours", "trl", "ddp"], help=argparse.SUPPRESS)
    ap.add_argument("--method", default="lora", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        one(args)
        return
    import torch

    cuda = torch.cuda.is_available()
    p = PRESETS[args.preset]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        model = build(work, p, cuda)
        data(work, p)
        n_params = params_of(model)
        print(f"model: {n_params / 1e6:.1f}M non-embedding parameters, built in {time.perf_counter() - t0:.0f}s",
              file=sys.stderr, flush=True)
        gpu = torch.cuda.get_device_name(0) if cuda else None
        peak = next((v for k, v in PEAK_BF16.items() if gpu and k in gpu), None)
        summary: dict[str, Any] = {"device": gpu or "cpu", "preset": args.preset, "nonEmbeddingParams": n_params,
                                   "lora": LORA, "batch": p["batch"], "gradientAccumulation": p["accum"],
                                   "maxSequenceLength": p["max_len"], "methods": {}}
        for method in args.methods.split(","):
            sides = ["ours", "ddp"] if method == "fsdp" else ["ours"] if args.no_trl else ["ours", "trl"]
            runs: dict[str, list[dict[str, Any]]] = {s: [] for s in sides}
            for rep in range(args.repeats):
                for side in sides if rep % 2 == 0 else list(reversed(sides)):
                    env = dict(os.environ, PYTHONUNBUFFERED="1")
                    res = subprocess.run([sys.executable, __file__, "--preset", args.preset, "--one", side,
                                          "--method", method, "--work", str(work)],
                                         capture_output=True, text=True, env=env)
                    line = next((x for x in res.stdout.splitlines() if x.startswith("RESULT ")), None)
                    if res.returncode != 0 or line is None:
                        print(res.stdout[-3000:], res.stderr[-6000:], file=sys.stderr)
                        raise SystemExit(f"{side} {method} failed (exit {res.returncode})")
                    r = json.loads(line[len("RESULT "):])
                    if peak:  # tokens/s of all workers over the peak of as many GPUs
                        gpus = 2 if method == "fsdp" else 1
                        r["mfu"] = round(6 * n_params * r["tokensPerSecond"] / (peak * gpus), 4)
                    r["lossFell"] = r["lastLoss"] < r["firstLoss"]
                    runs[side].append(r)
                    mib = "n/a" if r["peakMemoryBytes"] is None else f"{r['peakMemoryBytes'] / 2**20:.0f}"
                    print(f"{method} {side}: {r['tokensPerSecond']:.1f} tok/s, peak {mib}"
                          f" MiB, loss {r['firstLoss']:.3f} -> {r['lastLoss']:.3f}"
                          + (f", MFU {r['mfu']:.1%}" if "mfu" in r else ""), file=sys.stderr, flush=True)
            entry: dict[str, Any] = {}
            for s, v in runs.items():
                mem = [x["peakMemoryBytes"] for x in v if x["peakMemoryBytes"] is not None]
                entry[s] = {"tokensPerSecond": round(statistics.median(x["tokensPerSecond"] for x in v), 1),
                            "peakMemoryMiB": round(statistics.median(mem) / 2**20) if mem else None,
                            "lossFell": all(x["lossFell"] for x in v)}
                if peak:
                    entry[s]["mfu"] = statistics.median(x["mfu"] for x in v)
            if len(sides) == 2:  # ours / the baseline (TRL, or DDP for fsdp), pair by pair
                base = runs[sides[1]]
                entry["baseline"] = sides[1]
                entry["throughputRatio"] = round(statistics.median(
                    o["tokensPerSecond"] / t["tokensPerSecond"] for o, t in zip(runs["ours"], base)), 3)
                mem = [o["peakMemoryBytes"] / t["peakMemoryBytes"] for o, t in zip(runs["ours"], base)
                       if o["peakMemoryBytes"] and t["peakMemoryBytes"]]
                entry["peakMemoryRatio"] = round(statistics.median(mem), 3) if mem else None
            summary["methods"][method] = entry
        print(json.dumps(summary, indent=2))
        failed = [f"{m} {s}" for m, e in summary["methods"].items() for s, v in e.items()
                  if isinstance(v, dict) and not v["lossFell"]]
        if failed:
            raise SystemExit(f"loss did not fall: {', '.join(failed)}")


if __name__ == "__main__":
    main()
