"""warta.models.calibration: temperature scaling and label-prior correction (given or EM-estimated)."""

from __future__ import annotations

import numpy as np
import pytest

from warta.models.calibration import (
    Calibration,
    adjust_to_prior,
    apply_temperature,
    em_prior,
    fit_temperature,
)


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def test_temperature_keeps_the_argmax_and_softens_or_sharpens():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    assert np.allclose(apply_temperature(p, 1.0), p)
    soft, sharp = apply_temperature(p, 3.0), apply_temperature(p, 0.5)
    assert (soft.argmax(1) == p.argmax(1)).all() and (sharp.argmax(1) == p.argmax(1)).all()
    assert (soft.max(1) < p.max(1)).all() and (sharp.max(1) > p.max(1)).all()
    assert np.allclose(soft.sum(1), 1) and np.allclose(sharp.sum(1), 1)


def test_fit_temperature_recovers_the_overconfidence_factor():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 1.5, size=(4000, 4))
    true = softmax(logits)
    gold = np.array([rng.choice(4, p=row) for row in true])
    overconfident = softmax(logits * 2.0)  # what a model twice too sure would report
    assert fit_temperature(overconfident, gold) == pytest.approx(2.0, rel=0.1)
    assert fit_temperature(true, gold) == pytest.approx(1.0, rel=0.1)


def test_adjust_to_prior_is_bayes_rule_on_the_prior_ratio():
    p = np.array([[0.5, 0.5], [0.8, 0.2]])
    moved = adjust_to_prior(p, [0.9, 0.1])  # from the uniform (balanced) prior
    assert moved[0] == pytest.approx([0.9, 0.1])
    assert moved[1] == pytest.approx([0.8 * 0.9 / (0.8 * 0.9 + 0.2 * 0.1), 0.2 * 0.1 / (0.8 * 0.9 + 0.2 * 0.1)])
    back = adjust_to_prior(moved, [0.5, 0.5], model_prior=[0.9, 0.1])
    assert np.allclose(back, p)


def test_em_recovers_the_label_prior_of_a_shifted_batch():
    rng = np.random.default_rng(1)
    prior = np.array([0.7, 0.2, 0.1])
    means = np.array([[0.0, 0.0], [1.5, 0.0], [0.0, 1.5]])
    y = rng.choice(3, size=6000, p=prior)
    x = means[y] + rng.normal(size=(6000, 2))
    # exact posteriors of a classifier trained under a uniform prior (what class-balanced weights give)
    log_lik = -0.5 * ((x[:, None, :] - means[None]) ** 2).sum(-1)
    balanced = softmax(log_lik)
    assert balanced.mean(0)[0] < 0.6  # the balanced model under-counts the majority label
    adjusted, estimated = em_prior(balanced)
    assert estimated == pytest.approx(prior, abs=0.03)
    assert adjusted.mean(0) == pytest.approx(prior, abs=0.03)
    assert (adjusted.argmax(1) == y).mean() > (balanced.argmax(1) == y).mean()


def test_calibration_applies_per_layer_rules_and_round_trips():
    labels = {"stance": ["pro", "against", "neutral"], "type": ["fact", "quote"]}
    probs = {"stance": np.array([[0.4, 0.3, 0.3], [0.2, 0.5, 0.3]]), "type": np.array([[0.6, 0.4]])}
    cal = Calibration(temperature={"type": 2.0}, prior={"stance": {"pro": 0.1, "against": 0.3, "neutral": 0.6}})
    out = cal.apply(probs, labels)
    assert np.allclose(out["stance"], adjust_to_prior(probs["stance"], [0.1, 0.3, 0.6]))
    assert np.allclose(out["type"], apply_temperature(probs["type"], 2.0))
    again = Calibration.from_dict(cal.to_dict()).apply(probs, labels)
    assert all(np.allclose(out[k], again[k]) for k in out)
    with pytest.raises(ValueError, match="expected none, em"):
        Calibration(prior={"type": "median"}).apply(probs, labels)
