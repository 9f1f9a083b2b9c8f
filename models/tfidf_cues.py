"""Cue features of the TF-IDF model: the guideline signals for sentence `type`, counted per sentence.

numpy/scipy only (no scikit-learn): `warta.models.tfidf_estimators.CueFeatures` wraps `Cues` for training.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from warta.models.tfidf_features import _WORD_RE, SplitTexts, _UnitCache, as_split

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


class Cues(_UnitCache):
    """Counts of attribution verbs, hedges, evaluative and personal words, evidence words
    (log-scaled), quote marks, a quote pair, colon, question/exclamation mark, digits, and length.

    Stateless apart from a per-word cache; `weight` scales the block against the TF-IDF rows.
    `lexicons` (name -> words, the names of CUE_LEXICONS) replaces the built-in lists: a saved model
    keeps the words it was fitted with, so a later change to the lists does not change its labels.
    """

    _CACHE_KEYS = (*_UnitCache._CACHE_KEYS, "_codes_of_word")

    def __init__(self, weight: float = 1.0, lexicons: Mapping[str, Sequence[str]] | None = None):
        self.weight = weight
        self.lexicons = lexicons

    def lexicon_words(self) -> dict[str, list[str]]:
        """The words of each lexicon in use, sorted (what a saved model records)."""
        lexicons = CUE_LEXICONS if self.lexicons is None else self.lexicons
        if set(lexicons) != set(CUE_LEXICONS):
            raise ValueError(f"cue lexicons must be exactly {sorted(CUE_LEXICONS)}, got {sorted(lexicons)}")
        return {name: sorted(set(lexicons[name])) for name in CUE_LEXICONS}

    def _token_codes(self, token: str) -> list[int]:
        """One code per lexicon holding the token or, for "-nya" forms, its stem (ujarnya -> ujar)."""
        if "_codes_of_word" not in self.__dict__:
            codes: dict[str, set[int]] = {}
            for name, words in self.lexicon_words().items():
                for word in words:
                    codes.setdefault(word, set()).add(_CODE[name])
            self._codes_of_word = codes
        stem = token[:-3] if token.endswith("nya") and len(token) > 5 else None
        return sorted(self._codes_of_word.get(token, set()) | self._codes_of_word.get(stem or "", set()))

    def fit(self, raw_documents: Sequence[str], y: Any = None) -> Cues:
        return self

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array([f"cue:{name}" for name in CUE_NAMES], dtype=object)

    def _unit_values(self, unit: str) -> list[int]:
        tokens = _WORD_RE.findall(unit.lower())
        codes = [code for token in tokens for code in self._token_codes(token)]
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
