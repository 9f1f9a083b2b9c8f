"""Speed and memory of `warta label`, measured against what a user would otherwise run, in one run.

    python bench/label_speed.py tfidf        [--sentences 200000]
    python bench/label_speed.py transformer  [--size base|small] [--sentences 400]
    python bench/label_speed.py gpu          [--sentences 400000]
    python bench/label_speed.py memory       [--small 10000] [--large 1000000]
    python bench/label_speed.py all

Inputs are the five seed articles repeated with varied ids (JSON Lines, one
article per line), so every figure counts sentences the real pipeline cuts
from real, boilerplate-heavy article text. Model load is excluded from every
rate; worker start-up is included.

tfidf        CPU, a TF-IDF run trained by `warta train` (configs/tfidf.yaml, C fixed
             to 1 to train in seconds; C does not change prediction cost): end-to-end
             sentences/s (read, clean, segment, label, write), the CPU seconds that
             cost (main + preparation workers), the rate of each stage on one core,
             and the anchor: a plain per-article loop (article_sentences, predict_proba,
             json.dumps) on the same articles.
transformer  CPU, random-weight BERT encoder of BERT-base size (vocab 50,000, hidden
             768, 12 layers; --size small: hidden 256, 4 layers) with a WordPiece
             tokenizer trained on the seeds, heads fitted on its [CLS] vectors of the
             labelled seeds (so int8-vs-fp32 agreement means something). warta (fp32
             and --quantize int8) against
             the anchor: one transformers.pipeline("text-classification") per layer at
             its default batch size, same encoder size, on the same sentences. Prints
             the ratios and the int8-vs-fp32 agreement per layer.
gpu          With CUDA: IndoBERT-base-sized encoder, warta on the GPU against one
             pipeline per layer at batch_size 64 on the GPU; sentences/s, ratio, and
             the share of the GPU's peak (dense bf16 FLOP/s, --peak-tflops). Without
             CUDA it says so and exits 0.
memory       Peak memory (PSS and RSS of main process + workers, sampled every 50 ms)
             of the `warta label` command with the TF-IDF run on a small and a large input.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")

REPO = Path(__file__).resolve().parent.parent


# --- inputs and models ----------------------------------------------------------------


def seed_articles():
    from warta.text.corpus import default_seeds_dir, iter_seed_articles

    return list(iter_seed_articles(default_seeds_dir()))


def sentences_per_copy() -> float:
    from warta.text.corpus import article_sentences

    articles = seed_articles()
    return sum(len(article_sentences(a)) for a in articles) / len(articles)


def write_input(path: Path, sentences: int) -> int:
    """Seed articles repeated with varied ids until about `sentences` sentences; returns the article count."""
    articles = seed_articles()
    n = max(1, round(sentences / sentences_per_copy()))
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            a = articles[i % len(articles)]
            out.write(json.dumps({"id": f"bench-{i:07d}", "text": a.text, "outlet": a.outlet, "title": a.title},
                                 ensure_ascii=False) + "\n")
    return n


def train_tfidf_run(root: Path) -> Path:
    from warta.config import load_config
    from warta.train.run import train

    config = load_config(REPO / "configs" / "tfidf.yaml", ["model.c_values=[1.0]"])
    return train(config, out=root / "tfidf", progress=False, n_boot=0).run_dir


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the preparation workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def rate_line(name: str, n: int, seconds: float, extra: str = "") -> str:
    return f"  {name:<52}{n / seconds:>12,.0f} sentences/s{extra}"


# --- TF-IDF on CPU -----------------------------------------------------------------------


def bench_tfidf(args) -> None:
    import pickle

    from warta.jsonl import dumps
    from warta.labelling.engine import label_articles
    from warta.labelling.inputs import iter_items
    from warta.labelling.labeller import load_labeller
    from warta.labelling.output import JsonlEncoder
    from warta.labelling.workers import prepare_item
    from warta.text.corpus import article_sentences

    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run = args.run or train_tfidf_run(tmp)
        source = tmp / "input.jsonl"
        n_articles = write_input(source, args.sentences)
        print(f"TF-IDF on CPU ({cores} cores), run {run.name}; input: {n_articles} articles "
              f"(seed articles repeated, varied ids)")

        # warm-up: imports and the vectorizer's per-word cache, as in any long run
        label_articles(run, [source], tmp / "warm.jsonl", workers=0, progress=False)
        (tmp / "warm.jsonl").unlink()

        print("end to end (label_articles: read, clean, segment, label, write; model load excluded):")
        results = {}
        for workers in sorted({0, args.workers or cores}):
            out = tmp / f"out{workers}.jsonl"
            before = cpu_seconds()
            summary = label_articles(run, [source], out, workers=workers, progress=False)
            cpu = cpu_seconds() - before
            results[workers] = summary
            print(rate_line(f"workers={workers}", summary.sentences, summary.seconds,
                            f"   ({summary.sentences} sentences, {summary.seconds:.2f} s wall, "
                            f"{1e6 * cpu / summary.sentences:.1f} CPU-µs/sentence)"))
            out.unlink()
        best = max(results.values(), key=lambda s: s.sentences_per_second)

        print("per stage, one core each (same input):")
        items = list(iter_items([source]))
        start = time.perf_counter()
        items = list(iter_items([source]))
        t_walk = time.perf_counter() - start
        start = time.perf_counter()
        records = [article_sentences(item) for _, item in items]
        t_corpus = time.perf_counter() - start
        start = time.perf_counter()
        prepared = [prepare_item(position, item, "jsonl") for position, item in items]
        t_prepare = time.perf_counter() - start
        n = sum(len(r) for r in records)
        start = time.perf_counter()
        pickle.loads(pickle.dumps(prepared, protocol=pickle.HIGHEST_PROTOCOL))
        t_transport = time.perf_counter() - start
        labeller = load_labeller(run)
        prefixes = [p for _, s, _, _ in prepared if s for p in s[0]]
        texts = [t for _, s, _, _ in prepared if s for t in s[1]]
        to_predict = [t for t in texts if t is not None]
        start = time.perf_counter()
        outputs = [labeller.label(to_predict[i : i + 8192]) for i in range(0, len(to_predict), 8192)]
        t_predict = time.perf_counter() - start
        rows = [row for probs, _ in outputs for row in probs]
        winners = [w for _, best_ in outputs for w in best_]
        rows_all, winners_all, k = [], [], 0
        for text in texts:
            if text is None:
                rows_all.append(None)
                winners_all.append(None)
            else:
                rows_all.append(rows[k])
                winners_all.append(winners[k])
                k += 1
        encoder = JsonlEncoder(labeller.labels, labeller.model_id)
        start = time.perf_counter()
        data = encoder.encode(prefixes, rows_all, winners_all)
        t_encode = time.perf_counter() - start
        start = time.perf_counter()
        with open(tmp / "write.bin", "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        t_write = time.perf_counter() - start
        stages = [
            ("read + parse input (walk)", t_walk),
            ("clean + de-duplicate + segment (article_sentences)", t_corpus),
            ("  same + encode sentence fields (worker stage)", t_prepare),
            ("worker -> main transport (pickle round trip)", t_transport),
            (f"TF-IDF predict_proba, 3 layers ({len(to_predict)} non-heading)", t_predict),
            ("encode labels + probabilities (main stage)", t_encode),
            ("write + fsync", t_write),
        ]
        for name, seconds in stages:
            print(rate_line(name, n, seconds))
        main_stage = t_walk + t_transport / 2 + t_predict + t_encode + t_write
        worker_stage = t_prepare + t_transport / 2
        print(rate_line("=> main process alone (walk, unpickle, predict, encode, write)", n, main_stage))
        print(rate_line("=> preparation alone (clean, segment, encode fields, pickle)", n, worker_stage))
        print(rate_line("=> all work on one core", n, main_stage + worker_stage))
        print(f"  CPU bound on {cores} cores if perfectly shared: {cores * n / (main_stage + worker_stage):,.0f} sentences/s")

        # anchor: the loop a user would write with the library's pieces, on a slice of the input
        model = labeller.model
        sample = items[: max(1, len(items) // 10)]
        start = time.perf_counter()
        n_anchor = 0
        with open(tmp / "anchor.jsonl", "w", encoding="utf-8") as out:
            for _, article in sample:
                sentences = article_sentences(article)
                probs = model.predict_proba([s["text"] for s in sentences])
                for i, sentence in enumerate(sentences):
                    record = dict(sentence)
                    for layer, p in probs.items():
                        record[layer] = model.labels[layer][int(p[i].argmax())]
                    record["probs"] = {layer: dict(zip(model.labels[layer], map(float, p[i]))) for layer, p in probs.items()}
                    record["model"] = "anchor"
                    out.write(dumps(record) + "\n")
                    n_anchor += 1
        t_anchor = time.perf_counter() - start
        print("anchor: per-article loop (article_sentences -> predict_proba -> json.dumps), one process:")
        print(rate_line(f"{len(sample)} articles", n_anchor, t_anchor))
        print(f"RESULT tfidf end-to-end: {best.sentences_per_second:,.0f} sentences/s "
              f"(target 20,000: {'met' if best.sentences_per_second >= 20000 else 'NOT met'}); "
              f"ratio to the anchor loop: {best.sentences_per_second / (n_anchor / t_anchor):.1f}x")


# --- transformer ---------------------------------------------------------------------


ENCODER_SIZES = {
    # IndoBERT-base (indobenchmark/indobert-base-p1): BERT-base with a 50,000-word vocabulary
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
    "small": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024),
}


def build_encoder(folder: Path, size: str) -> Path:
    """Random-weight BERT of the given size, WordPiece tokenizer trained on the seed sentences, saved with from_pretrained's layout."""
    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from warta.text.corpus import article_sentences

    texts = [r["text"] for a in seed_articles() for r in article_sentences(a)]
    wordpiece = BertWordPieceTokenizer(lowercase=True)
    wordpiece.train_from_iterator(texts, vocab_size=8000, min_frequency=1, show_progress=False,
                                  special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    folder.mkdir(parents=True, exist_ok=True)
    wordpiece.save_model(str(folder))
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=50000, max_position_embeddings=512, **ENCODER_SIZES[size])
    BertModel(config).save_pretrained(folder)
    return folder


def transformer_run(root: Path, encoder: Path, fit_heads: bool = False) -> Path:
    """A run folder holding a warta TransformerClassifier on `encoder` (random heads, or heads fitted on the seeds).

    With `fit_heads`, each layer's head is a logistic regression fitted on the
    encoder's fp32 [CLS] vectors of the labelled seed sentences: the encoder
    stays random, but the heads then separate classes on its features, so the
    int8-vs-fp32 label agreement is a real test (random heads predict one
    class for everything).
    """
    import numpy as np
    import torch
    from sklearn.linear_model import LogisticRegression

    from warta.gold.labels import load_gold
    from warta.models.transformer import TransformerClassifier

    classifier = TransformerClassifier.from_pretrained(str(encoder), max_length=128)
    if fit_heads:
        gold = load_gold()
        encoded = classifier.encode([r["text"] for r in gold])
        features = []
        with torch.inference_mode():
            for ids, mask in zip(encoded["input_ids"], encoded["attention_mask"]):
                hidden = classifier.model.encoder(input_ids=torch.tensor([ids]), attention_mask=torch.tensor([mask]))
                features.append(hidden.last_hidden_state[0, 0].numpy())
        x = np.array(features, dtype=np.float64)
        mu, sd = x.mean(0), x.std(0) + 1e-6
        z = (x - mu) / sd
        for layer, head in zip(classifier.model.layer_names, classifier.model.heads):
            labels = classifier.labels[layer]
            y = [r[layer] for r in gold]
            fitted = LogisticRegression(C=10.0, max_iter=5000).fit(z, y)
            coef, intercept = fitted.coef_, fitted.intercept_
            if len(fitted.classes_) == 2:
                coef, intercept = np.vstack([-coef[0] / 2, coef[0] / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
            weight = np.zeros((len(labels), x.shape[1]))
            bias = np.full(len(labels), -30.0)  # a class absent from the seeds
            for k, label in enumerate(fitted.classes_):
                weight[labels.index(label)] = coef[k] / sd
                bias[labels.index(label)] = intercept[k] - (coef[k] * mu / sd).sum()
            head.weight.data = torch.tensor(weight, dtype=torch.float32)
            head.bias.data = torch.tensor(bias, dtype=torch.float32)
    run = root / "transformer-run"
    classifier.save(run / "model")
    return run


def bench_sentences(n: int) -> list[str]:
    from warta.text.corpus import article_sentences

    texts = [r["text"] for a in seed_articles() for r in article_sentences(a) if r["role"] != "heading"]
    return [texts[i % len(texts)] for i in range(n)]


def anchor_pipelines(encoder: Path, device: int | str = -1):
    """One text-classification pipeline per layer, as a user without warta would label three layers."""
    from transformers import AutoTokenizer, BertForSequenceClassification, pipeline

    from warta.schema import LAYERS

    tokenizer = AutoTokenizer.from_pretrained(str(encoder))
    pipes = {}
    for layer, labels in LAYERS.items():
        model = BertForSequenceClassification.from_pretrained(str(encoder), num_labels=len(labels))
        pipes[layer] = pipeline("text-classification", model=model, tokenizer=tokenizer, device=device, top_k=None)
    return pipes


def run_anchor(pipes, texts: list[str], **kwargs) -> float:
    start = time.perf_counter()
    for pipe in pipes.values():
        pipe(texts, truncation=True, max_length=128, **kwargs)
    return time.perf_counter() - start


def bench_transformer(args) -> None:
    import numpy as np
    import torch

    from warta.labelling.engine import label_articles

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        encoder = build_encoder(tmp / "encoder", args.size)
        run = transformer_run(tmp, encoder, fit_heads=True)
        source = tmp / "input.jsonl"
        write_input(source, args.sentences)
        spec = ENCODER_SIZES[args.size]
        print(f"transformer on CPU ({len(os.sched_getaffinity(0))} cores, torch threads {torch.get_num_threads()}), "
              f"random BERT encoder: vocab 50,000, hidden {spec['hidden_size']}, {spec['num_hidden_layers']} layers, "
              f"{spec['num_attention_heads']} heads")
        outputs = {}
        for name, quantize in (("fp32", False), ("int8", True)):
            out = tmp / f"{name}.jsonl"
            summary = label_articles(run, [source], out, device="cpu", quantize=quantize, progress=False)
            outputs[name] = (summary, [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()])
            print(rate_line(f"warta {name} end to end from article text ({summary.predicted} labelled)",
                            summary.predicted, summary.seconds))
        # the anchor labels the very sentences warta labelled (already segmented: less work than warta does)
        texts = [r["text"] for r in outputs["fp32"][1] if r["role"] != "heading"]
        sample = texts[: args.anchor_sentences]
        pipes = anchor_pipelines(encoder)
        run_anchor(pipes, sample[:4])  # warm-up
        t_anchor = run_anchor(pipes, sample)
        anchor = len(sample) / t_anchor
        print(rate_line(f"anchor: 3 pipelines, default batch size, {len(sample)} sentences", len(sample), t_anchor))
        fp32, int8 = outputs["fp32"], outputs["int8"]
        for name, (summary, _) in outputs.items():
            print(f"RESULT transformer CPU {name}: {summary.predicted / summary.seconds:,.1f} sentences/s fully "
                  f"labelled, {summary.predicted / summary.seconds / anchor:.1f}x the anchor ({anchor:,.1f}/s) (target 5x)")
        a = [r for r in fp32[1] if r["probs"]]
        b = [r for r in int8[1] if r["probs"]]
        for layer in ("type", "stance", "frame"):
            labels = list(a[0]["probs"][layer])
            p = np.array([[r["probs"][layer][k] for k in labels] for r in a])
            q = np.array([[r["probs"][layer][k] for k in labels] for r in b])
            agree = np.mean(p.argmax(1) == q.argmax(1))
            top2 = np.sort(p, axis=1)[:, -2:]
            margin = top2[:, 1] - top2[:, 0]
            diff = np.abs(p - q).max()
            # how well int8 keeps the sentence-to-sentence variation of each class's probability
            centred_p, centred_q = p - p.mean(0), q - q.mean(0)
            corr = (centred_p * centred_q).sum() / np.sqrt((centred_p ** 2).sum() * (centred_q ** 2).sum())
            print(f"  int8 vs fp32, {layer:<7}: label agreement {agree:.2%} ({len(set(p.argmax(1)))} distinct fp32 "
                  f"labels), max |prob diff| {diff:.4f}, correlation of centred probs {corr:.3f}, sentences whose fp32 "
                  f"top-2 margin < max diff: {np.mean(margin < diff):.1%}")
        print("  (random encoder, heads fitted on its fp32 [CLS] vectors of the labelled seed sentences: the heads "
              "amplify tiny feature differences, a worst case for quantization noise)")
        int8_on_a_trained_encoder(tmp, args.train_steps)


def int8_on_a_trained_encoder(tmp: Path, steps: int) -> None:
    """int8 vs fp32 on an encoder that was actually fine-tuned (small size, `warta train` on the seeds)."""
    import numpy as np

    from warta.config import load_config
    from warta.gold.labels import load_gold
    from warta.labelling.engine import label_articles
    from warta.train.run import train

    encoder = build_encoder(tmp / "small-encoder", "small")
    overrides = [f"model.name_or_path={encoder}", f"train.max_steps={steps}", "train.epochs=200",
                 "train.learning_rate=3e-4", "train.early_stopping_patience=1000", "train.batch_size=16",
                 "train.logging_steps=50"]
    config = load_config(REPO / "configs" / "smoke-transformer.yaml", overrides)
    run = train(config, out=tmp / "small-trained", progress=False, n_boot=0).run_dir
    gold = {r["id"]: r for r in load_gold()}
    test_ids = set(json.loads((run / "data.json").read_text(encoding="utf-8"))["ids"]["test"])
    seeds = REPO / "seeds"
    outputs = {}
    for name, quantize in (("fp32", False), ("int8", True)):
        out = tmp / f"seeds-{name}.jsonl"
        label_articles(run, [seeds], out, manifest=seeds / "manifest.csv",
                       device="cpu", quantize=quantize, workers=0)
        outputs[name] = {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines()) if r["id"] in gold}
    print(f"  int8 vs fp32 on a fine-tuned encoder (hidden 256, 4 layers, {steps} steps of `warta train` on the seeds; "
          f"{len(gold)} labelled seed sentences, {len(test_ids)} of them held-out test):")
    for layer in ("type", "stance", "frame"):
        fp32 = [outputs["fp32"][i][layer] for i in gold]
        int8 = [outputs["int8"][i][layer] for i in gold]
        truth = [gold[i][layer] for i in gold]
        test = [k for k, i in enumerate(gold) if i in test_ids]
        diff = max(abs(outputs["fp32"][i]["probs"][layer][c] - outputs["int8"][i]["probs"][layer][c])
                   for i in gold for c in outputs["fp32"][i]["probs"][layer])
        acc = lambda pred, idx, truth=truth: np.mean([pred[k] == truth[k] for k in idx])  # noqa: E731
        everything = range(len(truth))
        print(f"    {layer:<7} label agreement {np.mean(np.array(fp32) == np.array(int8)):.1%} "
              f"({len(set(fp32))} distinct fp32 labels), max |prob diff| {diff:.4f}; accuracy vs gold fp32 "
              f"{acc(fp32, everything):.1%} / int8 {acc(int8, everything):.1%} (all), "
              f"{acc(fp32, test):.1%} / {acc(int8, test):.1%} (test)")


# --- GPU ----------------------------------------------------------------------------------


def bench_gpu(args) -> None:
    import torch

    if not torch.cuda.is_available():
        print("gpu: no CUDA device on this machine; nothing measured (run this mode where a GPU exists)")
        return
    from warta.labelling.engine import label_articles

    name = torch.cuda.get_device_name(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        encoder = build_encoder(tmp / "encoder", "base")
        run = transformer_run(tmp, encoder)
        source = tmp / "input.jsonl"
        write_input(source, args.sentences)
        label_articles(run, [source], tmp / "warm.jsonl", device="cuda", progress=False)  # warm-up: kernels, caches
        summary = label_articles(run, [source], tmp / "out.jsonl", device="cuda", progress=False, force=True,
                                 batch_size=args.batch_size)
        rate = summary.predicted / summary.seconds
        records = [json.loads(line) for line in (tmp / "out.jsonl").read_text(encoding="utf-8").splitlines()]
        texts = [r["text"] for r in records if r["role"] != "heading"]
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(encoder))
        tokens = sum(len(ids) for ids in tokenizer(texts[:20000], truncation=True, max_length=128)["input_ids"])
        mean_tokens = tokens / min(len(texts), 20000)
        spec = ENCODER_SIZES["base"]
        h, layers, inter = spec["hidden_size"], spec["num_hidden_layers"], spec["intermediate_size"]
        # forward FLOPs per token: 2 x (4h^2 attention projections + 2 h x inter MLP) per layer, plus attention scores
        flops_per_sentence = layers * (2 * (4 * h * h + 2 * h * inter) * mean_tokens + 4 * mean_tokens * mean_tokens * h)
        peak = args.peak_tflops * 1e12 / flops_per_sentence
        pipes = anchor_pipelines(encoder, device=0)
        sample = texts[: args.anchor_sentences]
        run_anchor(pipes, sample[:256], batch_size=64)
        t_anchor = run_anchor(pipes, sample, batch_size=64)
        anchor = len(sample) / t_anchor
        print(f"GPU {name}: IndoBERT-base-sized random encoder, {summary.predicted} sentences, "
              f"{mean_tokens:.1f} tokens/sentence on average, batch size {args.batch_size or 'default'}")
        print(f"RESULT gpu: warta {rate:,.0f} sentences/s end to end from text (target 40,000); anchor (3 pipelines, "
              f"batch_size 64) {anchor:,.0f}/s; ratio {rate / anchor:.1f}x; compute peak at "
              f"{args.peak_tflops:.0f} TFLOP/s ≈ {peak:,.0f} sentences/s, share used {rate / peak:.1%}")


# --- memory ----------------------------------------------------------------------------


def peak_memory(command: list[str]) -> tuple[float, float, float, float]:
    """(peak RSS summed over the process tree, peak PSS summed, peak RSS of the main process, wall seconds).

    Forked workers share the model's pages with the main process: RSS counts
    them once per process, PSS splits them, so the PSS sum is the real
    footprint. Sampled every 50 ms.
    """
    import psutil

    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    main = psutil.Process(process.pid)
    rss_peak = pss_peak = main_peak = 0
    while process.poll() is None:
        try:
            tree = [main, *main.children(recursive=True)]
            infos = [p.memory_full_info() for p in tree]
        except psutil.Error:
            time.sleep(0.05)
            continue
        rss_peak = max(rss_peak, sum(i.rss for i in infos))
        pss_peak = max(pss_peak, sum(i.pss for i in infos))
        main_peak = max(main_peak, infos[0].rss)
        time.sleep(0.05)
    _, stderr = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"warta label failed ({process.returncode}): {stderr.decode()[-2000:]}")
    mib = 2**20
    return rss_peak / mib, pss_peak / mib, main_peak / mib, time.perf_counter() - start


def bench_memory(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run = args.run or train_tfidf_run(tmp)
        print("peak memory of `warta label` (TF-IDF run, default workers), main process + workers:")
        for size in (args.small, args.large):
            source = tmp / f"in{size}.jsonl"
            articles = write_input(source, size)
            out = tmp / f"out{size}.jsonl"
            command = [sys.executable, "-m", "warta", "label", str(run), str(source), "--out", str(out), "--quiet"]
            rss, pss, main, wall = peak_memory(command)
            with out.open("rb") as handle:
                lines = sum(1 for _ in handle)
            print(f"RESULT memory: {lines:>9,} sentences ({articles:,} articles, input {source.stat().st_size / 2**20:,.0f} MiB,"
                  f" output {out.stat().st_size / 2**20:,.0f} MiB): peak PSS {pss:,.0f} MiB all processes "
                  f"(RSS sum {rss:,.0f} MiB), main process RSS {main:,.0f} MiB; {wall:,.0f} s wall incl. start-up")
            out.unlink()
            source.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("tfidf", "transformer", "gpu", "memory", "all"))
    parser.add_argument("--sentences", type=int, default=None, help="Input size (default per mode).")
    parser.add_argument("--run", type=Path, default=None, help="Use this TF-IDF run folder instead of training one.")
    parser.add_argument("--workers", type=int, default=None, help="tfidf: worker count to compare with 0 (default: cores).")
    parser.add_argument("--size", choices=tuple(ENCODER_SIZES), default="base", help="transformer: encoder size.")
    parser.add_argument("--anchor-sentences", type=int, default=None, help="Sentences the anchor pipelines label.")
    parser.add_argument("--batch-size", type=int, default=None, help="gpu: warta batch size.")
    parser.add_argument("--train-steps", type=int, default=300, help="transformer: fine-tuning steps for the int8 check.")
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="gpu: dense bf16 peak (H100 SXM: 989).")
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    args = parser.parse_args()
    modes = ("tfidf", "transformer", "gpu", "memory") if args.mode == "all" else (args.mode,)
    defaults = {"tfidf": 200_000, "transformer": 400, "gpu": 400_000}
    anchors = {"transformer": 150, "gpu": 20_000}
    for mode in modes:
        mode_args = argparse.Namespace(**vars(args))
        mode_args.sentences = args.sentences or defaults.get(mode)
        mode_args.anchor_sentences = args.anchor_sentences or anchors.get(mode)
        {"tfidf": bench_tfidf, "transformer": bench_transformer, "gpu": bench_gpu, "memory": bench_memory}[mode](mode_args)


if __name__ == "__main__":
    main()
