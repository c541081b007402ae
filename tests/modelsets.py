"""Small randomly initialised model sets for tests (trained weights are not needed).

They use the real decoder and classifier-head builders and a tiny random
encoder with the real encoder's interface (features at strides 4/8/16/32 and
a head map), so every code path of the engine runs, fast.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from core.backend import keras
from core.categories import CATEGORIES, CLASSIFIER_OUTPUTS, NO_DATA
from core.nets.classifier import build_head
from core.nets.decoder import build_decoder
from core.store import save_model_set

SIZE = 64
CHANNELS = (4, 6, 8, 10)
HEAD = 12


def tiny_encoder(size: int = SIZE):
    """Random conv net: gray (size, size, 1) in 0..1 -> [s4, s8, s16, s32, head]."""
    k = keras()
    L = k.layers
    inp = L.Input((size, size, 1), name="gray")
    x = L.Conv2D(4, 3, strides=2, padding="same", activation="relu")(inp)
    outs = []
    for c, s in zip(CHANNELS, (4, 8, 16, 32)):
        x = L.Conv2D(c, 3, strides=2, padding="same", activation="relu", name=f"s{s}")(x)
        outs.append(x)
    outs.append(L.Conv2D(HEAD, 1, activation="relu", name="head")(x))
    return k.Model(inp, outs, name="tiny_encoder")


def make_model_set(
    root: Path, categories: tuple[str, ...] | None = None, head: str = "bins", seed: int = 0,
    none_output: bool = False,
    litert: bool = False, weights: str = "float16",
) -> Path:
    """Write a random model set: universal + ``categories`` (default: all with data).

    ``none_output``: the classifier has the extra "none of the categories" output.
    ``litert``: also export the ``.tflite`` files (as the training pipeline
    does; ~1 s a model); without them the LiteRT backend falls back to TensorFlow.
    """
    k = keras()
    k.utils.set_random_seed(seed)
    if categories is None:
        categories = tuple(c for c in CATEGORIES if c not in NO_DATA)
    names = ("universal", *categories)
    colorizers = {
        n: build_decoder(head, widths=(8, 8, 8, 8), feature_channels=CHANNELS, size=SIZE, name=n)
        for n in names
    }
    save_model_set(
        root,
        encoder=tiny_encoder(),
        classifier=build_head(channels=HEAD, num_classes=len(CLASSIFIER_OUTPUTS if none_output
                                                              else CATEGORIES)),
        colorizers=colorizers,
        colorizer_info={"architecture": "tinct-decoder", "head": head, "input": "features"},
        encoder_info={"architecture": "tiny-random"},
        input_size=SIZE,
    )
    if litert:
        from core.litert import export_models

        export_models(root, weights=weights)
    return root


class ThumbJudge:
    """A deterministic stand-in for evaluate's ImageNet judge (colour thumbnails, fixed weights)."""

    name = "thumb-judge"

    def __init__(self) -> None:
        self.calls = 0
        self.w = np.random.default_rng(0).normal(size=(4 * 4 * 3, 10))

    def log_probs(self, images):
        self.calls += len(images)
        x = np.stack([cv2.resize(np.asarray(im, np.float32) / 255.0, (4, 4),
                                 interpolation=cv2.INTER_AREA).ravel() for im in images])
        from core.training.recognition import log_softmax

        return log_softmax(x @ self.w * 10)
