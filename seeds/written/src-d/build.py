"""Build ``seeds/written/part-d.jsonl`` from the compact sources ``d*.txt`` beside this file.

Source format (one sentence a line, the first line of an article is its title):

    === written-viral                     starts a new article from that outlet
    qne Text of the sentence.  // note    three-letter code type/stance/frame, then text, optional note

type: f=fact q=quote o=opinion s=speculation; stance: p=pro a=against n=neutral;
frame: e=economic h=human_interest r=responsibility c=conflict m=morality n=none.
Lines starting with '#' and blank lines are ignored.  Articles are numbered in file order
(d1.txt, d2.txt, ...), so appending an article never renumbers earlier ones.

Run: python3 seeds/written/src-d/build.py   (writes part-d.jsonl and prints label counts;
exits 1 on a duplicate id/text, a bad code, an article outside 10-21 sentences, or a text
that also occurs in another part).
"""
from __future__ import annotations

import collections
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "part-d.jsonl"
GUIDELINE_VERSION = "1.0"
TYPES = {"f": "fact", "q": "quote", "o": "opinion", "s": "speculation"}
STANCES = {"p": "pro", "a": "against", "n": "neutral"}
FRAMES = {"e": "economic", "h": "human_interest", "r": "responsibility",
          "c": "conflict", "m": "morality", "n": "none"}
OUTLETS = {"written-viral", "written-column", "written-gadget", "written-feature"}


def parse(paths: list[Path]) -> list[dict]:
    articles: list[dict] = []
    for path in paths:
        for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            where = f"{path.name}:{lineno}"
            if line.startswith("==="):
                outlet = line[3:].strip()
                if outlet not in OUTLETS:
                    sys.exit(f"{where}: unknown outlet {outlet!r}")
                articles.append({"outlet": outlet, "sents": []})
                continue
            m = re.match(r"^([fqos])([pan])([ehrcmn]) (.+?)(?:\s+//\s*(.+))?$", line)
            if not m or not articles:
                sys.exit(f"{where}: cannot parse line: {line[:60]!r}")
            t, s, f, text, note = m.groups()
            articles[-1]["sents"].append((TYPES[t], STANCES[s], FRAMES[f], text.strip(), note))
    return articles


def records(articles: list[dict]) -> list[dict]:
    out = []
    for a_no, art in enumerate(articles, 1):
        aid = f"wd-{a_no:03d}"
        n = len(art["sents"])
        if not 10 <= n <= 21:
            sys.exit(f"{aid}: {n} sentences (want 10-21)")
        for i, (t, s, f, text, note) in enumerate(art["sents"]):
            rec = {"id": f"{aid}-{i:03d}", "article_id": aid, "outlet": art["outlet"],
                   "role": "title" if i == 0 else "body", "index": i, "text": text,
                   "type": t, "stance": s, "frame": f, "source": "written",
                   "guideline_version": GUIDELINE_VERSION}
            if note:
                rec["note"] = note
            out.append(rec)
    return out


def check(recs: list[dict]) -> None:
    texts = collections.Counter(r["text"] for r in recs)
    dups = [t for t, c in texts.items() if c > 1]
    if dups:
        sys.exit(f"duplicate texts in part D: {dups[:3]}")
    if len({r["id"] for r in recs}) != len(recs):
        sys.exit("duplicate ids in part D")
    others = set()
    for p in sorted(HERE.parent.glob("part-*.jsonl")):
        if p.name == OUT.name:
            continue
        for line in p.read_text(encoding="utf-8").splitlines():
            if line.strip():
                others.add(json.loads(line)["text"])
    clash = [r["id"] for r in recs if r["text"] in others]
    if clash:
        sys.exit(f"texts also in another part: {clash[:5]}")


def main() -> None:
    paths = sorted(HERE.glob("d*.txt"), key=lambda p: int(re.sub(r"\D", "", p.stem) or 0))
    recs = records(parse(paths))
    check(recs)
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    print(f"{len(recs)} sentences, {len({r['article_id'] for r in recs})} articles -> {OUT}")
    for layer in ("outlet", "type", "stance", "frame"):
        c = collections.Counter(r[layer] for r in recs)
        print(f"{layer:7s}", ", ".join(f"{k} {v} ({100*v/len(recs):.0f}%)" for k, v in c.most_common()))
    print("notes  ", sum("note" in r for r in recs))


if __name__ == "__main__":
    main()
