"""Quality measures for colorization, as the evaluation report uses them."""

from __future__ import annotations

import cv2
import numpy as np

from core import lab


def psnr(rgb: np.ndarray, reference: np.ndarray) -> float:
    """PSNR in dB of RGB images in 0..1."""
    mse = float(np.mean((np.asarray(rgb, np.float64) - np.asarray(reference, np.float64)) ** 2))
    return 10.0 * np.log10(1.0 / max(mse, 1e-12))


def ab_mse(rgb: np.ndarray, reference: np.ndarray) -> float:
    """Mean squared error of the a,b channels (Lab units squared)."""
    a = lab.rgb_to_lab(rgb)[..., 1:]
    b = lab.rgb_to_lab(reference)[..., 1:]
    return float(np.mean((a - b) ** 2))


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Suesstrunk (2003) colourfulness M on the 0..255 scale."""
    x = np.asarray(lab.to_float_rgb(rgb), np.float64) * 255.0
    rg = x[..., 0] - x[..., 1]
    yb = 0.5 * (x[..., 0] + x[..., 1]) - x[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def topk_error(probs: np.ndarray, labels: np.ndarray, k: int,
               label_sets: np.ndarray | None = None) -> np.ndarray:
    """Per-photo 0/1 error: the true label is not among the k most probable.

    With ``label_sets`` (N, classes) bool, a photo filed under several
    categories (autumn and forest) is right when any of them is.
    """
    top = np.argsort(-probs, axis=1)[:, :k]
    if label_sets is None:
        return (~np.any(top == labels[:, None], axis=1)).astype(np.float64)
    hit = np.take_along_axis(np.asarray(label_sets, bool), top, axis=1)
    return (~hit.any(axis=1)).astype(np.float64)


#: Real Lab chroma below which a pixel counts as neutral (grey stone, white walls).
NEUTRAL_CHROMA = 5.0
#: Fewest neutral pixels for a photo to have a neutral-false-colour value.
MIN_NEUTRAL_PIXELS = 64


def _ab(rgb: np.ndarray) -> np.ndarray:
    return lab.rgb_to_lab(rgb)[..., 1:].astype(np.float64)


def neutral_false_colour(rgb: np.ndarray, reference: np.ndarray,
                         threshold: float = NEUTRAL_CHROMA) -> float:
    """Mean Lab chroma of ``rgb`` where the real photo is neutral (chroma < threshold).

    Colour painted onto grey stone, white walls and overcast skies. NaN when
    the real photo has fewer than MIN_NEUTRAL_PIXELS neutral pixels.
    """
    neutral = np.hypot(*np.moveaxis(_ab(reference), -1, 0)) < threshold
    if int(neutral.sum()) < MIN_NEUTRAL_PIXELS:
        return float("nan")
    chroma = np.hypot(*np.moveaxis(_ab(rgb), -1, 0))
    return float(chroma[neutral].mean())


#: Regions: connected pixels whose (slightly smoothed) real ab falls in one cell
#: of this size, of at least MIN_REGION of the photo's pixels.
REGION_CELL = 10.0
MIN_REGION = 1.0 / 256


def one_colour_regions(reference: np.ndarray, offset: float = 0.0) -> list[np.ndarray]:
    """Boolean masks of the regions that are one colour in the real photo.

    Why: a blotch is a region the truth paints one colour and the output
    several. The truth's ab, blurred a little (texture is not a colour
    change), quantised to REGION_CELL cells; each connected area of one
    cell, 2 px inside its border, that covers at least MIN_REGION of the
    photo is a region. ``offset`` shifts the grid (a colour on a cell border
    of one grid is mid-cell in the grid shifted by half a cell).
    """
    ab = cv2.GaussianBlur(_ab(reference).astype(np.float32), (0, 0), 1.5)
    cells = np.floor((ab + offset) / REGION_CELL).astype(np.int32)
    key = (cells[..., 0] + 64) * 128 + (cells[..., 1] + 64)
    min_px = max(16, int(MIN_REGION * key.size))
    core = np.ones((5, 5), np.uint8)  # 2 px off the cell's border: no blurred edge strips
    regions = []
    for k in np.unique(key):
        inside = cv2.erode((key == k).astype(np.uint8), core, borderType=cv2.BORDER_REPLICATE)
        n, comp = cv2.connectedComponents(inside, connectivity=8)
        if n <= 1:
            continue
        sizes = np.bincount(comp.ravel(), minlength=n)
        for c in np.nonzero(sizes[1:] >= min_px)[0] + 1:
            regions.append(comp == c)
    return regions


def blotchiness(rgb: np.ndarray, reference: np.ndarray) -> float:
    """Spread of the output's colour inside regions that are one colour in the truth.

    The pixel-weighted mean, over one_colour_regions(reference), of the
    output's ab standard deviation in the region (sqrt of var a + var b,
    Lab units), less the truth's own spread there (floored at 0); averaged
    over two grids half a cell apart. 0: every such region got one colour
    (possibly the wrong one, or none: read it with the colourfulness ratio);
    rainbow patches on a wall or sky raise it. NaN when the photo has no
    such region.
    """
    out, ref = _ab(rgb), _ab(reference)
    values = []
    for offset in (0.0, REGION_CELL / 2):
        total = weight = 0.0
        for m in one_colour_regions(reference, offset):
            spread = np.sqrt(out[m].var(axis=0).sum())
            own = np.sqrt(ref[m].var(axis=0).sum())
            n = float(m.sum())
            total += max(spread - own, 0.0) * n
            weight += n
        if weight:
            values.append(total / weight)
    return float(np.mean(values)) if values else float("nan")
