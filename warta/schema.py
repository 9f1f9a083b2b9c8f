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
