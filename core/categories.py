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
NO_DATA: frozenset[str] = frozenset({"christmas"})

#: The pool of photos that are none of the categories: its folder name in a photo
#: collection, its ``category`` in a prepared index, and the classifier's extra
#: last output ("none of the categories"), whose confidence routes to the
#: universal model. Not a category: it is never offered to the user.
GENERAL = "general"

#: The classifier's outputs, in order: every category, then GENERAL.
CLASSIFIER_OUTPUTS: tuple[str, ...] = (*CATEGORIES, GENERAL)

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


def label_of(name: str) -> int:
    """A prepared row's class index: its category's, or ``len(CATEGORIES)`` for GENERAL."""
    return len(CATEGORIES) if name == GENERAL else index_of(name)


def validate(name: str) -> str:
    """Return ``name`` if it is a known category (used by CLI and GUI)."""
    index_of(name)
    return name
