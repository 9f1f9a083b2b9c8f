"""warta.outlets.quantify: hand-computed corrections, QuaPy agreement, bootstrap behaviour, prior-shift recovery."""

from __future__ import annotations

import numpy as np
import pytest

from warta.outlets import quantify as Q


def cal_from(pairs: list[tuple[int, int, int]], k: int, probs: np.ndarray | None = None) -> Q.Calibration:
    """Calibration from (gold, pred, count) triples; probs default to one-hot predictions."""
    gold = np.concatenate([np.full(c, g) for g, _, c in pairs])
    pred = np.concatenate([np.full(c, p) for _, p, c in pairs])
    return Q.Calibration(tuple(f"c{i}" for i in range(k)), gold, pred, np.eye(k)[pred] if probs is None else probs)


def target_preds(counts: list[int]) -> np.ndarray:
    return np.concatenate([np.full(c, i) for i, c in enumerate(counts)])


# M = [[0.8, 0.3], [0.2, 0.7]] (rows predicted, columns gold)
CAL2 = [(0, 0, 8), (0, 1, 2), (1, 0, 3), (1, 1, 7)]
# M = [[.7, .2, .1], [.2, .6, .2], [.1, .2, .7]]
CAL3 = [(0, 0, 7), (0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 1, 6), (1, 2, 2), (2, 0, 1), (2, 1, 2), (2, 2, 7)]


def test_misclassification_matrix_by_hand():
    cal = cal_from(CAL2, 2)
    m = Q.misclassification_matrix(cal.gold, np.eye(2)[cal.pred])
    assert m == pytest.approx(np.array([[0.8, 0.3], [0.2, 0.7]]))


def test_acc_two_class_by_hand():
    # q = M p: 0.8 p + 0.3 (1 - p) = 0.55  =>  p = 0.5
    cal = cal_from(CAL2, 2)
    pred = target_preds([11, 9])
    assert Q.point_estimate(cal, pred, np.eye(2)[pred], "none") == pytest.approx([0.55, 0.45])
    assert Q.point_estimate(cal, pred, np.eye(2)[pred], "acc") == pytest.approx([0.5, 0.5])


def test_acc_three_class_by_hand():
    # q = M [0.2, 0.3, 0.5] = [0.25, 0.32, 0.43]
    cal = cal_from(CAL3, 3)
    pred = target_preds([25, 32, 43])
    assert Q.point_estimate(cal, pred, np.eye(3)[pred], "acc") == pytest.approx([0.2, 0.3, 0.5])


def test_acc_clips_and_renormalises():
    # q = [0.9, 0.1]: 0.5 p + 0.3 = 0.9 => p = 1.2, i.e. [1.2, -0.2] -> clipped [1, 0]
    cal = cal_from(CAL2, 2)
    pred = target_preds([9, 1])
    assert Q.point_estimate(cal, pred, np.eye(2)[pred], "acc") == pytest.approx([1.0, 0.0])
    assert Q.clip_renormalise(np.array([0.6, 0.6, -0.2])) == pytest.approx([0.5, 0.5, 0.0])
    assert Q.clip_renormalise(np.array([[-1.0, -2.0], [0.2, 0.2]])) == pytest.approx(np.array([[0.5, 0.5], [0.5, 0.5]]))


def test_pacc_two_class_by_hand():
    # E[P(c0) | gold c0] = (0.9 + 0.7) / 2 = 0.8; E[P(c0) | gold c1] = (0.4 + 0.2) / 2 = 0.3
    probs = np.array([[0.9, 0.1], [0.7, 0.3], [0.4, 0.6], [0.2, 0.8]])
    cal = Q.Calibration(("a", "b"), np.array([0, 0, 1, 1]), probs.argmax(1), probs)
    assert Q.misclassification_matrix(cal.gold, cal.probs) == pytest.approx(np.array([[0.8, 0.3], [0.2, 0.7]]))
    target = np.array([[0.6, 0.4], [0.5, 0.5]])  # mean [0.55, 0.45] -> p = 0.5
    assert Q.point_estimate(cal, target.argmax(1), target, "pacc") == pytest.approx([0.5, 0.5])
    assert Q.point_estimate(cal, target.argmax(1), target, "cc-probs") == pytest.approx([0.55, 0.45])


def test_em_two_class_by_hand():
    # Uniform prior, posteriors (0.8, 0.2) and (0.3, 0.7): the fixed point t solves
    # 1 = mean_i a_i / (t a_i + (1 - t) b_i)  <=>  24 t^2 - 41 t + 17 = 0  =>  t = 17/24 (t = 1 is a minimum).
    probs = np.array([[0.8, 0.2], [0.3, 0.7]])
    q = Q.em_prior_adjust(probs, np.array([0.5, 0.5]))
    assert q == pytest.approx([17 / 24, 7 / 24], abs=1e-6)
    # A fixed point: re-weighting the posteriors by q / prior and averaging gives q back.
    post = probs * q / 0.5
    assert (post / post.sum(1, keepdims=True)).mean(0) == pytest.approx(q, abs=1e-6)


def test_em_batched_weights_match_single_samples():
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(3), size=40)
    prior = np.array([0.5, 0.3, 0.2])
    weights = rng.integers(0, 3, size=(4, 40)).astype(float)
    batched = Q.em_prior_adjust(probs, prior, weights)
    for w, q in zip(weights, batched, strict=True):
        keep = np.repeat(np.arange(40), w.astype(int))
        assert q == pytest.approx(Q.em_prior_adjust(probs[keep], prior), abs=1e-5)


def test_bcts_makes_mean_posterior_the_gold_mix():
    rng = np.random.default_rng(2)
    gold = rng.integers(0, 3, 300)
    logits = rng.normal(size=(300, 3)) + 0.8 * np.eye(3)[gold]
    flat = np.exp(0.3 * logits) / np.exp(0.3 * logits).sum(1, keepdims=True)  # under-confident probabilities
    theta = Q.fit_bcts(flat, gold)[0]
    recal = Q.apply_bcts(flat, theta)
    assert recal.mean(0) == pytest.approx(np.bincount(gold) / 300, abs=1e-4)
    assert theta[0] > 1.5  # sharpened
    def nll(p):
        return -np.log(p[np.arange(300), gold]).mean()
    assert nll(recal) < nll(flat)


def test_agrees_with_quapy():
    quapy = pytest.importorskip("quapy")  # reference implementation; slow to import, not a runtime dependency
    from quapy.method.aggregative import ACC, EMQ, PACC

    rng = np.random.default_rng(3)
    k = 4
    gold = rng.integers(0, k, 200)
    probs = rng.dirichlet(np.ones(k), size=200) + 1.5 * np.eye(k)[gold]
    probs /= probs.sum(1, keepdims=True)
    cal = Q.Calibration(tuple("abcd"), gold, probs.argmax(1), probs)
    tgt = rng.dirichlet(np.ones(k), size=80) + 1.5 * np.eye(k)[rng.choice(k, 80, p=[0.6, 0.2, 0.1, 0.1])]
    tgt /= tgt.sum(1, keepdims=True)
    classes = np.arange(k)
    m = ACC.getPteCondEstim(classes, gold, probs.argmax(1))
    q = np.bincount(tgt.argmax(1), minlength=k) / 80
    ref = quapy.functional.normalize_prevalence(
        ACC.solve_adjustment(m, q, method="inversion", solver="exact-raise"), method="clip"
    )
    assert Q.point_estimate(cal, tgt.argmax(1), tgt, "acc") == pytest.approx(ref, abs=1e-9)
    m_soft = PACC.getPteCondEstim(classes, gold, probs)
    ref = quapy.functional.normalize_prevalence(
        ACC.solve_adjustment(m_soft, tgt.mean(0), method="inversion", solver="exact-raise"), method="clip"
    )
    assert Q.point_estimate(cal, tgt.argmax(1), tgt, "pacc") == pytest.approx(ref, abs=1e-9)
    ref_em, _ = EMQ.EM(cal.prior, tgt, epsilon=1e-10)
    assert Q.em_prior_adjust(tgt, cal.prior, tol=1e-10) == pytest.approx(ref_em, abs=1e-5)


def test_stability_flags():
    good = cal_from(CAL3, 3)
    assert not Q.stability(good, "acc")["unstable"]
    assert Q.stability(good, "acc")["condition_number"] == pytest.approx(np.linalg.cond(np.array(
        [[0.7, 0.2, 0.1], [0.2, 0.6, 0.2], [0.1, 0.2, 0.7]])), rel=1e-3)
    assert not Q.stability(good, "none")["unstable"]
    # Class 2 is predicted like class 1: recall at chance, M nearly singular.
    chance = cal_from([(0, 0, 8), (0, 2, 2), (1, 1, 8), (1, 2, 2), (2, 1, 8), (2, 2, 2)], 3)
    report = Q.stability(chance, "acc")
    assert report["unstable"]
    assert any("near-singular" in r for r in report["reasons"])
    assert any(r.startswith("c2: recall 0.20 is about chance") for r in report["reasons"]), report
    small = cal_from([(0, 0, 10), (1, 1, 10), (2, 2, 3)], 3)
    assert Q.stability(small, "acc")["reasons"] == ["c2: only 3 calibration sentences"]


def test_empty_calibration_class_gets_identity_column():
    cal = cal_from([(0, 0, 5), (0, 1, 1), (1, 1, 6)], 3)
    m = Q.misclassification_matrix(cal.gold, np.eye(3)[cal.pred])
    assert m[:, 2] == pytest.approx([0, 0, 1])


def test_bootstrap_shape_determinism_and_clusters():
    cal = cal_from(CAL3, 3)
    pred = target_preds([25, 32, 43])
    probs = np.eye(3)[pred] * 0.7 + 0.1
    arts = np.arange(100) // 10
    a = Q.bootstrap(cal, pred, probs, arts, n_boot=300, seed=5)
    b = Q.bootstrap(cal, pred, probs, arts, n_boot=300, seed=5)
    c = Q.bootstrap(cal, pred, probs, arts, n_boot=300, seed=6)
    for method in Q.METHODS:
        assert a[method].shape == (300, 3)
        assert a[method].sum(1) == pytest.approx(np.ones(300))
        assert (a[method] >= 0).all()
        assert np.array_equal(a[method], b[method])
        assert not np.array_equal(a[method], c[method])
    # Two articles, each all one predicted label: resampling whole articles gives shares 0, 1/2 or 1 only.
    two = Q.bootstrap(cal, np.array([0] * 5 + [1] * 5), np.eye(3)[[0] * 5 + [1] * 5], ["x"] * 5 + ["y"] * 5,
                      methods=("none",), n_boot=200, seed=0)["none"]
    assert set(np.round(two[:, 0], 6)) <= {0.0, 0.5, 1.0}
    # Without calibration resampling ACC varies only through the target; with it, more.
    fixed = Q.bootstrap(cal, pred, probs, arts, ("acc",), 500, 0, resample_calibration=False)["acc"]
    both = Q.bootstrap(cal, pred, probs, arts, ("acc",), 500, 0)["acc"]
    assert fixed.std(0).sum() < both.std(0).sum()


def test_corrected_shares_result():
    base = cal_from(CAL3, 3)
    cal = Q.Calibration(("pro", "against", "neutral"), base.gold, base.pred, base.probs)
    pred = target_preds([25, 32, 43])
    out = Q.corrected_shares(cal, pred, np.eye(3)[pred], np.arange(100) // 10, n_boot=200, seed=0)
    assert set(out) == set(Q.METHODS)
    acc = out["acc"]
    assert acc["shares"] == pytest.approx({"pro": 0.2, "against": 0.3, "neutral": 0.5})
    assert acc["index"] == pytest.approx(-0.1)
    lo, hi = acc["index_interval"]
    assert lo <= -0.1 <= hi
    assert all(acc["interval"][lab][0] <= acc["interval"][lab][1] for lab in cal.labels)
    assert out == Q.corrected_shares(cal, pred, np.eye(3)[pred], np.arange(100) // 10, n_boot=200, seed=0)
    with pytest.raises(ValueError, match="unknown method"):
        Q.corrected_shares(cal, pred, np.eye(3)[pred], methods=("magic",), n_boot=10)


def test_calibration_from_records():
    recs = [
        {"id": "a", "article_id": "1", "stance": "pro", "probs": {"stance": {"pro": 0.6, "against": 0.3, "neutral": 0.1}}},
        {"id": "b", "article_id": "1", "stance": "neutral", "probs": {"stance": {"pro": 0.2, "against": 0.2, "neutral": 0.6}}},
        {"id": "c", "article_id": "2", "stance": "against", "probs": {"stance": {"pro": 0.1, "against": 0.8, "neutral": 0.1}}},
    ]
    gold = {"a": {"stance": "pro"}, "b": {"stance": "against"}}  # c has no gold: skipped
    cal = Q.calibration_from_records(recs, gold, "stance", ("pro", "against", "neutral"), by_article=True)
    assert cal.gold.tolist() == [0, 1] and cal.pred.tolist() == [0, 2]
    assert cal.probs[1] == pytest.approx([0.2, 0.2, 0.6])
    assert cal.groups.tolist() == [0, 0]
    assert cal.prior == pytest.approx([0.5, 0.5, 0.0])
    with pytest.raises(ValueError, match="not in"):
        Q.calibration_from_records(recs, {"a": {"stance": "maybe"}}, "stance", ("pro", "against", "neutral"))


def test_corrections_recover_a_shifted_prior():
    """Gaussian classes with Bayes posteriors under the training prior; the target's prior is far from it."""
    rng = np.random.default_rng(0)
    means = np.array([[0.0, 0.0], [1.6, 0.0], [0.0, 1.6]])
    train_prior, target_prior = np.array([0.5, 0.3, 0.2]), np.array([0.1, 0.3, 0.6])

    def sample(prior: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.choice(3, size=n, p=prior)
        x = means[y] + rng.normal(size=(n, 2))
        logit = np.log(train_prior) - 0.5 * ((x[:, None, :] - means[None]) ** 2).sum(-1)
        p = np.exp(logit - logit.max(1, keepdims=True))
        return y, p / p.sum(1, keepdims=True)

    gold, probs = sample(train_prior, 3000)
    cal = Q.Calibration(("a", "b", "c"), gold, probs.argmax(1), probs)
    assert not Q.stability(cal, "acc")["unstable"]
    _, tprobs = sample(target_prior, 3000)
    tpred = tprobs.argmax(1)
    err = {m: np.abs(Q.point_estimate(cal, tpred, tprobs, m) - target_prior).sum() for m in Q.METHODS}
    for method in ("acc", "pacc", "em"):
        assert err[method] < 0.5 * err["none"], err
        assert err[method] < 0.12, err  # L1 over three shares
