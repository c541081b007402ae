"""Before/after figure sheets of the hard cases: what the numbers do not show.

Three sheets, each row one photo, columns: real colour photo (when there is
one) | what the colorizer is given | before | after:

- ``worst_<set>.jpg``: the photos of a set whose colour was worst *before*
  (most false colour on neutral things, most blotches, largest ab error);
- ``old_scans.jpg``: **simulated** scans of old prints, made from general
  validation photos (faded, yellowed, grainy, dusty, cracked; see
  :func:`old_print` and :mod:`core.oldprint`), so the truth is known;
- ``real_gray.jpg``: real gray photos without any truth (scikit-image's).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from core import lab, oldprint
from core.filesafe import atomic_write

#: fn(uint8 RGB photo) -> RGB float 0..1 at the photo's size
Render = Callable[[np.ndarray], np.ndarray]


def old_print(rgb: np.ndarray, seed: int = 0) -> np.ndarray:
    """A simulated scan of an old black-and-white print of ``rgb`` (uint8 RGB).

    The lightness goes through :func:`core.oldprint.simulate` (faded, grainy,
    blurred, dusty, cracked, stained, torn: the one simulator of old prints),
    then gets a warm yellowed paper tone: the damage real family photos bring,
    on a photo whose colours we know.
    """
    L = lab.luminance(rgb)
    g = np.clip(L * 2.55 + 0.5, 0, 255).astype(np.uint8)
    scan = oldprint.simulate(g, np.random.default_rng(seed))
    lab_img = np.zeros(rgb.shape[:2] + (3,), np.float32)
    lab_img[..., 0] = scan.gray.astype(np.float32) / 2.55
    lab_img[..., 1], lab_img[..., 2] = 2.0, 11.0  # yellowed paper
    return (lab.lab_to_rgb(lab_img) * 255 + 0.5).astype(np.uint8)


def _tile(rgb: np.ndarray, side: int) -> np.ndarray:
    rgb = lab.to_float_rgb(rgb) if rgb.dtype != np.float32 else rgb
    h, w = rgb.shape[:2]
    s = side / max(h, w)
    t = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))),
                   interpolation=cv2.INTER_AREA)
    out = np.ones((side, side, 3), np.float32)
    y, x = (side - t.shape[0]) // 2, (side - t.shape[1]) // 2
    out[y : y + t.shape[0], x : x + t.shape[1]] = t
    return out


def write_sheet(path: Path, rows: Sequence[Sequence[np.ndarray]], side: int = 192) -> Path:
    """A JPEG grid of equal tiles, written atomically."""
    grid = np.concatenate([np.concatenate([_tile(im, side) for im in row], axis=1)
                           for row in rows], axis=0)
    img = (np.clip(grid, 0, 1) * 255 + 0.5).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda f: Image.fromarray(img).save(f, "JPEG", quality=88))


def worst(images: np.ndarray, scores: np.ndarray, n: int) -> list[int]:
    """Indices of the ``n`` highest finite scores (the worst photos)."""
    s = np.where(np.isfinite(scores), scores, -np.inf)
    return [int(i) for i in np.argsort(-s)[:n] if np.isfinite(s[i])]


def sheets(out_dir: Path, before: Render, after: Render,
           worst_sets: dict[str, tuple[np.ndarray, np.ndarray]],
           scans_from: np.ndarray, gray_photos: Sequence[np.ndarray],
           rows: int = 6) -> list[str]:
    """Write the three kinds of sheets; return their file names.

    ``worst_sets``: set name -> (uint8 photos, a per-photo badness score
    measured on *before*).
    """
    files = []
    for name, (images, scores) in worst_sets.items():
        picked = worst(images, scores, rows)
        grid = []
        for i in picked:
            gray = np.repeat(lab.gray_rgb(lab.luminance(images[i]))[..., None], 3, axis=-1)
            grid.append([images[i], gray, before(images[i]), after(images[i])])
        if grid:
            files.append(write_sheet(out_dir / f"worst_{name}.jpg", grid).name)
    grid = []
    for k, im in enumerate(scans_from[:rows]):
        scan = old_print(im, seed=k)
        grid.append([im, scan, before(scan), after(scan)])
    if grid:
        files.append(write_sheet(out_dir / "old_scans.jpg", grid).name)
    grid = [[g, before(g), after(g)] for g in gray_photos]
    if grid:
        files.append(write_sheet(out_dir / "real_gray.jpg", grid).name)
    return files


def gray_samples() -> list[np.ndarray]:
    """Real gray photos with no colour truth: scikit-image's (none when it is absent)."""
    try:
        from skimage import data
    except ImportError:
        return []
    return [np.repeat(im[..., None], 3, axis=-1) for im in (data.camera(), data.moon())]


def make_figures(prepared: Path, models_dir: Path | None, out_dir: Path,
                 before_models: Path | None = None, limit: int = 4, rows: int = 6,
                 general_dir: Path | None = None,
                 log: Callable[[str], None] = print) -> list[str]:
    """The before/after sheets for ``models_dir`` (after) against ``before_models``.

    Before is today's product: ``before_models`` (or the same models) with
    the plain decoding (annealed mean, bilinear upsampling). The worst cases
    are chosen on before, by false colour on neutral pixels plus blotches
    plus ab error (each over its set's median).
    """
    from core.engine import Colorizer
    from core.training.dataset import load_split
    from core.training.evaluate import load_general, photo_measures, plain_decoding

    after_c = Colorizer(models_dir)
    ref = Colorizer(before_models) if before_models else after_c
    before_c = Colorizer(before_models or models_dir, decoding=plain_decoding(ref))

    def before(im: np.ndarray) -> np.ndarray:
        return before_c.colorize(im).rgb

    def after(im: np.ndarray) -> np.ndarray:
        return after_c.colorize(im).rgb

    test = load_split(prepared, "test", limit)
    general = load_general(prepared, None, general_dir)
    general = general.subset(np.arange(0, len(general), max(1, len(general) // 60))[:60])
    worst_sets = {}
    for name, split in (("test", test), ("general", general)):
        m = [photo_measures(before(im), lab.to_float_rgb(im)) for im in split.images]
        score = np.zeros(len(m))
        for key in ("neutral_chroma", "blotch", "ab_mse"):
            v = np.array([x[key] for x in m])
            score += np.nan_to_num(v / max(np.nanmedian(v), 1e-6))
        worst_sets[name] = (split.images, score)
        log(f"figures: scored {len(m)} {name} photos")
    scans = general.images[1::7]
    return sheets(out_dir, before, after, worst_sets, scans, gray_samples(), rows)
