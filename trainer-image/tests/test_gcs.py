"""gs:// model, data and output against fake-gcs-server (built by hack/controlplane/build.sh)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from finetune_trainer import cli, storage
from helpers import job_config, write_config, write_jsonl

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "hack/controlplane/build.sh"


def fake_gcs_binary() -> Path | None:
    if not BUILD.is_file():
        return None
    res = subprocess.run(["bash", str(BUILD), "fake-gcs-server"], capture_output=True, text=True, timeout=3000)
    if res.returncode != 0:
        return None
    path = Path(res.stdout.strip().splitlines()[-1]) / "fake-gcs-server"
    return path if path.is_file() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fake_gcs(tmp_path, monkeypatch):
    binary = fake_gcs_binary()
    if binary is None:
        pytest.skip(f"fake-gcs-server not available: {BUILD} fake-gcs-server did not produce it")
    port = free_port()
    log = open(tmp_path / "fake-gcs.log", "w")
    proc = subprocess.Popen([str(binary), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port),
                             "-backend", "memory", "-public-host", f"127.0.0.1:{port}", "-log-level", "warn"],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/storage/v1/b", timeout=1).read()
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("fake-gcs-server did not start; see " + str(tmp_path / "fake-gcs.log"))
            time.sleep(0.1)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", url)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "finetune-test")
    storage.gcs_client.cache_clear()
    try:
        yield storage.gcs_client()
    finally:
        storage.gcs_client.cache_clear()
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def test_gcs_model_data_and_output(tmp_path, tiny_model, fake_gcs, termination_log):
    bucket = fake_gcs.create_bucket("tuning")
    for path in sorted(tiny_model.iterdir()):
        bucket.blob(f"models/tiny/{path.name}").upload_from_filename(str(path))
    train = write_jsonl(tmp_path / "train.jsonl", "gemini", 40, seed=4)
    bucket.blob("data/train.jsonl").upload_from_filename(str(train))
    validation = write_jsonl(tmp_path / "validation.jsonl", "gemini", 6, seed=8)
    bucket.blob("data/validation.jsonl").upload_from_filename(str(validation))

    cfg = job_config("gs://tuning/models/tiny", "gs://tuning/data/train.jsonl", "gs://tuning/runs/job-1",
                     dataset={"validation": "gs://tuning/data/validation.jsonl"},
                     training={"checkpointEverySteps": 2, "keepCheckpoints": 2},
                     evaluation={"maxExamples": 3, "maxNewTokens": 6})
    code = cli.main(["--config", str(write_config(tmp_path / "job.json", cfg))])
    assert code == 0, termination_log.read_text()

    names = {b.name for b in fake_gcs.list_blobs("tuning", prefix="runs/job-1/")}
    for rel in ("adapter/adapter_model.safetensors", "adapter/adapter_config.json", "adapter/tokenizer.json",
                "progress.json", "manifest.json", "predictions/baseline.jsonl", "predictions/tuned.jsonl",
                "checkpoints/step-5/state.json", "checkpoints/step-5/optimizer.pt",
                "checkpoints/step-4/adapter_model.safetensors"):
        assert f"runs/job-1/{rel}" in names, rel
    assert not any(n.startswith("runs/job-1/checkpoints/step-2/") for n in names)  # pruned (keep 2)
    manifest = json.loads(bucket.blob("runs/job-1/manifest.json").download_as_bytes())
    assert manifest["baseModel"]["source"] == "gs://tuning/models/tiny"
    assert manifest["dataset"]["validation"]["uri"] == "gs://tuning/data/validation.jsonl"
    tuned = bucket.blob("runs/job-1/predictions/tuned.jsonl").download_as_bytes().decode().splitlines()
    assert [json.loads(x)["id"] for x in tuned] == ["validation-1", "validation-2", "validation-3"]
    assert os.environ["STORAGE_EMULATOR_HOST"].startswith("http://127.0.0.1:")

    # A missing object is bad data, not a retry.
    cfg["dataset"]["train"] = "gs://tuning/data/missing.jsonl"
    cfg["output"] = "gs://tuning/runs/job-2"
    assert cli.main(["--config", str(write_config(tmp_path / "job2.json", cfg))]) == 2
    assert "gs://tuning/data/missing.jsonl" in termination_log.read_text()


class FlakyProxy:
    """Forwards to fake-gcs-server, answering 503 to the first upload of each object (as GCS does
    under load): the trainer's writes must retry."""

    def __init__(self, upstream: str) -> None:
        import http.client
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs, urlparse

        self.failed: list[str] = []
        host = urlparse(upstream).netloc
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                url = urlparse(self.path)
                name = (parse_qs(url.query).get("name") or [""])[0]
                if not name and url.path.startswith("/upload/"):  # multipart: the name is in the metadata part
                    m = re.search(rb'"name":\s*"([^"]+)"', body)
                    name = m.group(1).decode() if m else ""
                if url.path.startswith("/upload/") and name and name not in proxy.failed:
                    proxy.failed.append(name)
                    err = b'{"error": {"code": 503, "message": "backend unavailable"}}'
                    self.send_response(503)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(err)))
                    self.end_headers()
                    self.wfile.write(err)
                    return
                conn = http.client.HTTPConnection(host, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body, headers=headers)
                res = conn.getresponse()
                data = res.read()
                self.send_response(res.status)
                for k, v in res.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_writes_retry_transient_errors_and_the_node_model_cache(tmp_path, tiny_model, fake_gcs, monkeypatch):
    bucket = fake_gcs.create_bucket("flaky")
    for path in sorted(tiny_model.iterdir()):
        bucket.blob(f"models/tiny/{path.name}").upload_from_filename(str(path))
    proxy = FlakyProxy(os.environ["STORAGE_EMULATOR_HOST"])
    try:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
        storage.gcs_client.cache_clear()
        out = storage.Output("gs://flaky/runs/r1")
        out.write_text("progress.json", '{"step": 1}\n', "application/json")
        local = tmp_path / "ckpt"
        local.mkdir()
        for name in ("adapter_model.safetensors", "optimizer.pt", "state.json"):
            (local / name).write_bytes(name.encode())
        out.upload_dir(local, "checkpoints/step-1", last="state.json")
        assert out.read_bytes("progress.json") == b'{"step": 1}\n'
        assert out.read_bytes("checkpoints/step-1/state.json") == b"state.json"
        assert sorted(proxy.failed) == sorted(f"runs/r1/{n}" for n in (
            "progress.json", "checkpoints/step-1/adapter_model.safetensors", "checkpoints/step-1/optimizer.pt",
            "checkpoints/step-1/state.json"))

        # A node-local model cache: the second run on the node downloads nothing; a new upload of the
        # model (new object generations) is a new cache entry.
        from finetune_trainer import model as model_mod

        monkeypatch.setenv(model_mod.MODEL_CACHE_ENV, str(tmp_path / "node-cache"))
        first = model_mod.resolve("gs://flaky/models/tiny", None, None, tmp_path / "w1")
        weights = first.path / "model.safetensors"
        written = weights.stat().st_mtime_ns
        second = model_mod.resolve("gs://flaky/models/tiny", None, None, tmp_path / "w2")
        assert first.path == second.path and (first.path / "config.json").is_file()
        assert weights.stat().st_mtime_ns == written  # not downloaded again
        assert not (tmp_path / "w1").exists() and not (tmp_path / "w2").exists()
        assert first.path.is_relative_to(tmp_path / "node-cache")
        storage.gcs_client().bucket("flaky").blob("models/tiny/config.json").upload_from_filename(
            str(tiny_model / "config.json"))
        third = model_mod.resolve("gs://flaky/models/tiny", None, None, tmp_path / "w3")
        assert third.path != first.path and (third.path / "model.safetensors").is_file()
    finally:
        storage.gcs_client.cache_clear()
        proxy.close()
