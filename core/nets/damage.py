"""The damage detector: a tiny U-Net that labels each pixel of a print's lightness.

Small on purpose (~60 k parameters, ~0.25 MB): trainable on 2 CPU cores in
minutes and fast enough to run over a 12 MP scan's working copy in tiles. Its
output classes are :mod:`core.oldprint`'s kinds (0 none, 1 line, 2 dust,
3 tear, 4 stain), the labels it was trained on.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.backend import keras

ARCHITECTURE = "tinct-damage-unet"
#: what the detector outputs, by channel (the labels of core.oldprint)
CLASSES = ("none", "line", "dust", "tear", "stain")
#: the input side must be a multiple of this (three halvings)
MULTIPLE = 8


def build_detector(widths: Sequence[int] = (12, 24, 32, 48), name: str = "damage"):
    """Gray (H, W, 1) in 0..1 -> per-pixel softmax over :data:`CLASSES`."""
    k = keras()
    L = k.layers
    w1, w2, w3, w4 = widths

    def conv(x, filters: int, tag: str, dilation: int = 1, stride: int = 1):
        x = L.Conv2D(filters, 3, strides=stride, padding="same", dilation_rate=dilation,
                     use_bias=False, name=f"{tag}_conv")(x)
        x = L.BatchNormalization(name=f"{tag}_bn")(x)
        return L.ReLU(name=f"{tag}_relu")(x)

    inp = L.Input((None, None, 1), name="gray")
    x = L.Rescaling(2.0, offset=-1.0, name="scale")(inp)
    e1 = conv(conv(x, w1, "e1a"), w1, "e1b")
    e2 = conv(conv(e1, w2, "e2a", stride=2), w2, "e2b")
    e3 = conv(conv(e2, w3, "e3a", stride=2), w3, "e3b")
    e4 = conv(e3, w4, "e4a", stride=2)
    e4 = conv(e4, w4, "e4b", dilation=2)  # context: is this line a crack or an edge?
    e4 = conv(e4, w4, "e4c", dilation=4)
    d = e4
    for skip, width, tag in ((e3, w3, "d3"), (e2, w2, "d2"), (e1, w1, "d1")):
        d = L.UpSampling2D(2, interpolation="bilinear", name=f"{tag}_up")(d)
        d = L.Concatenate(name=f"{tag}_cat")([d, skip])
        d = conv(d, width, tag)
    out = L.Conv2D(len(CLASSES), 1, activation="softmax", name="classes")(d)
    return k.Model(inp, out, name=name)
