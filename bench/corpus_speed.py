"""Throughput of the text path (decode → clean → de-duplicate → segment) on the seeds.

Batch labelling needs ≥ 20,000 sentences/s end to end on 2 cores, so this
stage must run well above that on one core. Prints sentences/s per stage and
for the whole path, next to blingfire segmentation alone (the floor: what
segmentation without any cleaning costs) on the same text.

    python bench/corpus_speed.py [--repeat 100]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import blingfire

from warta.text.clean import structure_article
from warta.text.corpus import article_sentences, default_seeds_dir, iter_seed_articles
from warta.text.decode import clean_lines
from warta.text.segment import split_paragraphs


def rate(fn, n_items: int, repeat: int, rounds: int = 5) -> float:
    """Best of `rounds` timings of `repeat` calls (the machine is shared; the best round is the least disturbed)."""
    fn()  # warm-up
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, time.perf_counter() - start)
    return n_items * repeat / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--seeds", type=Path, default=default_seeds_dir())
    args = parser.parse_args()

    articles = list(iter_seed_articles(args.seeds))
    n_sentences = sum(len(article_sentences(a)) for a in articles)
    lines = [clean_lines(a.text) for a in articles]
    structured = [structure_article(ls, a.title or None)[0] for ls, a in zip(lines, articles)]
    bodies = [[p.text for p in paragraphs if p.role == "body"] for paragraphs in structured]
    raw_lines = [line for a in articles for line in a.text.splitlines() if line.strip()]

    stages = {
        "clean_lines (repair + normalise)": lambda: [clean_lines(a.text) for a in articles],
        "structure (boilerplate, dedup, roles)": lambda: [
            structure_article(ls, a.title or None) for ls, a in zip(lines, articles)
        ],
        "split_paragraphs (segmentation)": lambda: [split_paragraphs(b) for b in bodies],
        "whole path (article_sentences)": lambda: [article_sentences(a) for a in articles],
        "anchor: blingfire alone on raw lines": lambda: [blingfire.text_to_sentences(line) for line in raw_lines],
    }
    print(f"{len(articles)} seed articles, {n_sentences} output sentences per pass, {args.repeat} passes")
    results = {name: rate(fn, n_sentences, args.repeat) for name, fn in stages.items()}
    for name, value in results.items():
        print(f"{name:<40} {value:>10,.0f} sentences/s")
    whole = results["whole path (article_sentences)"]
    anchor = results["anchor: blingfire alone on raw lines"]
    print(f"whole path / blingfire alone: {whole / anchor:.2f}  (share of time spent outside segmentation: "
          f"{1 - whole / anchor:.0%})")


if __name__ == "__main__":
    main()
