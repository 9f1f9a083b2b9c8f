"""Multi-process training: `torchrun --nproc_per_node 2 -m warta train` (gloo, CPU) against one process.

Why the two runs must agree: with dropout off, no class weights and every
sentence labelled on every layer, the loss of a step is the mean over the
step's sentences. Under DDP each rank takes an equal slice of the very batch
a single process would take (split_batches, same seeded sampler, synchronised
every epoch) and the gradients are averaged, so each step applies the same
update; only float summation order (allreduce, per-rank padding) differs,
around 1e-7 per step. Over 86 steps of a tiny model that stays far below the
6 decimals the prediction records keep, so probabilities may differ by at
most one unit in the 6th decimal and macro-F1 (argmax) must be equal.
train.batch_size 2 divides the 86 training sentences, so no epoch ends with a
short batch (accelerate pads that one with the epoch's first sentences).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from warta.config import load_config
from warta.errors import InputError

pytestmark = pytest.mark.ddp

RUN_FILES = {"config.yaml", "data.json", "sentences.jsonl", "labels.json", "model", "metrics.json", "predictions",
             "train.log", "env.json", "README.md"}
CONFIG = """\
seed: 0
model:
  kind: transformer
  name_or_path: {model}
  max_length: 64
  dropout: 0.0
train:
  epochs: 2
  batch_size: 2
  eval_batch_size: 8
  learning_rate: 1.0e-3
  early_stopping_patience: 2
  logging_steps: 1
  class_weighted: false
  group_by_length: false
"""


@pytest.fixture(scope="module")
def ddp_config(tmp_path_factory, frozen_segmentation) -> Path:
    """A config on a tiny BERT whose encoder dropout is off too (written to tmp first)."""
    from conftest import build_tiny_bert
    from transformers import BertConfig

    folder = tmp_path_factory.mktemp("ddp")
    texts = [text for units in frozen_segmentation.values() for _, text in units]
    model = build_tiny_bert(folder / "tiny-bert", texts)
    encoder = BertConfig.from_pretrained(model)
    encoder.hidden_dropout_prob = encoder.attention_probs_dropout_prob = 0.0
    encoder.save_pretrained(model)
    path = folder / "ddp.yaml"
    path.write_text(CONFIG.format(model=model), encoding="utf-8")
    return path


def _probs(run: Path, split: str) -> dict[str, dict]:
    return {r["id"]: r["probs"] for r in map(json.loads, (run / "predictions" / f"{split}.jsonl").open())}


def test_two_gloo_processes_write_one_run_folder_equal_to_one_process(ddp_config, tmp_path, one_torch_thread):
    from warta.train.run import train

    single = train(load_config(ddp_config), out=tmp_path / "single", progress=False).run_dir

    cwd = tmp_path / "cwd"  # the launch folder: nothing may land here
    cwd.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    launched = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "warta", "train", str(ddp_config), "--out", str(tmp_path / "ddp")],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=240,
    )
    assert launched.returncode == 0, launched.stderr[-3000:]
    run = tmp_path / "ddp"

    # written once, by rank 0, and complete
    assert launched.stdout.count("run folder:") == 1  # the summary table: rank 0 only
    assert {p.name for p in run.iterdir()} == RUN_FILES  # checkpoints removed, nothing extra
    assert not any(cwd.iterdir())
    log = (run / "train.log").read_text(encoding="utf-8")
    assert log.count(": transformer model, layers") == 1 and log.count("run folder:") == 1  # one rank logged
    assert "processes=2 (distributed)" in log  # the Trainer really ran DDP, not two lone copies
    assert (run / "model" / "heads.safetensors").is_file() and (run / "model" / "model.safetensors").is_file()

    a = json.loads((single / "metrics.json").read_text())
    b = json.loads((run / "metrics.json").read_text())
    for split in ("dev", "test"):
        assert set(_probs(run, split)) == set(_probs(single, split))
        for layer in a[split]:
            assert b[split][layer]["macro_f1"] == a[split][layer]["macro_f1"], (split, layer)
        p, q = _probs(single, split), _probs(run, split)
        worst = max(abs(p[i][layer][label] - q[i][layer][label]) for i in p for layer in p[i] for label in p[i][layer])
        assert worst <= 1.01e-6, f"{split}: probabilities differ by {worst}"
    steps, losses = zip(*[(r["step"], r["loss"]) for r in a["training"]["history"] if "loss" in r], strict=True)
    ddp_steps, ddp_losses = zip(*[(r["step"], r["loss"]) for r in b["training"]["history"] if "loss" in r],
                                strict=True)
    assert ddp_steps == steps and len(steps) == 86  # 43 steps of 2 sentences per epoch, as in one process
    assert ddp_losses == pytest.approx(losses, rel=1e-4)  # logged loss: the mean over the ranks' slices
    assert a["training"]["best_dev_macro_f1_mean"] == b["training"]["best_dev_macro_f1_mean"]


def test_tfidf_under_torchrun_is_refused_in_one_line(monkeypatch, tmp_path):
    from warta.train.run import train

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(InputError, match="model.kind tfidf: multi-process training .* without torchrun"):
        train(load_config("tfidf"), out=tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_batch_size_must_divide_over_the_processes(monkeypatch):
    from warta.models.transformer_training import ddp_arguments

    assert ddp_arguments({"train.batch_size": 3}) == {}  # one process: nothing changes
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(InputError, match="train.batch_size 3: not divisible by the 2 training processes"):
        ddp_arguments({"train.batch_size": 3})
    args = ddp_arguments({"train.batch_size": 16})
    assert args["accelerator_config"] == {"split_batches": True} and args["ddp_backend"] in ("gloo", "nccl")
