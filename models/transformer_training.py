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
