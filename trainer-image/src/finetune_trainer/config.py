"""Job config loading and validation against job-config.schema.json."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from finetune_trainer.errors import ConfigError

SCHEMA_ENV = "FINETUNE_JOB_SCHEMA"
_SCHEMA_CANDIDATES = (
    # Source tree / editable install: trainer-image/job-config.schema.json
    Path(__file__).resolve().parents[2] / "job-config.schema.json",
    # Container image
    Path("/opt/finetune/job-config.schema.json"),
)
DEFAULT_VALIDATION_SPLIT = 0.1
DEFAULT_KEEP_CHECKPOINTS = 3
DEFAULT_PROGRESS_EVERY = 5
DEFAULT_EVAL_BATCH = 8


def schema_path() -> Path:
    env = os.environ.get(SCHEMA_ENV)
    if env:
        return Path(env)
    for candidate in _SCHEMA_CANDIDATES:
        if candidate.is_file():
            return candidate
    raise ConfigError(f"job config schema not found (set {SCHEMA_ENV})")


def load_schema() -> dict[str, Any]:
    return json.loads(schema_path().read_text())


def validate(raw: Any, source: str = "config") -> None:
    validator = jsonschema.Draft202012Validator(load_schema())
    errors = sorted(validator.iter_errors(raw), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(root)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(f"{source}: invalid job config at {where}: {first.message}{more}")


@dataclass(frozen=True)
class JobConfig:
    raw: dict[str, Any]

    # --- model
    @property
    def model_source(self) -> str:
        return self.raw["model"]["source"]

    @property
    def model_revision(self) -> str | None:
        return self.raw["model"].get("revision")

    @property
    def model_token_file(self) -> str | None:
        return self.raw["model"].get("tokenFile")

    # --- dataset
    @property
    def train_uri(self) -> str:
        return self.raw["dataset"]["train"]

    @property
    def validation_uri(self) -> str | None:
        return self.raw["dataset"].get("validation")

    @property
    def validation_split(self) -> float:
        return float(self.raw["dataset"].get("validationSplit", DEFAULT_VALIDATION_SPLIT))

    @property
    def data_format(self) -> str:
        return self.raw["dataset"]["format"]

    # --- method
    @property
    def method(self) -> dict[str, Any]:
        return self.raw["method"]

    # --- training
    @property
    def training(self) -> dict[str, Any]:
        t = dict(self.raw["training"])
        t.setdefault("keepCheckpoints", DEFAULT_KEEP_CHECKPOINTS)
        t.setdefault("progressEverySteps", DEFAULT_PROGRESS_EVERY)
        return t

    @property
    def accelerator(self) -> str | None:
        """The GPU the operator placed the job on (absent in configs written for local runs)."""
        acc = self.raw.get("hardware", {}).get("accelerator")
        return str(acc) if acc else None

    @property
    def gpu_count(self) -> int:
        return int(self.raw.get("hardware", {}).get("count", 1))

    @property
    def strategy(self) -> str:
        """ddp (replicas) or fsdp (sharded base weights) when several GPUs train."""
        return str(self.raw.get("hardware", {}).get("strategy", "ddp"))

    @property
    def nodes(self) -> int:
        """Nodes (pods) training together, each with gpu_count workers."""
        return int(self.raw.get("hardware", {}).get("nodes", 1))

    # --- evaluation
    @property
    def evaluation(self) -> dict[str, Any]:
        e = dict(self.raw["evaluation"])
        e.setdefault("batchSize", DEFAULT_EVAL_BATCH)
        return e

    @property
    def output(self) -> str:
        return self.raw["output"]

    @property
    def image(self) -> str | None:
        return self.raw["job"].get("image") or os.environ.get("FINETUNE_IMAGE")


def load(path: str) -> JobConfig:
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read job config: {e.strerror or e}") from e
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}:{e.lineno}: job config is not valid JSON: {e.msg}") from e
    validate(raw, path)
    cfg = JobConfig(raw)
    check(cfg, path)
    return cfg


def check(cfg: JobConfig, source: str = "config") -> None:
    """Combinations the schema cannot express."""
    if cfg.strategy == "fsdp" and cfg.method["type"] == "qlora":
        # The FSDP path (FSDP2, meta-device init, rank-0 broadcast) handles plain tensors.
        # bitsandbytes' 4-bit Params4bit carry their quantization state beside the data and are
        # quantized while loading, on the GPU: sharding them (FSDP1 with bnb_4bit_quant_storage set
        # to the compute dtype) is a different loading path, not built here.
        raise ConfigError(f"{source}: hardware.strategy fsdp cannot shard method.type qlora's 4-bit "
                          "bitsandbytes weights: use method.type lora with fsdp (bf16 base weights "
                          "sharded across the GPUs), or qlora with hardware.strategy ddp")
