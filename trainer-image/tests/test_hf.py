"""hf:// model download through HF_ENDPOINT from a local stand-in for the Hub API."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

import pytest

from finetune_trainer import cli
from helpers import job_config, write_config, write_jsonl

REPO_ID = "tiny-org/tiny-llama"
COMMIT = "3f1c2a9d8b7e6f5a4c3b2a1908f7e6d5c4b3a291"
TOKEN = "hf_test_token_123"


class Hub:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[tuple[str, str, str | None]] = []


def make_handler(hub: Hub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str], head: bool = False) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _json(self, obj: object) -> None:
            self._send(200, json.dumps(obj).encode(), {"Content-Type": "application/json"})

        def _handle(self, head: bool) -> None:
            path = unquote(urlparse(self.path).path)
            hub.requests.append((self.command, path, self.headers.get("Authorization")))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._send(401, b'{"error": "unauthorized"}', {"Content-Type": "application/json",
                                                                "X-Error-Code": "GatedRepo"}, head)
                return
            prefix = f"/api/models/{REPO_ID}/"
            if path in (f"{prefix}revision/main", f"{prefix}revision/{COMMIT}"):
                self._json({"id": REPO_ID, "modelId": REPO_ID, "sha": COMMIT, "private": False,
                            "siblings": [{"rfilename": name} for name in sorted(hub.files)]})
                return
            if path == f"{prefix}tree/{COMMIT}":
                self._json([{"type": "file", "path": name, "size": len(body),
                             "oid": hashlib.sha1(body).hexdigest()} for name, body in sorted(hub.files.items())])
                return
            resolve = f"/{REPO_ID}/resolve/{COMMIT}/"
            if path.startswith(resolve) and path[len(resolve) :] in hub.files:
                body = hub.files[path[len(resolve) :]]
                etag = hashlib.sha256(body).hexdigest()
                self._send(200, body, {"Content-Type": "application/octet-stream", "X-Repo-Commit": COMMIT,
                                       "ETag": f'"{etag}"', "Accept-Ranges": "none"}, head)
                return
            self._send(404, b'{"error": "not found"}', {"Content-Type": "application/json",
                                                         "X-Error-Code": "EntryNotFound"}, head)

        def do_GET(self) -> None:
            self._handle(head=False)

        def do_HEAD(self) -> None:
            self._handle(head=True)

    return Handler


@pytest.fixture
def hub(tiny_model, monkeypatch, tmp_path):
    files = {p.name: p.read_bytes() for p in sorted(tiny_model.iterdir()) if p.is_file()}
    # What Llama repositories also carry: the original consolidated checkpoint, which doubles the download.
    files["original/consolidated.00.pth"] = b"\0" * 4096
    files["original/params.json"] = b"{}"
    h = Hub(files)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(h))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    try:
        yield h
    finally:
        server.shutdown()
        server.server_close()


def test_hf_model_download_records_resolved_commit(tmp_path, hub, termination_log):
    # The constants module reads HF_ENDPOINT at import; the trainer must pick up the fixture's endpoint.
    import importlib

    import huggingface_hub.constants

    importlib.reload(huggingface_hub.constants)
    token_file = tmp_path / "hf-token"
    token_file.write_text(TOKEN + "\n")
    train = write_jsonl(tmp_path / "train.jsonl", "messages", 24, seed=6)
    cfg = job_config(f"hf://{REPO_ID}", str(train), str(tmp_path / "out"),
                     model={"revision": "main", "tokenFile": str(token_file)},
                     evaluation={"maxExamples": 2, "maxNewTokens": 4, "baseline": False})
    code = cli.main(["--config", str(write_config(tmp_path / "job.json", cfg)), "--workdir", str(tmp_path / "w")])
    assert code == 0, termination_log.read_text()

    manifest = json.loads((tmp_path / "out/manifest.json").read_text())
    assert manifest["baseModel"] == {"source": f"hf://{REPO_ID}", "revision": "main", "resolvedRevision": COMMIT}
    paths = [p for _, p, _ in hub.requests]
    assert f"/api/models/{REPO_ID}/revision/main" in paths
    assert f"/{REPO_ID}/resolve/{COMMIT}/model.safetensors" in paths
    assert all(auth == f"Bearer {TOKEN}" for _, _, auth in hub.requests)
    assert not [p for p in paths if "/original/" in p]  # only the files a model needs


def test_hf_without_token_is_an_error(tmp_path, hub, termination_log):
    import importlib

    import huggingface_hub.constants

    importlib.reload(huggingface_hub.constants)
    train = write_jsonl(tmp_path / "train.jsonl", "messages", 8, seed=6)
    cfg = job_config(f"hf://{REPO_ID}", str(train), str(tmp_path / "out"),
                     evaluation={"maxExamples": 2, "maxNewTokens": 4, "baseline": False})
    code = cli.main(["--config", str(write_config(tmp_path / "job.json", cfg)), "--workdir", str(tmp_path / "w")])
    assert code == 2
    message = termination_log.read_text()
    assert f"hf://{REPO_ID}@main" in message and "GatedRepoError" in message
