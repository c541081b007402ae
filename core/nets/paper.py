"""The paper's colorizer (Siswanto & Karnati, Fig. 3), exactly.

Twelve 3x3 convolutions, stride-2 convolutions instead of pooling, nearest
upsampling in the decoder, tanh ab output: 3,892,194 parameters for a
256x256x1 input. Input is L scaled by ``core.lab.l_to_net``, output is ab
scaled by ``core.lab.ab_to_net``.
"""

from __future__ import annotations

from core.backend import keras

ARCHITECTURE = "paper-fig3"
PARAMETERS = 3_892_194


def build_paper_colorizer(size: int = 256, name: str = "paper_colorizer"):
    """Build the Fig. 3 network (uncompiled)."""
    k = keras()
    layers = k.layers

    def conv(filters: int, strides: int = 1, activation: str = "relu"):
        return layers.Conv2D(
            filters, 3, strides=strides, padding="same", activation=activation
        )

    inp = layers.Input((size, size, 1), name="L")
    x = conv(64)(inp)
    x = conv(64, 2)(x)
    x = conv(128)(x)
    x = conv(128, 2)(x)
    x = conv(256)(x)
    x = conv(256, 2)(x)
    x = conv(512)(x)
    x = conv(256)(x)
    x = conv(128)(x)
    x = layers.UpSampling2D(2)(x)
    x = conv(64)(x)
    x = layers.UpSampling2D(2)(x)
    x = conv(32)(x)
    x = conv(2, activation="tanh")(x)
    out = layers.UpSampling2D(2, name="ab")(x)
    return k.Model(inp, out, name=name)
