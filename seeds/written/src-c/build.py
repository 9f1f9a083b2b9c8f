"""Build seeds/written/part-c.jsonl from the article lists in this folder (WRITER-C, issue 19 §3).

Each `art_*.py` module defines ARTICLES: a list of (article_number, outlet, sentences), where
sentences[0] is the title and every sentence is (text, code) or (text, code, note). The code is
three letters: type (f fact, q quote, o opinion, s speculation), stance (p pro, a against,
n neutral), frame (e economic, h human_interest, r responsibility, c conflict, m morality,
x none). Run: python seeds/written/src-c/build.py  (writes part-c.jsonl and prints label counts).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "part-c.jsonl"
GUIDELINE_VERSION = "1.0"
TYPE = {"f": "fact", "q": "quote", "o": "opinion", "s": "speculation"}
STANCE = {"p": "pro", "a": "against", "n": "neutral"}
FRAME = {"e": "economic", "h": "human_interest", "r": "responsibility", "c": "conflict", "m": "morality", "x": "none"}
OUTLETS = {"written-regional", "written-wiredesk", "written-bizdaily", "written-ministry"}


def load_articles() -> list[tuple[int, str, list[tuple]]]:
    articles = []
    for path in sorted(HERE.glob("art_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        articles.extend(module.ARTICLES)
    return sorted(articles, key=lambda a: a[0])


def records(articles) -> list[dict]:
    out, problems = [], []
    seen_articles = set()
    for number, outlet, sentences in articles:
        if number in seen_articles:
            problems.append(f"article {number} twice")
        seen_articles.add(number)
        if outlet not in OUTLETS:
            problems.append(f"article {number}: outlet {outlet!r}")
        if not 11 <= len(sentences) <= 21:
            problems.append(f"article {number}: {len(sentences) - 1} body sentences")
        art = f"wc-{number:03d}"
        for index, item in enumerate(sentences):
            text, code = item[0].strip(), item[1]
            note = item[2] if len(item) > 2 else None
            if len(code) != 3 or code[0] not in TYPE or code[1] not in STANCE or code[2] not in FRAME:
                problems.append(f"{art}-{index:03d}: bad code {code!r}")
                continue
            rec = {
                "id": f"{art}-{index:03d}", "article_id": art, "outlet": outlet,
                "role": "title" if index == 0 else "body", "index": index, "text": text,
                "type": TYPE[code[0]], "stance": STANCE[code[1]], "frame": FRAME[code[2]],
                "source": "written", "guideline_version": GUIDELINE_VERSION,
            }
            if note:
                rec["note"] = note
            out.append(rec)
    return out, problems


def main() -> int:
    recs, problems = records(load_articles())
    texts = Counter(r["text"] for r in recs)
    problems += [f"duplicate text: {t[:60]}" for t, n in texts.items() if n > 1]
    older = set()
    for part in ("part-a.jsonl", "part-b.jsonl", "part-d.jsonl"):
        p = HERE.parent / part
        if p.exists():
            older |= {json.loads(line)["text"].strip() for line in p.open(encoding="utf-8") if line.strip()}
    problems += [f"text also in another part: {r['text'][:60]}" for r in recs if r["text"] in older]
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    with OUT.open("w", encoding="utf-8") as fh:
        for r in recs:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(recs)} sentences, {len({r['article_id'] for r in recs})} articles -> {OUT.name}")
    for layer in ("type", "stance", "frame", "outlet"):
        counts = Counter(r[layer] for r in recs)
        print(layer, dict(counts.most_common()))
    print("notes", sum("note" in r for r in recs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
