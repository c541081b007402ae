"""Benchmark photos made from the repo's own figures (no download, no scikit-image).

``docs/figures/<category>.jpg`` are strips of 256 px panels whose first panel
is a real colour photo; each benchmark photo is one of those, cropped to the
requested aspect, upscaled (cv2.INTER_CUBIC) and turned into a faded, slightly
sepia, grainy "old print" so that its JPEG carries real-photo entropy.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "docs" / "figures"
#: 1 MP and 12 MP, (width, height).
SIZES: dict[str, tuple[int, int]] = {"1 MP": (1224, 816), "12 MP": (4000, 3000)}


def sources() -> list[str]:
    """Names of the figures whose first panel serves as a source photo."""
    return sorted(p.stem for p in FIGURES.glob("*.jpg"))


def source_photo(name: str) -> np.ndarray:
    """The first (true-colour) 256 px panel of ``docs/figures/<name>.jpg``, RGB uint8."""
    bgr = cv2.imread(str(FIGURES / f"{name}.jpg"), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(f"{FIGURES / name}.jpg: not readable")
    side = bgr.shape[0]
    return np.ascontiguousarray(bgr[:, :side, ::-1])


def old_photo(source: str, size: tuple[int, int], seed: int = 0, sepia: bool = True
              ) -> np.ndarray:
    """An RGB uint8 'old print' of ``size`` (w, h) from a source photo."""
    img = source_photo(source)
    w, h = size
    sh, sw = img.shape[:2]
    aspect = w / h
    if sw / sh > aspect:  # crop the sides
        cw = int(round(sh * aspect))
        x0 = (sw - cw) // 2
        img = img[:, x0:x0 + cw]
    else:
        ch = int(round(sw / aspect))
        y0 = (sh - ch) // 2
        img = img[y0:y0 + ch]
    big = cv2.resize(np.ascontiguousarray(img), (w, h), interpolation=cv2.INTER_CUBIC)
    g = cv2.cvtColor(big, cv2.COLOR_RGB2GRAY).astype(np.float32)
    rng = np.random.default_rng(seed)
    g = g * np.float32(0.8) + np.float32(22.0)  # faded: lifted blacks, dull whites
    yy, xx = np.ogrid[-1.0:1.0:h * 1j, -1.0:1.0:w * 1j]
    g *= (1.0 - 0.18 * (xx**2 + yy**2)).astype(np.float32)  # vignette
    grain = rng.normal(0.0, 1.0, (h // 2 + 1, w // 2 + 1)).astype(np.float32)
    grain = cv2.resize(grain, (w, h), interpolation=cv2.INTER_LINEAR)[:h, :w]
    g += grain * np.float32(4.0) + rng.normal(0.0, 1.5, (h, w)).astype(np.float32)
    if sepia:  # a mild warm tone, as most prints have aged
        tone = np.array([1.04, 0.97, 0.84], np.float32)
        rgb = g[..., None] * tone + np.array([6.0, 3.0, 0.0], np.float32)
    else:
        rgb = np.repeat(g[..., None], 3, axis=-1)
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


def write_jpeg(path: Path, rgb: np.ndarray, quality: int = 90) -> Path:
    from PIL import Image

    Image.fromarray(rgb, "RGB").save(path, "JPEG", quality=quality)
    return path


def make_folder(folder: Path, count: int, size: tuple[int, int], seed: int = 100) -> Path:
    """``count`` old prints of ``size`` (every third one portrait) as JPEGs in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    names = sources()
    w, h = size
    for i in range(count):
        src = names[i % len(names)]
        rgb = old_photo(src, (w, h) if i % 3 else (h, w), seed=seed + i, sepia=i % 4 != 3)
        write_jpeg(folder / f"{i:04d}_{src}.jpg", rgb)
    return folder
