"""The paper's preprocessing for any folder of category sub-folders.

Square centre crop, resize to 256x256, drop grayscale photos (nothing to
learn colour from) and near-duplicates (they would leak between splits),
then a random but seeded, disjoint train / validation / test split per
category. The test split also gets gray|colour pairs side by side to look at.
Our photos or a user's own: the layout is ``SRC/<category>/*.<image>``, plus an
optional ``SRC/general/`` of photos that are none of the categories (split the
same way; its held-out part is the general validation / test set).

Two rules keep the splits honest as a collection grows:
- one photo in several categories (the same file bytes) lands in the same
  split for every one of them, so its test copy was never trained on under
  another label; the index gives its rows one ``group``;
- with ``keep_splits`` (an earlier run's index.csv), every photo listed there
  keeps its split, and only new photos are drawn, so that the category keeps
  its fractions: the test photos of models trained on the earlier split stay
  unseen by them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from core import lab
from core.categories import CATEGORIES, GENERAL
from core.filesafe import atomic_text, atomic_write
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
    group: str = ""  # rows of the same photo (in several categories) share it

    def __post_init__(self) -> None:
        self.group = self.group or self.file


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
    keep_splits: str | Path | None = None,
) -> list[Prepared]:
    """Build ``out/images``, ``out/test_pairs`` and ``out/index.csv`` from ``src``.

    ``keep_splits``: an earlier index.csv whose photos keep their split.
    """
    src, out = Path(src), Path(out)
    if not src.is_dir():
        raise FileNotFoundError(f"{src}: no such folder of category sub-folders")
    earlier: dict[str, str] = {}
    if keep_splits is not None:
        keep_splits = Path(keep_splits)
        index_file = keep_splits / INDEX if keep_splits.is_dir() else keep_splits
        if not index_file.is_file():
            raise FileNotFoundError(f"{index_file}: no such index to keep the splits of")
        earlier = {r.file: r.split for r in _read_rows(index_file)}
    rng = np.random.default_rng(seed)
    rows: list[Prepared] = []
    folders = []
    for folder in sorted(p for p in src.iterdir() if p.is_dir()):
        if folder.name not in CATEGORIES and folder.name != GENERAL:
            log(f"skipped folder {folder}: '{folder.name}' is not a Tinct category")
            continue
        files = sorted(
            p for p in folder.iterdir() if p.suffix.lower() in SUPPORTED_SUFFIXES
        )
        folders.append((folder.name, files))
    # photo (file bytes) -> split, across categories; kept splits first, so a photo
    # that is new in one category but kept in another follows the kept one.
    group_split: dict[str, str] = {}
    for category, files in folders:
        for path in files:
            rel = (Path("images") / category / f"{path.stem}.webp").as_posix()
            if rel in earlier:
                group_split.setdefault(_content_group(path), earlier[rel])
    n_kept_split = 0
    for category, files in folders:
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
        rels = [(Path("images") / category / f"{path.stem}.webp").as_posix()
                for path, _ in kept]
        groups = [_content_group(path) for path, _ in kept]
        fixed: dict[int, str] = {}
        for i, (rel, group) in enumerate(zip(rels, groups)):
            if rel in earlier:
                fixed[i] = earlier[rel]
                n_kept_split += 1
            elif group in group_split:
                fixed[i] = group_split[group]
        split_of = draw_splits(len(kept), fixed, fractions, rng)
        for idx, (path, rgb) in enumerate(kept):
            rel = Path(rels[idx])
            dest = out / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix.lower() == ".webp" and _is_square(path, SIZE):
                shutil.copyfile(path, dest)  # already prepared: no second lossy pass
            else:
                _save_atomic(Image.fromarray(rgb), dest, "WEBP", quality=95)
            split = split_of[idx]
            group_split.setdefault(groups[idx], split)
            rows.append(Prepared(rel.as_posix(), category, split, str(path), groups[idx]))
            if split == "test":
                pair = out / "test_pairs" / category / f"{path.stem}.jpg"
                pair.parent.mkdir(parents=True, exist_ok=True)
                gray = (lab.gray_rgb(lab.luminance(rgb)) * 255 + 0.5).astype(np.uint8)
                both = np.concatenate([np.repeat(gray[..., None], 3, -1), rgb], axis=1)
                _save_atomic(Image.fromarray(both), pair, "JPEG", quality=90)
        shared = sum(1 for i in fixed if rels[i] not in earlier)
        log(
            f"{category}: {len(kept)} kept ({n_gray} gray, {len(dups)} duplicates, "
            f"{n_bad} unreadable dropped)"
            + (f", {shared} filed in another category too (same split)" if shared else "")
        )
    if keep_splits is not None:
        log(f"{n_kept_split} photos kept their split from {keep_splits}")
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(["file", "category", "split", "source", "group"])
    for r in rows:
        w.writerow([r.file, r.category, r.split, r.source, r.group])
    atomic_text(out / INDEX, buf.getvalue())
    return rows


def draw_splits(n: int, fixed: dict[int, str], fractions: tuple[float, float, float],
                rng: np.random.Generator) -> dict[int, str]:
    """Splits for ``n`` photos of one category: ``fixed`` ones keep theirs, the rest are
    drawn (one permutation of ``rng``) so the category gets test and validation
    fractions of ``n`` as far as the fixed ones allow. With nothing fixed this is
    a plain seeded permutation cut into test, val, train.
    """
    n_test = round(n * fractions[2]) - sum(s == "test" for s in fixed.values())
    n_val = round(n * fractions[1]) - sum(s == "val" for s in fixed.values())
    n_test, n_val = max(0, n_test), max(0, n_val)
    free = [i for i in range(n) if i not in fixed]
    out = dict(fixed)
    for rank, j in enumerate(rng.permutation(len(free))):
        out[free[j]] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
    return out


def _content_group(path: Path) -> str:
    """Identity of a photo's file bytes: the same photo filed in two categories."""
    return hashlib.sha1(path.read_bytes()).hexdigest()[:16]


def read_index(prepared: str | Path) -> list[Prepared]:
    return _read_rows(Path(prepared) / INDEX)


def _read_rows(index: Path) -> list[Prepared]:
    """Rows of an index.csv (one written before groups existed reads too)."""
    with index.open(newline="", encoding="utf-8") as f:
        return [Prepared(**row) for row in csv.DictReader(f)]


def _is_square(path: Path, size: int) -> bool:
    with Image.open(path) as im:
        return im.size == (size, size)


def _save_atomic(image: Image.Image, dest: Path, fmt: str, **kw) -> None:
    atomic_write(dest, lambda f: image.save(f, fmt, **kw))
