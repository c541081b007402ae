"""Inference backends: run a model on numpy arrays, with LiteRT or Keras.

Two ways to run the same model: LiteRT (``ai-edge-litert``, XNNPACK on the
CPU; imports in ~0.1 s and loads a ``.tflite`` in milliseconds) and Keras 3 on
TensorFlow (seconds to import; the only way onto a GPU, and what training
uses). Both are wrapped as a :class:`Runner`: a list of float32 arrays in, a
list out, so the engine's decoding never knows which one ran.

Importing TensorFlow costs seconds, so nothing here imports it at import time
of ``core``: callers ask for :func:`keras` when they first need it. Keras 3
runs on TensorFlow in the app and on JAX on the training GPU; that backend is
chosen by ``KERAS_BACKEND`` (default: tensorflow).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import numpy as np

#: What ``--backend`` accepts: auto = LiteRT on a CPU, TensorFlow with a GPU.
BACKENDS = ("auto", "litert", "tf")
#: Environment override of the default (tests, users without the flag).
BACKEND_ENV = "TINCT_BACKEND"


@lru_cache(maxsize=1)
def keras() -> ModuleType:
    """Import Keras once, quietly, on the configured backend."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras as _keras

    if _keras.backend.backend() == "tensorflow":  # retracing notes are noise for users
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
    return _keras


@lru_cache(maxsize=1)
def device_name() -> str:
    """'GPU (<name>)' when the Keras backend sees an accelerator, else 'CPU'."""
    backend = keras().backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            for gpu in gpus:  # share the card with other programs
                with contextlib.suppress(RuntimeError):  # already initialised: harmless
                    tf.config.experimental.set_memory_growth(gpu, True)
            return f"GPU ({gpus[0].name.split(':', 1)[-1]})"
        return "CPU"
    if backend == "jax":
        import jax

        dev = jax.devices()[0]
        return "CPU" if dev.platform == "cpu" else f"GPU ({dev.device_kind})"
    return "CPU"


# ----------------------------------------------------------------- which backend


def litert_available() -> bool:
    """True when the LiteRT runtime (``ai-edge-litert``) is installed."""
    return importlib.util.find_spec("ai_edge_litert") is not None


def gpu_present() -> bool:
    """An NVIDIA GPU with a TensorFlow that can use it, found without importing TensorFlow.

    The CPU wheel (``tensorflow-cpu``) cannot use a GPU, so only the full
    ``tensorflow`` distribution counts (``pip install -e .[gpu]``).
    """
    gpus = Path("/proc/driver/nvidia/gpus")
    if not (gpus.is_dir() and any(gpus.iterdir())):
        return False
    from importlib import metadata

    try:
        metadata.distribution("tensorflow")
    except metadata.PackageNotFoundError:
        return False
    return True


def resolve_backend(requested: str | None = None) -> str:
    """'litert' or 'tf' for a request: 'auto' (or None: ``TINCT_BACKEND``, else auto).

    auto is TensorFlow where a GPU is present, LiteRT on a CPU. Whether LiteRT
    can actually run a given model (runtime installed, ``.tflite`` listed) is
    decided per model by the store, which falls back to TensorFlow and says so.
    """
    req = requested or os.environ.get(BACKEND_ENV) or "auto"
    if req not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {req!r}")
    if req == "auto":
        return "tf" if gpu_present() else "litert"
    return req


def preload(backend: str | None = None) -> None:
    """Import the runtime of ``backend`` now, in the calling thread.

    Importing a C extension holds the GIL for its whole initialisation: the
    app calls this before its window shows, so the model-loading worker does
    not stall the GUI thread with it later.
    """
    if resolve_backend(backend) == "litert" and litert_available():
        import ai_edge_litert.interpreter  # noqa: F401


# ----------------------------------------------------------------- runners


class Runner(Protocol):
    """One loaded model: float32 arrays in (the model's inputs, in order), arrays out."""

    backend: str
    name: str

    def __call__(self, inputs: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]: ...


def _as_list(inputs: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    if isinstance(inputs, np.ndarray):
        return [inputs]
    return list(inputs)


class KerasRunner:
    """A Keras model, called without the per-call overhead of ``model.predict``."""

    backend = "tf"

    def __init__(self, model: Any):
        self.model = model
        self.name = model.name

    def __call__(self, inputs: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
        xs = _as_list(inputs)
        out = self.model.predict_on_batch(xs[0] if len(xs) == 1 else xs)
        if isinstance(out, dict):
            out = list(out.values())
        if not isinstance(out, (list, tuple)):
            out = [out]
        return [np.asarray(o, np.float32) for o in out]


def _numbered(names: Sequence[str], prefix: str) -> list[str]:
    """Signature names ``in0, in1, ...`` in numeric order (as :mod:`core.litert` writes them)."""
    pattern = re.compile(rf"{prefix}(\d+)$")
    found = sorted((int(m.group(1)), n) for n in names if (m := pattern.match(n)))
    if len(found) != len(names):
        raise ValueError(f"unexpected signature names {sorted(names)} (want {prefix}0, ...)")
    return [n for _, n in found]


_quieted = False


@contextlib.contextmanager
def _quiet_stderr_once():
    """Hide the runtime's one-time "INFO: Created TensorFlow Lite XNNPACK delegate" line.

    It is written by C++ straight to file descriptor 2 (no setting turns it
    off), once per process: only the first interpreter is created with fd 2
    pointed at /dev/null for those few milliseconds.
    """
    global _quieted
    if _quieted:
        yield
        return
    _quieted = True
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all (a windowed app): nothing to hide
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class LiteRTRunner:
    """A ``.tflite`` model run by LiteRT's interpreter (XNNPACK on the CPU).

    Exported with a free batch size and fixed spatial sizes (the model size of
    the manifest); a batch of another size is resized for. Not thread-safe, like
    the interpreter: the engine calls it under its lock.
    """

    backend = "litert"

    def __init__(self, path: str | Path, threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        self.path = Path(path)
        self.name = self.path.stem
        self._interpreter = Interpreter(
            model_path=str(self.path), num_threads=threads or os.cpu_count() or 1
        )
        with _quiet_stderr_once():  # the delegate is applied (and announced) here
            self._interpreter.allocate_tensors()
        (key, sig), *rest = self._interpreter.get_signature_list().items()
        if rest:
            raise ValueError(f"{self.path}: more than one signature")
        self._run = self._interpreter.get_signature_runner(key)
        self._inputs = _numbered(sig["inputs"], "in")
        self._outputs = _numbered(sig["outputs"], "out")
        details = self._run.get_input_details()
        self.input_shapes = [tuple(int(d) for d in details[n]["shape_signature"])
                             for n in self._inputs]

    def __call__(self, inputs: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
        xs = _as_list(inputs)
        if len(xs) != len(self._inputs):
            raise ValueError(f"{self.path.name}: {len(self._inputs)} inputs, got {len(xs)}")
        feed = {}
        for name, want, x in zip(self._inputs, self.input_shapes, xs):
            if tuple(x.shape[1:]) != want[1:]:
                raise ValueError(
                    f"{self.path.name}: exported for inputs {want[1:]}, got {tuple(x.shape[1:])}"
                )
            feed[name] = np.ascontiguousarray(x, np.float32)
        out = self._run(**feed)
        return [out[n] for n in self._outputs]
