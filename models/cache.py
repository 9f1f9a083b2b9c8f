"""Where warta keeps what it derives from an encoder (embedding caches, ONNX exports)."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """$WARTA_CACHE_DIR/embeddings, else $XDG_CACHE_HOME/warta/embeddings, else ~/.cache/warta/embeddings."""
    if os.environ.get("WARTA_CACHE_DIR"):
        return Path(os.environ["WARTA_CACHE_DIR"]).expanduser() / "embeddings"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser()
    return base / "warta" / "embeddings"
