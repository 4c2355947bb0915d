"""The launcher's torchrun options: one node standalone, several nodes meeting at the index-0 pod."""

from __future__ import annotations

import pytest

from finetune_trainer import cli
from finetune_trainer.errors import ConfigError


def test_one_node_is_standalone():
    assert cli.torchrun_args(4, 1, {}) == ["--standalone", "--nproc-per-node=4"]


def test_several_nodes_take_their_rank_from_the_indexed_job():
    env = {"JOB_COMPLETION_INDEX": "1", "FINETUNE_MASTER_ADDR": "j-trainer-0.j-trainer"}
    assert cli.torchrun_args(2, 3, env) == [
        "--nnodes=3", "--node-rank=1", "--master-addr=j-trainer-0.j-trainer", "--master-port=29500",
        "--rdzv-conf=timeout=1800", "--nproc-per-node=2"]
    env |= {"FINETUNE_NODE_RANK": "2", "FINETUNE_MASTER_PORT": "29600", "FINETUNE_RENDEZVOUS_TIMEOUT_S": "60"}
    assert cli.torchrun_args(1, 3, env)[1:5] == [
        "--node-rank=2", "--master-addr=j-trainer-0.j-trainer", "--master-port=29600", "--rdzv-conf=timeout=60"]


@pytest.mark.parametrize("env, words", [
    ({"JOB_COMPLETION_INDEX": "0"}, "FINETUNE_MASTER_ADDR is not set"),
    ({"FINETUNE_MASTER_ADDR": "a"}, "node rank None"),
    ({"FINETUNE_MASTER_ADDR": "a", "JOB_COMPLETION_INDEX": "2"}, "must be 0..1"),
    ({"FINETUNE_MASTER_ADDR": "a", "JOB_COMPLETION_INDEX": "0", "FINETUNE_MASTER_PORT": "x"}, "must be integers"),
])
def test_a_group_without_a_place_to_meet_is_bad_config(env, words):
    with pytest.raises(ConfigError, match=words):
        cli.torchrun_args(1, 2, env)
