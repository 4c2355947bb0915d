"""Entry point: python -m finetune_trainer --config /etc/finetune/job.json

Exit codes: 0 done; 2 bad config or data (not retried); 143 preempted (checkpoint saved);
75 (several nodes) a peer node was stopped or lost, this one stopped with it; anything else is
retryable. A one-line summary goes to $TERMINATION_MESSAGE_PATH.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from types import FrameType

from finetune_trainer.errors import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    EXIT_PEER_STOPPED,
    EXIT_PREEMPTED,
    EXIT_RETRYABLE,
    BadInputError,
    ConfigError,
    PeerStopped,
    Preempted,
)

log = logging.getLogger("finetune_trainer")
EXIT_FILE_ENV = "FINETUNE_EXIT_FILE"  # set by the launcher for its local-rank-0 worker
# Several nodes (hardware.nodes > 1): where the group meets, and this node's place in it. The
# operator sets the address to the index-0 pod's DNS name; the rank defaults to the Indexed Job's
# JOB_COMPLETION_INDEX.
MASTER_ADDR_ENV = "FINETUNE_MASTER_ADDR"
MASTER_PORT_ENV = "FINETUNE_MASTER_PORT"
NODE_RANK_ENV = "FINETUNE_NODE_RANK"
RENDEZVOUS_TIMEOUT_ENV = "FINETUNE_RENDEZVOUS_TIMEOUT_S"
DEFAULT_MASTER_PORT = 29500
DEFAULT_RENDEZVOUS_TIMEOUT_S = 1800  # the other pods may wait for a node to be created
MAX_MESSAGE = 4000  # Kubernetes keeps at most 4096 bytes of a termination message


def write_termination_message(message: str) -> None:
    path = os.environ.get("TERMINATION_MESSAGE_PATH", "/dev/termination-log")
    line = " ".join(message.split())[:MAX_MESSAGE]
    try:
        with open(path, "w") as f:
            f.write(line + "\n")
    except OSError:
        pass


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="finetune_trainer", description="LoRA fine-tuning trainer")
    p.add_argument("--config", default="/etc/finetune/job.json", help="job config (JSON)")
    p.add_argument("--workdir", default=os.environ.get("FINETUNE_WORKDIR"),
                   help="local scratch directory (model download, staging); default: a temp dir")
    return p.parse_args(argv)


def torchrun_args(count: int, nodes: int, environ: dict[str, str]) -> list[str]:
    """torchrun's options: one node standalone; several nodes meet at the index-0 pod."""
    if nodes <= 1:
        return ["--standalone", f"--nproc-per-node={count}"]
    rank = environ.get(NODE_RANK_ENV) or environ.get("JOB_COMPLETION_INDEX")
    addr = environ.get(MASTER_ADDR_ENV)
    port = environ.get(MASTER_PORT_ENV) or str(DEFAULT_MASTER_PORT)
    timeout = environ.get(RENDEZVOUS_TIMEOUT_ENV) or str(DEFAULT_RENDEZVOUS_TIMEOUT_S)
    if not addr:
        raise ConfigError(f"hardware.nodes is {nodes} but {MASTER_ADDR_ENV} is not set")
    if rank is None or not rank.isdigit() or int(rank) >= nodes:
        raise ConfigError(f"hardware.nodes is {nodes}: node rank {rank!r} ({NODE_RANK_ENV} or "
                          f"JOB_COMPLETION_INDEX) must be 0..{nodes - 1}")
    if not port.isdigit() or not timeout.isdigit():
        raise ConfigError(f"{MASTER_PORT_ENV} and {RENDEZVOUS_TIMEOUT_ENV} must be integers")
    return [f"--nnodes={nodes}", f"--node-rank={rank}", f"--master-addr={addr}", f"--master-port={port}",
            f"--rdzv-conf=timeout={timeout}", f"--nproc-per-node={count}"]


def _launch_workers(args: argparse.Namespace, count: int, nodes: int = 1) -> int:
    """Runs one worker per GPU under torchrun and maps the result onto our exit codes."""
    with tempfile.TemporaryDirectory() as tmp:
        exit_file = Path(tmp) / "exit"
        env = dict(os.environ, **{EXIT_FILE_ENV: str(exit_file)})
        cmd = [sys.executable, "-m", "torch.distributed.run", *torchrun_args(count, nodes, env),
               "-m", "finetune_trainer", "--config", args.config]
        # One scratch directory for all workers on the node: the model is downloaded once.
        cmd += ["--workdir", args.workdir or str(Path(tmp) / "work")]
        log.info("launching %d workers on node %s of %d: %s", count,
                 env.get(NODE_RANK_ENV) or env.get("JOB_COMPLETION_INDEX") or "0", nodes, " ".join(cmd))
        proc = subprocess.Popen(cmd, env=env)
        terminated = False

        def forward(signum: int, _frame: FrameType | None) -> None:
            # torchrun passes SIGTERM on to the workers and gives them 30 s before SIGKILL.
            nonlocal terminated
            terminated = True
            proc.send_signal(signum)

        signal.signal(signal.SIGTERM, forward)
        rc = proc.wait()
        if exit_file.is_file():
            text = exit_file.read_text().strip()
            if text.isdigit():
                return int(text)
        if terminated:
            return EXIT_PREEMPTED
        return EXIT_OK if rc == 0 else (rc if rc != EXIT_BAD_INPUT else EXIT_RETRYABLE)


def _is_oom(e: BaseException) -> bool:
    import torch

    oom = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
    return (oom is not None and isinstance(e, oom)) or (
        isinstance(e, RuntimeError) and "CUDA out of memory" in str(e))


def _lost_peer(e: BaseException) -> bool:
    """A collective failed because another process of the group went away."""
    import torch

    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return False
    dist_error = getattr(torch.distributed, "DistError", None)
    text = str(e)
    return (dist_error is not None and isinstance(e, dist_error)) or any(
        m in text for m in ("Connection closed by peer", "Connection reset by peer", "Broken pipe"))


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    args = _parse(argv)
    from finetune_trainer import config as config_mod
    from finetune_trainer import train

    train.STOP.clear()
    signalled = False

    def on_term(signum: int, _frame: FrameType | None) -> None:
        nonlocal signalled
        signalled = True
        log.warning("signal %d: stopping after the current micro-batch, then saving a checkpoint", signum)
        train.STOP.set()

    previous = signal.signal(signal.SIGTERM, on_term)
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
    nodes = 1
    code, message = EXIT_RETRYABLE, "failed"
    try:
        cfg = config_mod.load(args.config)
        nodes = cfg.nodes
        if (cfg.gpu_count > 1 or nodes > 1) and "WORLD_SIZE" not in os.environ:
            return _launch_workers(args, cfg.gpu_count, nodes)
        if args.workdir:
            workdir = Path(args.workdir)
            workdir.mkdir(parents=True, exist_ok=True)
            message = train.Run(cfg, workdir).run()
        else:
            with tempfile.TemporaryDirectory(prefix="finetune-") as tmp:
                message = train.Run(cfg, Path(tmp)).run()
        code = EXIT_OK
    except BadInputError as e:
        code, message = EXIT_BAD_INPUT, f"bad input: {e}"
    except Preempted as e:
        if signalled or nodes <= 1:
            code, message = EXIT_PREEMPTED, f"preempted: {e}"
        else:  # the group stopped together because another node was preempted
            code, message = EXIT_PEER_STOPPED, f"a peer node was preempted, stopped with it: {e}"
    except PeerStopped as e:
        code, message = EXIT_PEER_STOPPED, f"peer stopped: {e}"
    except Exception as e:
        if _lost_peer(e):
            traceback.print_exc()
            code, message = EXIT_PEER_STOPPED, f"lost a peer node: {type(e).__name__}: {e}"
        elif _is_oom(e):  # the same batch on the same GPU runs out again: not retried
            traceback.print_exc()
            code, message = EXIT_BAD_INPUT, (
                f"out of accelerator memory: {str(e).splitlines()[0] if str(e) else type(e).__name__}; "
                "lower training.batchSize or training.maxSequenceLength (raise gradientAccumulation to keep "
                "the effective batch), use method.type qlora, or choose a larger GPU")
        else:  # retryable
            traceback.print_exc()
            code, message = EXIT_RETRYABLE, f"error: {type(e).__name__}: {e}"
    finally:
        signal.signal(signal.SIGTERM, previous)
    if code == EXIT_OK:
        log.info("%s", message)
    else:
        log.error("%s", message)
    if local_rank == 0:  # one worker per node (pod) speaks for it
        write_termination_message(message)
        exit_file = os.environ.get(EXIT_FILE_ENV)
        if exit_file:
            Path(exit_file).write_text(f"{code}\n")
    return code
