"""The whole job on real pods: the operator (a pod under its own RBAC) runs the trainer image on the
GPU-shaped real node; the trainer trains a tiny model on CPU and writes to the local Cloud Storage."""
from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    MODEL,
    apply,
    condition,
    download_prefix,
    events,
    finetunejob,
    get,
    items,
    kubectl,
    namespace,
    read_object,
    wait_for,
    wait_phase,
)

HAPPY, PREEMPT, BAD = ("e2e-happy", "adapter"), ("e2e-preempt", "resumes"), ("e2e-bad", "no-model")
PREEMPT_CKPT_EVERY = 10
PREEMPT_EPOCHS = 12  # 25 steps an epoch
FIGURES = Path(os.environ.get("FINETUNE_E2E_FIGURES", "/tmp/finetune-e2e-figures.json"))


def record_figure(key: str, value: Any) -> None:
    figures = json.loads(FIGURES.read_text()) if FIGURES.is_file() else {}
    figures[key] = value
    FIGURES.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"e2e figure {key}: {value}")


@pytest.fixture(scope="module", autouse=True)
def jobs() -> Iterator[None]:
    """All three jobs start at once (the node advertises several GPUs): the suite's wall time is the
    slowest job's, not the sum."""
    FIGURES.unlink(missing_ok=True)
    for ns, _ in (HAPPY, PREEMPT, BAD):
        kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=120s")
    apply([namespace(ns) for ns, _ in (HAPPY, PREEMPT, BAD)])
    apply([
        finetunejob(*HAPPY),
        # Long enough to be evicted mid-training (its test runs first); small evaluation.
        finetunejob(*PREEMPT, training={"epochs": PREEMPT_EPOCHS, "checkpointEverySteps": PREEMPT_CKPT_EVERY},
                    evaluation={"maxExamples": 8, "maxNewTokens": 16}),
        # The data is valid (the operator's validation passes) and the prefix is allowed, but there is
        # no model under it: the trainer finds that when it downloads the model, and exits 2.
        finetunejob(*BAD, model=MODEL + "missing/"),
    ])
    yield


def watch_until(proc: subprocess.Popen[str], done: Any, timeout: float) -> list[dict[str, Any]]:
    """Reads watch events (kubectl --output-watch-events -o json) until done(event) or timeout."""
    events: list[dict[str, Any]] = []
    finished = threading.Event()

    def read() -> None:
        buf = ""
        decoder = json.JSONDecoder()
        assert proc.stdout is not None
        for line in proc.stdout:
            buf += line
            while buf.strip():
                try:
                    ev, end = decoder.raw_decode(buf.lstrip())
                except json.JSONDecodeError:
                    break
                buf = buf.lstrip()[end:]
                events.append(ev)
                if done(ev):
                    finished.set()
                    return
    threading.Thread(target=read, daemon=True).start()
    assert finished.wait(timeout), f"watch ended without the awaited event: {[e['type'] for e in events]}"
    return events


def trainer_pods(ns: str, name: str) -> list[dict[str, Any]]:
    return items("pods", ns, f"finetune.dev/job-name={name}")


def test_the_operator_runs_as_a_pod_under_its_own_rbac() -> None:
    pods = items("pods", "finetune-system", "app.kubernetes.io/name=finetune-operator")
    assert [p["status"]["phase"] for p in pods] == ["Running"], pods
    assert pods[0]["spec"]["serviceAccountName"] == "finetune-operator"
    assert pods[0]["spec"]["nodeName"] == os.environ["FINETUNE_NODE"]
    sa = "system:serviceaccount:finetune-system:finetune-operator"
    # Not cluster-admin: it may not read Secrets or touch Deployments, and it may create Jobs.
    assert kubectl("auth", "can-i", "get", "secrets", "--as", sa, "-A", check=False).stdout.strip() == "no"
    assert kubectl("auth", "can-i", "create", "deployments", "--as", sa, "-A", check=False).stdout.strip() == "no"
    assert kubectl("auth", "can-i", "create", "jobs.batch", "--as", sa, "-A", check=False).stdout.strip() == "yes"


def test_an_evicted_trainer_resumes_from_its_checkpoint(gcs: Any) -> None:
    ns, name = PREEMPT
    prefix = f"gs://ft-quickstart/runs/{ns}/{name}/"

    def progress() -> dict[str, Any]:
        try:
            return json.loads(read_object(gcs, prefix + "progress.json"))
        except Exception:
            return {}

    def progress_step() -> int:
        return int(progress().get("step", 0))

    # Past the first checkpoint, well before the end.
    wait_for("the trainer past its first checkpoint", lambda: progress_step() > PREEMPT_CKPT_EVERY + 2,
             timeout=600, every=0.5)
    first = trainer_pods(ns, name)
    assert len(first) == 1
    pod = first[0]["metadata"]["name"]
    at = progress()
    assert at["step"] < at["totalSteps"], f"training ended before the eviction: {at}"
    # Watch the pod from before the eviction: it checkpoints and is gone within seconds.
    watch = subprocess.Popen(["kubectl", "get", "pod", pod, "-n", ns, "--watch", "--output-watch-events",
                              "-o", "json"], stdout=subprocess.PIPE, text=True)
    evicted_at = time.time()
    kubectl("create", "--raw", f"/api/v1/namespaces/{ns}/pods/{pod}/eviction", "-f", "-", input=json.dumps({
        "apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": ns}}))
    seen: list[dict[str, Any]] = []
    try:
        seen = watch_until(watch, lambda ev: ev["type"] == "DELETED", timeout=120)
    finally:
        watch.kill()
    conditions = [c for ev in seen for c in ev["object"]["status"].get("conditions", [])]
    assert any(c["type"] == "DisruptionTarget" and c["status"] == "True" for c in conditions), conditions

    done = wait_phase(ns, name, {"Succeeded", "Failed"}, timeout=900)
    status = done["status"]
    assert status["phase"] == "Succeeded", json.dumps(status)[:3000]
    assert status["training"]["preemptions"] == 1, status["training"]
    assert status["training"].get("failures", 0) == 0, status["training"]

    # The trainer's own record of the run: how far attempt 1 got, where attempt 2 started.
    history = [json.loads(x) for x in read_object(gcs, prefix + "metrics.jsonl").decode().splitlines()]
    assert {h["attempt"] for h in history} == {1, 2}, history
    reached = max(h["step"] for h in history if h["attempt"] == 1)
    second = [h for h in history if h["attempt"] == 2]
    resumed_from = second[0]["resumedFrom"]
    repeated = reached - resumed_from
    assert 0 <= repeated <= PREEMPT_CKPT_EVERY, (reached, resumed_from)
    assert resumed_from >= PREEMPT_CKPT_EVERY, "resumed from a checkpoint, not from scratch"
    first_resumed = time.mktime(time.strptime(second[0]["at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    record_figure("preemption", {"reachedStep": reached, "resumedFrom": resumed_from, "stepsRepeated": repeated,
                                 "secondsFromEvictionToFirstResumedStepRecord": round(first_resumed - evicted_at)})
    # A new pod ran the rest; the Job did not count the eviction as a failure.
    job = get("job", f"{name}-trainer", ns) or get("job", status["training"]["jobName"], ns)
    assert job["status"].get("failed", 0) == 0, job["status"]
    assert job["status"].get("succeeded") == 1


def test_happy_path_trains_for_real_and_the_adapter_reproduces_the_predictions(gcs: Any, tmp_path: Path) -> None:
    ns, name = HAPPY
    t0 = time.monotonic()
    done = wait_phase(ns, name, {"Succeeded", "Failed"}, timeout=900)
    record_figure("happyPathSeconds", round(time.monotonic() - t0))
    status = done["status"]
    assert status["phase"] == "Succeeded", json.dumps(status)[:3000]
    for c in ("DatasetValid", "AcceleratorSelected", "IdentityBound", "CapacityReady", "TrainingComplete",
              "EvaluationComplete", "QualityGatePassed", "Ready"):
        assert condition(done, c)["status"] == "True", condition(done, c)

    # Every phase was recorded as an Event.
    reasons = [e["reason"] for e in events(ns, name)]
    for phase in ("Validating", "Provisioning", "Training", "Evaluating", "Succeeded"):
        assert phase in reasons, reasons
    record_figure("happyPathEventsPerPhase", {p: reasons.count(p) for p in sorted(set(reasons))})

    # Real training: progress from the trainer, a ROUGE gain past the gate.
    training = status["training"]
    assert training["step"] == training["totalSteps"] > 0
    assert float(str(training["progress"]).rstrip("%")) == 100, training
    rouge_l = status["evaluation"]["metrics"]["rougeL"]
    assert rouge_l["tuned"] > rouge_l["baseline"] + 0.1, rouge_l
    record_figure("happyPathRougeL", rouge_l)

    # The pod was the production pod spec, on the GPU-shaped real node, in a restricted namespace.
    pods = trainer_pods(ns, name)
    assert len(pods) == 1, [p["metadata"]["name"] for p in pods]
    pod = pods[0]
    assert pod["spec"]["nodeName"] == os.environ["FINETUNE_NODE"]
    assert pod["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert pod["spec"]["nodeSelector"]["cloud.google.com/gke-accelerator"] == "nvidia-l4"
    assert pod["status"]["phase"] == "Succeeded"
    assert get("namespace", ns)["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"

    # The artifacts exist and status records what is there.
    out = status["output"]
    prefix = f"gs://ft-quickstart/runs/{ns}/{name}/"
    assert out["adapterUri"] == prefix + "adapter/" and out["manifestUri"] == prefix + "manifest.json"
    bucket, _, rel = out["adapterUri"].removeprefix("gs://").partition("/")
    assert out["adapterBytes"] == sum(b.size for b in gcs.list_blobs(bucket, prefix=rel))
    manifest = read_object(gcs, out["manifestUri"])
    assert out["manifestBytes"] == len(manifest)
    assert json.loads(manifest)["status"] == "succeeded"

    # Stock PEFT loads the adapter on the base model and reproduces the tuned predictions.
    import torch
    from finetune_trainer import data, evaluate
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base_dir = download_prefix(MODEL, tmp_path / "base")
    adapter_dir = download_prefix(out["adapterUri"], tmp_path / "adapter")
    tokenizer = AutoTokenizer.from_pretrained(str(adapter_dir))
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(base_dir)), str(adapter_dir))
    _, examples = data.parse_jsonl(read_object(gcs, "gs://ft-quickstart/eval.jsonl"), "eval.jsonl", "gemini",
                                   "validation")
    tuned = [json.loads(x) for x in read_object(gcs, prefix + "predictions/tuned.jsonl").decode().splitlines()]
    rows = evaluate.generate(model, tokenizer, examples[: len(tuned)], max_new_tokens=32, batch_size=8,
                             max_prompt_len=128, dev=torch.device("cpu"))
    assert rows == tuned


def test_a_data_error_found_by_the_trainer_fails_at_once_without_retry() -> None:
    ns, name = BAD
    failed = wait_phase(ns, name, {"Succeeded", "Failed"}, timeout=600)
    assert failed["status"]["phase"] == "Failed"
    c = condition(failed, "TrainingComplete")
    assert c["status"] == "False"
    assert "no objects under this prefix" in c["message"] and "tiny-llama/missing/" in c["message"], c
    job = get("job", failed["status"]["training"]["jobName"], ns)
    assert job["status"].get("failed") == 1 and not job["status"].get("active"), job["status"]
    assert any(jc["type"] == "Failed" and jc.get("reason") == "PodFailurePolicy"
               for jc in job["status"].get("conditions", [])), job["status"]
    assert len(trainer_pods(ns, name)) == 1, "exit 2 is not retried"


def test_the_tenant_namespace_enforces_restricted_pod_security() -> None:
    """The trainer pods above were admitted under `restricted`; this shows the label is enforced."""
    ns = BAD[0]
    privileged = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "privileged", "namespace": ns},
                  "spec": {"containers": [{"name": "c", "image": os.environ["FINETUNE_TRAINER_IMAGE"],
                                           "securityContext": {"privileged": True}}]}}
    p = kubectl("apply", "-f", "-", input=json.dumps(privileged), check=False)
    assert p.returncode != 0 and "violates PodSecurity" in p.stderr, p.stderr
