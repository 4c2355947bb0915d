"""Local paths and gs:// URIs behind one small interface.

google-cloud-storage honours STORAGE_EMULATOR_HOST (tests use fake-gcs-server).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any


def is_gcs(uri: str) -> bool:
    return uri.startswith("gs://")


def split_gcs(uri: str) -> tuple[str, str]:
    rest = uri[len("gs://") :]
    bucket, _, prefix = rest.partition("/")
    return bucket, prefix


@lru_cache(maxsize=1)
def gcs_client() -> Any:
    from google.cloud import storage

    project = os.environ.get("GOOGLE_CLOUD_PROJECT")
    if os.environ.get("STORAGE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        return storage.Client(project=project or "finetune-local", credentials=AnonymousCredentials())
    return storage.Client(project=project)


UPLOAD_THREADS = 8


def write_retry() -> Any:
    """Uploads are retried with exponential backoff on 429, 5xx and connection errors. The client
    retries only conditional writes by default; ours overwrite whole objects with the same content
    on a retry, so an unconditional retry is safe."""
    from google.cloud.storage.retry import DEFAULT_RETRY

    return DEFAULT_RETRY.with_timeout(float(os.environ.get("FINETUNE_GCS_RETRY_DEADLINE_S", "300")))


def read_bytes(uri: str) -> bytes:
    if is_gcs(uri):
        bucket, name = split_gcs(uri)
        return gcs_client().bucket(bucket).blob(name).download_as_bytes()
    return Path(uri).read_bytes()


def _blobs(uri: str) -> tuple[str, list[Any]]:
    bucket, prefix = split_gcs(uri)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    blobs = [b for b in gcs_client().list_blobs(bucket, prefix=prefix)
             if b.name[len(prefix):] and not b.name.endswith("/")]
    return prefix, blobs


def download_prefix(uri: str, dest: Path) -> int:
    """Copies every object under a gs:// prefix into dest, keeping relative paths."""
    prefix, blobs = _blobs(uri)

    def one(blob: Any) -> None:
        target = dest / blob.name[len(prefix):]
        target.parent.mkdir(parents=True, exist_ok=True)
        blob.download_to_filename(str(target))

    with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        list(pool.map(one, blobs))
    return len(blobs)


def cached_prefix(uri: str, cache: Path) -> tuple[Path, int]:
    """A gs:// prefix in a persistent per-node cache, keyed by the objects' names, generations and
    sizes (a new upload of the model is a new key). Downloads into a temp dir and renames it, so a
    half-written copy is never used; concurrent jobs on a node serialise on a lock file. Returns the
    directory and how many files were downloaded (0 when it was already cached)."""
    import fcntl

    prefix, blobs = _blobs(uri)
    listing = sorted((b.name[len(prefix):], b.generation, b.size) for b in blobs)
    key = hashlib.sha256(json.dumps([uri, listing]).encode()).hexdigest()[:20]
    cache.mkdir(parents=True, exist_ok=True)
    final = cache / key
    with open(cache / f".{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (final / ".complete").is_file():
            return final, 0
        tmp = cache / f".{key}.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        count = download_prefix(uri, tmp)
        (tmp / ".complete").write_text(json.dumps({"source": uri, "files": len(listing)}) + "\n")
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        return final, count


class Output:
    """The job's output location: a local directory or a gs:// prefix."""

    def __init__(self, uri: str) -> None:
        self.uri = uri.rstrip("/")
        self.gcs = is_gcs(uri)
        if self.gcs:
            self.bucket_name, self.prefix = split_gcs(self.uri)
        else:
            self.root = Path(self.uri)
            self.root.mkdir(parents=True, exist_ok=True)

    def describe(self, rel: str) -> str:
        return f"{self.uri}/{rel}"

    def _name(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def _bucket(self) -> Any:
        return gcs_client().bucket(self.bucket_name)

    def write_bytes(self, rel: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        if self.gcs:
            self._bucket().blob(self._name(rel)).upload_from_string(data, content_type=content_type,
                                                                    retry=write_retry())
            return
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)  # atomic: readers never see a partial file

    def write_text(self, rel: str, text: str, content_type: str = "text/plain") -> None:
        self.write_bytes(rel, text.encode(), content_type)

    def read_bytes(self, rel: str) -> bytes | None:
        if self.gcs:
            from google.api_core.exceptions import NotFound

            try:
                return self._bucket().blob(self._name(rel)).download_as_bytes()
            except NotFound:
                return None
        path = self.root / rel
        return path.read_bytes() if path.is_file() else None

    def upload_dir(self, local: Path, rel: str, last: str | None = None) -> None:
        """Copies a local directory to rel/. `last` (a file name) is written after all others,
        so its presence marks a complete copy."""
        files = sorted(p for p in local.rglob("*") if p.is_file())
        if last is not None:
            files.sort(key=lambda p: p.name == last)
        if not self.gcs:
            dest = self.root / rel
            if dest.resolve() == local.resolve():
                return
            dest.mkdir(parents=True, exist_ok=True)
        if self.gcs:
            first = [p for p in files if last is None or p.name != last]
            bucket = self._bucket()

            def one(path: Path) -> None:
                sub = path.relative_to(local).as_posix()
                bucket.blob(self._name(f"{rel}/{sub}")).upload_from_filename(str(path), retry=write_retry())

            with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
                list(pool.map(one, first))
            for path in files[len(first):]:
                one(path)
            return
        for path in files:
            sub = path.relative_to(local).as_posix()
            target = self.root / rel / sub
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            shutil.copyfile(path, tmp)
            os.replace(tmp, target)

    def download_dir(self, rel: str, dest: Path) -> None:
        if self.gcs:
            download_prefix(f"gs://{self.bucket_name}/{self._name(rel)}", dest)
            return
        shutil.copytree(self.root / rel, dest, dirs_exist_ok=True)

    def list_children(self, rel: str) -> list[str]:
        """Names of the direct sub-directories of rel/."""
        if self.gcs:
            prefix = self._name(rel).rstrip("/") + "/"
            names: set[str] = set()
            for blob in gcs_client().list_blobs(self.bucket_name, prefix=prefix):
                child, sep, _ = blob.name[len(prefix) :].partition("/")
                if sep:
                    names.add(child)
            return sorted(names)
        base = self.root / rel
        return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []

    def delete_dir(self, rel: str) -> None:
        if self.gcs:
            prefix = self._name(rel).rstrip("/") + "/"
            for blob in list(gcs_client().list_blobs(self.bucket_name, prefix=prefix)):
                blob.delete()
            return
        shutil.rmtree(self.root / rel, ignore_errors=True)
