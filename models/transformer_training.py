"""Training pieces of the transformer model: class weights, bf16 policy, the Trainer, its callbacks and metric."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import TrainerCallback

from warta import distributed
from warta.errors import InputError
from warta.models.encoder import IGNORE_INDEX

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


# --- the Trainer ----------------------------------------------------------------------


def build_trainer(clf: Any, train_set: Any, dev_set: Any, work_dir: Path, progress: bool) -> Any:
    """A Hugging Face Trainer for a TransformerClassifier `clf` (its hyperparameters, model and tokenizer):
    evaluation and a best-so-far checkpoint each epoch, early stopping on dev macro-F1, bf16 when possible,
    our logging and progress bar instead of the Trainer's prints, DDP under torchrun."""
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback, Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    train = clf.fit_arguments()
    bf16_on = use_bf16(train.bf16)
    args = TrainingArguments(
        output_dir=str(work_dir),
        num_train_epochs=train.epochs,
        max_steps=train.max_steps if train.max_steps else -1,
        per_device_train_batch_size=train.batch_size,  # under torchrun: split over the ranks
        per_device_eval_batch_size=train.eval_batch_size,
        learning_rate=train.learning_rate,
        weight_decay=train.weight_decay,
        warmup_steps=train.warmup_ratio,
        eval_strategy="epoch",
        save_strategy="best",
        save_only_model=True,
        save_total_limit=1,
        load_best_model_at_end=True,
        metric_for_best_model="macro_f1",
        greater_is_better=True,
        bf16=bf16_on,
        tf32=True if bf16_on else None,  # bf16-capable GPUs (Ampere+) also run the fp32 rest in TF32
        train_sampling_strategy="group_by_length" if train.group_by_length else "random",
        logging_strategy="steps",
        logging_steps=train.logging_steps,
        report_to="none",
        seed=clf.seed,
        data_seed=clf.seed,
        remove_unused_columns=False,
        dataloader_num_workers=train.dataloader_workers,
        dataloader_pin_memory=torch.cuda.is_available(),
        disable_tqdm=not progress,
        **ddp_arguments({"train.batch_size": train.batch_size, "train.eval_batch_size": train.eval_batch_size}),
    )
    collator = DataCollatorWithPadding(clf.tokenizer, pad_to_multiple_of=8 if bf16_on else None)
    trainer = Trainer(
        model=clf.model,
        args=args,
        data_collator=collator,
        train_dataset=train_set,
        eval_dataset=dev_set,
        processing_class=clf.tokenizer,
        compute_metrics=partial(multihead_metrics, clf),
        callbacks=[EarlyStoppingCallback(early_stopping_patience=train.early_stopping_patience),
                   _LogCallback(clf.history_), _RankSeed(), *clf.callbacks],
    )
    # The Trainer prints log dicts to stdout; ours go to the log (train.log, stderr) instead.
    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)
    if progress:
        trainer.add_callback(_StderrProgress())
    log.info(
        "transformer: %d train / %d dev sentences, bf16=%s, device=%s, processes=%d (%s)",
        len(train_set), len(dev_set), bf16_on, args.device, args.world_size, args.parallel_mode.value,
    )
    return trainer


def multihead_metrics(clf: Any, prediction: Any) -> dict[str, float]:
    """Dev macro-F1 per layer and their mean (`macro_f1`, the early-stopping metric) from the Trainer's logits."""
    from warta.metrics import layer_metrics

    logits = prediction.predictions
    if isinstance(logits, (tuple, list)):
        logits = logits[0]
    gold = np.asarray(prediction.label_ids)
    scores = {}
    for j, layer in enumerate(clf.layers):
        block = logits[:, clf.model.offsets[j] : clf.model.offsets[j + 1]]
        rows = gold[:, j] != IGNORE_INDEX
        if not rows.any():
            continue
        names = clf.labels[layer]
        gold_labels = [names[i] for i in gold[rows, j]]
        pred_labels = [names[i] for i in block[rows].argmax(axis=1)]
        scores[f"macro_f1_{layer}"] = layer_metrics(gold_labels, pred_labels, names, n_boot=0)["macro_f1"]
    scores["macro_f1"] = float(np.mean(list(scores.values()))) if scores else 0.0
    return scores
