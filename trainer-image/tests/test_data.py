from __future__ import annotations

import json

import pytest

from finetune_trainer import cli
from finetune_trainer.data import DataError, parse_jsonl, split_train_eval
from helpers import job_config, record, write_config, write_jsonl


@pytest.mark.parametrize("fmt", ["prompt-completion", "messages", "gemini"])
def test_auto_detects_each_format(fmt):
    data = (json.dumps(record(fmt, "Alice", "Paris")) + "\n\n").encode()
    resolved, examples = parse_jsonl(data, "train.jsonl", "auto", "train")
    assert resolved == fmt
    (ex,) = examples
    assert ex.answer == '{"name": "Alice", "city": "Paris"}'
    assert ex.prompt[-1] == {"role": "user", "content": "name: Alice; city: Paris"}
    assert ex.id == "train-1"


def test_byte_order_mark_is_tolerated():
    data = b"\xef\xbb\xbf" + json.dumps(record("messages", "Alice", "Paris")).encode() + b"\n"
    assert parse_jsonl(data, "t.jsonl", "auto", "train")[0] == "messages"


def test_gemini_system_instruction_and_multi_turn():
    obj = {"systemInstruction": {"role": "system", "parts": [{"text": "Be "}, {"text": "brief."}]},
           "contents": [{"role": "user", "parts": [{"text": "hi"}]}, {"role": "model", "parts": [{"text": "yo"}]},
                        {"role": "user", "parts": [{"text": "again"}]},
                        {"role": "model", "parts": [{"text": "done"}]}]}
    _, (ex,) = parse_jsonl(json.dumps(obj).encode(), "g.jsonl", "gemini", "train")
    assert ex.prompt[0] == {"role": "system", "content": "Be brief."}
    assert [t["role"] for t in ex.prompt] == ["system", "user", "assistant", "user"]
    assert ex.answer == "done"


@pytest.mark.parametrize(("lines", "line", "fragment"), [
    (['{"prompt": "a", "completion": "b"}', "{not json"], 2, "invalid JSON"),
    (['{"prompt": "a", "completion": "b"}', "", '{"prompt": "a"}'], 3, "completion"),
    (['{"messages": [{"role": "user", "content": "x"}]}'], 1, "no assistant"),
    (['{"contents": [{"role": "user", "parts": [{"text": "x"}]}, {"role": "bot", "parts": []}]}'], 1, "role"),
    (['[1, 2]'], 1, "object"),
])
def test_malformed_lines_name_the_line(lines, line, fragment):
    with pytest.raises(DataError) as e:
        parse_jsonl("\n".join(lines).encode(), "data/train.jsonl", "auto", "train")
    assert f"data/train.jsonl:{line}:" in str(e.value)
    assert fragment in str(e.value)


def test_split_is_deterministic_and_disjoint():
    _, examples = parse_jsonl(b"".join(json.dumps(record("prompt-completion", "A", str(i))).encode() + b"\n"
                                       for i in range(50)), "t", "auto", "train")
    a_train, a_eval = split_train_eval(examples, 0.1, seed=3)
    b_train, b_eval = split_train_eval(examples, 0.1, seed=3)
    assert [e.id for e in a_eval] == [e.id for e in b_eval] and len(a_eval) == 5
    assert not {e.id for e in a_train} & {e.id for e in a_eval}


def test_cli_exits_2_naming_file_and_line(tmp_path, tiny_model, termination_log):
    train = write_jsonl(tmp_path / "train.jsonl", "messages", 10, seed=1)
    with train.open("a") as f:
        f.write('{"messages": "oops"}\n')
    cfg = job_config(str(tiny_model), str(train), str(tmp_path / "out"))
    code = cli.main(["--config", str(write_config(tmp_path / "job.json", cfg))])
    assert code == 2
    message = termination_log.read_text()
    assert f"{train}:11:" in message and "messages" in message


def test_cli_exits_2_for_qlora_without_cuda(tmp_path, tiny_model, termination_log):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA present: QLoRA is supported here")
    train = write_jsonl(tmp_path / "train.jsonl", "prompt-completion", 10, seed=1)
    cfg = job_config(str(tiny_model), str(train), str(tmp_path / "out"),
                     method={"type": "qlora"})
    assert cli.main(["--config", str(write_config(tmp_path / "job.json", cfg))]) == 2
    assert "CUDA" in termination_log.read_text()
