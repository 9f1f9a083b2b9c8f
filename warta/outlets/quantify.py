"""Corrected label shares (quantification) for a fixed, pre-trained classifier.

Counting a classifier's labels gives shares that drift toward the training mix when a sample's mix
differs from it. From held-out *calibration* predictions (gold, predicted label, probabilities:
out-of-fold, never sentences the model trained on) a target sample's shares are estimated with:

- ``none``      classify and count: share of predicted labels;
- ``cc-probs``  probabilistic count: mean predicted probability;
- ``acc``       adjusted classify and count (Forman 2008): solve q = M p, M[i, j] = P(pred i | gold j);
- ``pacc``      probabilistic ACC (Bella et al. 2010): M[i, j] = E[P(i | x) | gold j], q = mean probability;
- ``em``        Saerens, Latinne & Decaestecker (2002) prior adjustment with the calibration gold mix as
                training prior. EM needs posteriors calibrated for that prior; warta's models are trained
                class-balanced with flat probabilities, so they are first recalibrated on the calibration
                set by bias-corrected temperature scaling (BCTS, Alexandari et al. 2020), which makes the
                mean recalibrated posterior equal the calibration gold mix.

Solutions are clipped to [0, 1] and renormalised (QuaPy's ``norm='clip'``); ACC/PACC use exact inversion
(QuaPy's ``solver='exact-raise'``); tests check agreement with QuaPy. QuaPy is not imported here: its
quantifiers wrap a classifier object and solve one sample at a time, while the bootstrap solves
thousands of replicates in one batched call.

Intervals (``bootstrap``): each replicate resamples the target's articles (an article's sentences move
together) *and* the calibration predictions (sentences, or articles when ``groups`` is given),
re-estimates the error rates and re-solves; 95% percentile intervals. Derived figures such as the
stance index (pro − against) are computed per replicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from warta.resampling import cluster_counts, percentile_interval, stance_index

METHODS = ("none", "cc-probs", "acc", "pacc", "em")
CONFIDENCE = 0.95
# Instability thresholds: a misclassification matrix this ill-conditioned
# amplifies a 1-point error in the raw shares into > COND_MAX points; a class
# whose recall barely exceeds its false-positive rate (one-vs-rest Youden
# index below MIN_YOUDEN) cannot be told apart, so its correction is noise.
COND_MAX = 10.0
MIN_YOUDEN = 0.1
MIN_CAL_PER_CLASS = 5
EM_TOL = 1e-6
EM_MAX_ITER = 500


@dataclass(frozen=True)
class Calibration:
    """Held-out predictions of one layer. ``gold``/``pred``: label indices into ``labels``; ``probs``: one
    column per label; ``groups`` (optional): article indices, so a bootstrap resamples articles.
    """

    labels: tuple[str, ...]
    gold: np.ndarray
    pred: np.ndarray
    probs: np.ndarray
    groups: np.ndarray | None = None

    def __post_init__(self) -> None:
        k, n = len(self.labels), len(self.gold)
        if n == 0:
            raise ValueError("calibration set is empty")
        if self.pred.shape != (n,) or self.probs.shape != (n, k):
            raise ValueError(f"calibration arrays disagree: gold {n}, pred {self.pred.shape}, probs {self.probs.shape}")

    @property
    def prior(self) -> np.ndarray:
        """The calibration gold mix (EM's training prior)."""
        return np.bincount(self.gold, minlength=len(self.labels)) / len(self.gold)


def calibration_from_records(
    records: Sequence[dict], gold: dict[str, dict], layer: str, labels: Sequence[str], by_article: bool = False
) -> Calibration:
    """Calibration from out-of-fold prediction records joined to gold labels by ``id``: records without a
    gold ``layer`` label are skipped; a label outside ``labels`` raises ``ValueError``."""
    index = {label: i for i, label in enumerate(labels)}
    g, p, pr, grp = [], [], [], []
    for rec in records:
        truth = gold.get(rec["id"], {}).get(layer)
        if truth is None or rec.get(layer) is None:
            continue
        if truth not in index or rec[layer] not in index:
            raise ValueError(f"{rec['id']}: {layer} label {truth!r}/{rec[layer]!r} not in {list(labels)}")
        g.append(index[truth])
        p.append(index[rec[layer]])
        pr.append([float(rec["probs"][layer][label]) for label in labels])
        grp.append(str(rec.get("article_id", rec["id"])))
    groups = _group_index(grp) if by_article else None
    return Calibration(tuple(labels), np.array(g, int), np.array(p, int), np.array(pr, float).reshape(-1, len(labels)), groups)


def _group_index(ids: Sequence[str]) -> np.ndarray:
    return np.unique(np.asarray(ids, dtype=object).astype(str), return_inverse=True)[1].astype(int)


def clip_renormalise(p: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] and rescale rows to sum 1 (all-zero rows become uniform)."""
    p = np.clip(np.asarray(p, float), 0.0, 1.0)
    total = p.sum(axis=-1, keepdims=True)
    uniform = np.full_like(p, 1.0 / p.shape[-1])
    return np.where(total > 0, p / np.where(total > 0, total, 1.0), uniform)


def misclassification_matrix(gold: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """M[..., i, j] = weighted mean of ``scores[:, i]`` over sentences of gold class j.

    ``scores`` are one-hot predictions (ACC) or probabilities (PACC); with
    ``weights`` of shape (B, n) a stack of B matrices is returned. A class
    without calibration sentences gets the identity column (no correction for
    it), as in QuaPy.
    """
    k = scores.shape[1]
    onehot = np.eye(k)[gold]
    w = np.ones((1, len(gold))) if weights is None else np.atleast_2d(weights)
    joint = np.einsum("bs,si,sj->bij", w, scores, onehot)  # sum of scores[i] over gold j
    count = w @ onehot  # (B, k)
    empty = count <= 0
    m = joint / np.where(empty, 1.0, count)[:, None, :]
    m = np.where(empty[:, None, :], np.eye(k)[None], m)
    return m[0] if weights is None else m


def solve_adjustment(m: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Unconstrained p with M p = q (batched), clipped and renormalised; singular M: least squares."""
    m, q = np.asarray(m, float), np.asarray(q, float)
    try:
        p = np.linalg.solve(m, q[..., None])[..., 0]
    except np.linalg.LinAlgError:
        p = (np.linalg.pinv(m) @ q[..., None])[..., 0]
    return clip_renormalise(p)


def em_prior_adjust(
    probs: np.ndarray, prior: np.ndarray, weights: np.ndarray | None = None, tol: float = EM_TOL, max_iter: int = EM_MAX_ITER
) -> np.ndarray:
    """Saerens et al. (2002) EM: the mix q under which posteriors re-weighted by q / prior average to q.

    ``probs`` (n, k) or (B, n, k) are posteriors fitted under ``prior`` (k,) or (B, k); ``weights``
    (B, n) give B weighted samples (bootstrap replicates). Zero priors are smoothed as in QuaPy.
    """
    probs = np.asarray(probs, float)
    n, k = probs.shape[-2:]
    w = np.ones((1, n)) if weights is None else np.atleast_2d(weights).astype(float)
    w = w / w.sum(axis=1, keepdims=True)
    prior = np.broadcast_to(np.atleast_2d(np.asarray(prior, float)), (len(w), k)).copy()
    zero = (prior <= 0).any(axis=1)
    if zero.any():
        prior[zero] = (prior[zero] + 1e-4) / (1 + 1e-4 * k)
    # E and M steps fold into q_c <- q_c * sum_i w_i r_ic / (r_i . q), r = posterior / prior.
    r = (probs if probs.ndim == 3 else probs[None]) / prior[:, None, :]
    r = np.ascontiguousarray(np.broadcast_to(r, (len(w), n, k)))

    def step(q: np.ndarray) -> np.ndarray:
        mix = np.matmul(r, q[:, :, None])[:, :, 0]
        return q * np.matmul((w / np.maximum(mix, 1e-300))[:, None, :], r)[:, 0, :]

    def loglik(q: np.ndarray) -> np.ndarray:
        return (w * np.log(np.maximum(np.matmul(r, q[:, :, None])[:, :, 0], 1e-300))).sum(axis=1)

    # SQUAREM (Varadhan & Roland 2008): flat posteriors make plain EM crawl. The step is halved toward
    # alpha = -1 (plain EM) until it stays inside the simplex (EM never leaves a face it lands on), and
    # kept only if the likelihood does not fall below the plain step's.
    q_all, q, idx = prior.copy(), prior.copy(), np.arange(len(w))
    for _ in range(max_iter):
        q1 = step(q)
        q2 = step(q1)
        d1, d2 = q1 - q, q2 - 2 * q1 + q
        alpha = -np.sqrt((d1**2).sum(1)) / np.maximum(np.sqrt((d2**2).sum(1)), 1e-300)
        alpha = np.clip(alpha, -1e3, -1.0)[:, None]
        for _ in range(30):
            cand = q - 2 * alpha * d1 + alpha**2 * d2
            inside = (cand > 0.1 * np.minimum(q, q2)).all(axis=1, keepdims=True)
            if inside.all():
                break
            alpha = np.where(inside, alpha, (alpha - 1.0) / 2)
        cand = np.where(inside, cand, q2)
        with np.errstate(all="ignore"):
            jump = step(cand / cand.sum(axis=1, keepdims=True))
        ok = np.isfinite(jump).all(axis=1) & (loglik(np.nan_to_num(jump, nan=1.0 / k)) >= loglik(q2))
        new = np.where(ok[:, None], jump, q2)
        # Stop when shares or log-likelihood stop moving (near a face EM crawls on a flat likelihood).
        moving = (np.abs(new - q).max(axis=1) >= tol) & (loglik(new) - loglik(q) >= 1e-9)
        q = new
        q_all[idx] = q
        if not moving.any():
            break
        if moving.mean() < 0.5:  # drop finished replicates once copying r pays off
            idx, r, w, q = idx[moving], r[moving], w[moving], q[moving]
    q = clip_renormalise(q_all)
    return q[0] if weights is None else q


def fit_bcts(
    probs: np.ndarray, gold: np.ndarray, weights: np.ndarray | None = None, iters: int = 25, start: np.ndarray | None = None
) -> np.ndarray:
    """Bias-corrected temperature scaling: (B, k) parameters (a, b_1..b_{k-1}) by batched Newton.

    Minimises the weighted log loss of softmax(a·log p + b) (b_0 = 0) against
    ``gold``; a small ridge keeps separable cases finite; ``start`` (k,) warm-
    starts every replicate (the full-sample fit). Arrays are laid out
    (B, k, n) so that sums over the few classes run over contiguous rows.
    """
    logp = _log(probs).T  # (k, n)
    k, n = logp.shape
    w = np.ones((1, n)) if weights is None else np.atleast_2d(weights).astype(float)
    w = (w * (n / w.sum(axis=1, keepdims=True)))[:, None, :]
    y = np.eye(k)[gold].T[None]
    theta = np.zeros((len(w), k))
    theta[:, 0] = 1.0
    if start is not None:
        theta[:] = start
    ridge = 1e-3
    for _ in range(iters):
        pi = _bcts_t(logp, theta)
        resid = w * (pi - y)
        grad = np.concatenate([(resid * logp).sum(axis=(1, 2))[:, None], resid[:, 1:].sum(axis=2)], axis=1)
        grad += ridge * (theta - np.eye(k)[0])
        # Hessian of the conditional-logit log loss in (a, b_1..): Cov_pi of the features (log p_c, e_c).
        wpi = w * pi
        mean_l = (pi * logp).sum(axis=1, keepdims=True)
        hess = np.empty((len(w), k, k))
        hess[:, 0, 0] = (wpi * logp**2).sum(axis=(1, 2)) - (w[:, 0] * mean_l[:, 0] ** 2).sum(axis=1)
        hess[:, 0, 1:] = hess[:, 1:, 0] = (wpi * (logp - mean_l))[:, 1:].sum(axis=2)
        hess[:, 1:, 1:] = -np.matmul(wpi[:, 1:], pi[:, 1:].transpose(0, 2, 1))
        idx = np.arange(1, k)
        hess[:, idx, idx] += wpi[:, 1:].sum(axis=2)
        step = np.linalg.solve(hess + ridge * np.eye(k), grad[..., None])[..., 0]
        theta -= np.clip(step, -5.0, 5.0)  # damped: one wild step cannot overshoot to infinity
        if np.abs(step).max() < 1e-6:
            break
    return theta


def apply_bcts(probs: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Recalibrated probabilities: (n, k) for theta (k,), (B, n, k) for theta (B, k)."""
    out = _bcts_t(_log(probs).T, np.atleast_2d(theta)).transpose(0, 2, 1)
    return out[0] if np.ndim(theta) == 1 else out


def _log(probs: np.ndarray) -> np.ndarray:
    return np.log(np.clip(np.asarray(probs, float), 1e-12, 1.0))


def _bcts_t(logp_t: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """softmax over classes of a·log p + b, in (B, k, n) layout."""
    z = theta[:, 0, None, None] * logp_t[None]
    z[:, 1:] += theta[:, 1:, None]
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def point_estimate(cal: Calibration, pred: np.ndarray, probs: np.ndarray, method: str) -> np.ndarray:
    """Estimated shares (k,) of a target sample with predicted labels ``pred`` and ``probs``."""
    pred, probs = np.asarray(pred, int), np.asarray(probs, float)
    return _estimate(cal, pred, probs, method, np.ones((1, len(pred))), np.ones((1, len(cal.gold))))[0]


def _estimate(cal: Calibration, pred: np.ndarray, probs: np.ndarray, method: str, wt: np.ndarray, wc: np.ndarray):
    """(B, k) shares for B weightings of the target (``wt``) and calibration (``wc``) sentences."""
    k = len(cal.labels)
    wt = wt / np.maximum(wt.sum(axis=1, keepdims=True), 1e-12)
    if method == "none":
        return wt @ np.eye(k)[pred]
    if method == "cc-probs":
        return clip_renormalise(wt @ probs)
    if method == "acc":
        return solve_adjustment(misclassification_matrix(cal.gold, np.eye(k)[cal.pred], wc), wt @ np.eye(k)[pred])
    if method == "pacc":
        return solve_adjustment(misclassification_matrix(cal.gold, cal.probs, wc), wt @ probs)
    if method == "em":
        prior = (wc @ np.eye(k)[cal.gold]) / wc.sum(axis=1, keepdims=True)
        theta = fit_bcts(cal.probs, cal.gold, wc, start=fit_bcts(cal.probs, cal.gold)[0])
        return em_prior_adjust(apply_bcts(probs, theta), prior, wt)
    raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")


def stability(cal: Calibration, method: str) -> dict:
    """Is the correction trustworthy? ``unstable`` with ``reasons`` in words when M's condition number
    exceeds COND_MAX, a class's one-vs-rest Youden index (recall − false-positive rate) is below
    MIN_YOUDEN (recall about chance), or a class has under MIN_CAL_PER_CLASS calibration sentences.
    Methods that do not correct (none, cc-probs) are never unstable.
    """
    k = len(cal.labels)
    if method == "em":
        scores = apply_bcts(cal.probs, fit_bcts(cal.probs, cal.gold)[0])
    elif method in ("pacc", "cc-probs"):
        scores = cal.probs
    else:
        scores = np.eye(k)[cal.pred]
    m = misclassification_matrix(cal.gold, scores)
    cond = float(np.linalg.cond(m))
    support = np.bincount(cal.gold, minlength=k)
    # One-vs-rest: P(pred i | gold i) − P(pred i | gold ≠ i), weighting the other classes by support.
    others = support[None, :] * (1 - np.eye(k))
    fpr = (m * others).sum(axis=1) / np.maximum(others.sum(axis=1), 1)
    youden = (np.diag(m) - fpr).tolist()
    reasons = []
    if method in ("acc", "pacc", "em"):
        if not np.isfinite(cond) or cond > COND_MAX:
            reasons.append(f"misclassification matrix is near-singular (condition number {cond:.3g} > {COND_MAX:g})")
        for i, label in enumerate(cal.labels):
            if support[i] < MIN_CAL_PER_CLASS:
                reasons.append(f"{label}: only {int(support[i])} calibration sentences")
            elif youden[i] < MIN_YOUDEN:
                reasons.append(f"{label}: recall {m[i, i]:.2f} is about chance (minus false-positive rate: {youden[i]:.2f})")
    return {
        "unstable": bool(reasons),
        "reasons": reasons,
        "condition_number": round(cond, 3) if np.isfinite(cond) else None,
        "youden": dict(zip(cal.labels, (round(y, 3) for y in youden), strict=True)),
        "calibration_support": dict(zip(cal.labels, (int(s) for s in support), strict=True)),
    }


def bootstrap(
    cal: Calibration,
    pred: np.ndarray,
    probs: np.ndarray,
    articles: np.ndarray | Sequence[str] | None,
    methods: Sequence[str] = METHODS,
    n_boot: int = 2000,
    seed: int = 0,
    resample_calibration: bool = True,
) -> dict[str, np.ndarray]:
    """Replicate shares {method: (n_boot, k)}: target articles and calibration resampled together.

    ``articles`` (one id per target sentence) makes sentences of an article
    move together; None resamples sentences. The same resamples are used for
    every method, so methods are compared on equal footing.
    """
    pred, probs = np.asarray(pred, int), np.asarray(probs, float)
    rng = np.random.default_rng(seed)
    tgroups = None if articles is None else _group_index(list(articles))
    wt = cluster_counts(tgroups, len(pred), n_boot, rng)
    wc = cluster_counts(cal.groups, len(cal.gold), n_boot, rng) if resample_calibration else np.ones((n_boot, len(cal.gold)))
    return {method: _estimate(cal, pred, probs, method, wt, wc) for method in methods}


def corrected_shares(
    cal: Calibration,
    pred: np.ndarray,
    probs: np.ndarray,
    articles: np.ndarray | Sequence[str] | None = None,
    methods: Sequence[str] = METHODS,
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> dict[str, dict]:
    """Per method: point shares, percentile intervals, stability, and the stance index when defined.

    Returns ``{method: {"shares": {label: float}, "interval": {label: [lo, hi]},
    "unstable": bool, "reasons": [...], "condition_number": float, ...,
    "index": float, "index_interval": [lo, hi]}}`` (the last two only when
    the labels include ``pro`` and ``against``). Same seed, same figures.
    """
    pred = np.asarray(pred, int)
    probs = np.asarray(probs, float).reshape(len(pred), len(cal.labels))
    if len(pred) == 0:
        raise ValueError("target sample is empty")
    reps = bootstrap(cal, pred, probs, articles, methods, n_boot, seed)
    has_index = "pro" in cal.labels and "against" in cal.labels
    result = {}
    for method in methods:
        point = point_estimate(cal, pred, probs, method)
        lo, hi = percentile_interval(reps[method], confidence)
        entry = {
            "shares": {lab: float(v) for lab, v in zip(cal.labels, point, strict=True)},
            "interval": {lab: [float(a), float(b)] for lab, a, b in zip(cal.labels, lo, hi, strict=True)},
            **stability(cal, method),
        }
        if has_index:
            entry["index"] = float(stance_index(point, cal.labels))
            entry["index_interval"] = [float(v) for v in percentile_interval(stance_index(reps[method], cal.labels), confidence)]
        result[method] = entry
    return result
