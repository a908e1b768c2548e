"""DistributedDataParallel under ``torchrun``: detection, process group, and helpers.

``torchrun`` (``python -m torch.distributed.run``) starts one process per device and sets
``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``. The engine then joins the process group (gloo on
CPU, NCCL on CUDA), wraps the model in DDP, shards the training data by rank, and lets only
rank 0 write files or print. Outside torchrun everything here reduces to a single process.

Ray Train (``train --cluster``, ``raytrain``) sets the same variables and makes the process
group itself: ``join`` then uses that group and ``leave`` leaves it to its maker.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import Tensor, nn


@dataclass(frozen=True)
class DistEnv:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def detect() -> DistEnv:
    """The process's place in a torchrun job (a single process when the variables are unset)."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise ValueError("RANK, WORLD_SIZE and LOCAL_RANK must be whole numbers "
                         "(they are set by torchrun).") from None
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"RANK={rank} does not fit WORLD_SIZE={world}.")
    return DistEnv(rank, world, local)


def join(env: DistEnv, device: torch.device) -> bool:
    """Join the process group if torchrun asked for one; True when this call created it (and
    so must destroy it). A group already made (by Ray Train) is used as it is: False."""
    if not env.enabled or dist.is_initialized():
        return False
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        dist.init_process_group(backend, device_id=device)
    else:
        dist.init_process_group(backend)
    return True


def leave(created: bool, wait: bool = True) -> None:
    """Leave the process group this process created. With ``wait``, first meet every other
    rank: a rank that destroys the group while another still finishes its last collective
    can abort inside gloo at exit ("terminate called without an active exception"). The
    wait is bounded on gloo, so a rank that died does not hang the others."""
    if not (created and dist.is_initialized()):
        return
    if wait:
        try:
            if dist.get_backend() == "gloo":
                dist.monitored_barrier(timeout=timedelta(seconds=60))
            else:
                dist.barrier()
        except RuntimeError:
            pass  # another rank is gone; leaving is all that is left to do
    dist.destroy_process_group()


def wrap(model: nn.Module, device: torch.device) -> nn.Module:
    """DDP around ``model``; its parameters, and so the per-layer norms, stay those of the
    inner module, whose names are the graph's node ids."""
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def all_reduce_sum(tensor: Tensor, env: DistEnv) -> Tensor:
    if env.enabled:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def gather_objects(value: object, env: DistEnv) -> list[object]:
    """``value`` from every rank, in rank order (a single-element list without DDP)."""
    if not env.enabled:
        return [value]
    out: list[object] = [None] * env.world_size
    dist.all_gather_object(out, value)
    return out


def parameter_digest(model: nn.Module) -> str:
    """SHA-256 of every parameter's bytes in ``named_parameters`` order: equal digests on two
    ranks mean bit-identical weights. (Buffers such as BatchNorm running statistics are left
    out: each rank updates them from its own last batch, and rank 0's are the ones saved.)"""
    digest = hashlib.sha256()
    for name, param in model.named_parameters():
        digest.update(name.encode())
        digest.update(param.detach().cpu().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
