"""Answer-only labels, the turn terminator, truncation, batches and the loss, on tiny local tokenizers."""

from __future__ import annotations

import pytest
import torch

from finetune_trainer import evaluate
from finetune_trainer.data import Example, end_token_ids, fit_prompt, tokenize_example, turn_terminator
from finetune_trainer.errors import ConfigError
from helpers import CHAT_TEMPLATE, END_TEMPLATE, END_TOKEN, build_tokenizer


@pytest.fixture(scope="module")
def end_tok(tmp_path_factory):
    """Chat template whose turns end with <|end|>, a special token that is not EOS."""
    return build_tokenizer(tmp_path_factory.mktemp("tok-end"), END_TEMPLATE, (END_TOKEN,))


@pytest.fixture(scope="module")
def plain_tok(tmp_path_factory):
    return build_tokenizer(tmp_path_factory.mktemp("tok-plain"))


def example(user: str = "name: Alice; city: Paris", answer: str = '{"name": "Alice"}',
            system: str | None = "Answer with JSON.") -> Example:
    prompt = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]
    return Example("train-1", 1, prompt, answer)


def test_training_ends_answers_with_the_templates_turn_terminator_not_eos(end_tok):
    end = end_tok.convert_tokens_to_ids(END_TOKEN)
    assert end != end_tok.eos_token_id
    assert turn_terminator(end_tok) == [end]
    t = tokenize_example(end_tok, example(), 64)
    assert t.input_ids[-1] == end and end_tok.eos_token_id not in t.input_ids
    answer = end_tok('{"name": "Alice"}', add_special_tokens=False)["input_ids"] + [end]
    n_prompt = len(t.input_ids) - len(answer)
    # Labels: -100 over the whole prompt (system, user, generation prompt), the answer and its terminator after.
    assert t.labels == [-100] * n_prompt + answer and t.input_ids[n_prompt:] == answer
    assert end_tok.decode(t.input_ids[:n_prompt]).endswith("<|assistant|>\n")
    assert not t.truncated and t.answer_tokens == len(answer)


def test_generation_stops_on_generation_config_eos_and_the_turn_terminator(end_tok):
    class GenerationConfig:
        eos_token_id = [end_tok.eos_token_id, 7]

    end = end_tok.convert_tokens_to_ids(END_TOKEN)
    ids = end_token_ids(end_tok, GenerationConfig())
    assert set(ids) == {end_tok.eos_token_id, 7, end} and len(ids) == 3


def test_without_a_template_the_answer_ends_with_eos(plain_tok):
    t = tokenize_example(plain_tok, example(system=None), 64)
    assert t.input_ids[-1] == plain_tok.eos_token_id and t.labels[-1] == plain_tok.eos_token_id
    assert turn_terminator(plain_tok) == [plain_tok.eos_token_id]


def test_the_tiny_template_ends_turns_with_eos(tmp_path):
    tok = build_tokenizer(tmp_path, CHAT_TEMPLATE)
    assert turn_terminator(tok) == [tok.eos_token_id]


def test_a_long_prompt_keeps_its_head_and_its_end(end_tok):
    user = "city: Paris; " * 40 + "name: Alice"
    full = tokenize_example(end_tok, example(user=user), 4096)
    t = tokenize_example(end_tok, example(user=user), 48)
    assert t.truncated and not full.truncated and len(t.input_ids) == 48
    answer = [x for x in full.labels if x != -100]
    assert [x for x in t.labels if x != -100] == answer  # the answer is whole
    n_prompt = len(t.input_ids) - len(answer)
    full_prompt = full.input_ids[: len(full.input_ids) - len(answer)]
    head = n_prompt - n_prompt // 2
    # The head (system prompt and the start of the instruction) and the end (the generation prompt) stay.
    assert t.input_ids[:head] == full_prompt[:head]
    assert t.input_ids[head:n_prompt] == full_prompt[len(full_prompt) - n_prompt // 2 :]
    assert end_tok.decode(t.input_ids[:head]).startswith("<|system|>\nAnswer with JSON.")
    assert end_tok.decode(t.input_ids[:n_prompt]).endswith("<|assistant|>\n")


def test_a_long_answer_keeps_its_beginning_and_the_terminator(end_tok):
    end = end_tok.convert_tokens_to_ids(END_TOKEN)
    answer = " ".join(["Alice Paris"] * 60)
    t = tokenize_example(end_tok, example(answer=answer), 40)
    assert t.truncated and len(t.input_ids) == 40
    labels = [x for x in t.labels if x != -100]
    assert labels[-1] == end
    full = end_tok(answer, add_special_tokens=False)["input_ids"]
    assert labels[:-1] == full[: len(labels) - 1]
    assert sum(x == -100 for x in t.labels) >= 20  # the prompt keeps at least half of maxSequenceLength


def test_fit_prompt():
    ids = list(range(10))
    assert fit_prompt(ids, 20) == ids
    assert fit_prompt(ids, 5) == [0, 1, 2, 8, 9]


def test_a_failing_chat_template_is_a_config_error(tmp_path):
    tok = build_tokenizer(tmp_path, "{% if messages[0]['role'] == 'system' %}{{ raise_exception('no system role') }}"
                          "{% endif %}{% for m in messages %}{{ m['content'] }}</s>{% endfor %}")
    with pytest.raises(ConfigError, match="chat template fails on example train-1 .*no system role"):
        tokenize_example(tok, example(), 64)


def test_batches_mark_the_answer_positions(end_tok):
    a = tokenize_example(end_tok, example(), 64)
    b = tokenize_example(end_tok, example(user="name: Chen; city: Oslo", answer='{"name": "Chen"}'), 64)
    batch = evaluate.collate([a, b], end_tok.pad_token_id, torch.device("cpu"))
    width = max(len(a.input_ids), len(b.input_ids))
    assert batch["input_ids"].shape == (2, width)
    assert batch["attention_mask"].sum(1).tolist() == [len(a.input_ids), len(b.input_ids)]
    # The logit at position i predicts token i + 1: keep marks one before each answer token.
    rows, cols = batch["keep"].nonzero(as_tuple=True)
    assert [batch["input_ids"][r, c + 1].item() for r, c in zip(rows.tolist(), cols.tolist())] \
        == batch["targets"].tolist()
    assert len(cols) == a.answer_tokens + b.answer_tokens


def test_length_grouping_keeps_a_random_permutation_of_similar_lengths():
    from finetune_trainer.train import Schedule

    lengths = [10 + (i * 37) % 200 for i in range(1000)]
    s = Schedule(1000, 8, 1, 1, 1, seed=3, lengths=lengths)
    order = s.order(0)
    assert sorted(order) == list(range(1000)) and order == Schedule(1000, 8, 1, 1, 1, 3, lengths).order(0)
    spread = [max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in
              (order[k : k + 8] for k in range(0, 1000, 8))]
    plain = Schedule(1000, 8, 1, 1, 1, seed=3).order(0)
    plain_spread = [max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in
                    (plain[k : k + 8] for k in range(0, 1000, 8))]
    assert sum(spread) * 5 < sum(plain_spread)
    # Two ranks of 4 see the same global micro-batches as one rank of 8.
    assert Schedule(1000, 4, 1, 2, 1, seed=3, lengths=lengths).order(0) == order


def test_chunked_answer_only_loss_equals_the_full_vocabulary_loss(tiny_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from finetune_trainer.data import parse_jsonl
    from helpers import record

    tok = AutoTokenizer.from_pretrained(str(tiny_model))
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model), attn_implementation="sdpa").eval()
    lines = b"".join(__import__("json").dumps(record("prompt-completion", n, c)).encode() + b"\n"
                     for n, c in [("Alice", "Paris"), ("Bruno", "Lima"), ("Quinn", "Accra Bern Doha")])
    items = [tokenize_example(tok, ex, 64) for ex in parse_jsonl(lines, "t", "auto", "train")[1]]
    width = max(len(t.input_ids) for t in items)
    ids = torch.tensor([t.input_ids + [tok.pad_token_id] * (width - len(t.input_ids)) for t in items])
    labels = torch.tensor([t.labels + [-100] * (width - len(t.labels)) for t in items])
    mask = torch.tensor([[1] * len(t.input_ids) + [0] * (width - len(t.input_ids)) for t in items])
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask).logits
        want = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)),
                                                 labels[:, 1:].reshape(-1), reduction="sum")
        batch = evaluate.collate(items, tok.pad_token_id, torch.device("cpu"))
        got, n = evaluate.answer_loss(model, batch)
        chunked, _ = evaluate.answer_loss(model, batch, chunk=3)
    assert n == int((labels[:, 1:] != -100).sum()) == sum(t.answer_tokens for t in items)
    assert torch.allclose(got, want, rtol=1e-5, atol=1e-4), (got, want)
    assert torch.allclose(chunked, got, rtol=1e-6, atol=1e-5)
