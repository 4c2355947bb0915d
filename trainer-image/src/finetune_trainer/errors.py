"""Errors that map to the trainer's exit codes."""

from __future__ import annotations

EXIT_OK = 0
EXIT_BAD_INPUT = 2  # bad config or bad data: the operator does not retry
EXIT_RETRYABLE = 1
EXIT_PREEMPTED = 143  # SIGTERM: checkpoint saved, retry resumes
# Multi-node: this node was not stopped, a peer of its group was (preempted: the group saved a
# checkpoint and stopped together) or was lost (a collective failed). Restarting the whole group
# resumes from the last checkpoint; the operator's pod failure policy does not count it.
EXIT_PEER_STOPPED = 75


class BadInputError(Exception):
    """The job config or the data is invalid; retrying cannot help (exit 2)."""


class ConfigError(BadInputError):
    pass


class DataError(BadInputError):
    def __init__(self, path: str, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


class Preempted(Exception):
    """SIGTERM received; a checkpoint was saved (exit 143)."""


class PeerStopped(Exception):
    """A peer node of the group was stopped or lost; this node stopped with it (exit 75)."""


class TrainingDiverged(BadInputError):
    """The loss or the gradients stayed NaN/inf: the same data and settings diverge again (exit 2)."""


class OutOfMemory(BadInputError):
    """The accelerator ran out of memory: the same settings do it again (exit 2)."""
