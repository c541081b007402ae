"""Loading a prepared split into arrays the trainers and the evaluation share."""

from __future__ import annotations

import csv
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from core import lab
from core.categories import CLASSIFIER_OUTPUTS, GENERAL, label_of
from core.training.prepare import read_index, square_resize

#: The decoders predict ab at stride 4 of the 256 px input.
TARGET_STRIDE = 4
#: Which rows ``load_split`` reads: the categories' photos, the general pool, or both.
POOLS = ("categories", "general", "all")


@dataclass
class Split:
    """Photos of one split: uint8 RGB (N, 256, 256, 3) and class indices.

    ``labels`` is each row's own class (``len(CATEGORIES)`` for a general photo);
    ``label_sets`` (N, len(CLASSIFIER_OUTPUTS)) bool marks every class the same
    photo is filed under (a photo in autumn and forest is right as either).
    """

    images: np.ndarray
    labels: np.ndarray
    files: list[str]
    label_sets: np.ndarray = field(default=None)  # type: ignore[assignment]
    groups: list[str] = field(default=None)  # type: ignore[assignment]  # same photo, same group

    def __post_init__(self) -> None:
        if self.groups is None:
            self.groups = list(self.files)
        if self.label_sets is None:
            sets = np.zeros((len(self.labels), len(CLASSIFIER_OUTPUTS)), bool)
            sets[np.arange(len(self.labels)), self.labels] = True
            self.label_sets = sets

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, mask: np.ndarray) -> Split:
        idx = np.nonzero(mask)[0] if np.asarray(mask).dtype == bool else np.asarray(mask)
        return Split(self.images[idx], self.labels[idx], [self.files[i] for i in idx],
                     self.label_sets[idx], [self.groups[i] for i in idx])

    def of_category(self, category: str) -> Split:
        """The rows of one category (or of GENERAL)."""
        return self.subset(self.labels == label_of(category))

    def unique_photos(self) -> Split:
        """One row per photo (its first), e.g. for the classifier and the universal model."""
        seen: set[str] = set()
        keep = []
        for i, group in enumerate(self.groups):
            if group not in seen:
                seen.add(group)
                keep.append(i)
        return self.subset(np.array(keep, np.int64))


def load_split(
    prepared: str | Path, split: str, limit_per_category: int | None = None,
    pool: str = "categories",
) -> Split:
    """Decode every photo of ``split`` (threads: Pillow releases the GIL).

    ``pool``: "categories" (the category photos, what the test split always
    meant), "general" (the photos of none of the categories, e.g. the general
    validation set) or "all".
    """
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {POOLS}, not {pool!r}")
    prepared = Path(prepared)
    index = read_index(prepared)
    sets_of: dict[str, set[int]] = {}
    for r in index:
        sets_of.setdefault(r.group, set()).add(label_of(r.category))
    wanted = {"categories": lambda c: c != GENERAL, "general": lambda c: c == GENERAL,
              "all": lambda c: True}[pool]
    rows = [r for r in index if r.split == split and wanted(r.category)]
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

    with ThreadPoolExecutor(max_workers=8) as pool_:
        images = list(pool_.map(read, [r.file for r in rows]))
    arr = np.stack(images) if images else np.zeros((0, 256, 256, 3), np.uint8)
    labels = np.array([label_of(r.category) for r in rows], np.int32)
    sets = np.zeros((len(rows), len(CLASSIFIER_OUTPUTS)), bool)
    for i, r in enumerate(rows):
        sets[i, sorted(sets_of[r.group])] = True
    return Split(arr, labels, [r.file for r in rows], sets, [r.group for r in rows])


def gray_inputs(images: np.ndarray, old_prints: OldPrints | None = None,
                first_row: int = 0) -> np.ndarray:
    """What the encoder sees: the photo's lightness as neutral gray, (N, H, W, 1) 0..1.

    ``old_prints``: some photos are seen as scans of old prints instead (rows
    numbered from ``first_row``), while their targets stay the clean colour.
    """
    out = np.empty(images.shape[:3] + (1,), np.float32)
    for i, im in enumerate(images):
        gray = lab.gray_rgb(lab.luminance(im))
        if old_prints is not None:
            gray = old_prints.apply(gray, first_row + i)
        out[i, ..., 0] = gray
    return out


@dataclass(frozen=True)
class OldPrints:
    """Which training photos the encoder sees as simulated old prints (``core.oldprint``).

    Users bring scans of faded, grainy, toned and cracked prints, not clean gray
    conversions; a colorizer trained on clean gray only meets them at test time.
    ``share`` of the photos get the print's global degradations (fading, low
    contrast, toning, grain, blur, JPEG, vignetting), and ``damage`` of those
    also local damage (cracks, scratches, dust, tears, stains) that the colour
    must not follow. Each row's print is decided by ``(seed, row)`` alone, so a
    feature cache over the same photo list is reproducible.
    """

    share: float
    damage: float = 0.0
    seed: int = 0

    def describe(self) -> str:
        return f"old prints {self.share:g} (damaged {self.damage:g}), seed {self.seed}"

    def apply(self, gray: np.ndarray, row: int) -> np.ndarray:
        """``gray`` (0..1 float, HxW) as row ``row`` of the photo list sees it."""
        from core import oldprint

        rng = np.random.default_rng([self.seed, row])
        if rng.random() >= self.share:
            return gray
        damaged = bool(rng.random() < self.damage)
        g8 = np.clip(np.rint(gray * 255.0), 0, 255).astype(np.uint8)
        print_ = oldprint.simulate(g8, rng, damage=damaged)
        return print_.gray.astype(np.float32) / 255.0


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


#: The world pool's list of photos (scripts/build_world_pool.py).
WORLD_MANIFEST = "manifest.csv"


def load_world(world: str | Path, split: str, most: int | None = None,
               seed: int = 0) -> Split:
    """The train, val or test photos of a world pool, as photos of no category.

    The pool (objects, people, period plates: ``scripts/build_world_pool.py``)
    broadens what the universal decoder sees beyond the category scenes. With
    ``most``, at most that many photos, shared alike among the sources (a small
    source gives all it has, the rest share what is left), drawn with ``seed``:
    13k faces must not drown 1,400 period plates. Files are named ``world/<file>``
    so that feature caches and splits never confuse them with the prepared photos.
    """
    world = Path(world)
    rows = world_rows(world, split)
    if most is not None:
        rows = _share_alike(rows, most, seed)
    with ThreadPoolExecutor(max_workers=4) as pool_:
        images = list(pool_.map(read_square, [world / r["file"] for r in rows]))
    arr = np.stack(images) if images else np.zeros((0, 256, 256, 3), np.uint8)
    labels = np.full(len(rows), label_of(GENERAL), np.int32)
    groups = [f"world:{r.get('group') or r['file']}" for r in rows]
    return Split(arr, labels, [f"world/{r['file']}" for r in rows], groups=groups)


def world_rows(world: str | Path, split: str) -> list[dict[str, str]]:
    """The manifest rows of one split of a world pool whose photo is on disk."""
    world = Path(world)
    with (world / WORLD_MANIFEST).open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r.get("split") == split]
    return [r for r in rows if (world / r["file"]).is_file()]


def read_square(path: Path) -> np.ndarray:
    """A photo as the models take it: uint8 RGB, centre square, 256x256."""
    with Image.open(path) as im:
        return square_resize(np.asarray(im.convert("RGB")))


def _share_alike(rows: list[dict[str, str]], most: int, seed: int) -> list[dict[str, str]]:
    """At most ``most`` rows, the same number from each source where it has them."""
    by_source: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_source.setdefault(r["source"], []).append(r)
    rng = np.random.default_rng(seed)
    left, sources = most, sorted(by_source, key=lambda s: len(by_source[s]))
    keep: list[dict[str, str]] = []
    for k, source in enumerate(sources):
        share = left // (len(sources) - k)
        pool = by_source[source]
        take = [pool[i] for i in sorted(rng.permutation(len(pool))[:share])]
        keep.extend(take)
        left -= len(take)
    return keep


def concat(a: Split, b: Split) -> Split:
    """Two splits as one (rows of ``a`` first)."""
    return Split(np.concatenate([a.images, b.images]), np.concatenate([a.labels, b.labels]),
                 a.files + b.files, np.concatenate([a.label_sets, b.label_sets]),
                 a.groups + b.groups)
