"""Tiny models, tokenizers and data built locally for the tests (nothing is downloaded)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from finetune_trainer import tiny

NAMES = ["Alice", "Bruno", "Chen", "Dara", "Elif", "Farah", "Goran", "Hana", "Ivan", "Jonas", "Kemal", "Lena",
         "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Vera", "Wen", "Yusuf"]
CITIES = ["Paris", "Lima", "Oslo", "Cairo", "Tokyo", "Quito", "Dakar", "Hanoi", "Porto", "Seoul", "Rome",
          "Accra", "Baku", "Bern", "Doha", "Kyiv", "Lagos", "Minsk", "Nice", "Riga"]
SYSTEM = "Answer with JSON."
CHAT_TEMPLATE = tiny.CHAT_TEMPLATE
# Turns end with <|end|>, not EOS (as Phi-3's <|end|>, Llama 3's <|eot_id|>, Gemma's <end_of_turn>).
END_TOKEN = "<|end|>"
END_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def pairs(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [(rng.choice(NAMES), rng.choice(CITIES)) for _ in range(n)]


def prompt_of(name: str, city: str) -> str:
    return f"name: {name}; city: {city}"


def answer_of(name: str, city: str) -> str:
    return json.dumps({"name": name, "city": city})


def record(fmt: str, name: str, city: str) -> dict[str, Any]:
    p, a = prompt_of(name, city), answer_of(name, city)
    if fmt == "prompt-completion":
        return {"prompt": p, "completion": a}
    if fmt == "messages":
        return {"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": p},
                             {"role": "assistant", "content": a}]}
    if fmt == "gemini":
        return {"systemInstruction": {"parts": [{"text": SYSTEM}]},
                "contents": [{"role": "user", "parts": [{"text": p}]}, {"role": "model", "parts": [{"text": a}]}]}
    raise ValueError(fmt)


def write_jsonl(path: Path, fmt: str, n: int, seed: int) -> Path:
    path.write_text("".join(json.dumps(record(fmt, *pc)) + "\n" for pc in pairs(n, seed)))
    return path


def build_tokenizer(out: Path, chat_template: str | None = None, extra_special: tuple[str, ...] = ()) -> Any:
    corpus = []
    for name, city in pairs(400, 99):
        corpus += [prompt_of(name, city), answer_of(name, city), SYSTEM, "User: ", "Assistant: ", "System: "]
    return tiny.build_tokenizer(corpus + NAMES + CITIES, out, chat_template, extra_special=extra_special)


def build_model(out: Path, chat_template: str | None = None, hidden: int = 64, layers: int = 2,
                extra_special: tuple[str, ...] = ()) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    return tiny.build_model(out, build_tokenizer(out, chat_template, extra_special), hidden, layers)


def job_config(model_source: str, train: str, output: str, **over: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "apiVersion": "finetune.dev/job-config/v1",
        "job": {"name": "tiny", "namespace": "test", "uid": "0000", "image": "trainer:test"},
        "model": {"source": model_source},
        "dataset": {"train": train, "format": "auto", "validationSplit": 0.1},
        "method": {"type": "lora", "rank": 8, "alpha": 16, "dropout": 0.05, "targetModules": ["all-linear"]},
        "training": {"epochs": 1, "learningRate": 0.005, "batchSize": 8, "gradientAccumulation": 1,
                     "maxSequenceLength": 64, "seed": 7, "checkpointEverySteps": 50, "keepCheckpoints": 2,
                     "progressEverySteps": 2},
        "evaluation": {"maxExamples": 8, "maxNewTokens": 20, "baseline": True, "batchSize": 8},
        "output": output,
    }
    for key, value in over.items():
        if isinstance(value, dict):
            cfg.setdefault(key, {}).update(value)
        else:
            cfg[key] = value
    return cfg


def write_config(path: Path, cfg: dict[str, Any]) -> Path:
    path.write_text(json.dumps(cfg, indent=2))
    return path
