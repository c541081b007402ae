"""Tinct's default colorizer: a light decoder over frozen backbone features.

One pass of the pretrained EfficientNet-Lite encoder serves both the
classifier and every colorizer (Deep Koalarization fuses a pretrained
classifier the same way), so a category's own weights are only this decoder:
~0.5 M parameters (~2 MB) instead of the paper's 3.9 M. The decoder climbs
the encoder's stride-32/16/8/4 features U-Net style and predicts, at stride 4,
either a distribution over the quantised ab gamut (``head="bins"``, trained
with class-rebalanced cross-entropy, decoded by annealed mean: vivid colour)
or ab directly (``head="regression"``, the paper's MSE).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core import lab
from core.backend import keras

ARCHITECTURE = "tinct-decoder"
HEADS = ("bins", "regression")
#: Channels of the encoder features the decoder reads (EfficientNet-Lite0).
FEATURE_CHANNELS = (24, 40, 112, 320)
#: Encoder strides of those features.
FEATURE_STRIDES = (4, 8, 16, 32)


def build_decoder(
    head: str = "bins",
    widths: Sequence[int] = (128, 128, 96, 64),
    feature_channels: Sequence[int] = FEATURE_CHANNELS,
    size: int = 256,
    name: str = "decoder",
):
    """Build the decoder: features [s4, s8, s16, s32] -> ab logits or ab."""
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, not {head!r}")
    k = keras()
    L = k.layers
    c4, c8, c16, c32 = feature_channels
    del size  # fully convolutional: any input whose side is a multiple of 32
    inputs = [
        L.Input((None, None, c), name=f"s{s}")
        for s, c in zip(FEATURE_STRIDES, (c4, c8, c16, c32))
    ]
    s4, s8, s16, s32 = inputs

    def conv_bn(x, filters: int, kernel: int, separable: bool = False, tag: str = ""):
        conv = L.SeparableConv2D if separable else L.Conv2D
        x = conv(filters, kernel, padding="same", use_bias=False, name=f"{tag}_conv")(x)
        x = L.BatchNormalization(name=f"{tag}_bn")(x)
        return L.ReLU(name=f"{tag}_relu")(x)

    x = conv_bn(s32, widths[0], 1, tag="d32")
    x = L.UpSampling2D(2, interpolation="bilinear", name="up16")(x)
    x = L.Concatenate(name="cat16")([x, s16])
    x = conv_bn(x, widths[1], 3, tag="d16")
    x = L.UpSampling2D(2, interpolation="bilinear", name="up8")(x)
    x = L.Concatenate(name="cat8")([x, s8])
    x = conv_bn(x, widths[2], 3, tag="d8")
    x = L.UpSampling2D(2, interpolation="bilinear", name="up4")(x)
    x = L.Concatenate(name="cat4")([x, s4])
    x = conv_bn(x, widths[3], 3, separable=True, tag="d4a")
    x = conv_bn(x, widths[3], 3, separable=True, tag="d4b")
    if head == "bins":
        out = L.Conv2D(len(lab.ab_bins()), 1, name="ab_logits", dtype="float32")(x)
    else:
        out = L.Conv2D(2, 1, activation="tanh", name="ab", dtype="float32")(x)
    return k.Model(inputs, out, name=name)


def rebalanced_bins_loss(class_weights: np.ndarray, sigma: float = 5.0):
    """Zhang et al.'s loss: soft-encoded ab targets, cross-entropy, rebalanced.

    ``y_true`` is ab in Lab units (B, H, W, 2); ``y_pred`` the bin logits.
    Rare (saturated) colours weigh more, so the net stops hedging to brown.
    """
    k = keras()
    ops = k.ops
    bins = ops.convert_to_tensor(lab.ab_bins())
    weights = ops.convert_to_tensor(np.asarray(class_weights, np.float32))
    inv = 1.0 / (2.0 * sigma * sigma)

    def loss(y_true, y_pred):
        y_true = ops.cast(y_true, "float32")
        d2 = ops.sum(ops.square(ops.expand_dims(y_true, -2) - bins), axis=-1)
        target = ops.softmax(-d2 * inv, axis=-1)
        w = ops.take(weights, ops.argmin(d2, axis=-1))
        logp = ops.log_softmax(ops.cast(y_pred, "float32"), axis=-1)
        ce = -ops.sum(target * logp, axis=-1)
        return ops.mean(ce * w, axis=(1, 2))

    return loss


def class_rebalance_weights(
    ab_samples: np.ndarray, lam: float = 0.5, sigma: float = 5.0
) -> np.ndarray:
    """Per-bin weights ~ 1 / ((1-lam) * smoothed prior + lam / Q), mean 1 under the prior."""
    bins = lab.ab_bins()
    prior = lab.smoothed_ab_prior(ab_samples, sigma)
    w = 1.0 / ((1 - lam) * prior + lam / len(bins))
    w /= (prior * w).sum()
    return w.astype(np.float32)
