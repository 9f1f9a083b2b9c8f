"""The ray engine against the local engine of `warta label`, on the same articles, in one run.

    python bench/ray_speed.py [--sentences 200000] [--transformer-sentences 4000] [--no-transformer] [--no-tfidf]
                              [--cpus N] [--write bench/ray_speed_results.md]

Inputs are bench/label_speed.py's: the seed articles repeated with varied ids
(JSON Lines, one article per line), so the sentences are what the real
pipeline cuts from real, boilerplate-heavy text. For each model:

- local engine: `label_articles` with its default preparation workers
  (model load excluded, worker start-up included);
- ray engine: `label_with_ray` on a local Ray started once with --cpus CPUs
  (actor start-up and model load per actor included: they are part of every
  ray-engine run), default actors (TF-IDF: one per CPU; transformer: one);
- the Ray start-up itself (`ray.init`), reported separately;
- the ratio local sentences/s / ray sentences/s (> 1: the ray engine is slower
  on this machine) and whether both wrote the same bytes.

Transformer: a random-weight BERT of bench/label_speed.py's "small" size
(hidden 256, 4 layers) with heads on its [CLS] vectors, on fewer sentences.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import label_speed


def shard_bytes(folder: Path) -> bytes:
    import json

    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    return b"".join((folder / shard["file"]).read_bytes() for shard in manifest["shards"])


def compare(name: str, run: Path, source: Path, tmp: Path, shard_units: int) -> list[str]:
    from warta.labelling.engine import label_articles
    from warta.labelling.ray_engine import label_with_ray

    local = label_articles(run, [source], tmp / f"{name}-local.jsonl", progress=False)
    ray_summary = label_with_ray(run, [source], tmp / f"{name}-ray", shard_units=shard_units)
    same = shard_bytes(tmp / f"{name}-ray") == (tmp / f"{name}-local.jsonl").read_bytes()
    ratio = local.sentences_per_second / ray_summary.sentences_per_second
    lines = [
        f"{name}: {local.sentences:,} sentences ({local.articles:,} articles)",
        f"  local engine  {local.sentences_per_second:>10,.0f} sentences/s  ({local.seconds:.1f} s)",
        (f"  ray engine    {ray_summary.sentences_per_second:>10,.0f} sentences/s  ({ray_summary.seconds:.1f} s, "
        f"{ray_summary.shards} shards of {shard_units} articles, actors and model loads included)"),
        f"  overhead ratio local/ray = {ratio:.2f}   same output bytes: {same}",
    ]
    if not same:
        lines.append("  " + difference(tmp / f"{name}-local.jsonl", shard_bytes(tmp / f"{name}-ray")))
    print("\n".join(lines), flush=True)
    return lines


def difference(local_path: Path, ray_bytes: bytes) -> str:
    """How far apart two outputs are: same sentences? label agreement per layer, largest probability difference."""
    import json

    local = [json.loads(line) for line in local_path.read_text("utf-8").splitlines()]
    ray_records = [json.loads(line) for line in ray_bytes.decode("utf-8").splitlines()]
    fields = ("id", "article_id", "outlet", "role", "index", "text")
    same_sentences = [tuple(r[f] for f in fields) for r in local] == [tuple(r[f] for f in fields) for r in ray_records]
    labelled = [(a, b) for a, b in zip(local, ray_records) if a["probs"] is not None]
    agree = {layer: sum(a[layer] == b[layer] for a, b in labelled) / len(labelled) for layer in ("type", "stance", "frame")}
    gap = max(abs(p - q) for a, b in labelled for layer in a["probs"]
              for p, q in zip(a["probs"][layer].values(), b["probs"][layer].values()))
    return (f"outputs differ: same sentences/ids/order {same_sentences}; label agreement "
            + ", ".join(f"{layer} {share:.4f}" for layer, share in agree.items()) + f"; max |probability difference| {gap:.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=200_000)
    parser.add_argument("--transformer-sentences", type=int, default=4_000)
    parser.add_argument("--no-transformer", action="store_true")
    parser.add_argument("--no-tfidf", action="store_true")
    parser.add_argument("--cpus", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--shard-units", type=int, default=500)
    parser.add_argument("--write", type=Path, help="Also write the figures (and this command) to this Markdown file.")
    args = parser.parse_args()

    import ray

    lines = [(f"machine: {len(os.sched_getaffinity(0))} cores, load average {os.getloadavg()[0]:.1f} at start; "
             f"ray {ray.__version__}, local Ray with {args.cpus} CPUs")]
    print(lines[0], flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run = label_speed.train_tfidf_run(tmp)
        source = tmp / "input.jsonl"
        if not args.no_tfidf:
            label_speed.write_input(source, args.sentences)

        start = time.perf_counter()
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
        startup = time.perf_counter() - start
        lines.append(f"local Ray start-up (ray.init): {startup:.1f} s")
        print(lines[-1], flush=True)
        try:
            if not args.no_tfidf:
                lines += compare("TF-IDF", run, source, tmp, args.shard_units)
            if not args.no_transformer:
                encoder = label_speed.build_encoder(tmp / "encoder", "small")
                transformer = label_speed.transformer_run(tmp, encoder, fit_heads=True)
                small = tmp / "small.jsonl"
                label_speed.write_input(small, args.transformer_sentences)
                lines += compare("transformer (small BERT, CPU)", transformer, small, tmp,
                                 max(1, args.shard_units // 10))
        finally:
            ray.shutdown()
    lines.append(f"end load average {os.getloadavg()[0]:.1f}")
    if args.write:
        command = "python bench/ray_speed.py " + " ".join(sys.argv[1:])
        body = "\n".join(lines)
        args.write.write_text(f"# ray engine vs local engine\n\n```\n{command}\n```\n\n```\n{body}\n```\n",
                              encoding="utf-8")


if __name__ == "__main__":
    main()
