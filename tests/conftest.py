"""Shared fixtures: the bundled seeds and their frozen segmentation."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
DATA = Path(__file__).resolve().parent / "data"

# Compiled modules are cached (__pycache__, git-ignored) even where the environment says not to
# (PYTHONDONTWRITEBYTECODE=1 in some images, this project's VM included): the suite starts `python -m warta`
# and xdist workers a few hundred times, and each would otherwise compile warta and the rewritten tests from
# source again (measured: 3:10 -> 2:57 for the suite on 2 cores). Set before xdist starts its workers.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


@pytest.fixture(scope="session", autouse=True)
def _cache_outside_home(tmp_path_factory):
    """Embedding caches and ONNX exports (warta.models.cache) go to a session temp folder, never the user's
    ~/.cache/warta; subprocesses inherit it. Each xdist worker gets its own folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WARTA_CACHE_DIR", str(tmp_path_factory.mktemp("warta-cache")))
        yield


# End-to-end tests marked `slow` (besides every `wheel` and `ddp` test): those that took 10 s or more in
# `python -m pytest -q --durations=60` at e6f7de0 (2 cores, load ~10; a quiet machine takes about a third).
# CI runs them; `python -m pytest -q -m "not slow"` is the quick loop.
SLOW_TESTS = {
    "test_cv_outlet.py": {"test_outlet_purged_cv_drops_near_duplicates_of_the_held_out_outlet",
                          "test_evaluate_and_compare_read_outlet_cv", "test_outlet_cv_run_on_synthetic_data"},
    "test_e5.py": {"test_save_reload_round_trip"},
    "test_hostile_corpus.py": {"test_full_stdout_is_one_line"},
    "test_hostile_eval.py": {"test_full_stdout_is_one_line"},
    "test_hostile_label.py": {"test_ctrl_c_during_model_load_promises_nothing_that_does_not_exist",
                              "test_a_full_disk_is_one_line_and_resume_afterwards_is_exact"},
    "test_hybrid.py": {"test_refit_all_and_outlet_cv_with_a_hybrid_run"},
    "test_label.py": {"test_kill_9_mid_run_then_resume_gives_the_uninterrupted_file",
                      "test_transformer_run_labels_all_layers_in_one_pass_like_its_model",
                      "test_worker_processes_give_the_same_bytes_as_in_process"},
    "test_ray_engine.py": {"test_killed_run_resumes_to_the_uninterrupted_records",
                           "test_ray_output_equals_local_on_seeds_and_generated_articles"},
    "test_train.py": {"test_cli_trains_the_baseline_on_the_real_seeds_with_cv",
                      "test_cli_offline_model_message_and_no_run_folder"},
    "test_train_seeds_refit.py": {"test_seeds_record_each_seed_and_mean_sd"},
    "test_train_sources.py": {"test_extra_sentences_join_the_splits_and_the_gold",
                              "test_supplement_is_fitted_on_and_never_scored"},
    "test_transformer.py": {"test_offline_hub_name_gives_one_clear_line"},
}


# The longest test (the README's main job and examples, ~40% of the suite's CPU time) runs first: started last,
# it would leave one xdist worker running it alone at the end (longest-first scheduling).
RUN_FIRST = ("test_readme.py", "test_readme_examples_run_as_written")


def pytest_collection_modifyitems(config, items):
    for item in items:
        end_to_end = item.get_closest_marker("wheel") or item.get_closest_marker("ddp")
        if end_to_end or getattr(item, "originalname", item.name) in SLOW_TESTS.get(item.path.name, ()):
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: (item.path.name, getattr(item, "originalname", item.name)) != RUN_FIRST)


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture(scope="session")
def frozen_segmentation() -> dict[str, list[list[str]]]:
    return json.loads((DATA / "seed_sentences.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def tfidf_run(tmp_path_factory) -> Path:
    """One real TF-IDF run folder per test session (per worker under xdist), shared by every module that
    labels, evaluates or attacks a run: tests copy it before changing it (hostile_common.make_tfidf_run)."""
    from hostile_common import make_tfidf_run

    return make_tfidf_run(tmp_path_factory)


# --- training fixtures (train/models) ------------------------------------------------

SYNTHETIC_TYPE_CUES = (
    ("quote", ('"', "\u201c", " kata ", " ujar", "menurut", "mengatakan", "mengaku")),
    ("speculation", (" akan ", " bisa ", "mungkin", "diperkirakan", "ditaksir")),
    ("opinion", ("harus", "penting", "sangat", "menyesal", "sebaiknya")),
)


def synthetic_labels(text: str) -> dict[str, str]:
    """Deterministic, learnable labels from surface cues (for plumbing tests, not a gold standard)."""
    lowered = f" {text.lower()} "
    kind = next((label for label, cues in SYNTHETIC_TYPE_CUES if any(c in lowered for c in cues)), "fact")
    if any(w in lowered for w in ("phk", "menyesal", "memangkas", "resesi")):
        stance = "against"
    elif any(w in lowered for w in ("efisien", "gesit", "menghemat", "hemat")):
        stance = "pro"
    else:
        stance = "neutral"
    if any(w in lowered for w in ("biaya", "ekonomi", "resesi", "dolar", "dollar", "persen", "investor")):
        frame = "economic"
    elif any(w in lowered for w in ("karyawan", "pekerja", "manusia")):
        frame = "human_interest"
    else:
        frame = "none"
    return {"type": kind, "stance": stance, "frame": frame}


@pytest.fixture(scope="session")
def synthetic_data(frozen_segmentation):
    """LabelledData over the real seed sentences with synthetic labels and a simple split.

    Sentence i of the corpus goes to test when i % 5 == 0, dev when i % 5 == 1,
    train otherwise; train+dev carry 3 folds (i % 3) and every sentence is its own group.
    """
    from types import SimpleNamespace

    from warta.train.data import LabelledData

    records = []
    for article_id, units in sorted(frozen_segmentation.items()):
        for index, (role, text) in enumerate(units):
            if role == "heading":
                continue
            records.append({
                "id": f"{article_id}-{index:03d}-syn", "article_id": article_id, "outlet": f"outlet{article_id}",
                "role": role, "index": index, "text": text, **synthetic_labels(text),
            })
    ids = [r["id"] for r in records]
    splits = SimpleNamespace(
        train=[i for n, i in enumerate(ids) if n % 5 > 1],
        dev=[i for n, i in enumerate(ids) if n % 5 == 1],
        test=[i for n, i in enumerate(ids) if n % 5 == 0],
        folds={i: n % 3 for n, i in enumerate(ids) if n % 5 != 0},
        groups={i: i for i in ids},
        k=3,
        seed=0,
    )
    return LabelledData(records, splits, {"labels": None, "splits": None, "seeds": None})


def build_tiny_bert(folder: Path, texts: list[str], lowercase: bool = True) -> Path:
    """A random-weight BERT (hidden 32, 2 layers, 2 heads) with a WordPiece vocabulary trained on `texts`."""
    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, BertTokenizer

    wordpiece = BertWordPieceTokenizer(lowercase=lowercase)
    wordpiece.train_from_iterator(
        texts, vocab_size=1000, min_frequency=1, show_progress=False,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
    )
    tokenizer = BertTokenizer(vocab=wordpiece.get_vocab(), do_lower_case=lowercase)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory, frozen_segmentation) -> Path:
    """Folder of a tiny random BERT + WordPiece tokenizer trained on the seed sentences."""
    texts = [text for units in frozen_segmentation.values() for _, text in units]
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), texts)


@pytest.fixture
def one_torch_thread():
    """Tiny models train much faster on one thread than on two contended ones."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
