"""`warta annotate agreement`: Krippendorff's α and Cohen's κ against hand-computed values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from warta.annotate.agreement import agreement, load_annotations

# ten sentences, type layer: A says fact for 1-5 and quote for 6-10; B differs on sentence 5 and 10.
A_TYPES = ["fact"] * 5 + ["quote"] * 5
B_TYPES = ["fact"] * 4 + ["quote"] * 5 + ["fact"]


def write_labels(path: Path, annotator: str, types, stance="neutral", frame="none", ids=None) -> Path:
    ids = ids or [f"s{i:02d}" for i in range(len(types))]
    path.write_text("".join(json.dumps({"id": i, "type": t, "stance": stance, "frame": frame,
                                        "annotator": annotator}) + "\n" for i, t in zip(ids, types)),
                    encoding="utf-8")
    return path


def test_kappa_and_alpha_by_hand(tmp_path):
    a = write_labels(tmp_path / "a.jsonl", "ani", A_TYPES)
    b = write_labels(tmp_path / "b.jsonl", "budi", B_TYPES)
    result = agreement(load_annotations([a, b]))
    layer = result["layers"]["type"]
    pair = layer["pairs"]["ani | budi"]
    # observed 8/10; chance 0.5·0.5 + 0.5·0.5 = 0.5; κ = (0.8 − 0.5) / (1 − 0.5) = 0.6
    assert pair["observed"] == pytest.approx(0.8)
    assert pair["kappa"] == pytest.approx(0.6)
    # coincidences: o(f,f)=8, o(q,q)=8, o(f,q)=o(q,f)=2; n_f=n_q=10, n=20
    # α = 1 − (n − 1)·Σ_{c≠k} o_ck / Σ_{c≠k} n_c·n_k = 1 − 19·4 / 200 = 0.62
    assert layer["alpha"] == pytest.approx(0.62)
    assert pair["confusion"][0][:2] == [4, 1] and pair["confusion"][1][:2] == [1, 4]
    # specific agreement for fact: 2·4 / (5 + 5)
    assert pair["specific_agreement"]["fact"] == pytest.approx(0.8)
    assert pair["specific_agreement"]["opinion"] is None
    # both used one stance only: κ and α are undefined, not 1 or 0
    assert result["layers"]["stance"]["alpha"] is None
    assert result["layers"]["stance"]["pairs"]["ani | budi"]["kappa"] is None
    assert [d["id"] for d in result["disagreements"]] == ["s04", "s09"]
    assert result["disagreements"][0]["labels"]["ani"]["type"] == "fact"
    assert result["disagreements"][0]["labels"]["budi"]["type"] == "quote"


def test_overlap_of_three_files_with_missing_values(tmp_path):
    a = write_labels(tmp_path / "a.jsonl", "ani", A_TYPES)
    b = write_labels(tmp_path / "b.jsonl", "budi", B_TYPES[:6], ids=[f"s{i:02d}" for i in range(6)])
    c = write_labels(tmp_path / "c.jsonl", "cici", ["opinion", "opinion"], ids=["s08", "x99"])
    result = agreement(load_annotations([a, b, c]))
    assert result["overlap"] == 7  # s00-s05 (a, b) and s08 (a, c); x99 only in c
    pairs = result["layers"]["type"]["pairs"]
    assert pairs["ani | budi"]["n"] == 6 and pairs["ani | cici"]["n"] == 1 and pairs["budi | cici"]["n"] == 0
    assert pairs["budi | cici"]["kappa"] is None
    import krippendorff
    import numpy as np

    code = {"fact": 0, "quote": 1, "opinion": 2, "speculation": 3}
    ids = [f"s{i:02d}" for i in (0, 1, 2, 3, 4, 5, 8)]
    a_row = [code[A_TYPES[int(i[1:])]] for i in ids]
    b_row = [code[B_TYPES[int(i[1:])]] if int(i[1:]) < 6 else np.nan for i in ids]
    c_row = [np.nan] * 6 + [code["opinion"]]
    expected = krippendorff.alpha(reliability_data=[a_row, b_row, c_row], level_of_measurement="nominal",
                                  value_domain=list(range(4)))
    assert result["layers"]["type"]["alpha"] == pytest.approx(expected)


def test_cli_table_and_json(tmp_path):
    from typer.testing import CliRunner

    from warta.cli import app

    a = write_labels(tmp_path / "a.jsonl", "ani", A_TYPES)
    b = write_labels(tmp_path / "b.jsonl", "budi", B_TYPES)
    out = tmp_path / "agreement.json"
    result = CliRunner().invoke(app, ["annotate", "agreement", str(a), str(b), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "type       10   0.620   ani | budi: 0.600 (0.800)" in result.output
    assert "2 sentences with a disagreement" in result.output
    assert json.loads(out.read_text(encoding="utf-8"))["layers"]["type"]["alpha"] == pytest.approx(0.62)


def test_bad_inputs(tmp_path):
    from warta.errors import InputError

    a = write_labels(tmp_path / "a.jsonl", "ani", A_TYPES)
    with pytest.raises(InputError, match="at least two"):
        load_annotations([a])
    dup = tmp_path / "dup.jsonl"
    dup.write_text(a.read_text(encoding="utf-8") * 2, encoding="utf-8")
    with pytest.raises(InputError, match="duplicate id s00"):
        load_annotations([a, dup])
    odd = write_labels(tmp_path / "odd.jsonl", "odd", ["rumour"] * 10)
    with pytest.raises(InputError, match="'rumour' is not one of"):
        agreement(load_annotations([a, odd]))
