"""Multi-process training under `torchrun` / `accelerate launch`: who am I, wait for rank 0, share a value.

A launcher sets WORLD_SIZE, RANK and LOCAL_RANK in every process it starts;
without them (a plain `warta train`) everything here is a no-op for one
process of rank 0. `init()` opens the process group (nccl on CUDA, gloo on the
CPU) before the HF Trainer would, so the run folder can be agreed on and
guarded first; accelerate then reuses the open group.

Conventions (see README, "Multi-process training"): every rank loads the data,
builds the same model (same seed) and trains; only rank 0 writes the run
folder, predicts and scores.
"""

from __future__ import annotations

import os
from typing import Any


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def rank() -> int:
    return int(os.environ.get("RANK", "0") or 0)


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0") or 0)


def is_distributed() -> bool:
    """True when launched as one of several processes (torchrun, accelerate launch)."""
    return world_size() > 1


def is_main() -> bool:
    """Rank 0: the one process that writes files and prints results."""
    return rank() == 0


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def backend() -> str:
    """nccl when the processes have GPUs, gloo on the CPU."""
    return "nccl" if _cuda() else "gloo"


def init() -> bool:
    """Open the default process group when launched multi-process (idempotent); True if one is open."""
    if not is_distributed():
        return False
    import torch.distributed as dist

    if not dist.is_initialized():
        if _cuda():
            import torch

            torch.cuda.set_device(local_rank())
        dist.init_process_group(backend=backend())
    return True


def _group_open() -> bool:
    if not is_distributed():
        return False
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def barrier() -> None:
    """Wait until every rank gets here (no-op in one process)."""
    if _group_open():
        import torch.distributed as dist

        if dist.get_backend() == "nccl":
            dist.barrier(device_ids=[local_rank()])
        else:
            dist.barrier()


def broadcast(value: Any) -> Any:
    """Rank 0's `value` on every rank (a picklable object; no-op in one process)."""
    if not _group_open():
        return value
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def close() -> None:
    """Close the process group at the end of a run (so torch does not warn at exit)."""
    if _group_open():
        import torch.distributed as dist

        barrier()
        dist.destroy_process_group()
