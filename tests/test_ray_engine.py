"""`warta label --engine ray`: same records as the local engine, kill/resume by shard, bad input, shard folders.

One local Ray (2 CPUs) for the whole module; runs use one labelling actor to
keep the module short on a 2-core machine.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from warta.errors import InputError, WartaError  # noqa: E402 (after importorskip)
from warta.jsonl import iter_records  # noqa: E402 (after importorskip)
from warta.labelling.engine import label_articles  # noqa: E402 (after importorskip)
from warta.labelling.ray_engine import MANIFEST, label_with_ray, marker_name, shard_name  # noqa: E402 (after importorskip)

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
MANIFEST_CSV = SEEDS / "manifest.csv"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def ray_address():
    """One local Ray for the module; token auth off so the CLI subprocess can join it with --address."""
    saved = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        if saved is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = saved


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A few hundred articles recombined from the seed sentences: JSONL and .txt in outlet folders, plus bad input."""
    sentences = [text for units in json.loads((DATA / "seed_sentences.json").read_text("utf-8")).values()
                 for role, text in units if role != "heading"]
    rng = random.Random(13)
    root = tmp_path_factory.mktemp("generated")

    def article() -> str:
        return rng.choice(sentences) + "\n\n" + " ".join(rng.sample(sentences, rng.randint(4, 14)))

    with (root / "batch.jsonl").open("w", encoding="utf-8") as out:
        for i in range(260):
            record = {"text": article(), "title": f"Judul {i}"}
            if i % 3:
                record["id"] = f"g{i:04d}"
            if i % 4 == 0:
                record["outlet"] = f"outlet{i % 5}"
            out.write(json.dumps(record, ensure_ascii=False) + ("\n\n" if i % 50 == 7 else "\n"))
            if i == 100:
                out.write('{"text": "unfinished\n')  # a malformed line mid-file
            if i == 150:
                out.write('{"title": "no text"}\n')
    for outlet in ("kompas", "tempo"):
        (root / outlet).mkdir()
        for i in range(20):
            (root / outlet / f"{i:03d}.txt").write_text(article(), encoding="utf-8")
    (root / "tempo" / "empty.txt").write_bytes(b"")
    (root / "tempo" / "notes.md").write_text("not an article", encoding="utf-8")
    (root / "binary.jsonl").write_bytes(b"\x00\x01\x02{}\n")
    return root


@pytest.fixture(scope="module")
def rows_pair(generated, tmp_path_factory) -> tuple[Path, Path]:
    """The same 30 articles as JSON Lines (for the local engine) and as Parquet in row groups of 7 (ray engine)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path_factory.mktemp("rows")
    rows = [json.loads(line) for line in (generated / "batch.jsonl").read_text("utf-8").splitlines()
            if line.startswith('{"text"') and '"id"' in line][:30]
    # Own ids: the ray engine does not rename article ids repeated across inputs (the local engine does).
    rows = [{**row, "id": f"row-{row['id']}"} for row in rows]
    (folder / "rows.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    keys = sorted({key for row in rows for key in row})  # from_pylist takes its columns from the first row only
    table = pa.Table.from_pylist([{key: row.get(key) for key in keys} for row in rows])
    pq.write_table(table, folder / "rows.parquet", row_group_size=7)
    return folder / "rows.jsonl", folder / "rows.parquet"


def local_output(run: Path, inputs: list, out: Path, **options) -> tuple[bytes, object]:
    summary = label_articles(run, inputs, out, workers=0, **options)
    return out.read_bytes(), summary


def shard_bytes(folder: Path) -> bytes:
    manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
    return b"".join((folder / shard["file"]).read_bytes() for shard in manifest["shards"])


def test_ray_output_equals_local_on_seeds_and_generated_articles(ray_address, tfidf_run, generated, rows_pair,
                                                                 tmp_path):
    # The ray engine also reads Parquet (a row is an article): the same articles as JSON Lines for the local one.
    rows_jsonl, rows_parquet = rows_pair
    # An article id repeated in the first and the last input (different shards): renamed (ID#2) as locally.
    first, last = tmp_path / "first.jsonl", tmp_path / "last.jsonl"
    for path in (first, last):
        path.write_text(json.dumps({"id": "same", "text": "Judul\nPabrik mengganti operator dengan robot."}) + "\n")
    expected, local = local_output(tfidf_run, [first, SEEDS, generated, rows_jsonl, last], tmp_path / "local.jsonl",
                                   manifest=MANIFEST_CSV)
    summary = label_with_ray(tfidf_run, [first, SEEDS, generated, rows_parquet, last], tmp_path / "ray",
                             manifest=MANIFEST_CSV, shard_units=64, actors=1)
    assert {"same", "same#2"} <= {json.loads(line)["article_id"] for line in expected.splitlines()}

    assert shard_bytes(tmp_path / "ray") == expected  # same records, ids, probabilities, order
    assert summary.shards > 3
    assert (summary.articles, summary.sentences, summary.predicted, summary.skipped) == (
        local.articles, local.sentences, local.predicted, local.skipped)
    assert summary.articles > 300
    # Bad input: one line each, same messages as the local engine, collected in the manifest.
    manifest = json.loads((tmp_path / "ray" / MANIFEST).read_text("utf-8"))
    assert manifest["status"] == "complete"
    assert [entry["message"] for entry in manifest["skipped_inputs"]] == summary.problems == local.problems
    messages = "\n".join(summary.problems)
    for bad in ("batch.jsonl:104: malformed JSON", "batch.jsonl:156: record has no text",
                "binary.jsonl: binary file", "empty.txt"):
        assert bad in messages
    assert all("\n" not in message for message in summary.problems)
    assert manifest["ignored_files"] == local.ignored_files > 0
    assert all(shard["complete"] for shard in manifest["shards"])
    assert sum(shard["sentences"] for shard in manifest["shards"]) == local.sentences
    # The shard folder reads as one stream of records (what `warta outlets` / `evaluate --data` use).
    records = [record for _, record in iter_records(tmp_path / "ray")]
    assert records == [json.loads(line) for line in expected.decode("utf-8").splitlines()]


def test_parquet_shards_hold_the_jsonl_records(tfidf_run, tmp_path):
    """A shard is committed as Parquet from the encoded lines: same records, then its marker."""
    from warta.labelling.ray_engine import model_folder
    from warta.labelling.shard_folder import commit_shard

    expected, _ = local_output(tfidf_run, sorted(SEEDS.glob("*.txt")), tmp_path / "local.jsonl", manifest=MANIFEST_CSV)
    labels = json.loads((model_folder(tfidf_run)[0] / "model.json").read_text("utf-8"))["labels"]
    meta = {"units": 5, "articles": 5, "sentences": 148, "predicted": 137, "problems": [], "notes": []}
    marker = commit_shard(tmp_path, 3, "parquet", expected, meta, "f" * 32, labels)
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / shard_name(3, "parquet")).to_pylist() == [
        json.loads(line) for line in expected.decode("utf-8").splitlines()]
    assert json.loads((tmp_path / marker_name(3)).read_text("utf-8")) == marker
    assert marker["bytes"] == (tmp_path / shard_name(3, "parquet")).stat().st_size
    assert not list(tmp_path.glob("*.tmp"))


def test_killed_run_resumes_to_the_uninterrupted_records(ray_address, tfidf_run, generated, tmp_path):
    inputs = [str(generated / "batch.jsonl"), str(generated / "kompas")]
    expected, _ = local_output(tfidf_run, inputs, tmp_path / "local.jsonl")
    out = tmp_path / "ray"
    command = [sys.executable, "-m", "warta", "label", str(tfidf_run), *inputs, "--out", str(out), "--engine", "ray",
               "--address", ray_address, "--actors", "1", "--shard-units", "16", "-q"]
    # The CLI's fault injection kills the process (SIGKILL) right after its 3rd finished shard.
    env = {**os.environ, "WARTA_LABEL_STOP_AFTER": "3", "RAY_AUTH_MODE": "disabled"}
    process = subprocess.run(command, env=env, capture_output=True, timeout=180)
    assert process.returncode == -signal.SIGKILL, process.stderr
    manifest = json.loads((out / MANIFEST).read_text("utf-8"))
    n_shards = len(manifest["shards"])
    done = {p.name for p in out.glob("*.done")}
    assert 3 <= len(done) < n_shards, "the kill should land mid-run"
    assert manifest["status"] == "running"
    # A torn shard (file without marker) and a leftover temporary file, as a kill during a write leaves them.
    torn = next(i for i in range(n_shards) if marker_name(i) not in done)
    (out / shard_name(torn, "jsonl")).write_bytes(b'{"id": "torn"')
    (out / (shard_name(torn, "jsonl") + ".tmp")).write_bytes(b"partial")

    with pytest.raises(WartaError, match="--resume"):
        label_with_ray(tfidf_run, inputs, out, shard_units=16, actors=1)  # never clobbers silently
    with pytest.raises(WartaError, match="other inputs"):
        label_with_ray(tfidf_run, inputs[:1], out, shard_units=16, actors=1, resume=True)
    summary = label_with_ray(tfidf_run, inputs, out, shard_units=16, actors=1, resume=True)
    assert summary.resumed_shards == len(done)
    assert shard_bytes(out) == expected
    records = sorted((r for _, r in iter_records(out)), key=lambda r: r["id"])
    assert records == sorted((json.loads(line) for line in expected.decode().splitlines()), key=lambda r: r["id"])
    assert not list(out.glob("*.tmp"))

    # A finished folder: resuming redoes nothing; another model (same run files, other folder name) is refused.
    again = label_with_ray(tfidf_run, inputs, out, shard_units=16, actors=1, resume=True)
    assert again.resumed_shards == again.shards == n_shards and shard_bytes(out) == expected
    other = tmp_path / "other-run"
    shutil.copytree(tfidf_run, other)
    with pytest.raises(WartaError, match="another model"):
        label_with_ray(other, inputs, out, shard_units=16, actors=1, resume=True)


def test_nothing_labelled_is_an_input_error_and_stdin_is_refused(ray_address, tfidf_run, generated, tmp_path):
    with pytest.raises(InputError, match="nothing could be labelled"):
        label_with_ray(tfidf_run, [generated / "binary.jsonl", generated / "missing.txt"], tmp_path / "ray", actors=1)
    with pytest.raises(WartaError, match="stdin"):
        label_with_ray(tfidf_run, ["-"], tmp_path / "ray2", actors=1)
    with pytest.raises(InputError, match="unfinished|incomplete|not a"):
        list(iter_records(tmp_path))
