"""The label schema: layers, their ordered labels, and sentence roles.

Every labelled record in warta (gold labels, predictions, `warta label`
output) uses these field names, so one reader serves them all.
"""

from __future__ import annotations

LAYERS: dict[str, tuple[str, ...]] = {
    "type": ("fact", "quote", "opinion", "speculation"),
    "stance": ("pro", "against", "neutral"),
    "frame": ("economic", "human_interest", "responsibility", "conflict", "morality", "none"),
}
LAYER_NAMES: tuple[str, ...] = tuple(LAYERS)

ROLES: tuple[str, ...] = ("title", "heading", "body")
# Roles that carry labels; headings and boilerplate never do.
LABELLED_ROLES: tuple[str, ...] = ("title", "body")

GUIDELINE_VERSION = "1.0"
