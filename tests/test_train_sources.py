"""Labelled sources beyond the seeds: imported sentences (data.extra) and the written supplement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from warta.config import DataConfig, load_config
from warta.errors import InputError
from warta.gold.sources import read_source
from warta.jsonl import read_jsonl
from warta.train.run import train
from warta.train.sources import load_run_data

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"
SUPPLEMENT = Path(__file__).resolve().parent / "data" / "written_supplement.jsonl"
FAST = ["model.c_values=[0.3, 3.0]", "model.char_ngrams=[2, 4]"]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def imported(n: int = 8) -> list[dict]:
    """Real-looking imported sentences from a new outlet (as `warta annotate import` writes them)."""
    texts = [
        "Perusahaan ritel itu mengganti 40 kasir dengan mesin swalayan pada Maret lalu.",
        "\"Kami tidak punya pilihan lain,\" kata manajer toko tersebut.",
        "Para kasir yang terdampak akan ditawari pelatihan ulang.",
        "Kebijakan itu dinilai terburu-buru oleh sejumlah pengamat.",
        "Pengamat memperkirakan gelombang otomatisasi akan berlanjut tahun depan.",
        "Serikat pekerja menuntut pesangon yang layak bagi kasir.",
        "Menurut data perusahaan, biaya operasional turun 12 persen.",
        "Mesin Swalayan Gantikan Kasir di Jaringan Ritel",
    ]
    labels = [("fact", "neutral", "economic"), ("quote", "pro", "economic"), ("speculation", "neutral", "human_interest"),
              ("opinion", "against", "responsibility"), ("speculation", "neutral", "economic"),
              ("fact", "against", "conflict"), ("quote", "pro", "economic"), ("fact", "neutral", "economic")]
    return [
        {"id": f"new-{i:03d}", "article_id": "new", "outlet": "ritel.example", "role": "title" if i == 7 else "body",
         "index": i, "text": text, "type": t, "stance": s, "frame": f, "guideline_version": "1.0", "annotator": "a"}
        for i, (text, (t, s, f)) in enumerate(zip(texts[:n], labels[:n]))
    ]


def test_supplement_is_fitted_on_and_never_scored(synthetic_data, tmp_path):
    data = synthetic_data
    data.supplement = read_source(SUPPLEMENT, supplement=True)
    try:
        config = load_config(CONFIGS / "tfidf.yaml", FAST)
        result = train(config, out=tmp_path / "run", data=data, cv="outlet", progress=False, n_boot=0)
    finally:
        data.supplement = []
    written = {r["id"] for r in read_source(SUPPLEMENT, supplement=True)}
    run = tmp_path / "run"
    scored = [r["id"] for name in ("dev", "test") for r in read_jsonl(run / "predictions" / f"{name}.jsonl")]
    scored += [r["id"] for r in read_jsonl(run / "cv" / "oof.jsonl")]
    assert not written & set(scored)
    fingerprint = json.loads((run / "data.json").read_text())
    assert fingerprint["supplement"]["n"] == len(written) == 6
    assert not written & {i for ids in fingerprint["ids"].values() for i in ids}
    n_all = len(data.records)
    for fold in result.cv["folds"]:
        assert fold["n_fit"] == n_all - fold["n_dev"] - fold["n_held_out"] + len(written)  # supplement in fit only
    assert result.cv["n_supplement"] == 6
    assert written.isdisjoint(result.cv["outlet_error"]["outlets"])
    assert "written-wire" not in result.cv["outlets"]  # never a held-out outlet


def test_config_data_sources_and_id_clash(tmp_path):
    folder = tmp_path / "cfg"
    folder.mkdir()
    write_jsonl(folder / "written.jsonl", read_jsonl(SUPPLEMENT))
    (folder / "c.yaml").write_text("model: {kind: tfidf}\ndata:\n  supplement: written.jsonl\n", encoding="utf-8")
    config = load_config(folder / "c.yaml")
    assert config.data.supplement == [(folder / "written.jsonl").resolve()]
    assert config.data.extra == []
    data = load_run_data(config.data)
    assert len(data.supplement) == 6 and len(data.records) == 137
    assert data.sources["supplement"] == [str((folder / "written.jsonl").resolve())]
    clash = write_jsonl(tmp_path / "clash.jsonl", [{**read_jsonl(SUPPLEMENT)[0], "source": None}])
    with pytest.raises(InputError, match=r"written.jsonl: sentence id 'wt-01-00' is already in .*clash.jsonl \(ids must be unique\)$"):
        load_run_data(DataConfig(extra=[clash], supplement=[folder / "written.jsonl"]))
    seed_id = data.records[0]["id"]
    dup = write_jsonl(tmp_path / "dup.jsonl", [{**imported(1)[0], "id": seed_id}])
    with pytest.raises(InputError, match=f"dup.jsonl: sentence id '{seed_id}' is already in .*labels.jsonl"):
        load_run_data(DataConfig(extra=[dup]))


@pytest.mark.parametrize("change, message", [
    ({"source": "real"}, "a supplement record needs source: 'written'"),
    ({"stance": "maybe"}, "stance 'maybe' is not one of pro, against, neutral"),
    ({"outlet": ""}, "missing 'outlet'"),
    ({"role": "heading"}, "role 'heading' is not one of"),
])
def test_bad_supplement_records_are_one_line(tmp_path, change, message):
    path = write_jsonl(tmp_path / "s.jsonl", [{**read_jsonl(SUPPLEMENT)[0], **change}])
    with pytest.raises(InputError, match=message) as info:
        read_source(path, supplement=True)
    assert str(info.value).startswith(f"{path}:1 (wt-01-00)") or str(info.value).startswith(f"{path}:1")
    assert "\n" not in str(info.value)


def test_written_records_are_refused_as_extra(tmp_path):
    with pytest.raises(InputError, match="belongs in data.supplement"):
        read_source(SUPPLEMENT)


def test_extra_sentences_join_the_splits_and_the_gold(tmp_path):
    from warta.eval.evaluate import run_gold
    from warta.gold.splits import split_problems

    extra = write_jsonl(tmp_path / "imported.jsonl", imported())
    data = load_run_data(DataConfig(extra=[extra]))
    ids = [r["id"] for r in data.records]
    assert len(ids) == 137 + 8 and not split_problems(data.splits, ids)
    new = {r["id"] for r in imported()}
    assert new <= set(data.splits.train + data.splits.dev + data.splits.test)
    assert new <= set(data.splits.groups)
    assert data.sources["splits"] is None and "seeds + extra" in data.sources["splits_regenerated"]
    config = load_config(CONFIGS / "tfidf.yaml", [*FAST, f"data.extra={extra}"])
    result = train(config, out=tmp_path / "run", cv="outlet", progress=False, n_boot=0)
    assert "ritel.example" in result.cv["outlets"]
    assert new <= {r["id"] for r in read_jsonl(tmp_path / "run" / "cv" / "oof.jsonl")}
    assert new <= {r["id"] for r in run_gold(tmp_path / "run")}  # evaluate/compare see the imported gold


def test_bundled_written_config_reads_the_supplement():
    config = load_config(CONFIGS / "tfidf-written.yaml")
    assert [p.name for p in config.data.supplement] == ["part-a.jsonl", "part-b.jsonl"]
    data = load_run_data(config.data)
    assert len(data.records) == 137 and len(data.supplement) >= 600
    assert {r["source"] for r in data.supplement} == {"written"}
    assert not {r["id"] for r in data.supplement} & {r["id"] for r in data.records}
