"""Loading a prepared split into arrays the trainers and the evaluation share."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from core import lab
from core.categories import CATEGORIES
from core.training.prepare import read_index

#: The decoders predict ab at stride 4 of the 256 px input.
TARGET_STRIDE = 4


@dataclass
class Split:
    """Photos of one split: uint8 RGB (N, 256, 256, 3) and category indices."""

    images: np.ndarray
    labels: np.ndarray
    files: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, mask: np.ndarray) -> Split:
        idx = np.nonzero(mask)[0]
        return Split(self.images[idx], self.labels[idx], [self.files[i] for i in idx])

    def of_category(self, category: str) -> Split:
        return self.subset(self.labels == CATEGORIES.index(category))


def load_split(
    prepared: str | Path, split: str, limit_per_category: int | None = None
) -> Split:
    """Decode every photo of ``split`` (threads: Pillow releases the GIL)."""
    prepared = Path(prepared)
    rows = [r for r in read_index(prepared) if r.split == split]
    if limit_per_category is not None:
        counts: dict[str, int] = {}
        keep = []
        for r in rows:
            if counts.get(r.category, 0) < limit_per_category:
                counts[r.category] = counts.get(r.category, 0) + 1
                keep.append(r)
        rows = keep
    rows = [r for r in rows if (prepared / r.file).is_file()]  # a partial copy trains too

    def read(rel: str) -> np.ndarray:
        with Image.open(prepared / rel) as im:
            return np.asarray(im.convert("RGB"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        images = list(pool.map(read, [r.file for r in rows]))
    arr = np.stack(images) if images else np.zeros((0, 256, 256, 3), np.uint8)
    labels = np.array([CATEGORIES.index(r.category) for r in rows], np.int32)
    return Split(arr, labels, [r.file for r in rows])


def gray_inputs(images: np.ndarray) -> np.ndarray:
    """What the encoder sees: the photo's lightness as neutral gray, (N, H, W, 1) 0..1."""
    out = np.empty(images.shape[:3] + (1,), np.float32)
    for i, im in enumerate(images):
        out[i, ..., 0] = lab.gray_rgb(lab.luminance(im))
    return out


def lightness_inputs(images: np.ndarray) -> np.ndarray:
    """The paper network's input: L scaled to 0..1, (N, H, W, 1)."""
    out = np.empty(images.shape[:3] + (1,), np.float32)
    for i, im in enumerate(images):
        out[i, ..., 0] = lab.l_to_net(lab.luminance(im))
    return out


def ab_targets(images: np.ndarray, stride: int = TARGET_STRIDE) -> np.ndarray:
    """ab (Lab units) area-averaged to 1/stride resolution, float16 (N, h, w, 2)."""
    n, h, w = images.shape[:3]
    out = np.empty((n, h // stride, w // stride, 2), np.float16)
    for i, im in enumerate(images):
        ab = lab.rgb_to_lab(im)[..., 1:]
        if stride != 1:
            ab = cv2.resize(ab, (w // stride, h // stride), interpolation=cv2.INTER_AREA)
        out[i] = ab
    return out


def with_flips(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Append horizontally mirrored copies (the only augmentation that keeps colour true)."""
    return tuple(np.concatenate([a, a[:, :, ::-1]], axis=0) for a in arrays)
