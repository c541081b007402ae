"""The model store: ``models/manifest.json`` and lazy loading of its models.

The manifest is the one place that says which models exist, for which
category, of which architecture, trained on what, and how good they are.
Models are read from disk only when first used, once. A category without a
trained colorizer falls back to the universal one, and the store says so.

Each model has its Keras file (``file``: the source of truth, what training
and the TensorFlow backend read) and, exported from it by :mod:`core.litert`,
a LiteRT file (``tflite``) that the default CPU backend runs without
importing TensorFlow at all. A model without a usable ``.tflite`` runs on
TensorFlow, and the store says so (:attr:`ModelStore.notes`).
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.backend import KerasRunner, LiteRTRunner, Runner, litert_available, resolve_backend
from core.categories import CATEGORIES, UNIVERSAL
from core.filesafe import atomic_json, atomic_path

log = logging.getLogger(__name__)

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
    tflite: str | None = None  # the LiteRT export of ``file``, when there is one


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
                   "general colours used"
        if self.fallback:
            return f"no '{self.category}' colours learned yet: general colours used"
        return ""


def _check_manifest(path: Path, m: dict[str, Any]) -> None:
    """Every value the store reads has the type it reads it as: ModelStoreError names the
    manifest and the entry otherwise (a hand-edited ``"tflite": 123`` or a list where an
    object belongs once gave a traceback on the first photo)."""

    def bad(where: str, what: str, value: Any) -> ModelStoreError:
        shown = json.dumps(value)[:60] if value is not None else "missing"
        return ModelStoreError(f"{path}: the model manifest is damaged: {where} must be "
                               f"{what}, not {shown}")

    def model(where: str, entry: Any) -> None:
        if not isinstance(entry, dict):
            raise bad(where, "an object with a 'file'", entry)
        if not isinstance(entry.get("file"), str) or not entry["file"]:
            raise bad(f"{where}.file", "a file name", entry.get("file"))
        if entry.get("tflite") is not None and not isinstance(entry["tflite"], str):
            raise bad(f"{where}.tflite", "a file name", entry["tflite"])
        if not isinstance(entry.get("metrics", {}), dict):
            raise bad(f"{where}.metrics", "an object", entry["metrics"])

    for part in ("encoder", "classifier"):
        if part not in m:
            raise ModelStoreError(f"{path}: the manifest names no {part} file")
        model(part, m[part])
    colorizers = m.get("colorizers", {})
    if not isinstance(colorizers, dict):
        raise ModelStoreError(f"{path}: its 'colorizers' entry is not an object")
    for arch, info in colorizers.items():
        if not isinstance(info, dict):
            raise bad(f"colorizers.{arch}", "an object with 'models'", info)
        if not isinstance(info.get("architecture", arch), str):
            raise bad(f"colorizers.{arch}.architecture", "a name", info["architecture"])
        models = info.get("models", {})
        if not isinstance(models, dict):
            raise bad(f"colorizers.{arch}.models", "an object of models by category", models)
        for name, entry in models.items():
            model(f"colorizers.{arch}.models.{name}", entry)
    size = m.get("input_size", 256)
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise bad("input_size", "a positive whole number", size)
    default = m.get("default_architecture")
    if default is not None and default not in colorizers:
        raise bad("default_architecture", f"one of {', '.join(colorizers) or 'its colorizers'}",
                  default)
    cats = m.get("categories", [])
    if not isinstance(cats, list) or tuple(cats) != CATEGORIES:
        raise ModelStoreError(
            f"{path}: its category list does not match this version of Tinct"
        )


class ModelStore:
    """Reads the manifest eagerly (cheap) and the models lazily, each as a Runner.

    ``backend``: 'litert', 'tf' or 'auto'/None (see :func:`core.backend.resolve_backend`).
    """

    def __init__(self, root: str | Path | None = None, backend: str | None = None):
        self.root = Path(root) if root is not None else models_dir_from_env()
        self.backend = resolve_backend(backend)
        #: What did not run on the requested backend, and why: "key: reason" (the models
        #: named run on TensorFlow instead; shown once to the user).
        self.notes: list[str] = []
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
        _check_manifest(path, self.manifest)
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
            extra = {k: v for k, v in entry.items() if k not in ("file", "metrics", "tflite")}
            out[name] = ModelEntry(name, entry["file"], arch, entry.get("metrics", {}), extra,
                                   entry.get("tflite"))
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
    def load(self, key: str, file: str, tflite: str | None = None) -> Runner:
        """Load one model once (thread-safe) as a Runner, and keep it under ``key``.

        On the LiteRT backend the ``.tflite`` runs when it is there and the
        runtime is installed; otherwise the Keras ``file`` runs on TensorFlow
        and :attr:`notes` says why.
        """
        with self._lock:
            if key in self._broken:
                raise self._broken[key]
            if key not in self._cache:
                runner = self._open(key, file, tflite)
                runner.name = key.rsplit("/", 1)[-1]  # "encoder", "dog", ...
                self._cache[key] = runner
            return self._cache[key]

    def _usable_tflite(self, tflite: str | None) -> str | None:
        """Why the LiteRT file of a model cannot run (None: it can)."""
        if not tflite:
            return "the manifest lists no .tflite for it"
        if not (self.root / tflite).is_file():
            return f"{self.root / tflite} is missing"
        if not litert_available():
            return "LiteRT is not installed (pip install ai-edge-litert)"
        return None

    def runs_on_litert(self, entry: dict[str, Any]) -> bool:
        """Whether a manifest entry's model would run on LiteRT (without loading it)."""
        return self.backend == "litert" and self._usable_tflite(entry.get("tflite")) is None

    def _open(self, key: str, file: str, tflite: str | None) -> Runner:
        """The model as a Runner; a file that cannot be loaded is remembered as broken."""
        reason = None
        if self.backend == "litert":
            reason = self._usable_tflite(tflite)
            if reason is None:
                try:
                    return LiteRTRunner(self.root / tflite)  # type: ignore[operator]
                except MemoryError:
                    raise
                except Exception as exc:  # a damaged flatbuffer: the Keras file may still do
                    reason = f"{self.root / tflite} cannot be loaded ({str(exc)[:200]})"
        runner = self._open_keras(key, file)
        if reason is not None:
            note = f"{key}: {reason}"  # the CLI adds what it means and what to do, once
            if note not in self.notes:
                self.notes.append(note)
            log.info("%s", note)  # the caller shows the notes: the CLI once, at the end
        return runner

    def _open_keras(self, key: str, file: str) -> Runner:
        path = self.root / file
        if not path.is_file():
            self._broken[key] = ModelFileError(
                f"{path}: model file named in the manifest is missing", key)
            raise self._broken[key]
        from core.backend import keras

        try:
            return KerasRunner(keras().saving.load_model(path, compile=False))
        except MemoryError:
            raise
        except Exception as exc:  # Keras raises anything from a damaged zip
            self._broken[key] = ModelFileError(
                f"{path}: model file is damaged or truncated "
                f"({exc.__class__.__name__}: {str(exc)[:200]})", key)
            raise self._broken[key] from exc

    def missing_files(self, architecture: str | None = None) -> list[tuple[str, Path]]:
        """(key, path) of every model the manifest names that has no file to run.

        On the LiteRT backend a model runs from its ``.tflite`` or, failing
        that, its ``.keras``: it is missing only when neither is there.
        """
        arch = architecture or self.default_architecture
        parts = [(part, self.manifest[part]) for part in ("encoder", "classifier")]
        parts += [(f"colorizer/{arch}/{name}", {"file": e.file, "tflite": e.tflite})
                  for name, e in self.colorizers(architecture).items()]
        out = []
        for key, entry in parts:
            path = self.root / entry["file"]
            lite_ok = self.backend == "litert" and self._usable_tflite(entry.get("tflite")) is None
            if not path.is_file() and not lite_ok:
                out.append((key, path))
        return out

    def keras_model(self, key: str, file: str) -> Any:
        """The Keras model itself (export, training tools), whatever the backend."""
        path = self.root / file
        if not path.is_file():
            raise ModelStoreError(f"{path}: model file named in the manifest is missing")
        from core.backend import keras

        return keras().saving.load_model(path, compile=False)

    def encoder(self) -> Runner:
        entry = self.manifest["encoder"]
        return self.load("encoder", entry["file"], entry.get("tflite"))

    def classifier(self) -> Runner:
        entry = self.manifest["classifier"]
        return self.load("classifier", entry["file"], entry.get("tflite"))

    def colorizer(self, name: str, architecture: str | None = None) -> Runner:
        arch = architecture or self.default_architecture
        entry = self.colorizers(arch)[name]
        return self.load(f"colorizer/{arch}/{name}", entry.file, entry.tflite)

    def model_entries(self) -> list[dict[str, Any]]:
        """Every model entry of the manifest (encoder, classifier, colorizers), for export."""
        entries = [self.manifest["encoder"], self.manifest["classifier"]]
        for info in self.manifest.get("colorizers", {}).values():
            entries.extend(info.get("models", {}).values())
        return entries


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


#: Weight arrays at least this big are stored as float16 by ``save_model(half=True)``:
#: the kernels (nearly all the bytes); batch-norm statistics and biases stay float32.
HALF_MIN_SIZE = 1024


def save_model(model: Any, root: str | Path, file: str, half: bool = False) -> str:
    """Save one Keras model atomically under ``root``; return its file name.

    ``half``: store its big weight arrays as float16 (half the bytes; Keras
    loads them back into float32 variables, so it computes as before, with
    weights rounded to float16: see the model card for the measured effect).
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with atomic_path(root / file) as tmp:
        model.save(tmp)
        if half:
            halve_keras_file(tmp)
    return file


def halve_keras_file(path: str | Path) -> None:
    """Rewrite a ``.keras`` file in place with its big float32 weights stored as float16."""
    import h5py
    import numpy as np

    def copy(src: Any, dst: Any) -> None:
        for k, v in src.attrs.items():
            dst.attrs[k] = v
        for name, item in src.items():
            if isinstance(item, h5py.Group):
                copy(item, dst.create_group(name))
                continue
            data = item[()]
            if (isinstance(data, np.ndarray) and data.dtype == np.float32
                    and data.size >= HALF_MIN_SIZE):
                data = data.astype(np.float16)
            out = dst.create_dataset(name, data=data)
            for k, v in item.attrs.items():
                out.attrs[k] = v

    path = Path(path)
    with atomic_path(path) as tmp, zipfile.ZipFile(path) as zin, \
            zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.endswith(".weights.h5"):
                buf = io.BytesIO()
                with h5py.File(io.BytesIO(data), "r") as fin, h5py.File(buf, "w") as fout:
                    copy(fin, fout)
                data = buf.getvalue()
            zout.writestr(info.filename, data)


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
