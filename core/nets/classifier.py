"""The category classifier: a pretrained backbone with its top replaced.

As in the paper: backbone -> global average pool -> batch norm -> dropout ->
dense softmax over the categories. With the default EfficientNet-Lite0 the
backbone is Tinct's shared encoder, so only this small head is stored and
the encoder's one pass serves the colorizers too.
"""

from __future__ import annotations

from core.backend import keras
from core.categories import CATEGORIES

ARCHITECTURE = "gap-bn-dropout-dense"


def _top(x, num_classes: int, dropout: float):
    """The paper's replaced top: batch norm, dropout, dense softmax."""
    L = keras().layers
    x = L.BatchNormalization(name="bn")(x)
    x = L.Dropout(dropout, name="dropout")(x)
    return L.Dense(num_classes, activation="softmax", name="probs", dtype="float32")(x)


def build_head(
    channels: int = 1280,
    num_classes: int = len(CATEGORIES),
    dropout: float = 0.3,
    name: str = "classifier_head",
):
    """Head over the backbone's last feature map (any spatial size)."""
    k = keras()
    inp = k.layers.Input((None, None, channels), name="head_features")
    pooled = k.layers.GlobalAveragePooling2D(name="gap")(inp)
    return k.Model(inp, _top(pooled, num_classes, dropout), name=name)


def build_pooled_head(
    channels: int = 1280,
    num_classes: int = len(CATEGORIES),
    dropout: float = 0.3,
    name: str = "classifier_head_pooled",
):
    """The same head fed already-pooled features (training on cached features)."""
    k = keras()
    inp = k.layers.Input((channels,), name="pooled_features")
    return k.Model(inp, _top(inp, num_classes, dropout), name=name)


def head_from_pooled(pooled, name: str = "classifier_head"):
    """Turn a head trained on pooled features into one over feature maps."""
    head = build_head(
        channels=pooled.input_shape[-1],
        num_classes=pooled.output_shape[-1],
        dropout=pooled.get_layer("dropout").rate,
        name=name,
    )
    for layer in ("bn", "probs"):
        head.get_layer(layer).set_weights(pooled.get_layer(layer).get_weights())
    return head
