"""Between outlets: every outlet against the pooled rest (versus_rest.py, FDR-controlled), the pairs the
user asked for (pairs.py, --pairs A,B), and the distance matrices while they stay readable."""

from __future__ import annotations

from typing import Any

import numpy as np

from warta.errors import InputError
from warta.outlets.options import ALL

DISTANCE_METRIC = "Jensen-Shannon distance (base 2, in [0, 1]) of the sentence-weighted label distributions"
# Full outlet x outlet distance matrices grow with the square of the outlets: kept up to this many.
MATRIX_MAX_OUTLETS = 50


def between_outlets(
    profiles: dict[str, dict[str, Any]], matrices: dict[str, dict[str, np.ndarray]], n_boot: int, seed: int,
    pairs: tuple[tuple[str, str], ...] = (),
) -> dict[str, Any]:
    """{"metric", "type"/"frame" (matrices, up to MATRIX_MAX_OUTLETS outlets), "versus_rest", "pairs" (requested)}."""
    from warta.outlets.pairs import distance_matrix, pair_tests
    from warta.outlets.versus_rest import versus_rest

    names = [name for name in profiles if name != ALL]
    for a, b in pairs:
        unknown = [n for n in (a, b) if n not in names]
        if unknown:
            raise InputError(f"--pairs {a},{b}: no outlet named {', '.join(map(repr, unknown))} in the input")
        if a == b:
            raise InputError(f"--pairs {a},{b}: an outlet cannot be compared with itself")
    out: dict[str, Any] = {"metric": DISTANCE_METRIC}
    if len(names) <= MATRIX_MAX_OUTLETS:
        out.update({layer: distance_matrix(names, matrices, layer) for layer in ("type", "frame")})
    out["versus_rest"] = versus_rest(profiles, matrices, n_boot, seed)
    if pairs:
        out["pairs"] = pair_tests(list(pairs), profiles, matrices, n_boot, seed)
    return out


def parse_pairs(values: list[str] | None) -> tuple[tuple[str, str], ...]:
    """--pairs A,B (repeatable) -> ((A, B), ...); one clear error for anything else."""
    out = []
    for value in values or []:
        names = [part.strip() for part in value.split(",")]
        if len(names) != 2 or not all(names):
            raise InputError(f"--pairs {value}: expected two outlet names separated by a comma (A,B)")
        out.append((names[0], names[1]))
    return tuple(out)
