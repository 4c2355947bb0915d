"""JSONL datasets: parsing the supported formats, prompt rendering and tokenization."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from typing import Any

from finetune_trainer import storage
from finetune_trainer.errors import ConfigError, DataError

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


def _apply_template(tokenizer: Any, turns: list[dict[str, str]], generation_prompt: bool, what: str) -> str:
    try:
        return tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=generation_prompt)
    except Exception as e:  # jinja2.TemplateError and friends: the same error on every retry
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise ConfigError(f"the model's chat template fails on {what}: {type(e).__name__}: {first}") from e


def render_prompt(tokenizer: Any, ex: Example) -> tuple[str, bool]:
    """The prompt text and whether it already carries the special tokens (chat template)."""
    if getattr(tokenizer, "chat_template", None):
        return _apply_template(tokenizer, ex.prompt, True, f"example {ex.id} (line {ex.line})"), True
    if ex.raw_prompt is not None:
        return ex.raw_prompt + "\n", False
    parts = [f"{_PLAIN_ROLE[t['role']]}: {t['content']}" for t in ex.prompt]
    return "\n".join(parts) + "\nAssistant: ", False


def prompt_ids(tokenizer: Any, ex: Example) -> list[int]:
    text, templated = render_prompt(tokenizer, ex)
    return list(tokenizer(text, add_special_tokens=not templated)["input_ids"])


_MARK = "\u2063answer\u2063"


def turn_terminator(tokenizer: Any) -> list[int]:
    """The token that ends an assistant turn: the chat template's (Llama 3 <|eot_id|>, Gemma
    <end_of_turn>, Phi-3 <|end|>) when there is a template, else EOS. Training appends it to every
    answer; generation stops on it."""
    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    if not getattr(tokenizer, "chat_template", None):
        return eos
    text = _apply_template(tokenizer, [{"role": "user", "content": "hi"}, {"role": "assistant", "content": _MARK}],
                           False, "a user turn followed by an assistant turn")
    at = text.rfind(_MARK)
    if at < 0:
        return eos
    suffix = list(tokenizer(text[at + len(_MARK):], add_special_tokens=False)["input_ids"])
    special = set(tokenizer.all_special_ids)
    special |= {i for i, t in getattr(tokenizer, "added_tokens_decoder", {}).items() if getattr(t, "special", False)}
    if suffix and suffix[0] in special:
        return [suffix[0]]
    return eos


def end_token_ids(tokenizer: Any, generation_config: Any = None) -> list[int]:
    """Every token generation stops on: the model's generation_config eos ids, EOS and the turn terminator."""
    ids: list[int] = []
    configured = getattr(generation_config, "eos_token_id", None) if generation_config is not None else None
    for value in (configured, tokenizer.eos_token_id, turn_terminator(tokenizer)):
        for i in (value if isinstance(value, (list, tuple)) else [value]):
            if i is not None and int(i) not in ids:
                ids.append(int(i))
    return ids


@dataclass(frozen=True)
class Tokenized:
    input_ids: list[int]
    labels: list[int]
    truncated: bool = False

    @property
    def answer_tokens(self) -> int:
        # Label i is predicted at position i - 1: the first label never counts.
        return sum(1 for x in self.labels[1:] if x != -100)


def fit_prompt(ids: list[int], n: int) -> list[int]:
    """At most n tokens of a prompt: its head (BOS, system prompt, instruction) and its end (the
    turn that asks for the answer and the generation prompt); the middle goes."""
    if len(ids) <= n:
        return ids
    tail = n // 2
    return ids[: n - tail] + (ids[len(ids) - tail :] if tail else [])


def tokenize_example(tokenizer: Any, ex: Example, max_len: int, terminator: list[int] | None = None) -> Tokenized:
    """Prompt tokens (label -100), then the answer and the turn terminator.

    Too long: the prompt keeps its head and end (at least half of max_len when the answer is long),
    the answer keeps its beginning and always ends with the terminator. ``truncated`` says so."""
    if terminator is None:
        terminator = turn_terminator(tokenizer)
    p = prompt_ids(tokenizer, ex)
    a = list(tokenizer(ex.answer, add_special_tokens=False)["input_ids"])
    if terminator and a[-len(terminator):] != terminator:
        a += terminator
    truncated = len(p) + len(a) > max_len
    if truncated:
        p = fit_prompt(p, min(len(p), max(max_len - len(a), max_len // 2)))
        room = max_len - len(p)
        if len(a) > room:
            a = a[: max(0, room - len(terminator))] + terminator
    return Tokenized(p + a, [-100] * len(p) + a, truncated)
