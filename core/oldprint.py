"""The one simulator of old-print degradation: a clean gray photo -> a damaged scan.

Used wherever Tinct needs a damaged print whose truth is known: training the
damage detector (the mask is its label), training a colorizer on degraded
inputs (``damage=False``: only what the whole print suffers), the figures'
simulated old scans, and the repair benchmark.

Local damage goes in the label mask, one kind per pixel (the last one drawn
wins): :data:`LINE` (scratches, cracks, creases, crack networks; bright and
dark lines that wander and branch), :data:`DUST` (specks and fibres of many
sizes), :data:`TEAR` (torn edges, missing corners) and :data:`STAIN`
(blotches, tide marks). Global degradations are not in the mask: fading and
low contrast, toning's effect on lightness, film grain, blur, vignetting,
uneven exposure, JPEG. Every size scales with the image, every strength is
drawn at random over a realistic range, and one ``np.random.Generator``
decides everything, so a seed gives the same scan.

Qt-free; numpy and OpenCV only.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import cv2
import numpy as np

NONE, LINE, DUST, TEAR, STAIN = 0, 1, 2, 3, 4
#: label value -> name, as reports and benchmarks spell it
KINDS: dict[int, str] = {LINE: "line", DUST: "dust", TEAR: "tear", STAIN: "stain"}
#: a damaged pixel goes in the mask only if it moved at least this much (0..1):
#: invisible damage (a white scratch on white sky) is nothing to detect or fill
VISIBLE = 0.03


@dataclass(frozen=True)
class OldPrint:
    """A simulated scan: ``gray`` (uint8, HxW) and its damage labels ``mask`` (uint8, HxW)."""

    gray: np.ndarray
    mask: np.ndarray


def simulate(gray: np.ndarray, rng: np.random.Generator, *,
             damage: bool | Collection[int] = True, strength: float = 1.0) -> OldPrint:
    """A scan of an old print of ``gray`` (uint8 HxW, lightness or luminance).

    ``damage``: True for every kind of local damage, False for none (only the
    global degradations: a colorizer's training input), or the label values
    to draw (e.g. ``{LINE, DUST}``); the same seed gives the same print
    either way, so ``damage=False`` is the truth a repair aims at (up to the
    blur and JPEG spreading the damage). ``strength`` scales every random
    amplitude and count (0: the photo unchanged; 1: the realistic range; up
    to ~2 for a very bad print).
    """
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ValueError(f"expected a uint8 HxW gray image, got {gray.dtype} {gray.shape}")
    kinds = set(KINDS) if damage is True else set() if damage is False else set(damage)
    if not kinds <= set(KINDS):
        raise ValueError(f"unknown damage kinds {sorted(kinds - set(KINDS))}")
    s = float(max(strength, 0.0))
    h, w = gray.shape
    mask = np.zeros((h, w), np.uint8)
    if s == 0.0 or h < 2 or w < 2:
        return OldPrint(gray.copy(), mask)
    scale = max(h, w) / 512.0  # sizes are given for a 512 px print
    # the print's fate and each kind of damage draw from streams of their own, so the
    # same seed gives the same faded print with or without damage (the repair's truth)
    seeds = rng.integers(0, 2**63 - 1, size=1 + len(KINDS))
    grng = np.random.default_rng(seeds[0])
    x = gray.astype(np.float32) / 255.0
    x = _grain(x, grng, s, scale)
    x = _fade(x, grng, s)
    # local damage on the faded print, in the order it happens to a print
    for kind, draw in ((STAIN, _stains), (LINE, _lines), (DUST, _dust), (TEAR, _tears)):
        if kind in kinds:
            before = x
            x, alpha = draw(x, np.random.default_rng(seeds[kind]), s, scale)
            mask[(alpha >= 0.35) & (np.abs(x - before) >= VISIBLE)] = kind
    x = _exposure(x, grng, s)
    x = _blur(x, grng, s, scale)
    out = (np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return OldPrint(_jpeg(out, grng, s), mask)


# ------------------------------------------------------------------ helpers


def _count(rng: np.random.Generator, lo: float, hi: float, s: float) -> int:
    """A random count in [lo, hi] scaled by strength (0 at strength 0)."""
    return int(rng.integers(int(lo * s), int(hi * s) + 1))


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cells: float) -> np.ndarray:
    """Zero-mean, unit-spread noise varying over ~``cells`` blobs along the long side."""
    side = max(h, w)
    gh, gw = max(2, round(cells * h / side) + 2), max(2, round(cells * w / side) + 2)
    g = rng.standard_normal((gh, gw)).astype(np.float32)
    n = cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)
    return (n - n.mean()) / max(float(n.std()), 1e-6)


def _blend(x: np.ndarray, alpha: np.ndarray, target: np.ndarray | float) -> np.ndarray:
    return x * (1.0 - alpha) + target * alpha


# ------------------------------------------------------------------ global


def _grain(x: np.ndarray, rng: np.random.Generator, s: float, scale: float) -> np.ndarray:
    """Film grain: clumped noise, strongest in the mid-tones (silver grain)."""
    amp = rng.uniform(0.005, 0.035) * s
    n = rng.standard_normal(x.shape).astype(np.float32)
    size = rng.uniform(0.3, 0.9) * max(scale, 0.5)
    n = cv2.GaussianBlur(n, (0, 0), size)
    n /= max(float(n.std()), 1e-6)
    return x + amp * n * (0.4 + 2.4 * x * (1.0 - x))


def _fade(x: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    """Fading, low contrast and toning's effect on lightness: a tone curve.

    Blacks lift, whites dull (yellowed paper reflects less), and the curve
    bends (sepia or selenium toning shifts the mid-tones); always some contrast
    lost, from mild to a ghost of a print.
    """
    lo = min(rng.uniform(0.02, 0.25) * s, 0.45)
    hi = max(1.0 - rng.uniform(0.02, 0.2) * s, lo + 0.2)
    gamma = float(np.exp(rng.normal(0.0, 0.18) * min(s, 1.5)))
    return lo + (hi - lo) * np.power(np.clip(x, 0.0, 1.0), gamma)


def _exposure(x: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    """Uneven exposure (a slow gradient across the print) and vignetting."""
    h, w = x.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy = yy / max(h - 1, 1) - 0.5
    xx = xx / max(w - 1, 1) - 0.5
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * xx + np.sin(angle) * yy
    gain = 1.0 + rng.uniform(0.0, 0.18) * s * ramp
    gain += 0.05 * s * rng.uniform(0, 1) * _smooth_noise(rng, h, w, 3)
    vignette = rng.uniform(0.0, 0.35) * s
    gain *= 1.0 - vignette * np.clip((xx * xx + yy * yy) * 2.0, 0, 1) ** 1.5
    return x * gain


def _blur(x: np.ndarray, rng: np.random.Generator, s: float, scale: float) -> np.ndarray:
    """Soft focus of an old lens or a cheap scanner."""
    sigma = rng.uniform(0.0, 1.2) * s * max(scale, 0.5)
    return cv2.GaussianBlur(x, (0, 0), sigma) if sigma > 0.25 else x


def _jpeg(img: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    """Most scans people have were saved as JPEG at least once."""
    if rng.uniform() > min(0.7 * s, 0.9):
        return img
    q = int(np.clip(rng.uniform(35, 95) + (1.0 - min(s, 2.0)) * 30, 30, 97))
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE) if ok else img


# ------------------------------------------------------------------ local damage


def _walk(rng: np.random.Generator, start: tuple[float, float], angle: float, steps: int,
          step: float, wander: float) -> np.ndarray:
    """A wandering polyline: a random walk whose direction drifts."""
    pts = np.empty((steps + 1, 2), np.float32)
    pts[0] = start
    drift = rng.normal(0, wander * 0.3)
    for i in range(steps):
        angle += drift + rng.normal(0, wander)
        pts[i + 1] = pts[i] + step * np.array([np.cos(angle), np.sin(angle)], np.float32)
    return pts


def _poly(canvas: np.ndarray, pts: np.ndarray, width: float, value: float = 1.0) -> None:
    """Draw an antialiased polyline of any width (sub-pixel widths fade instead of thinning)."""
    t = max(1, int(round(width)))
    v = value * min(1.0, width) if width < 1 else value
    cv2.polylines(canvas, [np.round(pts * 16).astype(np.int32)], False, float(v), t,
                  cv2.LINE_AA, shift=4)


def _branching(canvas: np.ndarray, rng: np.random.Generator, start: tuple[float, float],
               angle: float, length: float, width: float, scale: float, depth: int) -> None:
    """A crack or scratch that wanders and forks; branches thinner and shorter."""
    step = max(2.0, 5.0 * scale)
    steps = max(2, int(length / step))
    pts = _walk(rng, start, angle, steps, step, rng.uniform(0.05, 0.4))
    _poly(canvas, pts, width)
    if depth <= 0:
        return
    for _ in range(int(rng.poisson(1.2))):
        i = int(rng.integers(1, len(pts)))
        seg = pts[i] - pts[i - 1]
        a = float(np.arctan2(seg[1], seg[0])) + rng.choice([-1, 1]) * rng.uniform(0.4, 1.2)
        _branching(canvas, rng, (float(pts[i][0]), float(pts[i][1])), a,
                   length * rng.uniform(0.2, 0.6), max(0.6, width * rng.uniform(0.5, 0.9)),
                   scale, depth - 1)


def _lines(x: np.ndarray, rng: np.random.Generator, s: float, scale: float
           ) -> tuple[np.ndarray, np.ndarray]:
    """Scratches, cracks, creases and crack networks, bright and dark."""
    h, w = x.shape
    side = max(h, w)
    bright = np.zeros((h, w), np.float32)
    dark = np.zeros((h, w), np.float32)
    for _ in range(_count(rng, 0, 4, s)):  # cracks and scratches: long, forking
        canvas = bright if rng.uniform() < 0.7 else dark
        start = (float(rng.uniform(0, w)), float(rng.uniform(0, h)))
        _branching(canvas, rng, start, rng.uniform(0, 2 * np.pi),
                   side * rng.uniform(0.1, 0.8), rng.uniform(0.6, 2.5) * max(scale, 0.5),
                   scale, depth=int(rng.integers(0, 3)))
    for _ in range(_count(rng, 0, 3, s)):  # fine straight-ish scratches (emulsion, film)
        canvas = bright if rng.uniform() < 0.6 else dark
        a = rng.uniform(0, 2 * np.pi)
        start = (float(rng.uniform(0, w)), float(rng.uniform(0, h)))
        pts = _walk(rng, start, a, 20, side * rng.uniform(0.01, 0.04), 0.03)
        _poly(canvas, pts, rng.uniform(0.5, 1.5) * max(scale, 0.5))
    crease = np.zeros((h, w), np.float32)
    for _ in range(_count(rng, 0, 1.3, s)):  # crease: a fold across the print
        a = rng.uniform(0, np.pi)
        c = np.array([rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h], np.float32)
        d = np.array([np.cos(a), np.sin(a)], np.float32) * side
        pts = _walk(rng, tuple(c - d), a, 40, 2 * side / 40, 0.015)
        _poly(crease, pts, rng.uniform(1.5, 4.0) * max(scale, 0.5))
        _poly(bright, pts, rng.uniform(0.6, 1.5) * max(scale, 0.5))  # broken emulsion on the fold
    if rng.uniform() < 0.35 * s:  # crack network (craquelure) in a patch of the print
        n = _smooth_noise(rng, h, w, rng.uniform(6, 20))
        sign = (n > 0).astype(np.uint8)
        edges = (cv2.morphologyEx(sign, cv2.MORPH_GRADIENT, np.ones((2, 2), np.uint8)) > 0)
        region = _smooth_noise(rng, h, w, 2) > rng.uniform(0.3, 1.2)
        net = (edges & region).astype(np.float32)
        if scale > 1.5:
            net = cv2.dilate(net, np.ones((2, 2), np.uint8))
        bright = np.maximum(bright, cv2.GaussianBlur(net, (0, 0), 0.4) * rng.uniform(0.6, 1.0))
    bright = np.clip(bright, 0, 1)
    dark = np.clip(dark, 0, 1)
    crease = np.clip(cv2.GaussianBlur(crease, (0, 0), max(scale, 0.5)), 0, 1)
    out = x + crease * rng.uniform(0.05, 0.15) * (1 if rng.uniform() < 0.5 else -1)
    out = _blend(out, bright * rng.uniform(0.6, 1.0), rng.uniform(0.85, 1.0))
    out = _blend(out, dark * rng.uniform(0.6, 1.0), rng.uniform(0.0, 0.15))
    return out, np.maximum(np.maximum(bright, dark), (crease > 0.5) * 0.5)


def _dust(x: np.ndarray, rng: np.random.Generator, s: float, scale: float
          ) -> tuple[np.ndarray, np.ndarray]:
    """Dust, specks, mould spots and fibres: many sizes (a power law), dark and bright."""
    h, w = x.shape
    area = h * w / (512.0 * 512.0)
    bright = np.zeros((h, w), np.float32)
    dark = np.zeros((h, w), np.float32)
    for _ in range(_count(rng, 5 * area, 120 * area, s)):
        canvas = dark if rng.uniform() < 0.55 else bright
        r = min(0.5 * max(scale, 0.5) * (1.0 - rng.uniform()) ** -0.6, 8.0 * max(scale, 0.5))
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        if r > 1.5 and rng.uniform() < 0.5:  # irregular speck: a few overlapping blobs
            for _ in range(int(rng.integers(2, 5))):
                ox, oy = rng.normal(0, r * 0.5, 2)
                rr = max(0.5, r * rng.uniform(0.3, 0.8))
                cv2.circle(canvas, (int((cx + ox) * 16), int((cy + oy) * 16)), int(rr * 16),
                           1.0, -1, cv2.LINE_AA, shift=4)
        else:
            cv2.ellipse(canvas, (int(cx * 16), int(cy * 16)),
                        (int(max(r, 0.5) * 16), int(max(r * rng.uniform(0.5, 1), 0.5) * 16)),
                        rng.uniform(0, 180), 0, 360, 1.0, -1, cv2.LINE_AA, shift=4)
    for _ in range(_count(rng, 0, 6 * max(area, 0.3), s)):  # fibres and hairs
        canvas = dark if rng.uniform() < 0.6 else bright
        pts = _walk(rng, (float(rng.uniform(0, w)), float(rng.uniform(0, h))),
                    rng.uniform(0, 2 * np.pi), 12, rng.uniform(1.0, 4.0) * max(scale, 0.5), 0.35)
        _poly(canvas, pts, rng.uniform(0.5, 1.5) * max(scale, 0.5))
    bright = np.clip(bright, 0, 1)
    dark = np.clip(dark, 0, 1)
    out = _blend(x, bright * rng.uniform(0.7, 1.0), rng.uniform(0.85, 1.0))
    out = _blend(out, dark * rng.uniform(0.7, 1.0), rng.uniform(0.0, 0.2))
    return out, np.maximum(bright, dark)


def _tears(x: np.ndarray, rng: np.random.Generator, s: float, scale: float
           ) -> tuple[np.ndarray, np.ndarray]:
    """Missing corners and torn edges: ragged holes showing the scanner's background."""
    h, w = x.shape
    side = max(h, w)
    hole = np.zeros((h, w), np.uint8)
    for _ in range(_count(rng, 0, 1.6, s)):
        size = side * rng.uniform(0.04, 0.25)
        if rng.uniform() < 0.6:  # a corner
            cx, cy = float(rng.choice([0, w - 1])), float(rng.choice([0, h - 1]))
        else:  # a bite out of an edge
            edge = int(rng.integers(4))
            t = rng.uniform(0.1, 0.9)
            cx, cy = [(t * w, 0.0), (t * w, h - 1.0), (0.0, t * h), (w - 1.0, t * h)][edge]
            size *= 0.6
        n = int(rng.integers(24, 48))
        ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
        rad = size * np.exp(np.cumsum(rng.normal(0, 0.12, n)) * 0.5)
        rad *= rng.uniform(0.7, 1.3, n)  # ragged
        pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang) *
                        rng.uniform(0.5, 1.5)], 1)
        cv2.fillPoly(hole, [np.round(pts * 16).astype(np.int32)], 1, cv2.LINE_AA, shift=4)
    if not hole.any():
        return x, np.zeros_like(x)
    # the torn edge's paper fibres show white just inside the tear
    ring = cv2.dilate(hole, np.ones((3, 3), np.uint8),
                      iterations=max(1, int(rng.uniform(0.5, 3) * max(scale, 0.5))))
    ring = (ring > 0) & (hole == 0)
    jitter = rng.uniform(size=(h, w)) < 0.7
    fibres = (ring & jitter).astype(np.float32)
    backdrop = float(rng.choice([rng.uniform(0.0, 0.15), rng.uniform(0.85, 1.0),
                                 rng.uniform(0.4, 0.6)]))
    out = _blend(x, fibres, rng.uniform(0.85, 1.0))
    out = np.where(hole > 0, backdrop + rng.normal(0, 0.01, x.shape).astype(np.float32), out)
    return out.astype(np.float32), np.maximum(hole.astype(np.float32), fibres)


def _stains(x: np.ndarray, rng: np.random.Generator, s: float, scale: float
            ) -> tuple[np.ndarray, np.ndarray]:
    """Water stains and blotches: soft darkening or bleaching with a darker tide line."""
    h, w = x.shape
    side = max(h, w)
    out = x
    alpha_all = np.zeros((h, w), np.float32)
    for _ in range(_count(rng, 0, 1.6, s)):
        r = side * rng.uniform(0.04, 0.2)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        yy, xx = np.ogrid[0:h, 0:w]
        d = np.sqrt(((xx - cx) / r) ** 2 + ((yy - cy) / r) ** 2).astype(np.float32)
        d += 0.35 * _smooth_noise(rng, h, w, side / r * 1.5)  # irregular outline
        blob = np.clip((1.0 - d) * 4.0, 0.0, 1.0)  # soft edge
        tide = np.exp(-(((d - 1.0) * r / max(1.5 * scale, 1.0)) ** 2)).astype(np.float32)
        amount = rng.uniform(0.08, 0.3) * min(s, 1.5)
        if rng.uniform() < 0.75:  # a darkening (brown) stain with a tide line
            out = out * (1.0 - amount * blob) - 0.5 * amount * tide * (blob < 1)
        else:  # bleached
            out = out + (1.0 - out) * amount * blob
        alpha_all = np.maximum(alpha_all, np.maximum(blob, tide * 0.5))
    return out.astype(np.float32), alpha_all
