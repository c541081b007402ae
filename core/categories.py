"""The category list: the one place that names Tinct's photo categories.

The order is the classifier's output order, so it must never change for a
shipped model; the manifest stores it too and the store checks they agree.
"""

from __future__ import annotations

CATEGORIES: tuple[str, ...] = (
    "animal",
    "autumn",
    "beach",
    "bird",
    "bus",
    "christmas",
    "city",
    "dog",
    "dress",
    "flower",
    "food",
    "forest",
    "fruit",
    "house",
    "landscape",
    "mountain",
    "person",
    "road",
    "sunset",
    "waterfall",
)

#: Categories with no offline training photos: listed, but "no model yet".
NO_DATA: frozenset[str] = frozenset({"autumn", "christmas", "waterfall"})

#: Name of the model trained on every category at once.
UNIVERSAL = "universal"


def index_of(name: str) -> int:
    """Return the classifier output index of ``name`` or raise a clear error."""
    try:
        return CATEGORIES.index(name)
    except ValueError:
        raise ValueError(
            f"unknown category {name!r}; choose one of: {', '.join(CATEGORIES)}"
        ) from None


def validate(name: str) -> str:
    """Return ``name`` if it is a known category (used by CLI and GUI)."""
    index_of(name)
    return name
