"""hardware.strategy fsdp: the frozen base weights and the LoRA weights sharded across the ranks.

torch's FSDP2 (``fully_shard``): one FSDP unit per decoder layer (the model's ``_no_split_modules``)
and one around the transformers model (``PeftModel.base_model.model``), whose ``__call__`` both the
training forward and ``generate`` go through. FSDP2 shards each parameter on its own (DTensor), so
frozen base weights and trainable LoRA weights share a unit without FSDP1's flat-parameter rules
(``use_orig_params``), and the PEFT model keeps its module names: the state-dict helpers of
``torch.distributed.checkpoint`` give PEFT-compatible full state dicts.

Loading: every rank builds the model on the meta device (no memory), applies LoRA and shards it;
global rank 0 alone loads the weights into host memory (one full copy in the load dtype: bf16 on
GPUs with bf16, so 2 bytes per parameter, e.g. ~140 GB for 70B; float32 otherwise) and broadcasts
them tensor by tensor into the shards. No GPU ever holds the whole model.

Mixed precision on CUDA with bf16: parameters all-gathered in bf16, gradients reduced in float32,
the LoRA weights and AdamW state kept in float32 shards. On CPU (tests): gloo and float32.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from finetune_trainer import model as model_mod

log = logging.getLogger(__name__)


def _options(**kw: Any) -> Any:
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    return StateDictOptions(**kw)


def root(peft_model: Any) -> Any:
    """The FSDP root: the transformers model inside the PEFT wrappers."""
    return peft_model.base_model.model


def _layer_classes(model: Any) -> set[str]:
    names = set(getattr(model, "_no_split_modules", None) or [])
    if not names:
        raise RuntimeError(f"{type(model).__name__} names no decoder layer class (_no_split_modules): "
                           "cannot shard it per layer; use hardware.strategy ddp")
    return names


def load_sharded(path: Path, method: dict[str, Any], dev: torch.device, seed: int, grad_ckpt: bool,
                 rank: int) -> Any:
    """The PEFT LoRA model, sharded with FSDP2 across the default process group.

    The LoRA initialisation is rank 0's, drawn from ``seed`` on the CPU as a one-rank run draws it,
    so that an FSDP run starts where a single-replica run starts."""
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard
    from transformers import AutoConfig, AutoModelForCausalLM, GenerationConfig

    dtype = model_mod.compute_dtype(dev)
    load_dtype = torch.bfloat16 if dtype == torch.bfloat16 else torch.float32
    full: dict[str, torch.Tensor] = {}
    buffers: dict[str, torch.Tensor] = {}
    source = None
    if rank == 0:
        source = AutoModelForCausalLM.from_pretrained(str(path), dtype=load_dtype, attn_implementation="sdpa")
        torch.manual_seed(seed)
        source = model_mod.apply_lora(source, method, False)
        full = source.state_dict()
        buffers = dict(source.named_buffers())

    config = AutoConfig.from_pretrained(str(path))
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, dtype=load_dtype, attn_implementation="sdpa")
    with contextlib.suppress(OSError):  # eos ids for generation, as from_pretrained reads them
        model.generation_config = GenerationConfig.from_pretrained(str(path))
    peft_model = model_mod.apply_lora(model, method, grad_ckpt)

    mp = (MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
          if load_dtype == torch.bfloat16 else MixedPrecisionPolicy())
    inner = root(peft_model)
    layers = _layer_classes(inner)
    units = 0
    for module in inner.modules():
        if type(module).__name__ in layers:
            fully_shard(module, mp_policy=mp)
            units += 1
    fully_shard(inner, mp_policy=mp)
    peft_model.to_empty(device=dev)

    from torch.distributed.checkpoint.state_dict import set_model_state_dict

    set_model_state_dict(peft_model, full, options=_options(full_state_dict=True, broadcast_from_rank0=True))
    # Buffers are not in the sharded state (non-persistent ones such as rotary inv_freq are in no
    # state dict): rank 0's, whole, on every rank.
    for name, buf in peft_model.named_buffers():
        if rank == 0:
            buf.copy_(buffers[name].to(buf.device))
        torch.distributed.broadcast(buf, src=0)
    del full, buffers, source
    gc.collect()
    log.info("FSDP: %d decoder layers (%s) and the root sharded over %d ranks%s", units,
             ", ".join(sorted(layers)), torch.distributed.get_world_size(),
             ", bf16 parameters, float32 reductions" if load_dtype == torch.bfloat16 else ", float32")
    return peft_model


@contextlib.contextmanager
def no_sync(peft_model: Any) -> Iterator[None]:
    """Gradient accumulation without a reduce-scatter (gradients stay unsharded until the last
    micro-batch of the step)."""
    inner = root(peft_model)
    inner.set_requires_gradient_sync(False)
    try:
        yield
    finally:
        inner.set_requires_gradient_sync(True)


def as_float(norm: Any) -> float:
    """clip_grad_norm_ over sharded gradients returns a DTensor: its global value."""
    from torch.distributed.tensor import DTensor

    return float(norm.full_tensor() if isinstance(norm, DTensor) else norm)


def trainable_state(peft_model: Any) -> dict[str, torch.Tensor]:
    """The trainable (LoRA) weights, whole, on rank 0's CPU ({} elsewhere). Collective."""
    from torch.distributed.checkpoint.state_dict import get_model_state_dict

    return get_model_state_dict(peft_model, options=_options(full_state_dict=True, cpu_offload=True,
                                                             ignore_frozen_params=True))


def optimizer_state(peft_model: Any, optimizer: Any) -> dict[str, Any]:
    """AdamW's state, whole, keyed by parameter name, on rank 0's CPU ({} elsewhere). Collective."""
    from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict

    return get_optimizer_state_dict(peft_model, optimizer, options=_options(full_state_dict=True,
                                                                            cpu_offload=True))


def save_adapter(peft_model: Any, state: dict[str, torch.Tensor], directory: Path) -> None:
    """adapter_model.safetensors + adapter_config.json from a whole trainable state (rank 0)."""
    peft_model.save_pretrained(str(directory), save_embedding_layers=False, state_dict=state)


def load_adapter(peft_model: Any, weights: dict[str, torch.Tensor]) -> None:
    """Adapter weights (PEFT's file names, no adapter name) into the shards. Every rank holds them whole."""
    from peft import get_peft_model_state_dict
    from torch.distributed.checkpoint.state_dict import set_model_state_dict

    names = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    # PEFT's own renaming (the one save_pretrained applies), read back through the values.
    tagged = get_peft_model_state_dict(peft_model, state_dict={n: torch.tensor([i]) for i, n in enumerate(names)},
                                       save_embedding_layers=False)
    to_model = {key: names[int(v)] for key, v in tagged.items()}
    missing = sorted(set(to_model) - set(weights))
    unknown = sorted(set(weights) - set(to_model))
    if missing or unknown:
        raise RuntimeError(f"adapter weights do not match the model: missing {missing[:3]}, unexpected {unknown[:3]}")
    set_model_state_dict(peft_model, {to_model[k]: v for k, v in weights.items()},
                         options=_options(full_state_dict=True, strict=False))


def load_optimizer(peft_model: Any, optimizer: Any, state: dict[str, Any]) -> None:
    """A whole optimizer state (optimizer_state's) into the shards. Every rank holds it whole."""
    from torch.distributed.checkpoint.state_dict import set_optimizer_state_dict

    set_optimizer_state_dict(peft_model, optimizer, state, options=_options(full_state_dict=True))
