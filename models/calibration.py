"""Per-layer calibration of predicted probabilities: temperature, and the label prior of the texts labelled.

Why: users read an outlet's label MIX (shares, stance index), not only each sentence's argmax.
warta's classifiers are trained with balanced class weights, so they behave as if every label
were equally common; real coverage is mostly neutral and quote-heavy. Two corrections, both
on probabilities, per layer:

- **temperature scaling** (Guo et al. 2017): ``p_T = softmax(log p / T)``, one T per layer fitted
  by minimising the negative log-likelihood on held-out predictions (dev, or the out-of-fold
  predictions of ``warta train --cv outlet``). It changes confidence, not the argmax.
- **label-prior correction** (Saerens, Latinne & Decaestecker 2002, "Adjusting the outputs of a
  classifier to new a priori probabilities"): posteriors trained under prior ``pi_model`` are
  moved to prior ``pi_new`` by ``p_new(c|x) ∝ p(c|x) * pi_new(c) / pi_model(c)``. ``pi_new`` is
  either given (a prior set in the config) or estimated on the texts being labelled by EM:
  alternate the adjusted posteriors and ``pi_new = mean of the adjusted posteriors`` until the
  prior stops moving. For a class-balanced model ``pi_model`` is uniform.

Everything here is numpy on (n, k) probability matrices; the label order is the model's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

_EPS = 1e-12
TEMPERATURE_GRID = np.exp(np.linspace(np.log(0.05), np.log(20.0), 241))  # T from 0.05 to 20, ~2.5% steps


def _normalise(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), _EPS, None)
    return p / p.sum(axis=1, keepdims=True)


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T): T > 1 softens, T < 1 sharpens; rows keep their argmax."""
    logits = np.log(_normalise(probs)) / float(temperature)
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def fit_temperature(probs: np.ndarray, gold: Sequence[int] | np.ndarray) -> float:
    """The T of TEMPERATURE_GRID with the lowest mean negative log-likelihood of the gold columns."""
    gold = np.asarray(gold, dtype=int)
    if len(gold) == 0:
        return 1.0
    log_p = np.log(_normalise(probs))
    best, best_nll = 1.0, np.inf
    for t in TEMPERATURE_GRID:
        z = log_p / t
        z = z - z.max(axis=1, keepdims=True)
        nll = float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(gold)), gold]))
        if nll < best_nll - 1e-12:
            best, best_nll = float(t), nll
    return best


def adjust_to_prior(probs: np.ndarray, new_prior: Sequence[float], model_prior: Sequence[float] | None = None
                    ) -> np.ndarray:
    """Posteriors moved from `model_prior` (None: uniform) to `new_prior` (Saerens et al. 2002, eq. 2.4)."""
    p = _normalise(probs)
    k = p.shape[1]
    old = np.full(k, 1.0 / k) if model_prior is None else np.asarray(model_prior, dtype=float)
    ratio = np.clip(np.asarray(new_prior, dtype=float), _EPS, None) / np.clip(old, _EPS, None)
    return _normalise(p * ratio)


def em_prior(probs: np.ndarray, model_prior: Sequence[float] | None = None, max_iter: int = 200,
             tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """(adjusted posteriors, estimated prior) of the texts in `probs` by EM (Saerens et al. 2002, sec. 2.3)."""
    p = _normalise(probs)
    k = p.shape[1]
    old = np.full(k, 1.0 / k) if model_prior is None else _normalise(np.asarray(model_prior, dtype=float)[None])[0]
    if len(p) == 0:
        return p, old
    prior = old.copy()
    adjusted = p
    for _ in range(max_iter):
        adjusted = adjust_to_prior(p, prior, old)
        new = adjusted.mean(axis=0)
        if np.abs(new - prior).max() < tol:
            prior = new
            break
        prior = new
    return adjust_to_prior(p, prior, old), prior


@dataclass
class Calibration:
    """Per-layer calibration: temperature, and how the prior is set (``none``, ``em`` or a given prior).

    `prior` per layer: ``"none"``, ``"em"`` (estimated on each batch of texts labelled together) or
    {label: share} (given). `model_prior` per layer: the prior the classifier was trained under
    ({label: share}; absent: uniform, the balanced-class-weight case).
    """

    temperature: dict[str, float] = field(default_factory=dict)
    prior: dict[str, Any] = field(default_factory=dict)
    model_prior: dict[str, dict[str, float]] = field(default_factory=dict)

    def apply(self, probs: Mapping[str, np.ndarray], labels: Mapping[str, Sequence[str]]) -> dict[str, np.ndarray]:
        """Calibrated probabilities per layer (a batch: EM estimates the batch's prior)."""
        out: dict[str, np.ndarray] = {}
        for layer, p in probs.items():
            names = list(labels[layer])
            q = apply_temperature(p, self.temperature.get(layer, 1.0)) if layer in self.temperature else _normalise(p)
            model_prior = self.model_prior.get(layer)
            old = None if model_prior is None else [model_prior.get(label, 0.0) for label in names]
            rule = self.prior.get(layer, "none")
            if rule == "em":
                q, _ = em_prior(q, old)
            elif isinstance(rule, Mapping):
                q = adjust_to_prior(q, [float(rule.get(label, 0.0)) for label in names], old)
            elif rule != "none":
                raise ValueError(f"calibration prior for {layer}: expected none, em or {{label: share}}, got {rule!r}")
            out[layer] = q
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"temperature": dict(self.temperature), "prior": dict(self.prior), "model_prior": dict(self.model_prior)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        return cls(temperature={k: float(v) for k, v in dict(data.get("temperature", {})).items()},
                   prior=dict(data.get("prior", {})), model_prior=dict(data.get("model_prior", {})))
