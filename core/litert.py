"""Export a models folder's Keras models to LiteRT (``.tflite``) and check parity.

The Keras files stay the source of truth (training, the TensorFlow backend);
the ``.tflite`` beside each one is what the default CPU backend runs. Shapes
are fixed at export: the engine always feeds the model size of the manifest
(``input_size``), so the encoder gets (S, S, 1) and the decoders, whose Keras
inputs are (None, None, C), get the encoder's feature sizes at S. The batch
size stays free. Each export is checked against its Keras model on the same
inputs and the differences go into the manifest (``litert.parity``).

Needs TensorFlow (the converter): run by ``python main.py export-litert``,
the training pipeline, and the tests, never on the inference path.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from core.filesafe import atomic_bytes
from core.store import ModelStore, write_manifest

#: Weights stored in the .tflite files: float16 halves their size (XNNPACK
#: computes in float32 either way); "float32" keeps them exact.
WEIGHTS = ("float16", "float32")


def tflite_name(keras_file: str) -> str:
    """``tinct_dog.keras`` -> ``tinct_dog.tflite`` (beside it)."""
    return str(Path(keras_file).with_suffix(".tflite"))


def convert(model: Any, input_shapes: list[tuple[int | None, ...]], weights: str = "float16"
            ) -> bytes:
    """A Keras model with these input shapes -> ``.tflite`` bytes (builtin ops only).

    Signature: inputs ``in0..``, outputs ``out0..`` in the Keras model's order
    (:class:`core.backend.LiteRTRunner` reads them by those names).
    """
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}, not {weights!r}")
    import tensorflow as tf
    from keras import export as keras_export

    specs = [tf.TensorSpec(s, tf.float32, name=f"in{i}") for i, s in enumerate(input_shapes)]

    def call(*xs):
        out = model(list(xs) if len(xs) > 1 else xs[0], training=False)
        if not isinstance(out, (list, tuple)):
            out = [out]
        return {f"out{i}": o for i, o in enumerate(out)}

    with tempfile.TemporaryDirectory() as saved:
        archive = keras_export.ExportArchive()
        archive.track(model)
        archive.add_endpoint("serve", call, input_signature=specs)
        archive.write_out(saved, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if weights == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        return converter.convert()


def _diff(ref: list[np.ndarray], got: list[np.ndarray]) -> dict[str, float]:
    """Largest absolute difference over all outputs, and the outputs' largest magnitude."""
    return {
        "max_abs_diff": float(max(np.abs(r - g).max() for r, g in zip(ref, got))),
        "max_abs_output": float(max(np.abs(r).max() for r in ref)),
    }


def export_models(root: str | Path, weights: str = "float16", seed: int = 0,
                  progress: Any = None) -> dict[str, dict[str, float]]:
    """Export every model of the folder ``root`` beside its ``.keras`` and list it.

    Returns (and writes into the manifest) each model's parity: its outputs
    through LiteRT against Keras on the same inputs: a random gray photo for
    the encoder, that photo's features for the classifier and decoders.
    """
    from core.backend import KerasRunner, LiteRTRunner

    root = Path(root)
    store = ModelStore(root, backend="tf")
    manifest = store.manifest
    size = store.input_size
    rng = np.random.default_rng(seed)
    gray = rng.random((2, size, size, 1), dtype=np.float32)
    parity: dict[str, dict[str, float]] = {}

    def export(key: str, entry: dict[str, Any], inputs: list[np.ndarray]) -> list[np.ndarray]:
        if progress:
            progress(key)
        model = store.keras_model(key, entry["file"])
        ref = KerasRunner(model)(inputs)
        data = convert(model, [(None, *x.shape[1:]) for x in inputs], weights)
        name = tflite_name(entry["file"])
        atomic_bytes(root / name, data)
        parity[key] = _diff(ref, LiteRTRunner(root / name)(inputs))
        entry["tflite"] = name
        return ref

    feats = export("encoder", manifest["encoder"], [gray])
    cls = manifest["classifier"]
    if cls.get("input", "features") == "features":
        export("classifier", cls, [feats[-1]])
    else:  # a whole classifier network on the gray photo
        export("classifier", cls, [np.repeat(gray, 3, axis=-1)])
    for arch, info in manifest.get("colorizers", {}).items():
        if info.get("input", "features") == "features":
            inputs = feats[:-1]
        else:  # the paper's network reads L itself
            inputs = [gray]
        for name, entry in info.get("models", {}).items():
            export(f"colorizer/{arch}/{name}", entry, inputs)
    import tensorflow as tf

    manifest["litert"] = {
        "weights": weights,
        "converter": f"tensorflow {tf.__version__}",
        "parity": parity,
    }
    write_manifest(root, manifest)
    return parity


def ship(root: str | Path, progress: Any = None) -> dict[str, dict[str, float]]:
    """Make a models folder ready to ship: its ``.keras`` weights stored as float16
    (:func:`core.store.halve_keras_file`; idempotent) and every model exported to LiteRT
    with float16 weights. Returns the parity numbers (as :func:`export_models`).

    The training pipeline calls this on the folder it assembles; ``python main.py
    export-litert --half-keras`` does the same on an existing folder.
    """
    from core.store import halve_keras_file

    root = Path(root)
    for entry in ModelStore(root, backend="tf").model_entries():
        halve_keras_file(root / entry["file"])
    return export_models(root, weights="float16", progress=progress)
