"""End-to-end tests on the local stack that `hack/dev.sh up` starts: a real node runs the operator's pod
(installed from deploy/ under its own RBAC) and the trainer pods it creates, from the images built
from the repo's Dockerfiles; Cloud Storage is fake-gcs-server on the node bridge.

Run by `make e2e-test` (part of `make test`), which starts the stack, passes its environment
(KUBECONFIG, STORAGE_EMULATOR_HOST, FINETUNE_NODE) and stops it afterwards.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
MODEL = "gs://ft-models/tiny-llama/"


def kubectl(*args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["kubectl", *args], input=input, text=True, capture_output=True, check=check,
                          timeout=120)


def get(kind: str, name: str, ns: str | None = None) -> dict[str, Any] | None:
    args = ["get", kind, name, "-o", "json"] + (["-n", ns] if ns else [])
    p = kubectl(*args, check=False)
    return json.loads(p.stdout) if p.returncode == 0 else None


def items(kind: str, ns: str, selector: str | None = None) -> list[dict[str, Any]]:
    args = ["get", kind, "-n", ns, "-o", "json"] + (["-l", selector] if selector else [])
    return json.loads(kubectl(*args).stdout)["items"]


def wait_for(what: str, probe: Callable[[], Any], timeout: float, every: float = 2.0) -> Any:
    """Polls probe until it returns something truthy; fails naming what it waited for."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def apply(manifest: dict[str, Any] | list[dict[str, Any]]) -> None:
    docs = manifest if isinstance(manifest, list) else [manifest]
    kubectl("apply", "-f", "-", input="\n---\n".join(json.dumps(d) for d in docs))


def namespace(name: str) -> dict[str, Any]:
    """A tenant namespace as a cluster admin sets it up: Pod Security restricted, allowed identities."""
    return {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {"pod-security.kubernetes.io/enforce": "restricted",
                       "pod-security.kubernetes.io/enforce-version": "latest"},
            "annotations": {
                "finetune.dev/allowed-gcp-service-accounts": "ft-trainer@local-project.iam.gserviceaccount.com",
                "finetune.dev/allowed-gcs-prefixes": f"gs://ft-quickstart,{MODEL}",
            },
        },
    }


def finetunejob(ns: str, name: str, training: dict[str, Any] | None = None,
                evaluation: dict[str, Any] | None = None, model: str = MODEL) -> dict[str, Any]:
    return {
        "apiVersion": "finetune.dev/v1alpha1", "kind": "FineTuneJob",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "model": {"source": model},
            "dataset": {"train": "gs://ft-quickstart/train.jsonl", "validation": "gs://ft-quickstart/eval.jsonl",
                        "format": "gemini"},
            "method": {"type": "lora", "rank": 16, "alpha": 32},
            "training": {"epochs": 3, "learningRate": 0.01, "batchSize": 8, "maxSequenceLength": 128,
                         "checkpointEverySteps": 20, **(training or {})},
            "hardware": {"accelerator": "nvidia-l4", "spot": True, "provisioning": "existing", "maxRuntime": "30m"},
            "identity": {"gcpServiceAccount": "ft-trainer@local-project.iam.gserviceaccount.com"},
            "evaluation": {"maxExamples": 40, "maxNewTokens": 32,
                           "gate": {"metric": "rougeL", "minImprovement": 0.1}, **(evaluation or {})},
            "output": f"gs://ft-quickstart/runs/{ns}/{name}/",
        },
    }


def ftj(ns: str, name: str) -> dict[str, Any]:
    obj = get("finetunejob", name, ns)
    assert obj is not None, f"FineTuneJob {ns}/{name} is gone"
    return obj


def wait_phase(ns: str, name: str, phases: set[str], timeout: float) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        obj = ftj(ns, name)
        return obj if obj.get("status", {}).get("phase") in phases else None
    try:
        return wait_for(f"{ns}/{name} to reach {phases}", probe, timeout)
    except AssertionError as e:
        status = ftj(ns, name).get("status", {})
        pods = kubectl("get", "pods", "-n", ns, "-o", "wide", check=False).stdout
        raise AssertionError(f"{ns}/{name} did not reach {phases}: status {json.dumps(status)[:3000]}\n{pods}") from e


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    for c in obj.get("status", {}).get("conditions", []):
        if c["type"] == kind:
            return c
    raise AssertionError(f"no condition {kind} in {obj.get('status')}")


def events(ns: str, name: str) -> list[dict[str, Any]]:
    return [e for e in items("events", ns) if e["involvedObject"].get("name") == name
            and e["involvedObject"].get("kind") == "FineTuneJob"]


@pytest.fixture(scope="session")
def gcs() -> Any:
    from google.cloud import storage

    assert os.environ.get("STORAGE_EMULATOR_HOST"), "run through `make e2e-test` (it starts the stack)"
    return storage.Client(project="local-project")


def read_object(gcs: Any, uri: str) -> bytes:
    bucket, _, name = uri.removeprefix("gs://").partition("/")
    return gcs.bucket(bucket).blob(name).download_as_bytes()


def download_prefix(uri: str, dest: Path) -> Path:
    """The objects under a gs:// prefix, downloaded as the trainer downloads a model."""
    from finetune_trainer import storage

    assert storage.download_prefix(uri, dest) > 0, f"nothing under {uri}"
    return dest
