"""Writes the sha256 of every locked distribution into requirements.lock (pip's hash-checking mode).

    python3 hack/hash-lock.py [WHEELHOUSE]    # default: the wheelhouse hack/wheels.sh prints

Each `name==version` line gets one `--hash=sha256:...` per file of that version in the wheelhouse
(the wheels pip chose for CPython 3.11 on linux x86_64, the image's Python). The image installs the
lock with `pip install --no-deps --require-hashes`, so nothing unpinned or altered gets in.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
LOCK = HERE / "requirements.lock"


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def files_of(wheelhouse: Path, name: str, version: str) -> list[Path]:
    out = []
    for f in sorted(wheelhouse.iterdir()):
        stem = f.name[: -len(".tar.gz")] if f.name.endswith(".tar.gz") else f.name
        parts = stem.split("-")
        if len(parts) >= 2 and norm(parts[0]) == norm(name) and parts[1] == version:
            out.append(f)
    return out


def main() -> int:
    if len(sys.argv) > 1:
        wheelhouse = Path(sys.argv[1])
    else:
        wheelhouse = Path(subprocess.run(["bash", str(HERE / "hack/wheels.sh")], check=True, text=True,
                                         capture_output=True).stdout.strip())
    out: list[str] = []
    missing: list[str] = []
    for raw in LOCK.read_text().splitlines():
        line = raw.rstrip(" \\").strip()
        if not line or line.startswith("#"):
            out.append(raw)
            continue
        if line.startswith("--hash="):
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==([^\s;]+)", line)
        if not m:
            raise SystemExit(f"{LOCK}: cannot parse {raw!r}")
        files = files_of(wheelhouse, re.sub(r"\[.*\]", "", m.group(1)), m.group(2))
        if not files:
            missing.append(line)
            continue
        hashes = sorted({hashlib.sha256(f.read_bytes()).hexdigest() for f in files})
        out.append(f"{line} \\")
        out += [f"    --hash=sha256:{h}" + (" \\" if i < len(hashes) - 1 else "") for i, h in enumerate(hashes)]
    if missing:
        raise SystemExit(f"not in {wheelhouse}: {', '.join(missing)}")
    LOCK.write_text("\n".join(out) + "\n")
    print(f"{LOCK}: hashes of {sum(1 for x in out if '==' in x)} distributions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
