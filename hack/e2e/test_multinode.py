"""hardware.nodes: 2 on the real node: two trainer pods of an Indexed Job find each other by DNS name
(<job>-0.<service>, the headless Service the operator creates, answered by the local CoreDNS),
rendezvous over the bridge with gloo and train one model together; one of them is evicted mid-training
and the group resumes from the last checkpoint.

Its own module and namespace, so that it starts after test_e2e.py's jobs have freed the node's GPUs
and can be run alone (`pytest -k multinode hack/e2e`)."""
from __future__ import annotations

import json
import time
from typing import Any

from conftest import apply, finetunejob, get, items, kubectl, namespace, read_object, wait_for, wait_phase

NS, NAME = "e2e-multinode", "two-nodes"
CKPT_EVERY = 4
PREFIX = f"gs://ft-quickstart/runs/{NS}/{NAME}/"


def multinode_job() -> dict[str, Any]:
    job = finetunejob(NS, NAME, training={"epochs": 2, "checkpointEverySteps": CKPT_EVERY},
                      evaluation={"maxExamples": 6, "maxNewTokens": 8})
    job["spec"]["hardware"].update({"count": 1, "nodes": 2})
    return job


def pods() -> list[dict[str, Any]]:
    return items("pods", NS, f"finetune.dev/job-name={NAME}")


def running_pods() -> list[dict[str, Any]]:
    return [p for p in pods() if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]


def progress(gcs: Any) -> dict[str, Any]:
    try:
        return json.loads(read_object(gcs, PREFIX + "progress.json"))
    except Exception:
        return {}


def test_multinode_two_pods_train_together_and_resume_as_a_group_after_an_eviction(gcs: Any) -> None:
    kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=true", "--timeout=120s")
    apply([namespace(NS), multinode_job()])
    uid = wait_for("the FineTuneJob", lambda: (get("finetunejob", NAME, NS) or {}).get("metadata", {}).get("uid"),
                   timeout=60)

    # The operator's children: an Indexed Job of two pods and a headless Service owned by the job.
    job = wait_for("the trainer Job", lambda: get("job", f"{NAME}-trainer", NS), timeout=300)
    assert job["spec"]["completionMode"] == "Indexed"
    assert job["spec"]["completions"] == job["spec"]["parallelism"] == 2
    svc = get("service", f"{NAME}-trainer", NS)
    assert svc is not None and svc["spec"]["clusterIP"] == "None"
    assert [(r["kind"], r["uid"], r.get("controller")) for r in svc["metadata"]["ownerReferences"]] == [
        ("FineTuneJob", uid, True)]
    assert job["spec"]["template"]["spec"]["subdomain"] == svc["metadata"]["name"]

    # Both pods run, each with one GPU, and the Service's endpoint slices name them.
    first = wait_for("two running trainer pods", lambda: len(running_pods()) == 2 and running_pods(), timeout=600)
    for p in first:
        limits = p["spec"]["containers"][0]["resources"]["limits"]
        assert limits["nvidia.com/gpu"] == "1", limits

    def endpoint_hostnames() -> set[str]:
        slices = items("endpointslices", NS, f"kubernetes.io/service-name={svc['metadata']['name']}")
        return {e.get("hostname") for s in slices for e in s.get("endpoints") or []} - {None}
    assert wait_for("the endpoint slices to list both pods", lambda: endpoint_hostnames() == {
        f"{NAME}-trainer-0", f"{NAME}-trainer-1"} and endpoint_hostnames(), timeout=60)

    # Past the first checkpoint, the index-1 pod is evicted (as a spot preemption evicts it).
    wait_for("training past its first checkpoint", lambda: int(progress(gcs).get("step", 0)) > CKPT_EVERY + 1,
             timeout=900, every=0.5)
    at = progress(gcs)
    assert at["step"] < at["totalSteps"], f"training ended before the eviction: {at}"
    victim = next(p["metadata"]["name"] for p in first
                  if p["metadata"]["annotations"].get("batch.kubernetes.io/job-completion-index") == "1")
    kubectl("create", "--raw", f"/api/v1/namespaces/{NS}/pods/{victim}/eviction", "-f", "-", input=json.dumps({
        "apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": victim, "namespace": NS}}))
    evicted_at = time.time()

    done = wait_phase(NS, NAME, {"Succeeded", "Failed"}, timeout=1500)
    status = done["status"]
    assert status["phase"] == "Succeeded", json.dumps(status)[:3000]
    t = status["training"]
    # The evicted pod is a preemption; its peer stopped with it (exit 75) and is no failure.
    assert t["preemptions"] == 1 and t.get("failures", 0) == 0, t
    assert t["attempts"] == 4, t
    assert status["output"]["adapterUri"].startswith(PREFIX) and status["output"]["manifestUri"], status["output"]

    manifest = json.loads(read_object(gcs, PREFIX + "manifest.json"))
    assert manifest["hyperparameters"]["worldSize"] == 2, manifest["hyperparameters"]
    history = [json.loads(x) for x in read_object(gcs, PREFIX + "metrics.jsonl").decode().splitlines()]
    assert {h["attempt"] for h in history} == {1, 2}, history
    second = [h for h in history if h["attempt"] == 2]
    assert second[0]["resumedFrom"] >= CKPT_EVERY, "the group resumed from a checkpoint, not from scratch"
    reached = max(h["step"] for h in history if h["attempt"] == 1)
    assert 0 <= reached - second[0]["resumedFrom"] <= CKPT_EVERY, (reached, second[0]["resumedFrom"])
    job = get("job", f"{NAME}-trainer", NS)
    assert job is not None and job["status"].get("succeeded") == 2, job and job["status"]
    assert job["status"].get("failed", 0) == 0, job["status"]
    print(f"e2e figure multinode: steps {at['totalSteps']}, evicted at step {at['step']}, "
          f"resumed from {second[0]['resumedFrom']}, {time.time() - evicted_at:.0f}s from eviction to Succeeded")
