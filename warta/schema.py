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
# One-line definitions, condensed from seeds/GUIDELINES.md (which rules; these are for model cards and reports).
LAYER_DEFINITIONS: dict[str, str] = {
    "type": "what kind of statement the sentence is",
    "stance": "does the sentence present replacing or reducing human staff with AI as good or as bad (whoever speaks)",
    "frame": "which generic news frame dominates the sentence",
}
LABEL_DEFINITIONS: dict[str, dict[str, str]] = {
    "type": {
        "fact": "a checkable statement in the outlet's own voice (event, number, date, definition)",
        "quote": "somebody other than the outlet says, reports or believes it (direct or reported speech)",
        "opinion": "the outlet evaluates, judges, teaches or recommends",
        "speculation": "the outlet says what may or will happen, or hedges",
    },
    "stance": {
        "pro": "beneficial, successful, efficient or inevitable",
        "against": "harmful, mistaken, risky or regrettable",
        "neutral": "neither, balanced, or plain description",
    },
    "frame": {
        "economic": "costs, savings, profits, investors, productivity, markets, head counts",
        "human_interest": "people's experience and feelings: workers, customers, empathy, the human touch",
        "responsibility": "who caused it, who is to credit or blame, who should act or fix it",
        "conflict": "disagreement or clash between people, companies or positions",
        "morality": "moral or ethical prescriptions and values",
        "none": "plain event reporting with no frame beyond it",
    },
}

ROLES: tuple[str, ...] = ("title", "heading", "body")
# Roles that carry labels; headings and boilerplate never do.
LABELLED_ROLES: tuple[str, ...] = ("title", "body")

GUIDELINE_VERSION = "1.0"


def parse_role(value: object, where: str) -> str:
    """A record's role, case and surrounding spaces ignored (`Body` is body); anything else is refused.

    Readers of user files call this instead of comparing the raw value, so a
    capitalised role is never silently taken for a heading and left out.
    """
    from warta.errors import InputError

    if value is None:
        raise InputError(f"{where}: record has no 'role' field ({', '.join(ROLES)})")
    role = value.strip().lower() if isinstance(value, str) else None
    if role not in ROLES:
        raise InputError(f"{where}: role {value!r} is not one of {', '.join(ROLES)}")
    return role
