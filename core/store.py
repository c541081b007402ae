"""The model store: ``models/manifest.json`` and lazy loading of its models.

The manifest is the one place that says which models exist, for which
category, of which architecture, trained on what, and how good they are.
Models are read from disk only when first used, once. A category without a
trained colorizer falls back to the universal one, and the store says so.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.categories import CATEGORIES, UNIVERSAL
from core.filesafe import atomic_json, atomic_path

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
#: The shipped models, next to the code.
DEFAULT_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


class ModelStoreError(RuntimeError):
    """The models folder is missing, incomplete or inconsistent."""


class UnknownArchitectureError(ModelStoreError):
    """The architecture asked for is not in the manifest (a usage error)."""


class ModelFileError(ModelStoreError):
    """A model file named in the manifest is missing or cannot be loaded.

    ``fatal``: the encoder or classifier, which every photo needs; ``universal``:
    the fallback colorizer itself. A broken category colorizer is neither: its
    category is routed to the universal model from then on.
    """

    def __init__(self, message: str, key: str):
        super().__init__(message)
        self.key = key
        self.fatal = key in ("encoder", "classifier")
        self.universal = key.endswith(f"/{UNIVERSAL}")


def models_dir_from_env() -> Path:
    """``TINCT_MODELS`` overrides the shipped models folder (tests, users' own models)."""
    return Path(os.environ.get("TINCT_MODELS", DEFAULT_MODELS_DIR))


@dataclass(frozen=True)
class ModelEntry:
    """One model file of the manifest."""

    name: str  # category name or "universal"
    file: str
    architecture: str
    metrics: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    """Which colorizer serves a category, and why."""

    category: str
    model: str  # category name or "universal"
    fallback: bool  # True when the category has no model of its own
    broken: str = ""  # why its own model could not be loaded, when it has one

    @property
    def note(self) -> str:
        if self.fallback and self.broken:
            return f"the '{self.category}' model cannot be loaded ({self.broken}): " \
                   "used the universal model"
        if self.fallback:
            return f"no '{self.category}' model yet: used the universal model"
        return ""


class ModelStore:
    """Reads the manifest eagerly (cheap) and the Keras models lazily."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else models_dir_from_env()
        path = self.root / MANIFEST
        if not path.is_file():
            raise ModelStoreError(
                f"no trained models installed: {path} does not exist. "
                "Train them with `python main.py train` or restore the models/ folder."
            )
        try:
            self.manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelStoreError(f"{path}: cannot read the model manifest ({exc})") from exc
        if not isinstance(self.manifest, dict):
            raise ModelStoreError(f"{path}: the model manifest is not a JSON object "
                                  f"(it holds a {type(self.manifest).__name__})")
        for part in ("encoder", "classifier"):
            entry = self.manifest.get(part)
            if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
                raise ModelStoreError(f"{path}: the manifest names no {part} file")
        if not isinstance(self.manifest.get("colorizers", {}), dict):
            raise ModelStoreError(f"{path}: its 'colorizers' entry is not an object")
        cats = tuple(self.manifest.get("categories", ()))
        if cats != CATEGORIES:
            raise ModelStoreError(
                f"{path}: its category list does not match this version of Tinct"
            )
        self._cache: dict[str, Any] = {}
        self._broken: dict[str, ModelFileError] = {}  # key -> why it cannot be loaded
        self._lock = threading.Lock()

    # -- manifest facts -------------------------------------------------
    @property
    def input_size(self) -> int:
        return int(self.manifest.get("input_size", 256))

    @property
    def architectures(self) -> list[str]:
        """Colorizer architectures present, the default first."""
        return list(self.manifest.get("colorizers", {}))

    @property
    def default_architecture(self) -> str:
        archs = self.architectures
        if not archs:
            raise ModelStoreError(f"{self.root / MANIFEST}: it lists no colorizers")
        return self.manifest.get("default_architecture", archs[0])

    def colorizer_info(self, architecture: str | None = None) -> dict[str, Any]:
        arch = architecture or self.default_architecture
        try:
            return self.manifest["colorizers"][arch]
        except KeyError:
            raise UnknownArchitectureError(
                f"no colorizers of architecture {arch!r}; have: {', '.join(self.architectures)}"
            ) from None

    def colorizers(self, architecture: str | None = None) -> dict[str, ModelEntry]:
        info = self.colorizer_info(architecture)
        arch = info.get("architecture", architecture or self.default_architecture)
        out = {}
        for name, entry in info.get("models", {}).items():
            extra = {k: v for k, v in entry.items() if k not in ("file", "metrics")}
            out[name] = ModelEntry(name, entry["file"], arch, entry.get("metrics", {}), extra)
        return out

    def has_model(self, category: str, architecture: str | None = None) -> bool:
        return category in self.colorizers(architecture)

    def category_status(self, architecture: str | None = None) -> dict[str, str]:
        """For every category: 'own model', 'universal model' or 'no model yet'."""
        models = self.colorizers(architecture)
        status = {}
        for cat in CATEGORIES:
            if cat in models:
                status[cat] = "own model"
            elif UNIVERSAL in models:
                status[cat] = "universal model"
            else:
                status[cat] = "no model yet"
        return status

    def route(self, category: str, architecture: str | None = None) -> Route:
        models = self.colorizers(architecture)
        arch = architecture or self.default_architecture
        if category in models and f"colorizer/{arch}/{category}" not in self._broken:
            return Route(category, category, False)
        if UNIVERSAL in models:
            broken = self._broken.get(f"colorizer/{arch}/{category}")
            return Route(category, UNIVERSAL, True, "" if broken is None else str(broken))
        raise ModelStoreError(f"no colorizer for '{category}' and no universal model")

    # -- lazy model loading --------------------------------------------
    def load(self, key: str, file: str) -> Any:
        """Load ``file`` once (thread-safe) and keep it under ``key``."""
        with self._lock:
            if key in self._broken:
                raise self._broken[key]
            if key not in self._cache:
                path = self.root / file
                if not path.is_file():
                    self._broken[key] = ModelFileError(
                        f"{path}: model file named in the manifest is missing", key)
                    raise self._broken[key]
                from core.backend import keras

                try:
                    self._cache[key] = keras().saving.load_model(path, compile=False)
                except MemoryError:
                    raise
                except Exception as exc:  # Keras raises anything from a damaged zip
                    self._broken[key] = ModelFileError(
                        f"{path}: model file is damaged or truncated "
                        f"({exc.__class__.__name__}: {str(exc)[:200]})", key)
                    raise self._broken[key] from exc
            return self._cache[key]

    def missing_files(self, architecture: str | None = None) -> list[tuple[str, Path]]:
        """(key, path) of every model file the manifest names that is not on disk."""
        out = [(part, self.root / self.manifest[part]["file"])
               for part in ("encoder", "classifier")]
        arch = architecture or self.default_architecture
        out += [(f"colorizer/{arch}/{name}", self.root / e.file)
                for name, e in self.colorizers(architecture).items()]
        return [(k, p) for k, p in out if not p.is_file()]

    def encoder(self):
        return self.load("encoder", self.manifest["encoder"]["file"])

    def classifier(self):
        return self.load("classifier", self.manifest["classifier"]["file"])

    def colorizer(self, name: str, architecture: str | None = None):
        arch = architecture or self.default_architecture
        entry = self.colorizers(arch)[name]
        return self.load(f"colorizer/{arch}/{name}", entry.file)


def write_manifest(root: str | Path, manifest: dict[str, Any]) -> Path:
    """Write the manifest atomically and durably (core.filesafe).

    The format version and the category list are always this code's: a
    manifest read back, changed and written again need not strip them first.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    body = {k: v for k, v in manifest.items() if k not in ("format", "categories")}
    manifest = {"format": FORMAT_VERSION, "categories": list(CATEGORIES), **body}
    return atomic_json(root / MANIFEST, manifest)


def save_model(model: Any, root: str | Path, file: str) -> str:
    """Save one Keras model atomically under ``root``; return its file name."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with atomic_path(root / file) as tmp:
        model.save(tmp)
    return file


def save_model_set(
    root: str | Path,
    *,
    encoder: Any,
    classifier: Any,
    colorizers: dict[str, Any],
    architecture: str = "tinct",
    colorizer_info: dict[str, Any] | None = None,
    encoder_info: dict[str, Any] | None = None,
    classifier_info: dict[str, Any] | None = None,
    metrics: dict[str, dict[str, Any]] | None = None,
    input_size: int = 256,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a complete models folder (models + manifest) that ModelStore reads."""
    root = Path(root)
    metrics = metrics or {}
    models = {}
    for name, model in colorizers.items():
        file = save_model(model, root, f"{architecture}_{name}.keras")
        models[name] = {"file": file, "metrics": metrics.get(name, {})}
    manifest = {
        "input_size": input_size,
        "encoder": {"file": save_model(encoder, root, "encoder.keras"), **(encoder_info or {})},
        "classifier": {
            "file": save_model(classifier, root, "classifier.keras"),
            "input": "features",
            **(classifier_info or {}),
        },
        "default_architecture": architecture,
        "colorizers": {architecture: {**(colorizer_info or {}), "models": models}},
        **(extra or {}),
    }
    return write_manifest(root, manifest)
