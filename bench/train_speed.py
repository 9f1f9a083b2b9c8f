"""Training speed: warta's transformer path vs plain Trainer defaults, and TF-IDF on the CPU.

    python bench/train_speed.py            # full run: needs a CUDA GPU (written for an H100)
    python bench/train_speed.py --smoke    # tiny model, few sentences, CPU: proves the script works

Transformer (same run, same sentences, same model code, same random BERT-base
encoder: hidden 768, 12 layers, 12 heads, vocab 50,000 -- IndoBERT-base's size):

- plain: `Trainer` defaults -- fp32, every sentence padded to 128 tokens, batch
  32, random order, default collator;
- warta: `TransformerClassifier.fit`, the code `warta train` runs -- bf16 (+TF32)
  on a bf16-capable GPU, dynamic padding (to a multiple of 8), length-grouped
  batches, fused AdamW (the Trainer's default optimiser), at batch 32 and at a
  larger batch.

Sentences/s counts training sentences over optimisation steps only: the first
`--warmup` steps (CUDA/cuDNN start-up) and the end-of-epoch evaluation and
checkpoint are left out, identically for every path. The sentences are the
seed corpus's sentences repeated; labels are random (speed only). The
WordPiece vocabulary is trained on the seed sentences (no IndoBERT tokenizer
is reachable offline), so token counts per sentence are like a
subword tokenizer fitted to Indonesian news.

TF-IDF (CPU): time to fit all three layers (C tuned on dev over the config's
grid) on the real seed splits, and predict_proba sentences/s on the seed
sentences repeated (wall clock and process CPU time), against the anchor:
scikit-learn's own TfidfVectorizer (word 1-2 + char_wb 2-5) featurising once,
then one LogisticRegression per layer.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def seed_sentences() -> list[str]:
    from warta.text.corpus import (
        BuildReport,
        default_seeds_dir,
        iter_corpus,
        iter_seed_articles,
    )

    return [r["text"] for r in iter_corpus(iter_seed_articles(default_seeds_dir()), BuildReport())]


# --- TF-IDF ---------------------------------------------------------------------------


def tfidf_figures(repeat: int) -> dict:
    from warta.config import load_config
    from warta.models.base import Labelled
    from warta.models.tfidf import TfidfClassifier
    from warta.train.data import load_data, targets
    from warta.train.run import build_model

    layers = ["type", "stance", "frame"]
    config = load_config(Path(__file__).resolve().parent.parent / "configs" / "tfidf.yaml")
    try:
        data = load_data()
        train, dev = data.split_records("train"), data.split_records("dev")
        source = "seed labels, train/dev splits"
    except Exception as exc:  # labels not there: time the fit on synthetic labels instead
        texts = seed_sentences()
        rng = np.random.default_rng(0)
        from warta.schema import LAYERS

        records = [{"text": t, **{layer: str(rng.choice(LAYERS[layer])) for layer in layers}} for t in texts]
        train, dev = records[: int(len(records) * 0.8)], records[int(len(records) * 0.8):]
        source = f"seed sentences with random labels ({exc})"
    model: TfidfClassifier = build_model(config)
    started = time.perf_counter()
    model.fit([r["text"] for r in train], targets(train, layers), dev=Labelled([r["text"] for r in dev], targets(dev, layers)))
    fit_s = time.perf_counter() - started
    texts = seed_sentences() * repeat
    model.predict_proba(texts[:2000])  # fill the per-word caches once, as a long labelling run would
    best_wall, best_cpu = _throughput(lambda: model.predict_proba(texts), len(texts))
    anchor = sklearn_anchor(train, layers)
    anchor_wall, anchor_cpu = _throughput(lambda: anchor(texts), len(texts))
    return {
        "fit_s": fit_s,
        "fit_sentences": {"train": len(train), "dev": len(dev)},
        "c_grid": list(model.c_values),
        "source": source,
        "predict_sentences": len(texts),
        "predict_per_s_wall": best_wall,
        "predict_per_s_cpu": best_cpu,
        "anchor_per_s_wall": anchor_wall,
        "anchor_per_s_cpu": anchor_cpu,
    }


def _throughput(call, n: int, repeats: int = 3) -> tuple[float, float]:
    """Best sentences/s over `repeats` calls: (wall clock, process CPU time)."""
    best_wall, best_cpu = 0.0, 0.0
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        best_wall = max(best_wall, n / (time.perf_counter() - wall))
        best_cpu = max(best_cpu, n / max(time.process_time() - cpu, 1e-9))
    return best_wall, best_cpu


def sklearn_anchor(train: list[dict], layers: list[str]):
    """The textbook scikit-learn equivalent, featurising once for all layers: word 1-2 + char_wb 2-5
    TF-IDF in a FeatureUnion, one LogisticRegression per layer. Returns texts -> [probs per layer]."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion

    texts = [r["text"] for r in train]
    features = FeatureUnion([
        ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\w+")),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
    ])
    X = features.fit_transform(texts)
    heads = [LogisticRegression(class_weight="balanced", max_iter=2000).fit(X, [r[layer] for r in train])
             for layer in layers]

    def predict_proba(batch: list[str]) -> list:
        X = features.transform(batch)
        return [head.predict_proba(X) for head in heads]

    return predict_proba


# --- transformer ----------------------------------------------------------------------


def build_encoder_folder(folder: Path, texts: list[str], smoke: bool) -> Path:
    """Random-weight encoder (BERT-base size, or tiny with --smoke), vocab 50,000, WordPiece on the seeds."""
    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, BertTokenizer

    wordpiece = BertWordPieceTokenizer(lowercase=True)
    wordpiece.train_from_iterator(texts, vocab_size=50_000, min_frequency=1, show_progress=False,
                                  special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tokenizer = BertTokenizer(vocab=wordpiece.get_vocab(), do_lower_case=True)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    size = (dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
            if smoke else dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072))
    config = BertConfig(vocab_size=50_000, max_position_embeddings=512, **size)
    BertModel(config).save_pretrained(folder)
    return folder


class StepTimer:
    """Trainer callback: wall time from the end of step `warmup` to the end of the last step."""

    def __init__(self, warmup: int, batch_size: int, n_sentences: int):
        from transformers import TrainerCallback

        timer = self

        class _Callback(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                timer.step_end(state.global_step)

        self.callback = _Callback()
        self.warmup, self.batch_size, self.n_sentences = warmup, batch_size, n_sentences
        self.start = self.end = None
        self.steps = 0

    def step_end(self, step: int) -> None:
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()
        now = time.perf_counter()
        if step == self.warmup:
            self.start = now
        elif step > self.warmup:
            self.end, self.steps = now, step - self.warmup

    def sentences_per_s(self) -> float:
        """Timed steps are full batches: the sentence count is a multiple of every batch size."""
        if self.start is None or self.end is None:
            raise RuntimeError("too few steps to time; raise --sentences or lower --warmup")
        return self.steps * self.batch_size / (self.end - self.start)


def random_targets(n: int, seed: int) -> dict[str, list[str]]:
    from warta.schema import LAYERS

    rng = np.random.default_rng(seed)
    return {layer: [str(v) for v in rng.choice(labels, n)] for layer, labels in LAYERS.items()}


def warta_path(folder: Path, texts: list[str], dev_texts: list[str], batch_size: int, warmup: int, work: Path) -> dict:
    """`TransformerClassifier.fit` as `warta train` calls it (configs/indobert.yaml settings, 1 epoch)."""
    from warta.models.base import Labelled
    from warta.models.transformer import TransformerClassifier, TransformerTrainingArguments, use_bf16

    timer = StepTimer(warmup, batch_size, len(texts))
    training = TransformerTrainingArguments(epochs=1, batch_size=batch_size, eval_batch_size=256, learning_rate=3e-5,
                                            group_by_length=True, bf16="auto", logging_steps=10_000)
    model = TransformerClassifier.from_pretrained(str(folder), max_length=128, seed=0, training=training,
                                                  callbacks=[timer.callback])
    model.fit(texts, random_targets(len(texts), 0), dev=Labelled(dev_texts, random_targets(len(dev_texts), 1)),
              work_dir=work, progress=False)
    return {"sentences_per_s": timer.sentences_per_s(), "batch_size": batch_size,
            "bf16": use_bf16("auto"), "padding": "dynamic (multiple of 8)", "order": "group_by_length"}


def plain_path(folder: Path, texts: list[str], batch_size: int, warmup: int, work: Path) -> dict:
    """The same model under plain `Trainer` defaults: fp32, pad to 128, random order."""
    import torch
    from transformers import Trainer, TrainingArguments, default_data_collator, set_seed
    from transformers.trainer_callback import PrinterCallback

    from warta.models.transformer import MultiHeadEncoder, load_pretrained
    from warta.schema import LAYERS

    set_seed(0)
    tokenizer, encoder = load_pretrained(str(folder))
    model = MultiHeadEncoder(encoder, {k: len(v) for k, v in LAYERS.items()})
    encoded = tokenizer([t.lower() for t in texts], padding="max_length", truncation=True, max_length=128)
    targets = random_targets(len(texts), 0)
    label_rows = [[LAYERS[layer].index(targets[layer][i]) for layer in LAYERS] for i in range(len(texts))]
    features = [{"input_ids": encoded["input_ids"][i], "attention_mask": encoded["attention_mask"][i],
                 "token_type_ids": encoded["token_type_ids"][i], "labels": label_rows[i]} for i in range(len(texts))]

    class ListDataset(torch.utils.data.Dataset):
        def __len__(self):
            return len(features)

        def __getitem__(self, i):
            return features[i]

    timer = StepTimer(warmup, batch_size, len(texts))
    args = TrainingArguments(output_dir=str(work), per_device_train_batch_size=batch_size, num_train_epochs=1,
                             report_to="none", save_strategy="no", logging_steps=10_000, disable_tqdm=True,
                             seed=0)
    trainer = Trainer(model=model, args=args, train_dataset=ListDataset(), data_collator=default_data_collator,
                      callbacks=[timer.callback])
    trainer.remove_callback(PrinterCallback)  # its log lines only; nothing that affects speed
    trainer.train()
    return {"sentences_per_s": timer.sentences_per_s(), "batch_size": batch_size, "bf16": False,
            "padding": "max_length 128", "order": "random"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny encoder, few sentences, CPU is fine")
    parser.add_argument("--sentences", type=int, default=None, help="training sentences per path")
    parser.add_argument("--batch", type=int, default=32, help="batch size of the plain path and warta's first run")
    parser.add_argument("--large-batch", type=int, default=128, help="warta's larger batch (0: skip; 64 with --smoke)")
    parser.add_argument("--warmup", type=int, default=None, help="steps left out of the timing")
    parser.add_argument("--tfidf-repeat", type=int, default=200, help="seed sentences x this for TF-IDF predict")
    parser.add_argument("--skip-tfidf", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)

    import torch

    results: dict = {"device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"}
    if not args.skip_tfidf:
        figures = tfidf_figures(args.tfidf_repeat)
        results["tfidf"] = figures
        print(f"TF-IDF fit, all three layers, C tuned over {len(figures['c_grid'])} values on dev "
              f"({figures['fit_sentences']['train']} train / {figures['fit_sentences']['dev']} dev; {figures['source']}): "
              f"{figures['fit_s']:.2f} s")
        print(f"TF-IDF predict_proba, all three layers, {figures['predict_sentences']:,} sentences (1 process):")
        print(f"  warta                          {figures['predict_per_s_wall']:>9,.0f} sentences/s wall "
              f"{figures['predict_per_s_cpu']:>9,.0f} per CPU-second")
        print(f"  scikit-learn TfidfVectorizer   {figures['anchor_per_s_wall']:>9,.0f} sentences/s wall "
              f"{figures['anchor_per_s_cpu']:>9,.0f} per CPU-second")
        print(f"  ratio (wall)                   x{figures['predict_per_s_wall'] / figures['anchor_per_s_wall']:.1f}")

    if not torch.cuda.is_available() and not args.smoke:
        print("transformer: no CUDA GPU here. The comparison is meant for a GPU (written for an H100): run\n"
              "  python bench/train_speed.py\n"
              "on a GPU machine, or `python bench/train_speed.py --smoke` to check the script on the CPU "
              "(its figures say nothing about GPU speed).")
        _write(args.json, results)
        return 0

    texts = seed_sentences()
    large = args.large_batch if args.large_batch else None
    if args.smoke and large == 128:
        large = 64
    n = args.sentences or (384 if args.smoke else 16_384)
    unit = math.lcm(args.batch, large or 1)
    n = -(-n // unit) * unit  # a multiple of every batch size: all steps are full
    warmup = args.warmup if args.warmup is not None else (1 if args.smoke else 10)
    train_texts = [texts[i % len(texts)] for i in range(n)]
    dev_texts = texts[:64]
    if args.smoke:
        torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = build_encoder_folder(tmp / "encoder", texts, args.smoke)
        runs = {"plain": plain_path(folder, train_texts, args.batch, warmup, tmp / "plain")}
        runs[f"warta_b{args.batch}"] = warta_path(folder, train_texts, dev_texts, args.batch, warmup, tmp / "w1")
        if large:
            runs[f"warta_b{large}"] = warta_path(folder, train_texts, dev_texts, large, warmup, tmp / "w2")
    size = "tiny BERT (smoke)" if args.smoke else "BERT-base (768x12, vocab 50,000), random weights"
    print(f"transformer training, {size}, {n:,} sentences, 1 epoch, device {results['device']}:")
    base = runs["plain"]["sentences_per_s"]
    for name, run in runs.items():
        ratio = run["sentences_per_s"] / base
        print(f"  {name:<12} {run['sentences_per_s']:>10,.0f} sentences/s   x{ratio:5.2f}   "
              f"(batch {run['batch_size']}, bf16 {run['bf16']}, padding {run['padding']}, order {run['order']})")
    results["transformer"] = {"model": size, "sentences": n, "warmup_steps": warmup, "runs": runs}
    if args.smoke:
        print("  (smoke run: proves the script; CPU figures say nothing about GPU speed)")
    _write(args.json, results)
    return 0


def _write(path: Path | None, results: dict) -> None:
    if path is not None:
        path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
