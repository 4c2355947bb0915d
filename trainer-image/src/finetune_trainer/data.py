"""JSONL datasets: parsing the supported formats, prompt rendering and tokenization."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from typing import Any

from finetune_trainer import storage
from finetune_trainer.errors import DataError

FORMATS = ("prompt-completion", "messages", "gemini")
_ROLES = {"system", "user", "assistant"}


@dataclass(frozen=True)
class Example:
    id: str
    line: int
    # The conversation before the answer: [{"role": "system|user|assistant", "content": str}]
    prompt: list[dict[str, str]]
    answer: str
    raw_prompt: str | None = None  # prompt-completion: the prompt text as given


@dataclass
class Dataset:
    uri: str
    sha256: str
    format: str
    examples: list[Example] = field(default_factory=list)


def detect_format(obj: Any, path: str, line: int) -> str:
    if isinstance(obj, dict):
        if "messages" in obj:
            return "messages"
        if "contents" in obj:
            return "gemini"
        if "prompt" in obj and "completion" in obj:
            return "prompt-completion"
    raise DataError(path, line, "cannot detect the dataset format: expected keys prompt/completion, "
                    "messages, or contents")


def _text(value: Any, path: str, line: int, what: str) -> str:
    if not isinstance(value, str):
        raise DataError(path, line, f"{what} must be a string")
    return value


def _parse_prompt_completion(obj: dict[str, Any], path: str, line: int) -> tuple[list[dict[str, str]], str, str]:
    for key in ("prompt", "completion"):
        if key not in obj:
            raise DataError(path, line, f'missing "{key}"')
    prompt = _text(obj["prompt"], path, line, '"prompt"')
    completion = _text(obj["completion"], path, line, '"completion"')
    if not completion.strip():
        raise DataError(path, line, '"completion" is empty')
    return [{"role": "user", "content": prompt}], completion, prompt


def _parse_messages(obj: dict[str, Any], path: str, line: int) -> tuple[list[dict[str, str]], str, None]:
    msgs = obj.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise DataError(path, line, '"messages" must be a non-empty array')
    turns: list[dict[str, str]] = []
    for i, m in enumerate(msgs):
        if not isinstance(m, dict):
            raise DataError(path, line, f"messages[{i}] must be an object")
        role = m.get("role")
        if role not in _ROLES:
            raise DataError(path, line, f"messages[{i}].role must be one of system, user, assistant")
        turns.append({"role": role, "content": _text(m.get("content"), path, line, f"messages[{i}].content")})
    return _split_answer(turns, path, line)


def _parse_gemini(obj: dict[str, Any], path: str, line: int) -> tuple[list[dict[str, str]], str, None]:
    turns: list[dict[str, str]] = []
    system = obj.get("systemInstruction")
    if system is not None:
        if not isinstance(system, dict) or not isinstance(system.get("parts"), list):
            raise DataError(path, line, '"systemInstruction" must be an object with "parts"')
        turns.append({"role": "system", "content": _parts(system["parts"], path, line, "systemInstruction")})
    contents = obj.get("contents")
    if not isinstance(contents, list) or not contents:
        raise DataError(path, line, '"contents" must be a non-empty array')
    for i, c in enumerate(contents):
        if not isinstance(c, dict):
            raise DataError(path, line, f"contents[{i}] must be an object")
        role = c.get("role")
        if role not in ("user", "model"):
            raise DataError(path, line, f"contents[{i}].role must be user or model")
        parts = c.get("parts")
        if not isinstance(parts, list) or not parts:
            raise DataError(path, line, f"contents[{i}].parts must be a non-empty array")
        turns.append({"role": "assistant" if role == "model" else "user",
                      "content": _parts(parts, path, line, f"contents[{i}]")})
    return _split_answer(turns, path, line, answer_role="model")


def _parts(parts: list[Any], path: str, line: int, what: str) -> str:
    texts = []
    for j, p in enumerate(parts):
        if not isinstance(p, dict) or not isinstance(p.get("text"), str):
            raise DataError(path, line, f'{what}.parts[{j}] must be an object with a string "text"')
        texts.append(p["text"])
    return "".join(texts)


def _split_answer(turns: list[dict[str, str]], path: str, line: int,
                  answer_role: str = "assistant") -> tuple[list[dict[str, str]], str, None]:
    last = max((i for i, t in enumerate(turns) if t["role"] == "assistant"), default=None)
    if last is None:
        raise DataError(path, line, f"no {answer_role} turn to learn from")
    if not any(t["role"] == "user" for t in turns[:last]):
        raise DataError(path, line, f"the last {answer_role} turn has no user turn before it")
    if not turns[last]["content"].strip():
        raise DataError(path, line, f"the last {answer_role} turn is empty")
    return turns[:last], turns[last]["content"], None


_PARSERS = {
    "prompt-completion": _parse_prompt_completion,
    "messages": _parse_messages,
    "gemini": _parse_gemini,
}


def parse_jsonl(data: bytes, path: str, fmt: str, id_prefix: str) -> tuple[str, list[Example]]:
    """Parses JSONL bytes; returns the (resolved) format and the examples."""
    try:
        text = data.decode("utf-8-sig")  # tolerate a byte order mark
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise DataError(path, line, "not valid UTF-8") from e
    examples: list[Example] = []
    resolved = None if fmt == "auto" else fmt
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(path, lineno, f"invalid JSON: {e.msg} (column {e.colno})") from e
        if not isinstance(obj, dict):
            raise DataError(path, lineno, "each line must be a JSON object")
        if resolved is None:
            resolved = detect_format(obj, path, lineno)
        prompt, answer, raw_prompt = _PARSERS[resolved](obj, path, lineno)
        examples.append(Example(f"{id_prefix}-{lineno}", lineno, prompt, answer, raw_prompt))
    if not examples:
        raise DataError(path, None, "no examples (the file is empty)")
    return resolved or fmt, examples


def load_dataset(uri: str, fmt: str, id_prefix: str) -> Dataset:
    try:
        data = storage.read_bytes(uri)
    except FileNotFoundError as e:
        raise DataError(uri, None, "file not found") from e
    except Exception as e:  # gs:// NotFound and friends
        if type(e).__name__ in ("NotFound", "Forbidden"):
            raise DataError(uri, None, f"cannot read: {e}") from e
        raise
    resolved, examples = parse_jsonl(data, uri, fmt, id_prefix)
    return Dataset(uri, hashlib.sha256(data).hexdigest(), resolved, examples)


def split_train_eval(examples: list[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """A deterministic hold-out of `fraction` of train (at least one example, at most n-1)."""
    n = len(examples)
    if n < 2:
        return examples, []
    k = min(n - 1, max(1, round(n * fraction)))
    order = list(range(n))
    random.Random(seed).shuffle(order)
    held = set(order[:k])
    return [e for i, e in enumerate(examples) if i not in held], [e for i, e in enumerate(examples) if i in held]


# --- rendering ---------------------------------------------------------------------------

_PLAIN_ROLE = {"system": "System", "user": "User", "assistant": "Assistant"}


def render_prompt(tokenizer: Any, ex: Example) -> tuple[str, bool]:
    """The prompt text and whether it already carries the special tokens (chat template)."""
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(ex.prompt, tokenize=False, add_generation_prompt=True)
        return text, True
    if ex.raw_prompt is not None:
        return ex.raw_prompt + "\n", False
    parts = [f"{_PLAIN_ROLE[t['role']]}: {t['content']}" for t in ex.prompt]
    return "\n".join(parts) + "\nAssistant: ", False


def prompt_ids(tokenizer: Any, ex: Example) -> list[int]:
    text, templated = render_prompt(tokenizer, ex)
    return list(tokenizer(text, add_special_tokens=not templated)["input_ids"])


@dataclass(frozen=True)
class Tokenized:
    input_ids: list[int]
    labels: list[int]


def tokenize_example(tokenizer: Any, ex: Example, max_len: int) -> Tokenized:
    p = prompt_ids(tokenizer, ex)
    a = list(tokenizer(ex.answer, add_special_tokens=False)["input_ids"])
    if tokenizer.eos_token_id is not None:
        a.append(tokenizer.eos_token_id)
    # Keep the answer: cut the prompt from the left first, then the answer from the right.
    keep_prompt = max(max_len - len(a), max_len // 2)
    if len(p) > keep_prompt:
        p = p[len(p) - keep_prompt :]
    ids = (p + a)[:max_len]
    labels = ([-100] * len(p) + a)[:max_len]
    return Tokenized(ids, labels)
