"""Repair a damaged print's lightness before it is coloured.

``repair(L) -> Repaired(L, mask, report)``: find the damage (:class:`Detector`:
the small network of :mod:`core.nets.damage` run in tiles over a working copy,
or a classical detector when no model is there), fill it from its
surroundings (:func:`fill`: OpenCV's inpainting for lines and specks, a
coarse-to-fine fill with the print's own grain for holes and torn corners, a
gain field for stains, whose picture is still there under the tint), and
optionally restore a faded print's tones (:func:`restore_tone`). The colour
then runs on the repaired L, so cracks no longer carry colour.

A faded *colour* print is not a gray one: :func:`faded_colour` recognises it
and :func:`restore_colour` brings its own colours back instead of recolouring.

Qt-free, TensorFlow-free on the default path (the detector runs on LiteRT).
The mask uses :mod:`core.oldprint`'s labels, which the detector was trained on.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from core.oldprint import DUST, KINDS, LINE, STAIN, TEAR

#: the detector's model files in a models folder (LiteRT first, then Keras weights)
MODEL_TFLITE = "damage.tflite"
MODEL_WEIGHTS = "damage.weights.h5"
#: the working copy's long side the detector sees: a 12 MP scan's damage at ~1 MP
WORK_SIDE = 1024
TILE = 256
#: tiles overlap by this much; only each tile's centre is kept
MARGIN = 24
#: a pixel is damage when the detector gives "none" less than this (the manifest's
#: ``damage.threshold``, chosen on held-out photos, overrides it)
THRESHOLD = 0.5


#: the label of pixels a user added with the brush (not a simulated kind)
USER = 5


@dataclass(frozen=True)
class Stroke:
    """A brush stroke on the repair mask, in photo pixels: adds to it or takes from it.

    Kept as strokes (not pixels) so an edit is small, undoable step by step, and
    stored in the photo's sidecar as a few numbers; the detector is
    deterministic, so detection plus the strokes gives the same mask again.
    """

    add: bool
    radius: float
    points: tuple[tuple[float, float], ...]

    def to_json(self) -> dict[str, Any]:
        return {"add": self.add, "radius": round(self.radius, 2),
                "points": [[round(x, 1), round(y, 1)] for x, y in self.points]}

    @classmethod
    def from_json(cls, obj: Any) -> Stroke:
        if not isinstance(obj, dict):
            raise ValueError(f"a repair stroke is an object, not {obj!r}")
        pts = tuple((float(x), float(y)) for x, y in obj["points"])
        radius = float(obj["radius"])
        if not pts or not (0 < radius < 10_000):
            raise ValueError(f"a repair stroke needs points and a radius: {obj!r}")
        return cls(bool(obj["add"]), radius, pts)


def apply_strokes(mask: np.ndarray, strokes: tuple[Stroke, ...] | list[Stroke]) -> np.ndarray:
    """The mask with the user's strokes drawn in order (added pixels get :data:`USER`)."""
    out = mask.copy()
    for st in strokes:
        pts = np.round(np.asarray(st.points, np.float64) * 16).astype(np.int32)
        t = max(1, int(round(2 * st.radius)))
        if len(pts) == 1:
            cv2.circle(out, tuple(int(v) for v in pts[0]), int(round(st.radius * 16)),
                       USER if st.add else 0, -1, cv2.LINE_8, shift=4)
        else:
            cv2.polylines(out, [pts], False, USER if st.add else 0, t, cv2.LINE_8, shift=4)
    return out


@dataclass(frozen=True)
class Repaired:
    """The repaired lightness (float32, 0..100), the damage labels (uint8) and what was done."""

    L: np.ndarray
    mask: np.ndarray
    report: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------ detection


def default_models_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "models"


class Detector:
    """Labels damage in a print's lightness; thread-safe (one lock around the model).

    Runs the trained network when its files are in ``models_dir``, else the
    classical detector (:func:`classical_damage`); :attr:`kind` says which.
    """

    def __init__(self, models_dir: str | Path | None = None, work_side: int = WORK_SIDE):
        self.models_dir = Path(models_dir) if models_dir else default_models_dir()
        self.work_side = work_side
        self._runner: Any = None
        self._lock = threading.Lock()
        self.kind = "network" if self._model_file() else "classical"
        self.threshold = THRESHOLD
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            entry = json.loads((self.models_dir / "manifest.json").read_text())["damage"]
            self.threshold = float(entry.get("threshold", THRESHOLD))

    def _model_file(self) -> Path | None:
        for name in (MODEL_TFLITE, MODEL_WEIGHTS):
            if (self.models_dir / name).is_file():
                return self.models_dir / name
        return None

    def _load(self) -> Any:
        if self._runner is None:
            path = self._model_file()
            if path is None:
                return None
            from core.backend import litert_available

            if path.suffix == ".tflite" and litert_available():
                from core.backend import LiteRTRunner

                self._runner = LiteRTRunner(path)
            else:
                from core.nets.damage import build_detector

                model = build_detector()
                model.load_weights(self.models_dir / MODEL_WEIGHTS)
                # called eagerly: a traced graph of unknown size trips on the upsampling
                self._runner = lambda x: [np.asarray(model(x, training=False), np.float32)]
        return self._runner

    def probabilities(self, gray: np.ndarray) -> np.ndarray:
        """Per-class probabilities (H, W, 5) of a uint8 gray image at its own size, in tiles."""
        with self._lock:
            runner = self._load()
            h, w = gray.shape
            step = TILE - 2 * MARGIN
            ny, nx = max(1, -(-h // step)), max(1, -(-w // step))
            pad = np.pad(gray, ((MARGIN, ny * step - h + MARGIN), (MARGIN, nx * step - w + MARGIN)),
                         mode="reflect")
            tiles = np.stack([pad[i * step:i * step + TILE, j * step:j * step + TILE]
                              for i in range(ny) for j in range(nx)])
            x = tiles[..., None].astype(np.float32) / 255.0
            out = np.concatenate([runner(x[k:k + 16])[0] for k in range(0, len(x), 16)])
        probs = np.empty((ny * step, nx * step, out.shape[-1]), np.float32)
        for t, p in enumerate(out):
            i, j = divmod(t, nx)
            probs[i * step:(i + 1) * step, j * step:(j + 1) * step] = \
                p[MARGIN:MARGIN + step, MARGIN:MARGIN + step]
        return probs[:h, :w]

    def detect(self, L: np.ndarray) -> np.ndarray:
        """Damage labels (uint8, the photo's size) of a lightness image (0..100)."""
        gray = to_gray8(L)
        h, w = gray.shape
        s = min(1.0, self.work_side / max(h, w))
        small = gray if s == 1.0 else cv2.resize(
            gray, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
        if self._model_file() is None:
            labels = classical_damage(small)
        else:
            probs = self.probabilities(small)
            damaged = (probs[..., 0] < self.threshold).astype(np.uint8)
            labels = (np.argmax(probs[..., 1:], axis=-1) + 1).astype(np.uint8) * damaged
        if s == 1.0:
            return labels
        up = cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST)
        # a line one working pixel wide covers ~1/s photo pixels: grow to cover its edges
        grow = max(1, int(round(0.5 / s)))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
        thin = np.isin(up, (LINE, DUST)).astype(np.uint8)
        grown = cv2.dilate(thin, kernel) & (up == 0)
        nearest = cv2.dilate(up * thin, kernel)
        up[grown > 0] = nearest[grown > 0]
        return up


_shared: dict[str, Detector] = {}
_shared_lock = threading.Lock()


def shared_detector() -> Detector:
    """One detector for the process (the shipped model, loaded once, on first use)."""
    with _shared_lock:
        if "d" not in _shared:
            _shared["d"] = Detector()
        return _shared["d"]


def to_gray8(L: np.ndarray) -> np.ndarray:
    """Lightness 0..100 -> uint8 0..255 (what the detector was trained on)."""
    return np.clip(L * 2.55 + 0.5, 0, 255).astype(np.uint8)


def classical_damage(gray: np.ndarray) -> np.ndarray:
    """A detector without a model: thin bright or dark marks that stand out of their surroundings.

    Black and white top-hats find marks narrower than the structuring element;
    elongated ones are lines, compact ones dust. No tears or stains (they look
    like picture content to a local test); the network exists for those.
    """
    g = gray.astype(np.float32)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    white = cv2.morphologyEx(g, cv2.MORPH_TOPHAT, k)
    black = cv2.morphologyEx(g, cv2.MORPH_BLACKHAT, k)
    # what counts as standing out depends on the neighbourhood: windows, foliage and
    # text are full of thin marks that are picture, so a busy place needs a stronger one
    busy = cv2.blur(np.maximum(white, black), (21, 21))
    marks = (np.maximum(white, black) > np.maximum(30.0, 4.0 * busy)).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(marks, connectivity=8)
    labels = np.zeros_like(gray)
    if n <= 1:
        return labels
    w, h, area = stats[1:, 2], stats[1:, 3], stats[1:, 4]
    # a line fills little of its bounding box (a diagonal one too), a speck most of it;
    # short strokes are left alone (too like picture detail to be sure)
    elongated = (np.maximum(w, h) >= 3 * np.maximum(1, np.minimum(w, h))) | \
        (area < 0.3 * w * h)
    long_ = np.maximum(w, h) >= max(24, max(gray.shape) // 25)
    kind = np.where(elongated & long_, LINE,
                    np.where(~elongated & (area <= 40), DUST, 0)).astype(np.uint8)
    return np.concatenate([[0], kind]).astype(np.uint8)[lab]


# ------------------------------------------------------------------ fill


def _boxes(mask: np.ndarray, tile: int) -> list[tuple[int, int, int, int]]:
    """Tiles (y0, y1, x0, x1) of a grid that hold any masked pixel."""
    h, w = mask.shape
    ty, tx = -(-h // tile), -(-w // tile)
    pad = np.zeros((ty * tile, tx * tile), bool)
    pad[:h, :w] = mask
    any_ = pad.reshape(ty, tile, tx, tile).any(axis=(1, 3))
    return [(i * tile, min(h, (i + 1) * tile), j * tile, min(w, (j + 1) * tile))
            for i, j in zip(*np.nonzero(any_))]


def inpaint_thin(L: np.ndarray, holes: np.ndarray, radius: int = 3) -> np.ndarray:
    """OpenCV's inpainting (Telea) of thin marks, tile by tile (only tiles with damage)."""
    out = L.copy()
    pad = 4 * radius + 4
    h, w = L.shape
    for y0, y1, x0, x1 in _boxes(holes, 384):
        ya, yb, xa, xb = max(0, y0 - pad), min(h, y1 + pad), max(0, x0 - pad), min(w, x1 + pad)
        part = cv2.inpaint(L[ya:yb, xa:xb], holes[ya:yb, xa:xb].astype(np.uint8), radius,
                           cv2.INPAINT_TELEA)
        out[y0:y1, x0:x1] = part[y0 - ya:y1 - ya, x0 - xa:x1 - xa]
    return out


def _grain_std(L: np.ndarray, known: np.ndarray) -> float:
    """The print's grain: the spread of its fine detail where nothing is damaged."""
    h, w = L.shape
    if h * w > 1024 * 1024:  # a few strips are enough for a spread
        rows = np.linspace(0, h - 64, 8).astype(int)
        L = np.concatenate([L[r:r + 64] for r in rows])
        known = np.concatenate([known[r:r + 64] for r in rows])
    hp = L - cv2.GaussianBlur(L, (0, 0), 1.5)
    v = hp[::2, ::2][known[::2, ::2]]
    return float(1.4826 * np.median(np.abs(v - np.median(v)))) if v.size > 100 else 0.0


def inpaint_holes(L: np.ndarray, holes: np.ndarray, rng: np.random.Generator | None = None
                  ) -> np.ndarray:
    """Large holes (tears, missing corners, big blotches): coarse-to-fine fill plus grain.

    Telea inpainting of a big hole smears; done on a copy shrunk (by a power of
    two) until the hole is a few pixels thick, it gives the hole's smooth
    structure from far around, and the print's own grain (measured around the
    hole) keeps the fill from looking plastic. Each shrunken copy is inpainted
    once, and only the tiles with holes are brought back to full size.
    """
    out = L.copy()
    if not holes.any():
        return out
    rng = rng or np.random.default_rng(0)
    h, w = L.shape
    dist = cv2.distanceTransform(holes.astype(np.uint8), cv2.DIST_L2, 3)
    n, comp = cv2.connectedComponents(holes.astype(np.uint8), connectivity=8)
    thick = np.zeros(n, np.float32)
    np.maximum.at(thick, comp[holes], dist[holes])
    tile = 512
    levels: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    grain = _grain_std(L, ~holes)
    for y0, y1, x0, x1 in _boxes(holes, tile):
        ids = np.unique(comp[y0:y1, x0:x1])
        k = int(np.clip(np.ceil(np.log2(max(float(thick[ids].max()), 1.0) / 6.0)), 1, 8))
        f = 2 ** k
        if k not in levels:  # the photo and its holes shrunk by f, once
            size = (max(4, -(-w // f)), max(4, -(-h // f)))
            hs = cv2.resize(holes.astype(np.uint8), size, interpolation=cv2.INTER_AREA)
            levels[k] = (cv2.resize(L, size, interpolation=cv2.INTER_AREA),
                         cv2.dilate((hs > 0).astype(np.uint8), np.ones((3, 3), np.uint8)))
        small, hs = levels[k]
        m = 16  # small pixels of context around the tile: ~3x the hole's shrunken thickness
        sy0, sx0 = max(0, y0 // f - m), max(0, x0 // f - m)
        sy1, sx1 = min(small.shape[0], -(-y1 // f) + m), min(small.shape[1], -(-x1 // f) + m)
        crop = cv2.inpaint(small[sy0:sy1, sx0:sx1], hs[sy0:sy1, sx0:sx1], 3, cv2.INPAINT_TELEA)
        up = cv2.resize(crop, ((sx1 - sx0) * f, (sy1 - sy0) * f), interpolation=cv2.INTER_CUBIC)
        up = cv2.GaussianBlur(up[y0 - sy0 * f:y1 - sy0 * f, x0 - sx0 * f:x1 - sx0 * f],
                              (0, 0), 0.5 * f)
        pad = 8
        ya, yb, xa, xb = max(0, y0 - pad), min(h, y1 + pad), max(0, x0 - pad), min(w, x1 + pad)
        hole = holes[ya:yb, xa:xb]
        soft = np.maximum(cv2.GaussianBlur(hole.astype(np.float32), (0, 0), 1.0), hole)
        soft = soft[y0 - ya:y1 - ya, x0 - xa:x1 - xa]
        noise = cv2.GaussianBlur(rng.standard_normal(up.shape).astype(np.float32), (0, 0), 0.7)
        noise *= grain / max(float(noise.std()), 1e-6)
        part = L[y0:y1, x0:x1]
        out[y0:y1, x0:x1] = part * (1 - soft) + (up + noise) * soft
    return out


def correct_stains(L: np.ndarray, stains: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Undo each stain's tint; the picture under it is still there, only darker or paler.

    A stain scales the print's lightness by a smooth gain. Across its outline the
    picture itself goes on, so the gain is read there: the median of a band of
    print just outside over a band just inside (beyond the soft edge), one gain
    per stain, undone through the stain's soft outline. Returns the corrected
    L and the stain's rim (the tide line, too thin for a gain), which the
    caller fills as a thin mark.
    """
    if not stains.any():
        return L, np.zeros_like(stains)
    h, w = L.shape
    out = L.copy()
    st = stains.astype(np.uint8)
    # a stain is one blob even where its tint was too faint to label
    close = max(3, int(round(5 * max(h, w) / 1024)))
    st = cv2.morphologyEx(st, cv2.MORPH_CLOSE, np.ones((close, close), np.uint8))
    n, comp, stats, _ = cv2.connectedComponentsWithStats(st, connectivity=8)
    band = max(2, int(round(4 * max(h, w) / 1024)))

    def disk(r: int) -> np.ndarray:
        return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))

    for c in range(1, n):
        x0, y0, bw, bh, area = (int(v) for v in stats[c])
        if area < 16:
            continue
        edge = max(1, int(0.12 * min(bw, bh)))  # the soft part of the outline
        pad = edge + 3 * band + 2
        ya, yb = max(0, y0 - pad), min(h, y0 + bh + pad)
        xa, xb = max(0, x0 - pad), min(w, x0 + bw + pad)
        inside = (comp[ya:yb, xa:xb] == c).astype(np.uint8)
        ring = (cv2.dilate(inside, disk(band + 1)) > 0) & ~(cv2.dilate(inside, disk(1)) > 0)
        ring &= st[ya:yb, xa:xb] == 0
        deep = cv2.erode(inside, disk(edge)) > 0
        inner = deep & ~(cv2.erode(inside, disk(edge + band)) > 0)
        src = L[ya:yb, xa:xb]
        if ring.sum() < 20 or inner.sum() < 20:
            continue
        # paired across the outline: the print just outside over just inside, point by
        # point (a picture's own gradient cancels), then the median of those ratios
        sig = 1.5 * band + edge
        wo = cv2.GaussianBlur(ring.astype(np.float32), (0, 0), sig)
        wi = cv2.GaussianBlur(inner.astype(np.float32), (0, 0), sig)
        mo = cv2.GaussianBlur(np.where(ring, src, 0), (0, 0), sig) / np.maximum(wo, 1e-6)
        mi = cv2.GaussianBlur(np.where(inner, src, 0), (0, 0), sig) / np.maximum(wi, 1e-6)
        outline = (inside > 0) & ~(cv2.erode(inside, disk(1)) > 0) & (wo > 0.05) & (wi > 0.05)
        if outline.sum() < 12:
            continue
        ratios = np.log((mo[outline] + 3.0) / (mi[outline] + 3.0))
        q1, med, q3 = np.percentile(ratios, (25, 50, 75))
        if q3 - q1 > 0.25 or q1 * q3 < 0:  # the outline disagrees with itself: leave it
            continue
        gain = float(np.clip(np.exp(med), 0.7, 1.5))
        soft = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), max(1.0, edge / 2))
        out[ya:yb, xa:xb] = src * (1.0 + (gain - 1.0) * np.clip(soft, 0, 1))
    width = max(1, int(round(1.5 * max(h, w) / 1024)))
    rim = (cv2.dilate(st, disk(width)) > 0) & ~(cv2.erode(st, disk(width)) > 0)
    return out, rim


def _grow(mask: np.ndarray, px: int) -> np.ndarray:
    if px <= 0:
        return mask
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return cv2.dilate(mask.astype(np.uint8), k) > 0


def fill(L: np.ndarray, mask: np.ndarray, rng: np.random.Generator | None = None
         ) -> np.ndarray:
    """Fill every labelled pixel of ``L`` (0..100) from its surroundings; a new array."""
    L = L.astype(np.float32, copy=True)
    if not mask.any():
        return L
    L, rim = correct_stains(L, mask == STAIN)
    # a mark's soft edge (antialiasing, blur, JPEG) reaches past its label: grow it
    holes = _grow((mask > 0) & (mask != STAIN), max(1, round(max(L.shape) / 1024))) | rim
    # components thicker than a few pixels are holes, the rest thin marks
    dist = cv2.distanceTransform(holes.astype(np.uint8), cv2.DIST_L2, 3)
    big_core = (dist > 6.0).astype(np.uint8)  # wider than ~12 px: the multi-level fill
    n, comp = cv2.connectedComponents(holes.astype(np.uint8), connectivity=8)
    big_ids = np.unique(comp[big_core > 0])
    big = np.isin(comp, big_ids[big_ids > 0]) | (mask == TEAR)
    thin = holes & ~big
    if thin.any():
        L = inpaint_thin(L, thin)
    if big.any():
        L = inpaint_holes(L, big, rng)
    return np.clip(L, 0, 100)


# ------------------------------------------------------------------ tone


def tone_stats(L: np.ndarray, mask: np.ndarray | None = None) -> dict[str, float]:
    """Black point, white point and spread of the undamaged pixels (on a small copy)."""
    step = max(1, int(np.sqrt(L.size / 250_000)))
    v = L[::step, ::step]
    if mask is not None:
        v = v[mask[::step, ::step] == 0]
    if v.size == 0:
        v = L.ravel()
    lo, hi = np.percentile(v, (0.5, 99.5))
    return {"black": float(lo), "white": float(hi), "range": float(hi - lo)}


def is_faded(stats: dict[str, float]) -> bool:
    """Low contrast: lifted blacks, dull whites, or both (a healthy print spans ~5..95)."""
    return stats["range"] < 75.0 or stats["black"] > 14.0 or stats["white"] < 82.0


def restore_tone(L: np.ndarray, mask: np.ndarray | None = None, local: float = 0.35
                 ) -> tuple[np.ndarray, dict[str, Any]]:
    """Levels and a little local contrast for a faded print; nothing for a healthy one.

    The undamaged pixels' 0.5/99.5 percentiles go to 2/98 (no clipping beyond
    the extreme 0.5 %, rolled off softly), then CLAHE mixed in at ``local``
    brings back mid-tone contrast the fading flattened.
    """
    stats = tone_stats(L, mask)
    info: dict[str, Any] = {"faded": is_faded(stats), **{k: round(v, 1) for k, v in stats.items()}}
    if not info["faded"]:
        return L, info
    lo, hi = stats["black"], max(stats["white"], stats["black"] + 5.0)
    t = (L - lo) / (hi - lo)
    # soft roll-off instead of a hard clip outside [0, 1]
    t = np.where(t < 0, 0.02 * np.tanh(t / 0.02),
                 np.where(t > 1, 1 + 0.02 * np.tanh((t - 1) / 0.02), t))
    out = 2.0 + 96.0 * t
    if local > 0:
        g = to_gray8(out)
        tiles = max(2, int(round(max(L.shape) / 256)))
        clahe = cv2.createCLAHE(clipLimit=1.6, tileGridSize=(min(tiles, 16), min(tiles, 16)))
        out = (1 - local) * out + local * clahe.apply(g).astype(np.float32) / 2.55
    return np.clip(out, 0, 100).astype(np.float32), info


# ------------------------------------------------------------------ colour prints


def colour_stats(rgb: np.ndarray) -> dict[str, float]:
    """Chroma and hue spread of a (small copy of a) photo: a toned print has one hue."""
    from core import lab

    h, w = rgb.shape[:2]
    s = min(1.0, 256 / max(h, w))
    small = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))),
                       interpolation=cv2.INTER_AREA)
    small = cv2.blur(small, (3, 3))
    ab = lab.rgb_to_lab(lab.to_float_rgb(small))[..., 1:].reshape(-1, 2)
    c = np.hypot(ab[:, 0], ab[:, 1])
    colourful = c > 6.0
    if colourful.mean() < 0.05:
        return {"chroma": float(c.mean()), "hue_spread": 0.0, "colourful": float(colourful.mean())}
    # spread of ab around its mean, against the mean's size: one tint -> small
    d = ab[colourful] - ab[colourful].mean(axis=0)
    spread = float(np.sqrt((d ** 2).sum(axis=1).mean()))
    return {"chroma": float(c.mean()), "hue_spread": spread,
            "colourful": float(colourful.mean())}


def faded_colour(rgb: np.ndarray) -> bool:
    """A colour print (faded or not), not a gray or toned one: its colours vary in hue.

    Sepia, selenium and yellowed paper tint a print with one colour (ab points in a
    tight cluster); a faded colour print, even one gone magenta, still has
    different hues in different places.
    """
    st = colour_stats(rgb)
    return st["colourful"] > 0.15 and st["hue_spread"] > 7.0


def restore_colour(rgb: np.ndarray) -> np.ndarray:
    """A faded colour print's own colours back: each channel's levels stretched (its cast too).

    Per-channel 0.5/99.5 percentiles to the full range removes the overall cast
    (fading dyes at different rates) and the lost contrast. Same dtype as given.
    """
    top = 65535.0 if rgb.dtype == np.uint16 else 255.0
    x = rgb[..., :3].astype(np.float32) / top
    step = max(1, int(np.sqrt(x.shape[0] * x.shape[1] / 250_000)))
    sample = x[::step, ::step].reshape(-1, 3)
    lo = np.percentile(sample, 0.5, axis=0)
    hi = np.percentile(sample, 99.5, axis=0)
    x = (x - lo) / np.maximum(hi - lo, 1e-3)
    out = np.clip(x, 0, 1) * top + 0.5
    res = rgb.copy()
    res[..., :3] = out.astype(rgb.dtype)
    return res


# ------------------------------------------------------------------ the pipeline


def repair(L: np.ndarray, *, detector: Detector | None = None, mask: np.ndarray | None = None,
           tone: bool = True, seed: int = 0, strokes: tuple[Stroke, ...] = ()) -> Repaired:
    """Detect (unless ``mask`` is given: a detection kept from before), apply the user's
    brush ``strokes``, fill, restore tone.

    ``L``: the photo's lightness (0..100, HxW), never modified.
    """
    t0 = time.perf_counter()
    if L.ndim != 2:
        raise ValueError(f"expected a lightness image HxW, got {L.shape}")
    det = detector
    if mask is None:
        det = det or Detector()
        mask = det.detect(L)
    elif mask.shape != L.shape:
        raise ValueError(f"mask {mask.shape} does not match the photo {L.shape}")
    if strokes:
        mask = apply_strokes(mask, strokes)
    t1 = time.perf_counter()
    out = fill(L, mask, np.random.default_rng(seed))
    t2 = time.perf_counter()
    tone_info: dict[str, Any] = {"faded": False}
    if tone:
        out, tone_info = restore_tone(out, mask)
    t3 = time.perf_counter()
    report = {
        "detector": det.kind if det else "given mask",
        "strokes": len(strokes),
        "damaged": round(float((mask > 0).mean()), 5),
        "kinds": {name: round(float((mask == k).mean()), 5)
                  for k, name in {**KINDS, USER: "user"}.items()},
        "tone": tone_info,
        "seconds": {"detect": round(t1 - t0, 3), "fill": round(t2 - t1, 3),
                    "tone": round(t3 - t2, 3)},
    }
    return Repaired(out.astype(np.float32), mask, report)


__all__ = ["DUST", "LINE", "STAIN", "TEAR", "USER", "Detector", "Repaired", "Stroke",
           "apply_strokes", "classical_damage",
           "faded_colour", "fill", "repair", "restore_colour", "restore_tone"]
