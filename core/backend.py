"""Lazy access to Keras and the compute device.

Importing TensorFlow costs seconds, so nothing here runs at import time of
``core``: callers ask for :func:`keras` when they first need a model. Keras 3
runs on TensorFlow in the app and on JAX on the training GPU; the backend is
chosen by ``KERAS_BACKEND`` (default: tensorflow).
"""

from __future__ import annotations

import contextlib
import os
from functools import lru_cache
from types import ModuleType


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
    """'GPU (<name>)' when the backend sees an accelerator, else 'CPU'."""
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
