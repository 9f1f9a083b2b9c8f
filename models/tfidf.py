"""The TF-IDF baseline: one scikit-learn Pipeline labels every layer.

    Pipeline([
        ("units", UnitSplitter()),         # lowercase + whitespace split, once for all blocks
        ("features", FeatureUnion([
            ("word", NgramTfidfVectorizer(analyzer="word", ngram_range=(1, 2))),
            ("char", NgramTfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5))),
            ("cues", CueFeatures()),   # attribution verbs, hedges, evaluative words, quote marks
        ])),
        ("layers", PerLayerClassifier()),   # one logistic regression per layer
    ])

Why a custom vectorizer: batch labelling must run at tens of thousands of
sentences per second on two cores, and scikit-learn's ``char_wb`` analyzer
builds every n-gram string of every sentence in Python (~7,600 sentences/s
here). Character n-grams of the ``char_wb`` kind never cross a word boundary,
and news vocabulary repeats, so `NgramTfidfVectorizer` computes each distinct
word's n-gram columns once, caches them, and builds the sparse matrix for a
whole batch with numpy. Word n-grams are looked up the same way (token ids,
then n-gram keys by binary search). The weighting is scikit-learn's
(smooth idf, optional sublinear tf, l2 rows).

Saved without pickle: ``weights.npz`` (idf per vectorizer; coefficients,
intercepts and classes per layer; read with ``allow_pickle=False``),
``vocabulary.json`` (terms per vectorizer) and ``model.json`` (parameters,
chosen C). Loading rebuilds the pipeline from these, so a model file can
never run code, and loading imports neither skops nor torch.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from itertools import chain, repeat
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import normalize

from warta.errors import InputError
from warta.models.base import MODEL_CARD, Labelled, labels_from_proba, read_model_card
from warta.schema import LAYER_NAMES, LAYERS

WEIGHTS_FILE = "weights.npz"
VOCABULARY_FILE = "vocabulary.json"
VECTORIZER_BLOCKS = ("word", "char")
DEFAULT_BATCH = 1024
KIND = "tfidf"
log = logging.getLogger("warta.train")
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


class UnitSplitter(TransformerMixin, BaseEstimator):
    """First pipeline step: lowercase and split each text once for all feature blocks."""

    def __init__(self, lowercase: bool = True):
        self.lowercase = lowercase

    def fit(self, raw_documents: Sequence[str], y: Any = None) -> UnitSplitter:
        return self

    def __sklearn_is_fitted__(self) -> bool:  # stateless
        return True

    def transform(self, raw_documents: Sequence[str]) -> SplitTexts:
        if isinstance(raw_documents, str):
            raise ValueError("expected a list of texts, got one string")
        return SplitTexts(list(raw_documents), self.lowercase)


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


class NgramTfidfVectorizer(_UnitCache, TransformerMixin, BaseEstimator):
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

    def fit(self, raw_documents: Sequence[str] | SplitTexts, y: Any = None) -> NgramTfidfVectorizer:
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


# --- cue features --------------------------------------------------------------------

# Small hand lexicons of the signals the annotation guidelines (seeds/GUIDELINES.md)
# name for sentence `type`: who says it (attribution), whether the outlet hedges or
# forecasts, whether it evaluates. General Indonesian news vocabulary only: no word
# was taken from a particular labelled sentence. Matching is on lowercased \w+ tokens; a token
# ending in "-nya" also matches its stem (ujarnya -> ujar).
ATTRIBUTION = frozenset(
    """kata ujar tutur ucap imbuh lanjut ungkap jelasnya tegas terang bilang sebut komentar
    menurut mengatakan menyebut menyebutkan menjelaskan mengakui mengaku mengklaim mengeklaim menekankan
    mencatat menambahkan mengungkapkan mengungkap menegaskan memperingatkan peringatkan menyoroti
    menemukan menyatakan menerangkan menyampaikan memaparkan berpendapat menilai mengumumkan
    melaporkan mengutip yakin optimistis optimis pesimistis khawatir percaya berharap""".split()
)
# Unattributed passive reporting verbs hedge a claim (guidelines, rule 2).
PASSIVE_REPORT = frozenset(
    """dikabarkan dikatakan disebut disebutkan dinilai dilaporkan diklaim digambarkan diyakini disinyalir
    diduga ditaksir diperkirakan diprediksi diprediksikan diramalkan diproyeksikan dikhawatirkan
    dianggap""".split()
)
HEDGES = frozenset(
    """mungkin kemungkinan bisa dapat berpotensi potensi akan bakal nantinya nanti kelak barangkali
    tampaknya sepertinya seolah agaknya konon rumor spekulasi jika kalau apabila seandainya apakah
    ancaman mengancam risiko berisiko peluang cenderung prediksi perkiraan proyeksi""".split()
)
EVALUATIVE = frozenset(
    """penting berlebihan keliru relevan harus perlu sebaiknya seharusnya semestinya pelajaran
    signifikan sayangnya justru ironisnya ironis salah kesalahan buruk baik sangat terlalu tentu
    memang sungguh hebat gagal bijak berbahaya bahaya mengkhawatirkan ceroboh ambisius parah naif
    sembrono jelas""".split()
)
PERSONAL = frozenset("saya aku kami kita anda kamu kalian".split())
EVIDENCE = frozenset(
    """persen data survei riset studi penelitian laporan angka juta miliar triliun ribu sebanyak sekitar
    sebesar mencapai tercatat dolar dollar rupiah""".split()
)
CUE_LEXICONS: dict[str, frozenset[str]] = {
    "attribution": ATTRIBUTION,
    "passive_report": PASSIVE_REPORT,
    "hedge": HEDGES,
    "evaluative": EVALUATIVE,
    "personal": PERSONAL,
    "evidence": EVIDENCE,
}
_QUOTE_CHARS = frozenset('"\u201c\u201d\u00ab\u00bb\u2018\u2019')
# Per-unit count codes, summed per sentence; then scaled into CUE_NAMES columns.
_CODES = (*CUE_LEXICONS, "quote", "colon", "question", "exclamation", "digit", "tokens")
_CODE = {name: i for i, name in enumerate(_CODES)}
CUE_NAMES = (
    *(f"lex:{name}" for name in CUE_LEXICONS),
    "quote_marks",
    "quote_pair",
    "colon",
    "question",
    "exclamation",
    "digits",
    "length",
    # the guidelines' rule order: hedges and evaluations count as the outlet's only when unattributed
    "outlet_hedge",
    "outlet_evaluation",
)


def _lexicon_hits(token: str) -> list[int]:
    stem = token[:-3] if token.endswith("nya") and len(token) > 5 else None
    return [
        _CODE[name]
        for name, lexicon in CUE_LEXICONS.items()
        if token in lexicon or (stem is not None and stem in lexicon)
    ]


class CueFeatures(_UnitCache, TransformerMixin, BaseEstimator):
    """Counts of attribution verbs, hedges, evaluative and personal words, evidence words
    (log-scaled), quote marks, a quote pair, colon, question/exclamation mark, digits, and length.

    Stateless apart from a per-word cache; `weight` scales the block against the TF-IDF rows.
    """

    def __init__(self, weight: float = 1.0):
        self.weight = weight

    def fit(self, raw_documents: Sequence[str], y: Any = None) -> CueFeatures:
        return self

    def __sklearn_is_fitted__(self) -> bool:  # stateless (the word cache is derived data)
        return True

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array([f"cue:{name}" for name in CUE_NAMES], dtype=object)

    def _unit_values(self, unit: str) -> list[int]:
        tokens = _WORD_RE.findall(unit.lower())
        codes = [code for token in tokens for code in _lexicon_hits(token)]
        codes += [_CODE["quote"]] * sum(ch in _QUOTE_CHARS for ch in unit)
        for char, name in ((":", "colon"), ("?", "question"), ("!", "exclamation")):
            if char in unit:
                codes.append(_CODE[name])
        if any(ch.isdigit() for ch in unit):
            codes.append(_CODE["digit"])
        codes += [_CODE["tokens"]] * len(tokens)
        return codes

    def transform(self, raw_documents: Sequence[str] | SplitTexts) -> sp.csr_matrix:
        split = as_split(raw_documents)
        n_docs = len(split)
        codes, doc_of = self._expand(split.units, split.unit_doc)
        k = len(_CODES)
        counts = np.bincount(doc_of * k + codes, minlength=n_docs * k).reshape(n_docs, k).astype(np.float64)
        n_lex = len(CUE_LEXICONS)
        quotes = counts[:, _CODE["quote"]]
        unattributed = (counts[:, _CODE["attribution"]] == 0) & (quotes == 0)
        features = np.column_stack(
            [
                np.log1p(counts[:, :n_lex]),
                np.log1p(quotes),
                quotes >= 2,
                counts[:, _CODE["colon"]] > 0,
                counts[:, _CODE["question"]] > 0,
                counts[:, _CODE["exclamation"]] > 0,
                counts[:, _CODE["digit"]] > 0,
                np.log1p(counts[:, _CODE["tokens"]]) / np.log(64.0),
                unattributed & ((counts[:, _CODE["hedge"]] > 0) | (counts[:, _CODE["passive_report"]] > 0)),
                unattributed & (counts[:, _CODE["evaluative"]] > 0),
            ]
        ).astype(np.float64)
        return sp.csr_matrix(features * self.weight)


# --- one classifier per layer --------------------------------------------------------


class PerLayerClassifier(ClassifierMixin, BaseEstimator):
    """One logistic regression per layer over shared features.

    fit(X, Y): Y has one column per layer (label strings, None where unlabelled).
    predict_proba(X): one array per layer, columns in `labels[layer]` order (a
    label never seen in training gets probability 0). All layers are scored
    with one sparse product.
    """

    def __init__(
        self,
        labels: Mapping[str, Sequence[str]] | None = None,
        C: float | Mapping[str, float] = 1.0,
        class_weight: str | None = "balanced",
        max_iter: int = 2000,
        feature_limits: Mapping[str, int] | None = None,
    ):
        self.labels = labels
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.feature_limits = feature_limits

    def _limit(self, layer: str, n_features: int) -> int:
        """How many leading feature columns this layer's classifier uses (all by default)."""
        limits = self.feature_limits or {}
        return min(int(limits.get(layer, n_features)), n_features)

    def _c_for(self, layer: str) -> float:
        return float(self.C[layer]) if isinstance(self.C, Mapping) else float(self.C)

    def fit(self, X: Any, Y: Any) -> PerLayerClassifier:
        labels = {layer: list(values) for layer, values in (self.labels or LAYERS).items()}
        Y = np.asarray(Y, dtype=object)
        if Y.ndim != 2 or Y.shape[1] != len(labels):
            raise ValueError(f"Y must have one column per layer ({list(labels)}), got shape {Y.shape}")
        self.layers_ = list(labels)
        self.labels_ = labels
        self.estimators_ = []
        columns = []
        n_features = X.shape[1]
        for j, layer in enumerate(self.layers_):
            rows = np.flatnonzero(np.array([value is not None for value in Y[:, j]]))
            y = Y[rows, j].astype(str)
            unknown = sorted(set(y) - set(labels[layer]))
            if unknown:
                raise ValueError(f"layer {layer!r}: unknown label(s) {unknown}")
            present = sorted(set(y))
            if len(present) == 0:
                raise ValueError(f"layer {layer!r}: no labelled training sentences")
            if len(present) == 1:
                estimator: Any = present[0]  # constant prediction
            else:
                estimator = LogisticRegression(
                    C=self._c_for(layer), class_weight=self.class_weight, max_iter=self.max_iter
                ).fit(X[rows][:, : self._limit(layer, n_features)], y)
            self.estimators_.append(estimator)
            columns.append(len(labels[layer]))
        self.offsets_ = np.concatenate([[0], np.cumsum(columns)]).astype(np.int64)
        self.n_features_in_ = n_features
        self.__dict__.pop("_stacked", None)
        return self

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_stacked", None)  # derived from estimators_
        return state

    def _stacked_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """All layers' weights as one (sum of labels, features) matrix, columns in label order."""
        if "_stacked" not in self.__dict__:
            blocks, intercepts = [], []
            for layer, estimator in zip(self.layers_, self.estimators_, strict=True):
                labels = self.labels_[layer]
                coef = np.zeros((len(labels), self.n_features_in_))
                intercept = np.full(len(labels), -np.inf)  # a label never seen in training: probability 0
                if isinstance(estimator, str):  # only one label seen in training
                    intercept[labels.index(estimator)] = 0.0
                else:
                    est_coef, est_intercept = estimator.coef_, estimator.intercept_
                    if len(estimator.classes_) == 2:  # binary: softmax over (-z/2, z/2) equals the sigmoid
                        est_coef = np.vstack([-est_coef[0] / 2, est_coef[0] / 2])
                        est_intercept = np.array([-est_intercept[0] / 2, est_intercept[0] / 2])
                    used = est_coef.shape[1]
                    for k, label in enumerate(estimator.classes_):
                        coef[labels.index(label), :used] = est_coef[k]
                        intercept[labels.index(label)] = est_intercept[k]
                blocks.append(coef)
                intercepts.append(intercept)
            self._stacked = (np.ascontiguousarray(np.vstack(blocks).T), np.concatenate(intercepts))
        return self._stacked

    def decision_function(self, X: Any) -> np.ndarray:
        coef_t, intercept = self._stacked_weights()
        return np.asarray(X @ coef_t) + intercept

    def predict_proba(self, X: Any) -> list[np.ndarray]:
        return self.proba_from_scores(self.decision_function(X))

    def proba_from_scores(self, scores: np.ndarray) -> list[np.ndarray]:
        """Per-layer softmax of the stacked decision scores."""
        out = []
        for j in range(len(self.layers_)):
            block = scores[:, self.offsets_[j] : self.offsets_[j + 1]]
            block = block - block.max(axis=1, keepdims=True)
            np.exp(block, out=block)
            block /= block.sum(axis=1, keepdims=True)
            out.append(block)
        return out

    def predict(self, X: Any) -> np.ndarray:
        probs = self.predict_proba(X)
        names = [np.asarray(self.labels_[layer], dtype=object) for layer in self.layers_]
        return np.column_stack([labels[p.argmax(axis=1)] for labels, p in zip(names, probs, strict=True)])


# --- the warta model -----------------------------------------------------------------


def _macro_f1(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    """Dev selection uses exactly the macro-F1 that `warta evaluate` reports."""
    from warta.metrics import layer_metrics

    return layer_metrics(list(gold), list(pred), labels, n_boot=0)["macro_f1"]


class TfidfClassifier:
    """TF-IDF + cue features, one logistic regression per layer; C tuned on dev per layer."""

    kind = KIND

    def __init__(
        self,
        layers: Sequence[str] = LAYER_NAMES,
        word_ngrams: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] = (2, 5),
        min_df: int = 1,
        max_features: int | None = None,
        sublinear_tf: bool = True,
        cue_features: bool = True,
        cue_weight: float = 1.0,
        cue_layers: Sequence[str] = ("type",),
        class_weight: str | None = "balanced",
        c_values: Sequence[float] = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0),
        max_iter: int = 2000,
    ):
        self.layers = list(layers)
        self.word_ngrams = tuple(word_ngrams)
        self.char_ngrams = tuple(char_ngrams)
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.cue_features = cue_features
        self.cue_weight = cue_weight
        self.cue_layers = list(cue_layers)
        self.class_weight = class_weight
        self.c_values = [float(c) for c in c_values]
        self.max_iter = max_iter

    def get_params(self) -> dict[str, Any]:
        return {
            "layers": list(self.layers),
            "word_ngrams": list(self.word_ngrams),
            "char_ngrams": list(self.char_ngrams),
            "min_df": self.min_df,
            "max_features": self.max_features,
            "sublinear_tf": self.sublinear_tf,
            "cue_features": self.cue_features,
            "cue_weight": self.cue_weight,
            "cue_layers": list(self.cue_layers),
            "class_weight": self.class_weight,
            "c_values": list(self.c_values),
            "max_iter": self.max_iter,
        }

    @property
    def labels(self) -> dict[str, list[str]]:
        return {layer: list(LAYERS[layer]) for layer in self.layers}

    def build_features(self) -> FeatureUnion:
        parts: list[tuple[str, Any]] = [
            ("word", NgramTfidfVectorizer("word", self.word_ngrams, min_df=self.min_df,
                                          max_features=self.max_features, sublinear_tf=self.sublinear_tf)),
            ("char", NgramTfidfVectorizer("char_wb", self.char_ngrams, min_df=self.min_df,
                                          max_features=self.max_features, sublinear_tf=self.sublinear_tf)),
        ]
        if self.cue_features:
            parts.append(("cues", CueFeatures(weight=self.cue_weight)))
        return FeatureUnion(parts)

    def _targets_matrix(self, targets: Mapping[str, Sequence[str | None]], n: int) -> np.ndarray:
        Y = np.empty((n, len(self.layers)), dtype=object)
        for j, layer in enumerate(self.layers):
            values = list(targets.get(layer, [None] * n))
            if len(values) != n:
                raise ValueError(f"layer {layer!r}: {len(values)} targets for {n} texts")
            Y[:, j] = values
        return Y

    @classmethod
    def from_config(cls, config: Any) -> TfidfClassifier:
        """From a validated run config: `layers` and the `model` section (kind: tfidf)."""
        params = config.model.model_dump(exclude={"kind"})
        return cls(layers=list(config.layers), **params)

    def fit(
        self,
        texts: Sequence[str],
        targets: Mapping[str, Sequence[str | None]],
        *,
        dev: Labelled | None = None,
        work_dir: str | Path | None = None,
        progress: bool = True,
    ) -> TfidfClassifier:
        """Fit on (texts, targets); with a dev set, pick C per layer by dev macro-F1.

        Ties go to the smaller C (more regularised). Without dev, C is the
        grid value closest to 1 (in log scale). `work_dir` and `progress` are
        not needed here (seconds, nothing to checkpoint).
        """
        from threadpoolctl import threadpool_limits

        # BLAS threads only add synchronisation cost to these small dense products.
        with threadpool_limits(limits=1, user_api="blas"):
            return self._fit(list(texts), targets, dev)

    def selection_summary(self) -> dict[str, Any]:
        """C chosen per layer and the dev macro-F1 of every C tried."""
        return {"best_c": self.best_c_, "dev_macro_f1_by_c": self.tuning_}

    def _fit(self, texts: list[str], targets: Mapping[str, Sequence[str | None]], dev: Labelled | None
             ) -> TfidfClassifier:
        Y = self._targets_matrix(targets, len(texts))
        splitter = UnitSplitter()
        features = self.build_features()
        X = features.fit_transform(splitter.transform(texts))
        labels = self.labels
        # the cue block is the last columns; layers outside cue_layers do not see it
        n_text = X.shape[1] - (len(CUE_NAMES) if self.cue_features else 0)
        limits = {layer: n_text for layer in self.layers if layer not in self.cue_layers}
        head_options = {"class_weight": self.class_weight, "max_iter": self.max_iter, "feature_limits": limits}
        self.tuning_: dict[str, dict[str, float]] = {}
        if dev is not None and len(self.c_values) > 1:
            dev_texts = list(dev.texts)
            X_dev = features.transform(splitter.transform(dev_texts))
            Y_dev = self._targets_matrix(dev.targets, len(dev_texts))
            scores: dict[str, dict[float, float]] = {layer: {} for layer in self.layers}
            for c in sorted(self.c_values):
                heads = PerLayerClassifier(labels, C=c, **head_options)
                predicted = heads.fit(X, Y).predict(X_dev)
                for j, layer in enumerate(self.layers):
                    rows = [i for i, v in enumerate(Y_dev[:, j]) if v is not None]
                    if rows:
                        scores[layer][c] = _macro_f1(Y_dev[rows, j], predicted[rows, j], labels[layer])
            best = {}
            for layer in self.layers:
                if scores[layer]:
                    best[layer] = max(sorted(scores[layer]), key=lambda c: scores[layer][c])
                else:
                    best[layer] = self._default_c()
                self.tuning_[layer] = {str(c): f1 for c, f1 in scores[layer].items()}
        else:
            best = {layer: self._default_c() for layer in self.layers}
        self.best_c_ = best
        heads = PerLayerClassifier(labels, C=dict(best), **head_options)
        heads.fit(X, Y)
        self.pipeline_ = Pipeline([("units", splitter), ("features", features), ("layers", heads)])
        for layer in self.layers:
            by_c = " ".join(f"{c}:{f1:.3f}" for c, f1 in self.tuning_.get(layer, {}).items())
            log.info("tfidf %s: C=%s (dev macro-F1 by C: %s)", layer, self.best_c_[layer], by_c or "not tuned")
        return self

    def _default_c(self) -> float:
        return min(self.c_values, key=lambda c: abs(np.log(c)))

    def _check_fitted(self) -> None:
        if not hasattr(self, "pipeline_"):
            raise ValueError("TfidfClassifier is not fitted")

    def _batch_proba(self, texts: list[str]) -> list[np.ndarray]:
        """pipeline_.predict_proba, computed block by block: each feature block is multiplied by its
        slice of the stacked weights and the products summed, so the blocks are never stacked."""
        splitter, features, heads = (self.pipeline_.named_steps[k] for k in ("units", "features", "layers"))
        if features.transformer_weights:
            return self.pipeline_.predict_proba(texts)
        split = splitter.transform(texts)
        coef_t, intercept = heads._stacked_weights()
        scores = np.broadcast_to(intercept, (len(texts), len(intercept))).copy()
        offset = 0
        for _, transformer in features.transformer_list:
            block = transformer.transform(split)
            scores += block @ coef_t[offset : offset + block.shape[1]]
            offset += block.shape[1]
        return heads.proba_from_scores(scores)

    def predict_proba(self, texts: Sequence[str], batch_size: int | None = None) -> dict[str, np.ndarray]:
        """{layer: (n, len(labels[layer])) probabilities}, columns in labels[layer] order.

        Rows are scored independently, so `batch_size` (default 1024) only bounds memory.
        """
        self._check_fitted()
        batch_size = batch_size or DEFAULT_BATCH
        texts = list(texts)
        chunks: dict[str, list[np.ndarray]] = {layer: [] for layer in self.layers}
        for start in range(0, max(len(texts), 1), batch_size):
            batch = texts[start : start + batch_size]
            if not batch:
                break
            for layer, probs in zip(self.layers, self._batch_proba(batch), strict=True):
                chunks[layer].append(probs)
        return {
            layer: np.vstack(parts) if parts else np.zeros((0, len(LAYERS[layer])))
            for layer, parts in chunks.items()
        }

    def predict(self, texts: Sequence[str], batch_size: int | None = None) -> dict[str, list[str]]:
        return labels_from_proba(self.predict_proba(texts, batch_size=batch_size), self.labels)

    # -- persistence (no pickle: arrays in .npz, vocabulary and parameters in JSON) --

    def save(self, folder: str | Path) -> None:
        """Write model.json (kind, labels, parameters, chosen C), vocabulary.json and weights.npz."""
        import sklearn

        from warta.jsonl import write_json

        self._check_fitted()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        features, heads = self.pipeline_.named_steps["features"], self.pipeline_.named_steps["layers"]
        vectorizers = {name: step for name, step in features.transformer_list if name in VECTORIZER_BLOCKS}
        arrays: dict[str, np.ndarray] = {f"{name}.idf": step.idf_ for name, step in vectorizers.items()}
        for layer, estimator in zip(heads.layers_, heads.estimators_, strict=True):
            if isinstance(estimator, str):  # one label seen in training: a constant prediction
                arrays[f"{layer}.classes"] = np.array([estimator], dtype=str)
                continue
            arrays[f"{layer}.classes"] = np.asarray(estimator.classes_, dtype=str)
            arrays[f"{layer}.coef"] = estimator.coef_
            arrays[f"{layer}.intercept"] = estimator.intercept_
            arrays[f"{layer}.n_iter"] = np.asarray(estimator.n_iter_)
        np.savez(folder / WEIGHTS_FILE, **arrays)
        write_json(folder / VOCABULARY_FILE, {name: step.terms_.tolist() for name, step in vectorizers.items()})
        write_json(folder / MODEL_CARD, {
            "kind": KIND,
            "layers": list(self.layers),
            "labels": self.labels,
            "params": self.get_params(),
            "best_c": self.best_c_,
            "tuning": self.tuning_,
            "weights": WEIGHTS_FILE,
            "vocabulary": VOCABULARY_FILE,
            "versions": {"scikit-learn": sklearn.__version__, "numpy": np.__version__},
        })

    @classmethod
    def load(cls, folder: str | Path) -> TfidfClassifier:
        """Read a saved model: JSON and an .npz read with allow_pickle=False, so nothing is executed."""
        from warta.jsonl import read_json

        folder = Path(folder)
        card = read_model_card(folder)
        if card.get("kind") != KIND:
            raise InputError(f"{folder}: model kind is {card.get('kind')!r}, not {KIND!r}")
        weights_path = folder / str(card.get("weights", WEIGHTS_FILE))
        vocabulary_path = folder / str(card.get("vocabulary", VOCABULARY_FILE))
        for path in (weights_path, vocabulary_path):
            if not path.is_file():
                raise InputError(f"{path}: model weights missing")
        try:
            model = cls(**card.get("params", {}))
        except TypeError as exc:
            raise InputError(f"{folder / MODEL_CARD}: bad params ({exc})") from None
        if card.get("labels") != model.labels:
            raise InputError(f"{folder}: {MODEL_CARD} labels do not match the model's layers")
        try:
            with np.load(weights_path, allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
        except Exception as exc:  # zipfile/ValueError/OSError on a corrupt or pickled file
            raise InputError(f"{weights_path}: unreadable weights ({type(exc).__name__}: {exc})") from None
        vocabulary = read_json(vocabulary_path)
        try:
            model.pipeline_ = model._rebuild(arrays, vocabulary, card.get("best_c", {}))
        except (KeyError, ValueError, TypeError) as exc:
            raise InputError(f"{folder}: weights do not match {MODEL_CARD} ({type(exc).__name__}: {exc})") from None
        model.best_c_ = card.get("best_c", {})
        model.tuning_ = card.get("tuning", {})
        return model

    def _rebuild(self, arrays: dict[str, np.ndarray], vocabulary: dict[str, list[str]],
                 best_c: dict[str, float]) -> Pipeline:
        """The fitted pipeline from saved arrays: vectorizer terms/idf, per-layer logistic regressions."""
        features = self.build_features()
        n_text = 0
        for name, step in features.transformer_list:
            if name not in VECTORIZER_BLOCKS:
                continue
            terms, idf = vocabulary[name], np.asarray(arrays[f"{name}.idf"], dtype=np.float64)
            if idf.shape != (len(terms),):
                raise ValueError(f"{name}: {len(terms)} terms but idf of shape {idf.shape}")
            step.terms_ = np.array(terms, dtype=str)
            step.idf_ = idf
            step._reset_cache()
            n_text += len(terms)
        n_features = n_text + (len(CUE_NAMES) if self.cue_features else 0)
        limits = {layer: n_text for layer in self.layers if layer not in self.cue_layers}
        heads = PerLayerClassifier(self.labels, C={layer: best_c[layer] for layer in self.layers},
                                   class_weight=self.class_weight, max_iter=self.max_iter, feature_limits=limits)
        heads.layers_, heads.labels_, heads.estimators_ = list(self.layers), self.labels, []
        for layer in self.layers:
            classes = arrays[f"{layer}.classes"]
            if classes.dtype.kind != "U" or not set(classes.tolist()) <= set(self.labels[layer]):
                raise ValueError(f"{layer}: classes {classes.tolist()} are not labels of the layer")
            if f"{layer}.coef" not in arrays:
                heads.estimators_.append(str(classes[0]))
                continue
            estimator = LogisticRegression(C=heads._c_for(layer), class_weight=self.class_weight,
                                           max_iter=self.max_iter)
            estimator.classes_ = classes
            estimator.coef_ = np.asarray(arrays[f"{layer}.coef"], dtype=np.float64)
            estimator.intercept_ = np.asarray(arrays[f"{layer}.intercept"], dtype=np.float64)
            estimator.n_iter_ = arrays[f"{layer}.n_iter"]
            estimator.n_features_in_ = estimator.coef_.shape[1]
            rows = 1 if len(classes) == 2 else len(classes)
            if estimator.coef_.shape != (rows, heads._limit(layer, n_features)) or estimator.intercept_.shape != (rows,):
                raise ValueError(f"{layer}: coefficients of shape {estimator.coef_.shape} for {n_features} features")
            heads.estimators_.append(estimator)
        sizes = [len(self.labels[layer]) for layer in self.layers]
        heads.offsets_ = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        heads.n_features_in_ = n_features
        return Pipeline([("units", UnitSplitter()), ("features", features), ("layers", heads)])
