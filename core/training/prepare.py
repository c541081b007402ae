"""The paper's preprocessing for any folder of category sub-folders.

Square centre crop, resize to 256x256, drop grayscale photos (nothing to
learn colour from) and near-duplicates (they would leak between splits),
then a random but seeded, disjoint train / validation / test split per
category. The test split also gets gray|colour pairs side by side to look at.
Our photos or a user's own: the layout is ``SRC/<category>/*.<image>``.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from core import lab
from core.categories import CATEGORIES
from core.photo import SUPPORTED_SUFFIXES, PhotoError, load_photo

SIZE = 256
SPLITS = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.75, 0.10, 0.15)
#: Mean |R-G| + |G-B| on a 64 px thumbnail below which a photo counts as gray.
GRAY_THRESHOLD = 6.0
#: dHash Hamming distance at or below which two photos may be duplicates...
DUP_HAMMING = 4
#: ...if their 8x8 colour thumbnails also agree this well (mean abs, 0..255).
DUP_COLOUR = 12.0
INDEX = "index.csv"


@dataclass
class Prepared:
    file: str  # relative to the prepared folder
    category: str
    split: str
    source: str


def square_resize(rgb: np.ndarray, size: int = SIZE) -> np.ndarray:
    """Largest centred square, resized to ``size`` (area filter when shrinking)."""
    h, w = rgb.shape[:2]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    crop = rgb[y : y + s, x : x + s]
    if s == size:
        return np.ascontiguousarray(crop)
    interp = cv2.INTER_AREA if s > size else cv2.INTER_CUBIC
    return cv2.resize(crop, (size, size), interpolation=interp)


def is_grayscale(rgb: np.ndarray) -> bool:
    """True when the photo has (almost) no colour to learn from."""
    t = cv2.resize(rgb, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32)
    spread = np.abs(t[..., 0] - t[..., 1]) + np.abs(t[..., 1] - t[..., 2])
    return float(spread.mean()) < GRAY_THRESHOLD


def dhash(rgb: np.ndarray) -> int:
    """64-bit difference hash of the luminance."""
    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    small = cv2.resize(g, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    bits = (small[:, 1:] > small[:, :-1]).ravel()
    return int(np.packbits(bits).view(">u8")[0])


def find_duplicates(hashes: np.ndarray, thumbs: np.ndarray) -> set[int]:
    """Indices to drop so no two kept photos are near-duplicates (first one kept)."""
    table = np.array([bin(i).count("1") for i in range(256)], np.uint8)
    as_bytes = hashes.astype(">u8").view(np.uint8).reshape(-1, 8)
    drop: set[int] = set()
    for i in range(len(hashes)):
        if i in drop:
            continue
        rest = slice(i + 1, len(hashes))
        dist = table[as_bytes[rest] ^ as_bytes[i]].sum(axis=1)
        for j in np.nonzero(dist <= DUP_HAMMING)[0] + i + 1:
            if j not in drop and np.abs(thumbs[j] - thumbs[i]).mean() < DUP_COLOUR:
                drop.add(int(j))
    return drop


def prepare(
    src: str | Path,
    out: str | Path,
    seed: int = 0,
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
    log: Callable[[str], None] = print,
) -> list[Prepared]:
    """Build ``out/images``, ``out/test_pairs`` and ``out/index.csv`` from ``src``."""
    src, out = Path(src), Path(out)
    if not src.is_dir():
        raise FileNotFoundError(f"{src}: no such folder of category sub-folders")
    rng = np.random.default_rng(seed)
    rows: list[Prepared] = []
    for folder in sorted(p for p in src.iterdir() if p.is_dir()):
        category = folder.name
        if category not in CATEGORIES:
            log(f"skipped folder {folder}: '{category}' is not a Tinct category")
            continue
        files = sorted(
            p for p in folder.iterdir() if p.suffix.lower() in SUPPORTED_SUFFIXES
        )
        kept, hashes, thumbs = [], [], []
        n_gray = n_bad = 0
        for path in files:
            try:
                rgb = load_photo(path).rgb
            except PhotoError as exc:
                log(f"skipped {exc}")
                n_bad += 1
                continue
            if rgb.dtype != np.uint8:
                rgb = (rgb >> 8).astype(np.uint8)
            rgb = square_resize(rgb)
            if is_grayscale(rgb):
                n_gray += 1
                continue
            kept.append((path, rgb))
            hashes.append(dhash(rgb))
            thumbs.append(cv2.resize(rgb, (8, 8), interpolation=cv2.INTER_AREA).astype(np.float32))
        dups = find_duplicates(np.array(hashes, np.uint64), np.array(thumbs)) if kept else set()
        kept = [k for i, k in enumerate(kept) if i not in dups]
        order = rng.permutation(len(kept))
        n_test = round(len(kept) * fractions[2])
        n_val = round(len(kept) * fractions[1])
        split_of = {}
        for rank, idx in enumerate(order):
            split_of[idx] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
        for idx, (path, rgb) in enumerate(kept):
            rel = Path("images") / category / f"{path.stem}.webp"
            dest = out / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix.lower() == ".webp" and _is_square(path, SIZE):
                shutil.copyfile(path, dest)  # already prepared: no second lossy pass
            else:
                _save_atomic(Image.fromarray(rgb), dest, "WEBP", quality=95)
            split = split_of[idx]
            rows.append(Prepared(rel.as_posix(), category, split, str(path)))
            if split == "test":
                pair = out / "test_pairs" / category / f"{path.stem}.jpg"
                pair.parent.mkdir(parents=True, exist_ok=True)
                gray = (lab.gray_rgb(lab.luminance(rgb)) * 255 + 0.5).astype(np.uint8)
                both = np.concatenate([np.repeat(gray[..., None], 3, -1), rgb], axis=1)
                _save_atomic(Image.fromarray(both), pair, "JPEG", quality=90)
        log(
            f"{category}: {len(kept)} kept ({n_gray} gray, {len(dups)} duplicates, "
            f"{n_bad} unreadable dropped)"
        )
    index = out / INDEX
    tmp = index.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["file", "category", "split", "source"])
        for r in rows:
            w.writerow([r.file, r.category, r.split, r.source])
    os.replace(tmp, index)
    return rows


def read_index(prepared: str | Path) -> list[Prepared]:
    with (Path(prepared) / INDEX).open(newline="", encoding="utf-8") as f:
        return [Prepared(**row) for row in csv.DictReader(f)]


def _is_square(path: Path, size: int) -> bool:
    with Image.open(path) as im:
        return im.size == (size, size)


def _save_atomic(image: Image.Image, dest: Path, fmt: str, **kw) -> None:
    tmp = dest.with_name(f".{dest.name}.tmp")
    image.save(tmp, fmt, **kw)
    os.replace(tmp, dest)
