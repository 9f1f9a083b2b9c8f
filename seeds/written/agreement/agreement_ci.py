"""Bootstrap 95% intervals for the first/second-pass agreement figures (resampling sentences).

Rerun from the repository root after extract_first_pass.py:
`python seeds/written/agreement/agreement_ci.py` (uses warta's own alpha and kappa functions).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from warta.annotate.agreement import cohen_kappa, krippendorff_alpha
from warta.schema import LAYER_NAMES, LAYERS

HERE = Path(__file__).resolve().parent
RESAMPLES, SEED = 2000, 19


def read(path: Path) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, path.read_text("utf-8").splitlines())}


def main() -> None:
    first, second = read(HERE / "first_pass.jsonl"), read(HERE / "second_pass.jsonl")
    ids = sorted(set(first) & set(second))
    rng = np.random.default_rng(SEED)
    draws = [rng.integers(0, len(ids), len(ids)) for _ in range(RESAMPLES)]
    print(f"{len(ids)} sentences, {RESAMPLES} bootstrap resamples (seed {SEED}), percentile 95% intervals")
    for layer in LAYER_NAMES:
        labels = list(LAYERS[layer])
        a = [first[i][layer] for i in ids]
        b = [second[i][layer] for i in ids]
        alphas, kappas = [], []
        for draw in draws:
            ra, rb = [a[k] for k in draw], [b[k] for k in draw]
            alpha, kappa = krippendorff_alpha([ra, rb], labels), cohen_kappa(ra, rb, labels)
            if alpha is not None:
                alphas.append(alpha)
            if kappa is not None:
                kappas.append(kappa)
        point_a, point_k = krippendorff_alpha([a, b], labels), cohen_kappa(a, b, labels)
        lo_a, hi_a = np.percentile(alphas, [2.5, 97.5])
        lo_k, hi_k = np.percentile(kappas, [2.5, 97.5])
        print(f"{layer:7s} alpha {point_a:.3f} [{lo_a:.3f}, {hi_a:.3f}]  kappa {point_k:.3f} [{lo_k:.3f}, {hi_k:.3f}]")


if __name__ == "__main__":
    main()
