"""The LiteRT backend: export beside the Keras files, parity, fallback, no TensorFlow.

The Keras models are the source of truth; the ``.tflite`` exports must give
the same colours (within float16 rounding of the weights) and the LiteRT path
must not import TensorFlow or Keras at all (that is its whole point: seconds
of start-up).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from skimage import data

from core import backend
from core.engine import Colorizer
from core.nets.decoder import build_decoder
from core.store import ModelStore, save_model
from tests.modelsets import CHANNELS, make_model_set

pytest.importorskip("ai_edge_litert")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return np.ascontiguousarray(data.astronaut()[::4, ::3])  # 128x171


@pytest.fixture(scope="module")
def exact_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """universal + dog, exported with float32 weights: LiteRT must match Keras closely."""
    return make_model_set(tmp_path_factory.mktemp("lite32"), categories=("dog",), seed=3,
                          litert=True, weights="float32")


def test_export_lists_every_model_in_the_manifest(models_dir: Path) -> None:
    manifest = json.loads((models_dir / "manifest.json").read_text())
    store = ModelStore(models_dir)
    entries = store.model_entries()
    assert len(entries) == 2 + len(store.colorizers())
    for entry in entries:
        assert entry["tflite"] == entry["file"].replace(".keras", ".tflite")
        assert (models_dir / entry["tflite"]).stat().st_size > 0
    lite = manifest["litert"]
    assert lite["weights"] == "float16"
    assert set(lite["parity"]) == {"encoder", "classifier"} | {
        f"colorizer/tinct/{n}" for n in store.colorizers()}


def test_litert_matches_keras_end_to_end(exact_dir: Path, photo: np.ndarray) -> None:
    tf_cz, lite_cz = Colorizer(exact_dir, backend="tf"), Colorizer(exact_dir, backend="litert")
    for category in ("auto", "dog", "person"):
        a = tf_cz.colorize(photo, category=category)
        b = lite_cz.colorize(photo, category=category)
        assert b.models_used == a.models_used and b.category == a.category
        assert max(abs(a.confidences[c] - b.confidences[c]) for c in a.confidences) < 1e-5
        assert np.abs(a.rgb - b.rgb).max() < 1e-4
    assert lite_cz.store.encoder().backend == "litert"
    assert tf_cz.store.encoder().backend == "tf"
    assert lite_cz.device == "CPU (LiteRT)" and not lite_cz.store.notes
    parity = json.loads((exact_dir / "manifest.json").read_text())["litert"]["parity"]
    for numbers in parity.values():
        assert numbers["max_abs_diff"] <= 1e-4 * max(1.0, numbers["max_abs_output"])


def test_float16_weights_stay_within_a_level(models_dir: Path, tiny_colorizer: Colorizer,
                                             photo: np.ndarray) -> None:
    """The shipped default: float16 weights in the .tflite; colours move < 1/255."""
    tf_cz = Colorizer(models_dir, backend="tf")
    for category in ("auto", "dog"):
        a = tf_cz.colorize(photo, category=category).rgb
        b = tiny_colorizer.colorize(photo, category=category).rgb
        assert tiny_colorizer.store.colorizer("dog").backend == "litert"
        assert np.abs(a - b).max() < 1 / 255


def test_missing_tflite_falls_back_to_tensorflow_and_says_so(
        tmp_path: Path, photo: np.ndarray) -> None:
    root = make_model_set(tmp_path / "m", categories=("dog",), seed=4)  # no .tflite
    cz = Colorizer(root, backend="litert")
    r = cz.colorize(photo, category="dog")
    assert r.rgb.shape == photo.shape
    assert cz.store.encoder().backend == "tf"
    assert any("encoder" in n and "no .tflite" in n for n in cz.store.notes)
    assert any("colorizer/tinct/dog" in n for n in cz.store.notes)
    assert "TensorFlow" in cz.device


def test_a_deleted_tflite_falls_back_for_that_model_only(
        tmp_path: Path, exact_dir: Path, photo: np.ndarray) -> None:
    import shutil

    root = tmp_path / "m"
    shutil.copytree(exact_dir, root)
    (root / "tinct_dog.tflite").unlink()
    cz = Colorizer(root, backend="litert")
    cz.colorize(photo, category="dog")
    assert cz.store.encoder().backend == "litert"
    assert cz.store.colorizer("dog").backend == "tf"
    assert [n for n in cz.store.notes if "missing" in n] and len(cz.store.notes) == 1


def test_backend_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(backend.BACKEND_ENV, raising=False)
    assert backend.resolve_backend("tf") == "tf"
    assert backend.resolve_backend("litert") == "litert"
    monkeypatch.setattr(backend, "gpu_present", lambda: True)
    assert backend.resolve_backend("auto") == "tf"
    monkeypatch.setattr(backend, "gpu_present", lambda: False)
    assert backend.resolve_backend(None) == "litert"
    monkeypatch.setenv(backend.BACKEND_ENV, "tf")
    assert backend.resolve_backend(None) == "tf"
    with pytest.raises(ValueError, match="backend must be one of"):
        backend.resolve_backend("onnx")


def test_runner_refuses_other_input_sizes(exact_dir: Path) -> None:
    enc = ModelStore(exact_dir, backend="litert").encoder()
    assert len(enc(np.zeros((3, 64, 64, 1), np.float32))[0]) == 3  # any batch size
    with pytest.raises(ValueError, match="exported for inputs"):
        enc(np.zeros((1, 96, 96, 1), np.float32))


def test_half_keras_file_loads_rounded_weights(tmp_path: Path) -> None:
    model = build_decoder(widths=(16, 16, 16, 16), feature_channels=CHANNELS)
    save_model(model, tmp_path, "full.keras")
    save_model(model, tmp_path, "half.keras", half=True)
    from core.backend import keras

    half = keras().saving.load_model(tmp_path / "half.keras", compile=False)
    big = 0
    for w, h in zip(model.weights, half.weights):
        w, h = np.asarray(w), np.asarray(h)
        assert h.dtype == np.float32
        if w.size >= 1024:
            big += 1
            np.testing.assert_array_equal(h, w.astype(np.float16).astype(np.float32))
        else:
            np.testing.assert_array_equal(h, w)
    assert big > 0
    assert (tmp_path / "half.keras").stat().st_size < 0.7 * (tmp_path / "full.keras").stat().st_size


def test_litert_colorize_imports_no_tensorflow(models_dir: Path, tmp_path: Path) -> None:
    """A CLI colorize on the LiteRT path, in a fresh process: neither TensorFlow nor Keras."""
    import cv2

    photo = tmp_path / "in.jpg"
    cv2.imwrite(str(photo), np.ascontiguousarray(data.camera()[::4, ::4]))
    code = (
        "import sys, json\n"
        "from core.cli import main\n"
        f"rc = main(['colorize', {str(photo)!r}, '-o', {str(tmp_path / 'out')!r}, "
        f"'--models', {str(models_dir)!r}, '--backend', 'litert'])\n"
        "print(json.dumps({'rc': rc, 'mods': sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'))}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != backend.BACKEND_ENV}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"rc": 0, "mods": []}, proc.stderr
    assert (tmp_path / "out" / "in_color.jpg").is_file()
    assert "XNNPACK" not in proc.stderr and "TensorFlow" not in proc.stderr
