"""The TF-IDF model's numeric core, free of scikit-learn so that loading and predicting import only numpy/scipy.

Why a custom vectorizer: batch labelling must run at tens of thousands of
sentences per second on two cores, and scikit-learn's ``char_wb`` analyzer
builds every n-gram string of every sentence in Python (~7,600 sentences/s
here). Character n-grams of the ``char_wb`` kind never cross a word boundary,
and news vocabulary repeats, so `NgramTfidf` computes each distinct
word's n-gram columns once, caches them, and builds the sparse matrix for a
whole batch with numpy. Word n-grams are looked up the same way (token ids,
then n-gram keys by binary search). The weighting is scikit-learn's
(smooth idf, optional sublinear tf, l2 rows); `fit` selects scikit-learn's vocabulary.

`warta.models.tfidf_estimators` wraps these as scikit-learn estimators for training.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from itertools import chain, repeat
from typing import Any

import numpy as np
import scipy.sparse as sp

_WORD_RE = re.compile(r"\w+")
# Beyond this many distinct words the per-word cache is reset (bounded memory on endless streams).
_MAX_CACHED_UNITS = 1_000_000
_MAX_NGRAM_WORDS = 3


# --- vectorizer ----------------------------------------------------------------------


def _char_wb_ngrams(unit: str, min_n: int, max_n: int) -> list[str]:
    """scikit-learn's char_wb n-grams of one whitespace-delimited word (padded with spaces)."""
    padded = f" {unit} "
    size = len(padded)
    grams = []
    for n in range(min_n, max_n + 1):
        if size <= n:  # a short word counts once, as sklearn does
            grams.append(padded)
            break
        grams.extend(padded[i : i + n] for i in range(size - n + 1))
    return grams


def _gather(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated ranges [start, start + length) without a Python loop."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    offsets = np.repeat(starts - (ends - lengths), lengths)
    return offsets + np.arange(total, dtype=np.int64)


class SplitTexts:
    """Texts cut into whitespace-delimited units once, shared by every feature block."""

    __slots__ = ("units", "lengths", "unit_doc")

    def __init__(self, texts: Sequence[str], lowercase: bool = True):
        docs = [text.lower().split() for text in texts] if lowercase else [text.split() for text in texts]
        self.lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
        self.units = list(chain.from_iterable(docs))
        self.unit_doc = np.repeat(np.arange(len(docs), dtype=np.int64), self.lengths)

    def __len__(self) -> int:
        return len(self.lengths)


def as_split(texts: Any) -> SplitTexts:
    """SplitTexts as given, or raw texts split (lowercased)."""
    if isinstance(texts, SplitTexts):
        return texts
    if isinstance(texts, str):
        raise ValueError("expected a list of texts, got one string")
    return SplitTexts(list(texts))


class _UnitCache:
    """Per-unit integer lists (n-gram columns, token ids, cue codes) computed once per distinct unit.

    Subclasses define `_unit_values(unit) -> list[int]`. The cache is derived
    data: it is dropped when pickling/saving and rebuilt on demand.
    """

    _CACHE_KEYS = ("_unit_ids", "_unit_ptr", "_unit_flat", "_unit_csr")

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for key in self._CACHE_KEYS:
            state.pop(key, None)
        return state

    def _reset_cache(self) -> None:
        self._unit_ids: dict[str, int] = {}
        self._unit_ptr = np.zeros(1, dtype=np.int64)
        self._unit_flat = np.zeros(0, dtype=np.int64)
        self.__dict__.pop("_unit_csr", None)

    def _unit_values(self, unit: str) -> list[int]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _lookup_ids(self, units: list[str]) -> np.ndarray:
        """Cache id of each unit occurrence, computing the values of unseen units once."""
        if "_unit_ids" not in self.__dict__:
            self._reset_cache()
        ids = np.fromiter(map(self._unit_ids.get, units, repeat(-1)), dtype=np.int64, count=len(units))
        missing = np.flatnonzero(ids < 0)
        if len(missing):
            if len(self._unit_ids) + len(missing) > _MAX_CACHED_UNITS:
                self._reset_cache()
                missing = np.arange(len(units))
            new_arrays, new_lengths = [], []
            for unit in dict.fromkeys(units[i] for i in missing.tolist()):
                values = self._unit_values(unit)
                self._unit_ids[unit] = len(self._unit_ids)
                new_arrays.append(np.asarray(values, dtype=np.int64))
                new_lengths.append(len(values))
            self._unit_flat = np.concatenate([self._unit_flat, *new_arrays])
            ends = self._unit_ptr[-1] + np.cumsum(np.array(new_lengths, dtype=np.int64))
            self._unit_ptr = np.concatenate([self._unit_ptr, ends])
            self.__dict__.pop("_unit_csr", None)
            ids = np.fromiter(map(self._unit_ids.get, units, repeat(-1)), dtype=np.int64, count=len(units))
        return ids

    def _expand(self, units: list[str], unit_doc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cached values, owning document) of every unit occurrence, flattened."""
        ids = self._lookup_ids(units)
        starts = self._unit_ptr[ids]
        lengths = self._unit_ptr[ids + 1] - starts
        return self._unit_flat[_gather(starts, lengths)], np.repeat(unit_doc, lengths)

    def _unit_counts(self, split: SplitTexts, n_cols: int) -> sp.csr_matrix:
        """Documents x columns counts as (documents x units) @ (units x columns).

        scipy's sparse product sums the repeated columns of a document in C
        (a dense accumulator per row): no sort, no Python loop.
        """
        ids = self._lookup_ids(split.units)
        if "_unit_csr" not in self.__dict__:
            n_units = len(self._unit_ptr) - 1
            self._unit_csr = sp.csr_matrix(
                (np.ones(len(self._unit_flat)), self._unit_flat, self._unit_ptr), shape=(n_units, n_cols)
            )
        indptr = np.zeros(len(split) + 1, dtype=np.int64)
        np.cumsum(split.lengths, out=indptr[1:])
        occurrences = sp.csr_matrix(
            (np.ones(len(ids)), ids, indptr), shape=(len(split), self._unit_csr.shape[0])
        )
        return occurrences @ self._unit_csr


def _l2_normalize_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """In place; all-zero rows stay zero."""
    lengths = np.diff(matrix.indptr)
    squares = np.square(matrix.data)
    norms = np.zeros(matrix.shape[0])
    filled = lengths > 0
    if filled.any():
        norms[filled] = np.sqrt(np.add.reduceat(squares, matrix.indptr[:-1][filled]))
    norms[~filled] = 1.0
    matrix.data /= np.repeat(norms, lengths)
    return matrix


def _counts_matrix(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int) -> sp.csr_matrix:
    """Count matrix from (row, col) occurrences, duplicates summed (one sort of packed int64 keys)."""
    keys = (rows << 32) | cols
    keys.sort()
    if len(keys):
        new = np.empty(len(keys), dtype=bool)
        new[0] = True
        np.not_equal(keys[1:], keys[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        counts = np.diff(starts, append=len(keys)).astype(np.float64)
        unique = keys[starts]
    else:
        counts, unique = np.zeros(0), keys
    out_cols = (unique & 0xFFFFFFFF).astype(np.int32)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(unique >> 32, minlength=n_rows), out=indptr[1:])
    return sp.csr_matrix((counts, out_cols, indptr), shape=(n_rows, n_cols))


class NgramTfidf(_UnitCache):
    """TF-IDF over word n-grams (``analyzer="word"``) or per-word char n-grams (``"char_wb"``).

    Input: raw texts or `SplitTexts` (the pipeline splits once for all blocks).
    Texts are lowercased and split on whitespace into units; char_wb n-grams come from each
    unit padded with one space each side, word tokens are the ``\\w+`` runs of
    each unit -- the same features scikit-learn's ``char_wb`` analyzer and
    ``TfidfVectorizer(token_pattern=r"(?u)\\w+")`` produce.
    """

    def __init__(
        self,
        analyzer: str = "word",
        ngram_range: tuple[int, int] = (1, 1),
        min_df: int = 1,
        max_features: int | None = None,
        sublinear_tf: bool = True,
        norm: str | None = "l2",
    ):
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.norm = norm

    def _check_params(self) -> tuple[int, int]:
        if self.analyzer not in ("word", "char_wb"):
            raise ValueError(f"analyzer must be 'word' or 'char_wb', got {self.analyzer!r}")
        min_n, max_n = self.ngram_range
        if not 1 <= min_n <= max_n:
            raise ValueError(f"bad ngram_range {self.ngram_range!r}")
        if self.analyzer == "word" and max_n > _MAX_NGRAM_WORDS:
            raise ValueError(f"word n-grams up to {_MAX_NGRAM_WORDS} words are supported")
        return min_n, max_n

    @staticmethod
    def _ngram_starts(doc_of: np.ndarray, n: int) -> np.ndarray:
        """Positions i where items i..i+n-1 all belong to one document."""
        if len(doc_of) < n:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(doc_of[: len(doc_of) - n + 1] == doc_of[n - 1 :])

    # -- fit --

    def fit(self, raw_documents: Sequence[str] | SplitTexts, y: Any = None) -> NgramTfidf:
        self._fit(as_split(raw_documents))
        return self

    def fit_transform(self, raw_documents: Sequence[str] | SplitTexts, y: Any = None) -> sp.csr_matrix:
        split = as_split(raw_documents)
        self._fit(split)
        return self.transform(split)

    def _fit(self, split: SplitTexts) -> None:
        min_n, max_n = self._check_params()
        units, unit_doc, n_docs = split.units, split.unit_doc, len(split)
        term_index: dict[str, int] = {}
        if self.analyzer == "word":
            per_unit = {unit: _WORD_RE.findall(unit) for unit in set(units)}
            tokens = [token for unit in units for token in per_unit[unit]]
            token_doc = np.repeat(unit_doc, [len(per_unit[u]) for u in units]).astype(np.int64)
            rows_all, keys_all = [], []
            for n in range(min_n, max_n + 1):
                starts = self._ngram_starts(token_doc, n).tolist()
                grams = [" ".join(tokens[s : s + n]) for s in starts]
                rows_all.append(token_doc[starts] if starts else np.zeros(0, dtype=np.int64))
                keys_all.append(np.fromiter((term_index.setdefault(g, len(term_index)) for g in grams),
                                            dtype=np.int64, count=len(grams)))
            rows, keys = np.concatenate(rows_all), np.concatenate(keys_all)
            order = np.argsort(rows, kind="stable")
            rows, keys = rows[order], keys[order]
        else:
            per_unit_cols = {
                unit: [term_index.setdefault(g, len(term_index)) for g in _char_wb_ngrams(unit, min_n, max_n)]
                for unit in set(units)
            }
            arrays = [per_unit_cols[u] for u in units]
            keys = np.fromiter(chain.from_iterable(arrays), dtype=np.int64)
            rows = np.repeat(unit_doc, [len(a) for a in arrays]).astype(np.int64)
        terms = list(term_index)
        if not terms:
            raise ValueError("no terms found in the training texts")
        counts = _counts_matrix(rows, keys, n_docs, len(terms))
        df = np.bincount(counts.indices, minlength=len(terms))
        # scikit-learn's CountVectorizer._limit_features, step for step, so max_features keeps exactly
        # its terms: columns in term order, min_df mask, then the `max_features` largest total counts
        # by numpy's default argsort of the negated float64 totals (its tie order included).
        by_term = np.array(sorted(range(len(terms)), key=terms.__getitem__), dtype=np.int64)
        mask = df[by_term] >= self.min_df
        if self.max_features is not None and mask.sum() > self.max_features:
            totals = np.asarray(counts.sum(axis=0), dtype=np.float64).ravel()[by_term]
            chosen = (-totals[mask]).argsort()[: self.max_features]
            limited = np.zeros(len(mask), dtype=bool)
            limited[np.flatnonzero(mask)[chosen]] = True
            mask = limited
        kept = by_term[mask].tolist()
        if not kept:
            raise ValueError("no terms left after pruning (min_df too high?)")
        self.terms_ = np.array([terms[j] for j in kept], dtype=str)
        self.idf_ = np.log((1.0 + n_docs) / (1.0 + df[kept])) + 1.0
        for key in self._DERIVED:
            self.__dict__.pop(key, None)
        self._reset_cache()

    # Lookup tables are rebuilt from terms_ (saved compactly as one array), never saved.
    _DERIVED = ("_vocabulary", "_token_ids", "_ngram_keys", "_ngram_cols")
    _CACHE_KEYS = _UnitCache._CACHE_KEYS + _DERIVED

    @property
    def vocabulary_(self) -> dict[str, int]:
        """Term -> column."""
        if "_vocabulary" not in self.__dict__:
            self._vocabulary = {term: col for col, term in enumerate(self.terms_.tolist())}
        return self._vocabulary

    def _word_tables(self) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
        """Word analyzer: token ids and sorted n-gram keys for vectorised lookup."""
        if "_token_ids" not in self.__dict__:
            self._build_word_tables()
        return self._token_ids, self._ngram_keys, self._ngram_cols

    def _build_word_tables(self) -> None:
        tokens: dict[str, int] = {}
        for term in self.vocabulary_:
            for token in term.split(" "):
                tokens.setdefault(token, len(tokens))
        self._token_ids = tokens
        base = len(tokens) + 1
        keys, cols = [], []
        for term, col in self.vocabulary_.items():
            key = 0
            for token in term.split(" "):
                key = key * base + tokens[token] + 1
            keys.append(key)
            cols.append(col)
        keys_arr = np.array(keys, dtype=np.int64)
        order = np.argsort(keys_arr)
        self._ngram_keys = keys_arr[order]
        self._ngram_cols = np.array(cols, dtype=np.int64)[order]

    # -- transform --

    def _unit_values(self, unit: str) -> list[int]:
        if self.analyzer == "word":
            # token id + 1; 0 marks a token outside the vocabulary (breaks n-grams through it)
            token_ids = self._word_tables()[0]
            return [token_ids.get(token, -1) + 1 for token in _WORD_RE.findall(unit)]
        get = self.vocabulary_.get
        min_n, max_n = self.ngram_range
        return [col for col in map(get, _char_wb_ngrams(unit, min_n, max_n)) if col is not None]

    def transform(self, raw_documents: Sequence[str] | SplitTexts) -> sp.csr_matrix:
        if not hasattr(self, "terms_"):
            raise ValueError("NgramTfidfVectorizer is not fitted")
        split = as_split(raw_documents)
        n_docs = len(split)
        if self.analyzer == "word":
            values, value_doc = self._expand(split.units, split.unit_doc)
            rows, cols = self._word_ngrams(values, value_doc)
            matrix = _counts_matrix(rows, cols, n_docs, len(self.idf_))
        else:
            matrix = self._unit_counts(split, len(self.idf_))
        if self.sublinear_tf:
            np.log(matrix.data, out=matrix.data)
            matrix.data += 1.0
        matrix.data *= self.idf_[matrix.indices]
        if self.norm == "l2":
            matrix = _l2_normalize_rows(matrix)
        elif self.norm:
            from sklearn.preprocessing import normalize

            matrix = normalize(matrix, norm=self.norm, copy=False)
        return matrix

    def _word_ngrams(self, ids: np.ndarray, doc_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        min_n, max_n = self.ngram_range
        token_ids, ngram_keys, ngram_cols = self._word_tables()
        base = len(token_ids) + 1
        rows_all, cols_all = [], []
        for n in range(min_n, max_n + 1):
            starts = self._ngram_starts(doc_of, n)
            keys = np.zeros(len(starts), dtype=np.int64)
            known = np.ones(len(starts), dtype=bool)
            for k in range(n):
                part = ids[starts + k]
                known &= part > 0
                keys = keys * base + part
            starts, keys = starts[known], keys[known]
            pos = np.minimum(np.searchsorted(ngram_keys, keys), len(ngram_keys) - 1)
            found = ngram_keys[pos] == keys
            rows_all.append(doc_of[starts[found]])
            cols_all.append(ngram_cols[pos[found]])
        rows, cols = np.concatenate(rows_all), np.concatenate(cols_all)
        return rows, cols

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array([f"{self.analyzer}:{name}" for name in self.terms_.tolist()], dtype=object)


# --- stacked per-layer heads ---------------------------------------------------------


def stack_heads(
    layers: Sequence[str],
    labels: Mapping[str, Sequence[str]],
    heads: Mapping[str, tuple[Sequence[str], np.ndarray | None, np.ndarray | None]],
    n_features: int,
) -> tuple[np.ndarray, np.ndarray]:
    """All layers' weights as one (features, sum of labels) matrix and intercepts, columns in label order.

    `heads[layer]` is (classes, coef, intercept) of a fitted logistic regression, or
    ((label,), None, None) when training saw one label only (a constant prediction).
    A label never seen in training gets probability 0.
    """
    blocks, intercepts = [], []
    for layer in layers:
        names = list(labels[layer])
        classes, est_coef, est_intercept = heads[layer]
        coef = np.zeros((len(names), n_features))
        intercept = np.full(len(names), -np.inf)
        if est_coef is None:
            intercept[names.index(str(classes[0]))] = 0.0
        else:
            if len(classes) == 2:  # binary: softmax over (-z/2, z/2) equals the sigmoid
                est_coef = np.vstack([-est_coef[0] / 2, est_coef[0] / 2])
                est_intercept = np.array([-est_intercept[0] / 2, est_intercept[0] / 2])
            used = est_coef.shape[1]
            for k, label in enumerate(classes):
                coef[names.index(label), :used] = est_coef[k]
                intercept[names.index(label)] = est_intercept[k]
        blocks.append(coef)
        intercepts.append(intercept)
    return np.ascontiguousarray(np.vstack(blocks).T), np.concatenate(intercepts)


def softmax_blocks(scores: np.ndarray, offsets: Sequence[int]) -> list[np.ndarray]:
    """Per-layer softmax of stacked decision scores (layer j: columns offsets[j]:offsets[j+1])."""
    out = []
    for j in range(len(offsets) - 1):
        block = scores[:, offsets[j] : offsets[j + 1]]
        block = block - block.max(axis=1, keepdims=True)
        np.exp(block, out=block)
        block /= block.sum(axis=1, keepdims=True)
        out.append(block)
    return out
