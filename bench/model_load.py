"""TF-IDF model load time: the old skops file vs the npz + JSON format, and that both predict the same.

    python bench/model_load.py OLD_RUN NEW_RUN [--repeat 5]

OLD_RUN: a run folder from before the change (model/pipeline.skops), e.g. a
`warta train configs/tfidf.yaml` run made with commit 4a58ffe; NEW_RUN: the
same config trained with the current code (model/weights.npz). Needs skops
installed for the old side (no longer a warta dependency).

Each load runs in a fresh `python` process, timed from before the first
import to the loaded model (imports included: that is what `warta label` and
`warta evaluate` pay), best and median of --repeat runs; the child also
reports whether torch was imported. Then both models predict every sentence
of NEW_RUN's out-of-fold and test predictions and the probabilities are
compared exactly.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

# The old loader, exactly as TfidfClassifier.load did it before (skops with a trusted-type list).
OLD_LOAD = """
import time, sys
start = time.perf_counter()
import json
import skops.io as sio
from warta.models.tfidf import TfidfClassifier
TRUSTED = ["warta.models.tfidf.UnitSplitter", "warta.models.tfidf.NgramTfidfVectorizer",
           "warta.models.tfidf.CueFeatures", "warta.models.tfidf.PerLayerClassifier",
           "sklearn.pipeline.Pipeline", "sklearn.pipeline.FeatureUnion",
           "sklearn.linear_model._logistic.LogisticRegression"]
folder = sys.argv[1]
card = json.load(open(folder + "/model.json"))
path = folder + "/" + card["weights"]
assert not set(sio.get_untrusted_types(file=path)) - set(TRUSTED)
model = TfidfClassifier(**card["params"])
pipeline = sio.load(path, trusted=TRUSTED)
model.best_c_, model.tuning_ = card["best_c"], card["tuning"]
heads = pipeline.named_steps["layers"]
model._pipeline = pipeline
model._set_inference([s for _, s in pipeline.named_steps["features"].transformer_list], heads.head_arrays(),
                     heads.n_features_in_)
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "torch": "torch" in sys.modules, "pandas": "pandas" in sys.modules}))
"""

NEW_LOAD = """
import time, sys
start = time.perf_counter()
import json
from warta.models import load_model
model = load_model(sys.argv[1])
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "torch": "torch" in sys.modules, "pandas": "pandas" in sys.modules}))
"""


def time_load(code: str, folder: Path, repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    seconds = [r["seconds"] for r in runs]
    return {"best": min(seconds), "median": statistics.median(seconds), "torch": runs[0]["torch"],
            "pandas": runs[0]["pandas"]}


def sentences(run: Path) -> list[str]:
    texts = []
    for name in ("cv/oof.jsonl", "predictions/test.jsonl", "predictions/dev.jsonl"):
        path = run / name
        if path.is_file():
            texts += [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line]
    return texts


def compare_predictions(old_run: Path, new_run: Path) -> None:
    import numpy as np
    import skops.io as sio

    from warta.models import load_model
    from warta.models.tfidf import TfidfClassifier

    folder = old_run / "model"
    card = json.loads((folder / "model.json").read_text())
    old = TfidfClassifier(**card["params"])
    trusted = sio.get_untrusted_types(file=folder / card["weights"])
    pipeline = sio.load(folder / card["weights"], trusted=trusted)
    heads = pipeline.named_steps["layers"]
    old._pipeline = pipeline
    old._set_inference([s for _, s in pipeline.named_steps["features"].transformer_list], heads.head_arrays(),
                       heads.n_features_in_)
    new = load_model(new_run / "model")
    texts = sentences(new_run)
    # the old model through scikit-learn's own Pipeline.predict_proba (no warta fast path) and the new one
    reference = dict(zip(old.layers, pipeline.predict_proba(texts), strict=True))
    a, b = old.predict_proba(texts), new.predict_proba(texts)
    for layer in a:
        print(f"  {layer:7s} old skops model, warta path vs scikit-learn Pipeline: max |diff| "
              f"{float(np.abs(a[layer] - reference[layer]).max()):.3g}")
    # the old model itself written in the new format and read back
    import tempfile

    old.best_c_, old.tuning_ = card["best_c"], card["tuning"]
    with tempfile.TemporaryDirectory() as tmp:
        old.save(tmp)
        c = load_model(tmp).predict_proba(texts)
    for layer in a:
        print(f"  {layer:7s} {len(texts)} sentences: old skops model vs NEW_RUN identical="
              f"{np.array_equal(a[layer], b[layer])} (max |diff| {float(np.abs(a[layer] - b[layer]).max()):.3g}); "
              f"vs the old model re-saved as npz+JSON identical={np.array_equal(a[layer], c[layer])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old_run", type=Path)
    parser.add_argument("new_run", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    old = time_load(OLD_LOAD, args.old_run / "model", args.repeat)
    new = time_load(NEW_LOAD, args.new_run / "model", args.repeat)
    print(f"TF-IDF model load in a fresh process (imports included), {args.repeat} runs each:")
    for name, figures in (("skops (before)", old), ("npz + JSON (after)", new)):
        print(f"  {name:19s} best {figures['best']:.3f} s, median {figures['median']:.3f} s; "
              f"imports torch: {figures['torch']}, pandas: {figures['pandas']}")
    print(f"  ratio before/after (median): {old['median'] / new['median']:.1f}x")
    print("same predictions (old skops model vs new format):")
    compare_predictions(args.old_run, args.new_run)


if __name__ == "__main__":
    main()
