"""Checks on a saved model folder before anything in it is loaded (nothing here executes its content).

A run folder may come from someone else. Before loading, warta refuses, in one line:
- file names in model.json (`weights`, `heads`) that leave the folder;
- a config.json / tokenizer_config.json asking for remote code (`auto_map`,
  `trust_remote_code`): warta never runs code shipped with a model;
- a transformer folder without model.safetensors (a pickle-based
  pytorch_model.bin is never loaded), and any .safetensors file whose header
  is not valid or whose tensors run past the end of the file (truncated);
- a labels.json in the run folder that disagrees with the model's own labels.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from warta.errors import InputError

_MAX_HEADER = 100_000_000
_REMOTE_CODE_KEYS = ("auto_map", "trust_remote_code")
_CODE_CONFIGS = ("config.json", "tokenizer_config.json", "processor_config.json", "preprocessor_config.json")
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


def _plain_name(value: Any, key: str, card_path: Path) -> str:
    if not isinstance(value, str) or not value or "/" in value or "\\" in value or value in (".", "..") or "\x00" in value:
        raise InputError(f"{card_path}: '{key}' must be a file name inside the model folder, got {value!r}")
    return value


def check_safetensors(path: Path) -> None:
    """A safetensors file whose header parses and whose tensors fit in the file; InputError otherwise."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(8)
            if len(head) < 8:
                raise InputError(f"{path}: not a safetensors file (truncated: {size} bytes)")
            (n,) = struct.unpack("<Q", head)
            if n > min(size - 8, _MAX_HEADER):
                raise InputError(f"{path}: not a safetensors file, or truncated (header of {n} bytes in a {size}-byte file)")
            header = json.loads(handle.read(n))
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    except (ValueError, RecursionError):
        raise InputError(f"{path}: not a safetensors file (unreadable header)") from None
    if not isinstance(header, dict):
        raise InputError(f"{path}: not a safetensors file (unreadable header)")
    data = size - 8 - n
    for name, info in header.items():
        if name == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(isinstance(o, int) for o in offsets)
                or not 0 <= offsets[0] <= offsets[1]):
            raise InputError(f"{path}: not a safetensors file (bad entry for tensor {name!r})")
        if offsets[1] > data:
            raise InputError(f"{path}: truncated (tensor {name!r} ends at byte {offsets[1]}, data holds {data})")


def _refuse_remote_code(folder: Path) -> None:
    for name in _CODE_CONFIGS:
        path = folder / name
        if not path.is_file():
            continue
        from warta.jsonl import read_json

        config = read_json(path)
        if not isinstance(config, dict):
            raise InputError(f"{path}: expected a JSON object")
        asked = [key for key in _REMOTE_CODE_KEYS if config.get(key)]
        if asked:
            raise InputError(
                f"{path}: asks for code shipped with the model ({', '.join(asked)}); warta never runs it "
                "(remove the key if the model is a standard architecture)"
            )


def check_model_folder(folder: str | Path, card: dict[str, Any]) -> None:
    """Refuse a model folder that would make loading unsafe or misleading; reads headers only."""
    folder = Path(folder)
    card_path = folder / "model.json"
    kind = card.get("kind")
    for key in ("weights", "heads"):
        if key in card:
            _plain_name(card[key], key, card_path)
    if kind == "transformer":
        _refuse_remote_code(folder)
        if not (folder / "model.safetensors").is_file() and not any(folder.glob("model-*.safetensors")):
            pickles = sorted(p.name for p in folder.iterdir() if p.suffix in _PICKLE_SUFFIXES)
            found = f" (found {', '.join(pickles)}: pickle files are never loaded)" if pickles else ""
            raise InputError(f"{folder}: no model.safetensors{found}")
        for path in sorted(folder.glob("*.safetensors")):
            check_safetensors(path)


def check_labels_agree(run_dir: str | Path, model_labels: dict[str, list[str]]) -> None:
    """A run folder's labels.json must list the model's labels (alias: warta.runfolder owns the check)."""
    from warta.runfolder import RunFolder

    RunFolder(run_dir).check_labels_agree(model_labels)
