"""Does the colour help recognition? An ImageNet classifier that is not our encoder judges.

Right colour makes a photo easier to recognise; wrong colour (a green dog, a
pink sky) makes it harder than gray. The judge is EfficientNet-Lite2's full
ImageNet classifier: our encoder is Lite0, so a judge from the same weights
would reward colour that merely echoes the encoder's own features. For each
photo the judge's verdict on the real colour photo is the reference; a
colouring is scored by how often the judge's top-1 on it agrees, and by the
mean log-probability it gives the real photo's top class (a softer measure:
it moves before the top-1 flips).

The real photos' verdicts never change, so they are cached on disk.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from core import lab

#: The judge's backbone and the side it sees (our photos are 256 px; Lite2's native is 260).
JUDGE_VARIANT = "lite2"
JUDGE_SIZE = 256


class Judge(Protocol):
    """Anything that gives ImageNet log-probabilities (N, classes) for uint8 RGB photos."""

    name: str

    def log_probs(self, images: Sequence[np.ndarray]) -> np.ndarray: ...


class ImageNetJudge:
    """EfficientNet-Lite's ImageNet classifier (Lite2 by default), built once."""

    def __init__(self, variant: str = JUDGE_VARIANT, size: int = JUDGE_SIZE,
                 weights: str | None = "imagenet", batch: int = 16):
        from core.nets.efficientnet_lite import build_efficientnet_lite

        self.name = f"EfficientNet-{variant.capitalize()}"
        self.size = size
        self.batch = batch
        self._model = build_efficientnet_lite(variant, input_channels=3, include_top=True,
                                              weights=weights, classifier_activation=None,
                                              image_size=(size, size))

    def log_probs(self, images: Sequence[np.ndarray]) -> np.ndarray:
        out = []
        for i in range(0, len(images), self.batch):
            chunk = [_fit(im, self.size) for im in images[i : i + self.batch]]
            logits = np.asarray(self._model.predict_on_batch(
                np.stack(chunk).astype(np.float32) / 255.0), np.float64)
            out.append(log_softmax(logits))
        return np.concatenate(out) if out else np.zeros((0, 1000))


def _fit(image: np.ndarray, size: int) -> np.ndarray:
    image = to_uint8(image)
    if image.shape[:2] != (size, size):
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return image


def to_uint8(image: np.ndarray) -> np.ndarray:
    """A float 0..1 or uint8 RGB photo as uint8 (what a saved JPEG would hold)."""
    return lab.to_depth(image, 8)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


class Verdicts:
    """The judge's top class on each real photo, cached in a JSON file by photo name."""

    def __init__(self, judge: Judge, cache: Path | None = None):
        self.judge = judge
        self.cache = cache
        self._known: dict[str, int] = {}
        if cache is not None and cache.is_file():
            data = json.loads(cache.read_text(encoding="utf-8"))
            if data.get("judge") == judge.name:
                self._known = {k: int(v) for k, v in data["top1"].items()}

    def top1(self, names: Sequence[str], images: Sequence[np.ndarray]) -> np.ndarray:
        missing = [i for i, n in enumerate(names) if n not in self._known]
        if missing:
            lp = self.judge.log_probs([images[i] for i in missing])
            for i, row in zip(missing, lp):
                self._known[names[i]] = int(np.argmax(row))
            self._save()
        return np.array([self._known[n] for n in names], np.int64)

    def _save(self) -> None:
        if self.cache is None:
            return
        from core.filesafe import atomic_json

        self.cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_json(self.cache, {"judge": self.judge.name, "top1": self._known}, indent=None)


def recognition(log_probs: np.ndarray, real_top1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per photo: does the top-1 agree with the real photo's, and log p(real top class)."""
    agree = (np.argmax(log_probs, axis=-1) == real_top1).astype(np.float64)
    logp = log_probs[np.arange(len(real_top1)), real_top1]
    return agree, logp
