"""Model resolution (hf://, gs://, local directory), loading and LoRA / QLoRA setup."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from finetune_trainer import storage
from finetune_trainer.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResolvedModel:
    source: str
    path: Path
    revision: str | None  # requested revision (hf://)
    resolved_revision: str | None  # commit sha (hf://)


MODEL_CACHE_ENV = "FINETUNE_MODEL_CACHE"  # a node-local directory kept across runs (hostPath / local SSD)
# What a model needs: config, generation config, tokenizer files, chat template, safetensors weights.
# Not original/*.pth (Llama's consolidated checkpoint doubles the download), *.bin, *.gguf, onnx/, ...
HUB_ALLOW = ["*.json", "*.safetensors", "tokenizer.model", "*.tiktoken", "*.txt", "*.jinja"]
HUB_IGNORE = ["original/*", "**/original/*"]


def model_cache() -> Path | None:
    value = os.environ.get(MODEL_CACHE_ENV)
    return Path(value) if value else None


def resolve(source: str, revision: str | None, token_file: str | None, workdir: Path) -> ResolvedModel:
    """Downloads the model (once per node: call it on local rank 0 only)."""
    if source.startswith("hf://"):
        return _resolve_hf(source, revision, token_file, workdir)
    if storage.is_gcs(source):
        cache = model_cache()
        if cache is not None:
            dest, count = storage.cached_prefix(source, cache / "gcs")
            if count == 0 and not any(p.name != ".complete" for p in dest.iterdir()):
                raise ConfigError(f"model.source {source}: no objects under this prefix")
            log.info("model %s: %s (%s)", source, dest, f"downloaded {count} files" if count else "cached")
            return ResolvedModel(source, dest, revision, None)
        dest = workdir / "model"
        dest.mkdir(parents=True, exist_ok=True)
        count = storage.download_prefix(source, dest)
        if count == 0:
            raise ConfigError(f"model.source {source}: no objects under this prefix")
        log.info("downloaded %d model files from %s", count, source)
        return ResolvedModel(source, dest, revision, None)
    path = Path(source)
    if not path.is_dir():
        raise ConfigError(f"model.source {source}: not a directory")
    return ResolvedModel(source, path, revision, None)


def _resolve_hf(source: str, revision: str | None, token_file: str | None, workdir: Path) -> ResolvedModel:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

    repo_id = source[len("hf://") :]
    token = None
    if token_file:
        try:
            token = Path(token_file).read_text().strip() or None
        except OSError as e:
            raise ConfigError(f"model.tokenFile {token_file}: cannot read: {e.strerror or e}") from e
    cache = model_cache()
    cache_dir = Path(os.environ.get("HF_HUB_CACHE") or (cache / "hf" if cache else workdir / "hf-cache"))
    try:
        # The Hub cache is keyed by commit and locks per file: runs on one node share it.
        path = Path(snapshot_download(repo_id=repo_id, revision=revision or "main", token=token,
                                      cache_dir=str(cache_dir), allow_patterns=HUB_ALLOW,
                                      ignore_patterns=HUB_IGNORE))
    except (GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError) as e:
        # Wrong name, revision or token: retrying cannot help.
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"model.source {source}@{revision or 'main'}: {type(e).__name__}: {first}") from e
    # Cache layout: models--org--name/snapshots/<commit sha>
    resolved = path.name if path.parent.name == "snapshots" else None
    log.info("model %s@%s resolved to commit %s", repo_id, revision or "main", resolved)
    return ResolvedModel(source, path, revision or "main", resolved)


ALLOW_CPU_ENV = "FINETUNE_ALLOW_CPU"


def device(accelerator: str | None = None) -> torch.device:
    """The device to train on: CUDA when there is one.

    A job that names a GPU accelerator and finds no CUDA fails (the node's driver or the pod's GPU
    request is wrong) unless the operator's local-cluster setting allows CPU (FINETUNE_ALLOW_CPU=true
    in the pod); it never falls back to CPU silently.
    """
    if torch.cuda.is_available():
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    if accelerator and os.environ.get(ALLOW_CPU_ENV, "").lower() != "true":
        driver = nvidia_driver_version()
        raise RuntimeError(
            f"the job asks for {accelerator} but CUDA is not available in this pod "
            f"(torch {torch.__version__} built for CUDA {torch.version.cuda}, needs NVIDIA driver "
            f"{MIN_DRIVER.get(_major(torch.version.cuda), 'for that CUDA')} or newer; node driver: "
            f"{driver or 'none visible'}); check the node's GPU driver "
            f"and the pod's nvidia.com/gpu request. {ALLOW_CPU_ENV}=true (local clusters only) "
            "trains on CPU instead")
    if accelerator:
        log.warning("no CUDA device: training on CPU because %s=true", ALLOW_CPU_ENV)
    return torch.device("cpu")


MIN_DRIVER = {"12": "R525", "13": "R580"}  # minimum Linux driver branch per CUDA major version


def _major(version: str | None) -> str:
    return (version or "").split(".")[0]


def nvidia_driver_version() -> str | None:
    """The kernel driver's version (e.g. 580.65.06), or None when no NVIDIA driver is visible."""
    import re

    try:
        text = Path("/proc/driver/nvidia/version").read_text()
        m = re.search(r"Kernel Module(?: for [^ ]+)?\s+(\d+\.\d+(?:\.\d+)?)", text)
        if m:
            return m.group(1)
    except OSError:
        pass
    import shutil
    import subprocess

    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=20)
            first = out.stdout.strip().splitlines()
            return first[0].strip() if out.returncode == 0 and first else None
        except (OSError, subprocess.SubprocessError):
            return None
    return None


def hardware(dev: torch.device) -> dict[str, Any]:
    """What the run trained on, for the manifest (GPU fields null on CPU)."""
    if dev.type != "cuda":
        return {"device": "cpu", "gpu": None, "gpuCount": 0, "driver": None, "cuda": None}
    return {"device": "cuda", "gpu": torch.cuda.get_device_name(dev), "gpuCount": torch.cuda.device_count(),
            "driver": nvidia_driver_version(), "cuda": torch.version.cuda}


def compute_dtype(dev: torch.device) -> torch.dtype:
    if dev.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    if dev.type == "cuda":
        return torch.float16
    return torch.float32


def load_tokenizer(path: Path) -> Any:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path))
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token if tok.eos_token is not None else tok.unk_token
    return tok


def load_model(path: Path, method: str, dev: torch.device) -> Any:
    from transformers import AutoModelForCausalLM

    # SDPA: fused attention kernels on GPU, and block-diagonal masks for packed batches.
    kwargs: dict[str, Any] = {"attn_implementation": "sdpa"}
    dtype = compute_dtype(dev)
    if method == "qlora":
        if dev.type != "cuda":
            raise ConfigError("method.type qlora needs a CUDA GPU (4-bit NF4 via bitsandbytes); "
                              "none is available: use method.type lora or request a GPU")
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype)
        kwargs["device_map"] = {"": dev}
    # fp16 weights without a loss scaler are unstable: keep float32 unless bf16 is supported.
    load_dtype = torch.bfloat16 if dtype == torch.bfloat16 else torch.float32
    try:
        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=load_dtype, **kwargs)
    except TypeError:  # transformers < 4.56 names it torch_dtype
        model = AutoModelForCausalLM.from_pretrained(str(path), torch_dtype=load_dtype, **kwargs)
    if method != "qlora":
        model.to(dev)
    return model


def target_modules(method: dict[str, Any]) -> str | list[str]:
    mods = list(method["targetModules"])
    return "all-linear" if mods == ["all-linear"] else mods


def apply_lora(model: Any, method: dict[str, Any], gradient_checkpointing: bool) -> Any:
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if method["type"] == "qlora":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=gradient_checkpointing,
                                                gradient_checkpointing_kwargs={"use_reentrant": False})
    elif gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    cfg = LoraConfig(r=int(method["rank"]), lora_alpha=float(method["alpha"]),
                     lora_dropout=float(method["dropout"]), target_modules=target_modules(method),
                     bias="none", task_type="CAUSAL_LM")
    try:
        return get_peft_model(model, cfg)
    except ValueError as e:  # e.g. target modules not found in the model
        raise ConfigError(f"method.targetModules: {e}") from e
