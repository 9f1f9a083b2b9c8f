"""Training pieces of the transformer model: class weights, bf16 policy, Trainer callbacks."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from transformers import TrainerCallback

from warta import distributed
from warta.errors import InputError

log = logging.getLogger("warta.train")


def balanced_class_weights(targets: Sequence[str | None], labels: Sequence[str]) -> torch.Tensor:
    """n / (k * count) for the k labels present (scikit-learn's "balanced"); 1 for absent labels."""
    counts = np.array([sum(1 for t in targets if t == label) for label in labels], dtype=np.float64)
    present = counts > 0
    weights = np.ones(len(labels))
    if present.any():
        weights[present] = counts.sum() / (present.sum() * counts[present])
    return torch.tensor(weights, dtype=torch.float32)


def use_bf16(setting: bool | str) -> bool:
    """bf16 only on a CUDA device that supports it ("auto"), or when asked and possible."""
    available = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if setting == "auto":
        return available
    return bool(setting) and available


# --- multi-process training (torchrun; see warta.distributed) ------------------------


def ddp_arguments(batch_sizes: dict[str, int]) -> dict[str, Any]:
    """TrainingArguments that make the Trainer run DDP when launched multi-process ({} in one process).

    transformers 5 decides parallel_mode from accelerate's PartialState: with
    LOCAL_RANK set it picks nccl on a GPU, but on a CPU-only machine it stays
    "not distributed" (each rank would train the whole model alone) unless
    `use_cpu` is set; then it runs MULTI_CPU over gloo. `split_batches` makes
    each optimisation step take the batch a single process would take
    (train.batch_size sentences from the same sampler) and give each rank an
    equal slice of it, the last short batch included, so the effective batch
    and the steps per epoch match a one-process run. The BERT pooler gets no
    gradient (the heads read the hidden states): DDP must allow unused parameters.
    """
    n = distributed.world_size()
    if n <= 1:
        return {}
    for key, size in batch_sizes.items():
        if size % n:
            raise InputError(f"{key} {size}: not divisible by the {n} training processes; choose a multiple of {n}")
    args: dict[str, Any] = {
        "ddp_backend": distributed.backend(),
        "ddp_find_unused_parameters": True,
        "accelerator_config": {"split_batches": True},
    }
    if not torch.cuda.is_available():
        args["use_cpu"] = True
    return args


class _RankSeed(TrainerCallback):
    """Under DDP, reseed each rank with seed + rank once training starts.

    Every rank builds the model under the same seed (and DDP copies rank 0's
    weights anyway); the samplers are synchronised by accelerate. What is left
    to the global RNG is dropout: without this, every rank would draw the same
    masks for its rows, so the ranks' slices would share their noise.
    """

    def on_train_begin(self, args, state, control, **kwargs):
        from transformers import set_seed

        if distributed.is_distributed():
            set_seed(args.seed + distributed.rank())


# --- Trainer callbacks ----------------------------------------------------------------


class _LogCallback(TrainerCallback):
    """Every Trainer log record goes to the warta logger (train.log) and into `history`."""

    def __init__(self, history: list[dict[str, Any]]):
        self.history = history

    def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: D401
        if logs:
            record = {"step": state.global_step, "epoch": state.epoch, **logs}
            self.history.append(record)
            log.info("%s", json.dumps(record, default=float))


class _StderrProgress(TrainerCallback):
    """A tqdm bar of optimisation steps on stderr (the Trainer's own prints logs to stdout)."""

    def __init__(self):
        self.bar = None

    def on_train_begin(self, args, state, control, **kwargs):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=state.max_steps, desc="training", unit="step", dynamic_ncols=True)

    def on_step_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if self.bar is not None and metrics:
            score = metrics.get("eval_macro_f1")
            if score is not None and not math.isnan(score):
                self.bar.set_postfix(dev_macro_f1=f"{score:.3f}")

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
