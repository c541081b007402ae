"""Colour pins: "her dress was blue", and the photo follows.

A :class:`Pin` is a point in the photo's own pixels and a colour. Each pin
recolours *its region* -- the area around it bounded by edges in L, fading
with distance -- and nothing else. Only the pin colour's ab is used: the photo
keeps its own lightness, so a pin never changes brightness.

How: edge-aware propagation of each pin over a reduced-resolution copy of L
with the Fast Global Smoother (Min et al., TIP 2014): the weighted-least-
squares smoother ``(I + lambda * L_w) u = f`` (``L_w`` the graph Laplacian
whose neighbour weights fall with the L difference, so edges stop it), solved
by alternating 1-D passes along rows and columns, each a tridiagonal system
factored once per photo. Smoothing a pin's unit mass gives its reach ``S_k``:
flat inside a region closed by edges, falling off with distance in an open
one. Normalised by its value at the pin, times a fall-off with the difference
in L from the pin (a bilateral range term, ``L_RANGE``: a boundary that is
gradual or faint in L does not stop the smoother, but the surface beyond is
usually much lighter or darker), it is the pin's confidence (1 at the pin).

A pin's *region* is where its confidence is above ``FLOOR``; the pin's weight
ramps smoothly from exactly zero there (no seam) and nothing outside it moves:
:meth:`Spread.regions` is that rule, and what the engine, the benchmark and the
tests all use. Several pins share a region in proportion to their reach, so
they split it along its inner edges and blend smoothly where there are none.
The result is an ab *offset* from the automatic colour (outside every region:
exactly zero), which the engine upsamples onto the full-resolution L and adds
to the automatic colour upsampled exactly as without pins, so the rest of the
photo keeps the automatic result to the bit.

Levin et al.'s exact sparse solve ("Colorization using Optimization", 2004)
is the reference formulation; :func:`propagate_exact` solves it (with a
prior towards the automatic colour) for the benchmark. The smoother is ~50x
faster at the same resolution, which is what lets the GUI follow a drag.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from core import lab

#: The propagation grid's longer side (pixels): quality vs. time per update.
GRID_SIDE = 320
#: Edge sensitivity: L difference (0..100) at which a neighbour link is e^-0.5 as strong.
EDGE_SIGMA = 2.5
#: How far a pin reaches in an open area, as a fraction of the photo's longer side.
REACH = 0.25
#: Confidence = min(1, GAIN x reach): >1 gives a pin a flat-topped neighbourhood of its own
#: colour before it fades (the smoothed reach of a point peaks sharply).
GAIN = 1.0
#: The confidence falls off with the L difference (0..100) from the pin: e^-0.5 at this
#: (0 turns it off). bench_pins.py: one pin made the ab error outside its real region
#: worse on 21 % of sampled test photos without it, 9 % with it, at the same 10-pin gain.
L_RANGE = 15.0
#: A pin's region: where its confidence (1 at the pin) is above this. Below it the pin
#: does nothing at all -- the photo keeps the automatic colour to the bit -- and above it
#: the pin's weight ramps up smoothly (a smoothstep from 0 here to its full confidence at
#: twice this), so a region has no visible edge. bench_pins.py picked it: see
#: docs/results.md, "colour pins".
FLOOR = 0.03
#: Pins' smoothed reaches (and their terms) kept per guide, one per grid cell a pin was
#: put in, beyond the pins of the last update: ~0.9 MB each on a 320x240 grid, per photo.
REACH_CACHE = 12
#: At most this many pins on one photo: each keeps its smoothed reach (~1-4 MB), so
#: thousands (a generated hints file) would take gigabytes; a real edit needs a few dozen.
MAX_PINS = 100
#: Smoother iterations (Min et al. use 3).
ITERATIONS = 3
#: "offset": shift the automatic colour by (pin - automatic at the pin);
#: "replace": fade towards the pin's colour itself.
MODES = ("offset", "replace")
DEFAULT_MODE = "replace"

_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


class PinError(ValueError):
    """A pin that cannot be used: outside the photo, or not a colour."""


@dataclass(frozen=True)
class Pin:
    """A point (x, y in the photo's upright pixels) and the colour it should have."""

    x: float
    y: float
    rgb: tuple[int, int, int]

    def __post_init__(self) -> None:
        rgb = tuple(self.rgb)
        if len(rgb) != 3 or not all(
            isinstance(c, (int, np.integer)) and not isinstance(c, bool) and 0 <= c <= 255
            for c in rgb
        ):
            raise PinError(f"pin colour must be three integers 0..255, not {self.rgb!r}")
        for name in ("x", "y"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise PinError(f"pin {name} must be a number, not {v!r}")
            try:
                f = float(v)  # an int of any size: 10**29 is a float, 10**400 overflows
            except OverflowError:
                f = math.inf
            if not math.isfinite(f):
                raise PinError(f"pin {name} must be a pixel position, not {str(v)[:40]}")
            object.__setattr__(self, name, f)
        object.__setattr__(self, "rgb", tuple(int(c) for c in rgb))

    @property
    def hex(self) -> str:
        return "#{:02x}{:02x}{:02x}".format(*self.rgb)

    def moved(self, x: float, y: float) -> Pin:
        return Pin(x, y, self.rgb)

    def recoloured(self, rgb: tuple[int, int, int]) -> Pin:
        return Pin(self.x, self.y, rgb)

    def to_json(self) -> dict[str, Any]:
        """The hints/sidecar form: ``{"x": 120, "y": 40, "color": "#2a3f8f"}``."""
        x = int(self.x) if self.x.is_integer() else round(self.x, 2)
        y = int(self.y) if self.y.is_integer() else round(self.y, 2)
        return {"x": x, "y": y, "color": self.hex}

    @classmethod
    def from_json(cls, obj: Any) -> Pin:
        """Parse one hint object; PinError says what is wrong with it."""
        if not isinstance(obj, dict):
            raise PinError(f"a pin must be an object with x, y and color, not {obj!r}")
        missing = [k for k in ("x", "y", "color") if k not in obj]
        if missing:
            raise PinError(f"pin {obj!r} has no {', '.join(missing)}")
        return cls(obj["x"], obj["y"], parse_color(obj["color"]))


def parse_color(text: Any) -> tuple[int, int, int]:
    """'#2a3f8f' (or '2a3f8f') -> (42, 63, 143); PinError for anything else."""
    m = _HEX.match(text) if isinstance(text, str) else None
    if m is None:
        raise PinError(f"bad colour {text!r}: use #rrggbb, e.g. #2a3f8f")
    v = m.group(1)
    return int(v[0:2], 16), int(v[2:4], 16), int(v[4:6], 16)


def pins_from_json(items: Any) -> list[Pin]:
    """A JSON list of hint objects -> pins (PinError names the bad one)."""
    if not isinstance(items, list):
        raise PinError(f"pins must be a list of {{x, y, color}} objects, not {items!r}"[:200])
    _check_count(len(items))
    out = []
    for i, obj in enumerate(items):
        try:
            out.append(Pin.from_json(obj))
        except PinError as exc:
            raise PinError(f"pin {i + 1}: {exc}") from None
    return out


def _check_count(n: int) -> None:
    if n > MAX_PINS:
        raise PinError(f"{n} colour pins: at most {MAX_PINS} on one photo")


def check_pins(pins: Iterable[Pin], width: int, height: int) -> list[Pin]:
    """The pins, or PinError for one outside the photo (0 <= x < width, 0 <= y < height)
    or for more than MAX_PINS."""
    pins = list(pins)
    _check_count(len(pins))
    out = []
    for i, p in enumerate(pins):
        if not isinstance(p, Pin):
            raise PinError(f"pin {i + 1}: not a Pin ({p!r})")
        if not (0 <= p.x < width and 0 <= p.y < height):
            raise PinError(f"pin {i + 1} at ({p.x:g}, {p.y:g}) is outside the photo "
                           f"({width}x{height} pixels)")
        out.append(p)
    return out


def pin_ab(pins: Sequence[Pin]) -> np.ndarray:
    """(K, 2) ab of the pins' colours (their own L is dropped: the photo keeps its L)."""
    rgb = np.array([p.rgb for p in pins], np.uint8).reshape(1, -1, 3)
    return lab.rgb_to_lab(rgb)[0, :, 1:].astype(np.float64)


# --------------------------------------------------------------------------- propagation


@dataclass(eq=False)
class Guide:
    """What propagation needs of one photo's L, built once and reused for every update."""

    L: np.ndarray  # the reduced-resolution L the pins spread over, (h, w) float32
    scale_x: float  # grid px per photo px
    scale_y: float
    reach: float  # grid px
    _rows: list[tuple[Any, ...]] = field(default_factory=list, repr=False)
    _cols: list[tuple[Any, ...]] = field(default_factory=list, repr=False)
    #: :func:`reaches`' cache: grid cell -> the smoothed unit mass put there.
    _reach: OrderedDict[tuple[int, int], np.ndarray] = field(
        default_factory=OrderedDict, repr=False)
    #: :func:`_pin_terms`' cache: (cell, gain, l_range) -> (confidence, share).
    _terms: OrderedDict[tuple[Any, ...], tuple[np.ndarray, np.ndarray]] = field(
        default_factory=OrderedDict, repr=False)
    #: A unit mass smoothed over a flat grid of this size, read where it was put: what
    #: a pin's mass is scaled by, so that its confidence is 1 at the pin (and more in
    #: a region closed by edges, where the mass cannot spread out).
    peak: float = 1.0
    #: The automatic ab this photo was last pinned over, and which models made it
    #: (the engine's cache: a dragged pin does not run the decoders again).
    auto_key: Any = field(default=None, repr=False)
    auto_ab: Any = field(default=None, repr=False)
    #: ``auto_ab`` upsampled onto the photo's colour map, as a render without pins has it.
    auto_up: Any = field(default=None, repr=False)

    @property
    def shape(self) -> tuple[int, int]:
        return self.L.shape  # type: ignore[return-value]

    def node(self, pin: Pin) -> tuple[int, int]:
        """The grid cell (row, col) a pin falls into."""
        h, w = self.shape
        c = min(w - 1, max(0, int((pin.x + 0.5) * self.scale_x)))
        r = min(h - 1, max(0, int((pin.y + 0.5) * self.scale_y)))
        return r, c

    def smooth(self, f: np.ndarray) -> np.ndarray:
        """Fast Global Smoother of (h, w, C) data: rows then columns, ITERATIONS times."""
        h, w = self.shape
        from scipy.linalg import lapack  # scipy only once a photo gets pins

        c = f.shape[2]
        u = np.asarray(f, np.float64)
        for rows, cols in zip(self._rows, self._cols):
            # rows: the grid in row-major order is one tridiagonal system (no links
            # across row ends); columns: the same for the transposed grid.
            x, _ = lapack.dgttrs(*rows, np.asfortranarray(u.reshape(h * w, c)))
            u = x.reshape(h, w, c).transpose(1, 0, 2)
            x, _ = lapack.dgttrs(*cols, np.asfortranarray(u.reshape(h * w, c)))
            u = x.reshape(w, h, c).transpose(1, 0, 2)
        return u

def build_guide(
    L: np.ndarray,
    grid_side: int = GRID_SIDE,
    edge_sigma: float = EDGE_SIGMA,
    reach: float = REACH,
) -> Guide:
    """Reduce L to the propagation grid and factor the smoother's 1-D systems."""
    H, W = L.shape
    s = min(1.0, grid_side / max(H, W))
    w, h = max(3, round(W * s)), max(3, round(H * s))  # scipy's dgttrf wants 3+ a line
    small = cv2.resize(np.asarray(L, np.float32), (w, h), interpolation=cv2.INTER_AREA)
    guide = Guide(small, w / W, h / H, max(1.0, reach * max(w, h)))
    g = small.astype(np.float64)
    wx = np.exp(-np.diff(g, axis=1) ** 2 / (2 * edge_sigma**2))  # (h, w-1)
    wy = np.exp(-np.diff(g, axis=0) ** 2 / (2 * edge_sigma**2))  # (h-1, w)
    # Min et al.'s schedule: lambda_t = 1.5 * 4^(T-t) / (4^T - 1) * lambda.
    lam = guide.reach**2
    lams = [1.5 * 4.0 ** (ITERATIONS - t) / (4.0**ITERATIONS - 1) * lam
            for t in range(1, ITERATIONS + 1)]
    for lt in lams:
        guide._rows.append(_factor(wx, lt))
        guide._cols.append(_factor(wy.T, lt))
    # On a flat grid the row and column passes act on different axes and commute, so the
    # smoothed point is the product of two 1-D responses.
    guide.peak = _flat_peak(w, lams) * _flat_peak(h, lams)
    return guide


def _flat_peak(n: int, lams: Sequence[float]) -> float:
    """The 1-D smoother's response at the middle of a flat line of n cells to a unit there."""
    u = np.zeros((n, 1))
    u[n // 2] = 1.0
    for lt in lams:
        u, _ = _solve(_factor(np.ones((1, n - 1)), lt), u)
    return float(u[n // 2, 0])


def _solve(factors: tuple[Any, ...], b: np.ndarray) -> tuple[np.ndarray, int]:
    from scipy.linalg import lapack

    return lapack.dgttrs(*factors, np.asfortranarray(b))


def _factor(links: np.ndarray, lam: float) -> tuple[Any, ...]:
    """LU of I + lam * (1-D weighted Laplacian) of every line of ``links`` (n, m-1)."""
    from scipy.linalg import lapack

    n, m1 = links.shape
    m = m1 + 1
    off = np.zeros((n, m))
    off[:, :-1] = -lam * links  # link j -> j+1; zero at the end of each line
    deg = np.zeros((n, m))
    deg[:, :-1] += lam * links
    deg[:, 1:] += lam * links
    sub = off.ravel()[:-1].copy()
    dl, d, du, du2, ipiv, info = lapack.dgttrf(sub, 1.0 + deg.ravel(), sub.copy())
    if info != 0:
        raise np.linalg.LinAlgError(f"smoother factorisation failed ({info})")
    return dl, d, du, du2, ipiv


def propagate(
    guide: Guide,
    pins: Sequence[Pin],
    auto_ab: np.ndarray,
    mode: str = DEFAULT_MODE,
    gain: float = GAIN,
    l_range: float = L_RANGE,
    floor: float = FLOOR,
) -> np.ndarray:
    """ab on the guide's grid: ``auto_ab`` (h, w, 2) with the pins' colours spread in
    (:func:`spread`'s offset added to it)."""
    auto = np.asarray(auto_ab, np.float32)
    if not pins:
        return auto.copy()
    return auto + spread(guide, pins, auto, mode, gain, l_range, floor).offset


@dataclass(eq=False)
class Spread:
    """What some pins do on the guide's grid: the ab offset they add to the automatic
    colour, and each pin's confidence (where it acts: :meth:`regions`)."""

    guide: Guide
    offset: np.ndarray  # (h, w, 2) float32, exactly 0 outside every pin's region
    conf: np.ndarray  # (K, h, w) float32, each pin's confidence (1 at the pin)
    floor: float

    def grid_regions(self) -> np.ndarray:
        """(K, h, w) bool: each pin's region on the grid -- the one rule, see FLOOR."""
        return self.conf > self.floor

    def regions(self, shape: tuple[int, int] | None = None, margin: int = 0,
                union: bool = False) -> np.ndarray:
        """(K, H, W) bool: each pin's region resampled to ``shape`` (the photo's own
        size by default), grown by ``margin`` grid cells first; ``union``: (H, W), the
        pixels in any of them.

        ``margin`` covers what the caller does with the offset after: the engine's
        edge-aware upsampling reaches ``2 * radius`` grid cells beyond its input
        (:meth:`core.engine.Colorizer.pin_regions` passes that, plus one cell for
        the last bilinear step). The resampling is bilinear and any touch counts, so
        the mask holds every pixel a bilinear resize of the offset can reach.
        """
        grid = self.grid_regions()
        if union:
            grid = grid.any(axis=0, keepdims=True)
        if margin > 0 and len(grid):
            k = np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)
            grid = np.stack([cv2.dilate(m.astype(np.uint8), k) > 0 for m in grid])
        h, w = self.guide.shape
        if shape is None:
            shape = (round(h / self.guide.scale_y), round(w / self.guide.scale_x))
        H, W = shape
        if (h, w) != (H, W):
            grid = np.stack([
                cv2.resize(m.astype(np.float32), (W, H), interpolation=cv2.INTER_LINEAR) > 0
                for m in grid
            ]) if len(grid) else np.zeros((0, H, W), bool)
        return grid[0] if union else grid


def reaches(guide: Guide, pins: Sequence[Pin]) -> np.ndarray:
    """(K, h, w): each pin's unit mass smoothed over the grid, scaled to 1 at a pin in a
    flat area (more inside a region closed by edges, where it cannot spread out).

    Linear in the mass, so one smoothing per grid cell a pin falls into, cached on the
    guide: a dragged pin smooths only itself, the others are read back.
    """
    nodes = [guide.node(p) for p in pins]
    new = list(dict.fromkeys(n for n in nodes if n not in guide._reach))
    if new:
        h, w = guide.shape
        f = np.zeros((h, w, len(new)))
        for k, (r, c) in enumerate(new):
            f[r, c, k] = 1.0 / guide.peak
        s = guide.smooth(f)
        for k, n in enumerate(new):
            guide._reach[n] = np.maximum(s[..., k], 0.0).astype(np.float32)
    for n in nodes:
        guide._reach.move_to_end(n)
    _trim(guide._reach, len(set(nodes)))
    h, w = guide.shape
    return np.stack([guide._reach[n] for n in nodes]) if nodes else np.zeros((0, h, w))


def spread(
    guide: Guide,
    pins: Sequence[Pin],
    auto_ab: np.ndarray,
    mode: str = DEFAULT_MODE,
    gain: float = GAIN,
    l_range: float = L_RANGE,
    floor: float = FLOOR,
) -> Spread:
    """The pins' offset from ``auto_ab`` (h, w, 2, on the grid) and their confidences.

    Pin k's reach ``r_k`` (:func:`reaches`) and its lightness term
    ``g_k = exp(-(L - L_k)^2 / 2 l_range^2)`` (L_k: the grid's L at the pin) give
    its confidence ``c_k = min(1, gain r_k) g_k``. The smoother stops at sharp steps
    in L, but a boundary whose L changes over several grid cells, or by a few units
    only, passes it: measured against the real photos' regions (bench_pins.py), that
    was where one pin still spilled into its neighbours; a surface much lighter or
    darker than the pin is taken as another one.

    The pin acts with ``a_k = c_k s_k``, ``s_k`` the ramp of :data:`FLOOR`: exactly 0
    where ``c_k <= floor`` (outside its region), 1 from ``2 floor`` on. Where pins
    overlap they share in proportion to ``r_k g_k s_k`` (so they split a region along
    its inner edges), and the colour moves by ``min(1, sum a_k)`` of the way to theirs.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    auto = np.asarray(auto_ab, np.float32)
    h, w = guide.shape
    if not pins:
        return Spread(guide, np.zeros((h, w, 2), np.float32), np.zeros((0, h, w)), floor)
    target = pin_ab(pins).astype(np.float32)
    reaches(guide, pins)  # smooths the new ones
    terms = [_pin_terms(guide, guide.node(p), gain, l_range, len(pins)) for p in pins]
    conf = np.stack([t[0] for t in terms])
    share = np.stack([t[1] for t in terms])
    if floor > 0:
        t = np.clip((conf - np.float32(floor)) / np.float32(floor), 0.0, 1.0)
        ramp = t * t * (3.0 - 2.0 * t)  # smoothstep: no seam where the region ends
        act = conf * ramp
        share *= ramp
    else:
        act = conf
    if mode == "offset":
        colour = np.array([target[k] - auto[guide.node(p)] for k, p in enumerate(pins)])
    else:
        colour = target
    total = share.sum(0)
    value = np.einsum("khw,kc->hwc", share, colour) / np.maximum(total, 1e-30)[..., None]
    amount = np.minimum(act.sum(0), 1.0)[..., None]
    if mode == "offset":
        offset = amount * value
    else:
        offset = amount * (value - auto)
    offset[amount[..., 0] == 0] = 0.0  # exactly: outside every region nothing moves
    return Spread(guide, offset.astype(np.float32), conf, floor)


def _pin_terms(guide: Guide, node: tuple[int, int], gain: float, l_range: float,
               keep: int) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, share) of a pin in grid cell ``node``, float32, cached on the guide:
    ``min(1, gain r) g`` and ``r g`` (:func:`spread`), both fixed by where the pin is."""
    key = (node, gain, l_range)
    got = guide._terms.get(key)
    if got is None:
        reach = guide._reach[node]
        conf = np.minimum(np.float32(gain) * reach, np.float32(1.0))
        if l_range:
            dl = guide.L - guide.L[node]
            near = np.exp(dl * dl * np.float32(-0.5 / l_range**2))
            conf *= near
            share = reach * near
        else:
            share = reach.copy()
        got = guide._terms[key] = (conf, share)
        _trim(guide._terms, keep)
    guide._terms.move_to_end(key)
    return got


def _trim(cache: OrderedDict[Any, Any], keep: int) -> None:
    """Drop the least recently used entries beyond REACH_CACHE + ``keep`` (the pins of
    this update, so a drag among them never smooths the pins that stay put)."""
    while len(cache) > REACH_CACHE + keep:
        cache.popitem(last=False)


def grid_ab(guide: Guide, ab: np.ndarray) -> np.ndarray:
    """Automatic ab (model size, any aspect) resampled onto the guide's grid."""
    h, w = guide.shape
    ab = np.asarray(ab, np.float32)
    if ab.shape[:2] == (h, w):
        return ab
    return cv2.resize(ab, (w, h), interpolation=cv2.INTER_LINEAR)


# --------------------------------------------------------------------------- reference


def propagate_exact(
    guide: Guide,
    pins: Sequence[Pin],
    auto_ab: np.ndarray,
    prior: float | None = None,
    edge_sigma: float = EDGE_SIGMA,
) -> np.ndarray:
    """Levin et al. (2004) with a prior, solved exactly (sparse LU): the reference.

    Minimises sum_ij w_ij (d_i - d_j)^2 + prior * sum_i d_i^2 for the ab offset d
    from the automatic colour, with d fixed at the pins to (pin - automatic).
    """
    import scipy.sparse as sp
    import scipy.sparse.linalg as sla

    auto = np.asarray(auto_ab, np.float64)
    if not pins:
        return auto.astype(np.float32)
    h, w = guide.shape
    n = h * w
    g = guide.L.astype(np.float64).ravel()
    idx = np.arange(n).reshape(h, w)
    i = np.r_[idx[:, :-1].ravel(), idx[:-1, :].ravel()]
    j = np.r_[idx[:, 1:].ravel(), idx[1:, :].ravel()]
    wt = np.exp(-((g[i] - g[j]) ** 2) / (2 * edge_sigma**2))
    W = sp.coo_matrix((wt, (i, j)), shape=(n, n)).tocsr()
    W = W + W.T
    prior = 1.0 / guide.reach**2 if prior is None else prior
    A = (sp.diags(np.asarray(W.sum(axis=1)).ravel() + prior) - W).tocsr()
    target = pin_ab(pins)
    fixed: dict[int, np.ndarray] = {}
    for k, p in enumerate(pins):
        r, c = guide.node(p)
        fixed[r * w + c] = target[k] - auto[r, c]
    fidx = np.array(sorted(fixed))
    free = np.setdiff1d(np.arange(n), fidx)
    d = np.zeros((n, 2))
    d[fidx] = np.array([fixed[k] for k in fidx])
    rhs = -A[free][:, fidx] @ d[fidx]
    d[free] = sla.splu(A[free][:, free].tocsc(), permc_spec="MMD_AT_PLUS_A").solve(rhs)
    return (auto + d.reshape(h, w, 2)).astype(np.float32)


# --------------------------------------------------------------------------- engine hook


def pin_spread(
    guide: Guide,
    auto_ab: np.ndarray,
    strength: float,
    pins: Sequence[Pin],
    mode: str = DEFAULT_MODE,
    gain: float = GAIN,
    **settings: float,
) -> Spread:
    """:func:`spread` over the automatic colour (model size) at ``strength``: the pins
    keep their own colour whatever the strength.

    The engine adds the offset, upsampled on its own, to the automatic colour upsampled
    exactly as without pins: outside every pin's region the offset is zero and the
    photo is the automatic result to the bit. (Resampling the automatic colour onto the
    grid and upsampling that instead changed it everywhere, by up to 35 ab units on a
    256 px photo: the one "leak" the region measure of bench_pins.py found all over.)
    """
    auto = grid_ab(guide, auto_ab) * np.float32(strength)
    return spread(guide, pins, auto, mode, gain, **settings)


def pin_offset(guide: Guide, auto_ab: np.ndarray, strength: float, pins: Sequence[Pin],
               **settings: Any) -> np.ndarray:
    """What the pins add to the automatic colour at ``strength``: :func:`pin_spread`'s
    ab offset on the guide's grid."""
    return pin_spread(guide, auto_ab, strength, pins, **settings).offset


def pinned_ab(guide: Guide, auto_ab: np.ndarray, strength: float, pins: Sequence[Pin],
              **settings: Any) -> np.ndarray:
    """The automatic colour at ``strength`` with the pins spread in, on the guide's grid
    (for tests and the reference; rendering adds the offset at full size)."""
    auto = grid_ab(guide, auto_ab) * np.float32(strength)
    return auto + pin_offset(guide, auto_ab, strength, pins, **settings)
