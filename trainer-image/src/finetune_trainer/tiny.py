"""Tiny Llama-architecture models and BPE tokenizers, built locally from text (nothing downloaded).

For local clusters and tests: a model of this shape trains in seconds on a CPU, goes through the same
code paths as a real checkpoint (config.json, safetensors weights, a fast tokenizer, a chat template)
and learns a small task well enough to show a ROUGE gain.

    python -m finetune_trainer.tiny --out DIR [--chat-template] DATA.jsonl...
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
ROLE_MARKERS = ["<|user|>", "<|assistant|>", "<|system|>", "User: ", "Assistant: ", "System: "]


def build_tokenizer(corpus: Iterable[str], out: Path, chat_template: str | None = None,
                    vocab_size: int = 400, extra_special: Iterable[str] = ()) -> Any:
    """A byte-level BPE tokenizer trained on corpus, saved to out; extra_special are added as
    special tokens (e.g. a turn terminator other than EOS)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(list(corpus) + ROLE_MARKERS, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>",
                                   pad_token="<pad>")
    extra = list(extra_special)
    if extra:
        fast.add_special_tokens({"additional_special_tokens": extra})
    if chat_template:
        fast.chat_template = chat_template
    fast.save_pretrained(str(out))
    return fast


def build_model(out: Path, tokenizer: Any, hidden: int = 64, layers: int = 2) -> Path:
    """A randomly initialised Llama with tokenizer's vocabulary, saved (safetensors) next to it."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2,
                      num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=256, bos_token_id=tokenizer.bos_token_id,
                      eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                      tie_word_embeddings=False)
    model = LlamaForCausalLM(cfg)
    with torch.no_grad():
        # A random lm_head of std 0.02 cannot express confident predictions (logits stay near uniform,
        # loss near log(vocab)) whatever the adapter learns; give it the scale of a trained head.
        model.lm_head.weight.normal_(0.0, 0.5)
    model.save_pretrained(str(out))
    return out


def strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON value (the texts of any dataset format)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def corpus_of(paths: Iterable[Path]) -> list[str]:
    out: list[str] = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.extend(strings(json.loads(line)))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m finetune_trainer.tiny", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="directory to write the model and tokenizer to")
    p.add_argument("--chat-template", action="store_true", help="give the tokenizer a chat template")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("data", type=Path, nargs="+", help="JSONL files whose texts train the tokenizer")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer(corpus_of(args.data), args.out, CHAT_TEMPLATE if args.chat_template else None)
    build_model(args.out, tok, args.hidden, args.layers)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
