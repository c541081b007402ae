"""From the colorizers' per-pixel colour distributions to one ab map.

Zhang et al.'s annealed mean decodes every pixel on its own. Where the
model is unsure, its distribution has several modes (a wall could be pink,
green or blue), and neighbouring pixels tip to different ones: rainbow
blotches. And the class-rebalanced loss makes every distribution lean
towards rare, saturated colours, so unsure pixels and grey things get tinted.
The steps here, each a measured lever, all numpy/OpenCV at the model's
resolution (64x64 x 313 bins, milliseconds), after any inference backend:

1. **prior correction**: multiply the distribution by the training colour
   prior to the power ``prior`` (1 undoes the rebalancing, 0 keeps it): the
   honest probability of grey is given back to grey things;
2. **spatial consensus**: average the log-probabilities over an edge-aware
   neighbourhood (a guided filter with the lightness as guide), so a region
   of one lightness agrees on one mode and colour changes only at edges;
3. **annealed mean** at ``temperature``;
4. **confidence**: where the (consensus) distribution is spread out, the
   decoded chroma is scaled down, ``1 / (1 + (spread / mute)^2)``: unsure
   pixels stay muted, confident ones keep their vivid colour;
5. **neutral coring**: a near-grey prediction (chroma of a few units) is
   taken to grey, ``c^2 / (c^2 + neutral^2)``; vivid ones hardly change;
6. **chroma gain**: the annealed mean of a spread distribution averages hues
   towards grey, so the decoded colour is duller than the truth's everywhere
   the model hedges; a gain a little above 1 gives that back after coring
   (so grey things, already cored to ~0, stay grey).

The parameters live in the manifest (``decoding`` of a colorizer
architecture), fitted on the validation splits by ``calibrate``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import cv2
import numpy as np

from core import lab
from core.upsampling import DEFAULT_EPS, DEFAULT_RADIUS, MAX_CHANNELS, guided_coefficients


@dataclass(frozen=True)
class Decoding:
    """How bin distributions become colour; ``Decoding()`` is the plain annealed mean."""

    temperature: float = lab.DEFAULT_TEMPERATURE
    prior: float = 0.0  # exponent of the training colour prior (0: off)
    consensus_radius: int = 0  # guided-filter radius at model resolution (0: off)
    consensus_eps: float = 25.0  # its smoothing, L units squared
    mute: float = 0.0  # spread (Lab units) at which chroma is halved (0: off)
    neutral: float = 0.0  # chroma (Lab units) below which colour is cored towards grey (0: off)
    gain: float = 1.0  # chroma scale after coring (1: off)
    upsample_radius: int = DEFAULT_RADIUS  # edge-aware upsampling onto L (0: bilinear)
    upsample_eps: float = DEFAULT_EPS

    @classmethod
    def from_manifest(cls, info: dict[str, Any], temperature: float | None = None) -> Decoding:
        """The architecture's decoding; an old manifest without one decodes as it always did."""
        known = {f.name for f in fields(cls)}
        stored = info.get("decoding")
        if stored is None:
            params: dict[str, Any] = {"temperature": info.get("temperature",
                                                              lab.DEFAULT_TEMPERATURE),
                                      "upsample_radius": 0}
        else:
            params = {k: v for k, v in stored.items() if k in known}
        if temperature is not None:
            params["temperature"] = temperature
        return cls(**params)

    def to_manifest(self) -> dict[str, Any]:
        return asdict(self)

    def replace(self, **changes: Any) -> Decoding:
        return Decoding(**{**asdict(self), **changes})


def decode(probs: np.ndarray, L_small: np.ndarray, d: Decoding,
           prior: np.ndarray | None = None) -> np.ndarray:
    """(h, w, Q) bin probabilities + the model-size L -> (h, w, 2) ab.

    Computed on the bins in chunks of at most 128, (chunks, h, w, bins), as
    :class:`_Chunks` lays them out: OpenCV filters an image of up to 128
    channels in one call, so the consensus's box filters (``upsampling.box`` of
    a stack) need no copies or transposes; same numbers.
    """
    p = np.asarray(probs, np.float32)
    ch = _Chunks(p.shape[-1])
    x = ch.split(p, fill=1.0)  # a padded bin: probability 1, masked out below
    if d.prior and prior is not None:
        x *= ch.split(np.power(np.maximum(np.asarray(prior, np.float32), 1e-6),
                               np.float32(d.prior)), fill=1.0)[:, None, None, :]
    np.maximum(x, np.float32(1e-8), out=x)
    logp = np.log(x, out=x)
    if d.consensus_radius > 0:
        guide = _guide(L_small, p.shape[:2])
        a, b = guided_coefficients(guide, logp, d.consensus_radius, d.consensus_eps)
        logp = a * guide[..., None] + b
    # Annealed mean from log-probabilities (the consensus may leave them unnormalised).
    z = np.multiply(logp, np.float32(1.0 / max(d.temperature, 1e-3)))
    ch.mask(z, -np.inf)
    z -= z.max(axis=3).max(axis=0)[None, ..., None]
    np.exp(z, out=z)
    bins = ch.split(lab.ab_bins().astype(np.float32).T, fill=0.0)  # (chunks, 2, m)
    ab = sum(z[i] @ bins[i].T for i in range(ch.n))
    ab /= z.sum(axis=3).sum(axis=0)[..., None]
    if d.mute > 0:
        e = logp - logp.max(axis=3).max(axis=0)[None, ..., None]
        ch.mask(e, -np.inf)
        np.exp(e, out=e)
        q = ch.join(e)
        q /= q.sum(axis=-1, keepdims=True)
        ab *= mute_factor(q, ab, d.mute)[..., None]
    if d.neutral > 0:
        ab *= neutral_factor(ab, d.neutral)[..., None]
    if d.gain != 1.0:
        ab *= np.float32(d.gain)
    return ab.astype(np.float32, copy=False)


class _Chunks:
    """Q bins as ``n`` chunks of ``m`` <= 128 (the last padded): the layout of :func:`decode`."""

    def __init__(self, q: int, most: int = MAX_CHANNELS):
        self.q = q
        self.n = -(-q // most)
        self.m = -(-q // self.n)

    def split(self, a: np.ndarray, fill: float) -> np.ndarray:
        """(..., Q) -> (n, ..., m), contiguous; padded bins get ``fill``."""
        a = np.asarray(a, np.float32)
        lead = a.shape[:-1]
        if self.n * self.m != self.q:
            full = np.full(lead + (self.n * self.m,), fill, np.float32)
            full[..., : self.q] = a
            a = full
        a = a.reshape(lead + (self.n, self.m))
        return np.ascontiguousarray(np.moveaxis(a, -2, 0))

    def join(self, x: np.ndarray) -> np.ndarray:
        """(n, ..., m) -> (..., Q)."""
        a = np.moveaxis(x, 0, -2)
        return a.reshape(a.shape[:-2] + (self.n * self.m,))[..., : self.q]

    def mask(self, x: np.ndarray, value: float) -> None:
        """Set the padded bins of (n, ..., m) to ``value``."""
        pad = self.n * self.m - self.q
        if pad:
            x[-1, ..., self.m - pad :] = value


def neutral_factor(ab: np.ndarray, neutral: float) -> np.ndarray:
    """Chroma scale c^2 / (c^2 + n^2): near-grey predictions go grey, vivid ones stay.

    A prediction of a few units of chroma is the model hedging on something
    grey (stone, a white wall, an overcast sky); coring takes that tint out
    while a chroma of 4n keeps 94 % of itself.
    """
    c2 = (ab * ab).sum(axis=-1)
    return c2 / (c2 + np.float32(neutral * neutral))


def spread(q: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """Per pixel: root mean squared distance (Lab units) of the distribution from ``ab``."""
    bins = lab.ab_bins()
    sq = (bins * bins).sum(axis=-1)
    # E|x - m|^2 = E|x|^2 - 2 m.E[x] + |m|^2
    ex = q @ bins
    var = q @ sq - 2.0 * (ab * ex).sum(axis=-1) + (ab * ab).sum(axis=-1)
    return np.sqrt(np.maximum(var, 0.0))


def mute_factor(q: np.ndarray, ab: np.ndarray, mute: float) -> np.ndarray:
    """Chroma scale in 0..1: 1 for a confident pixel, 1/2 at ``mute`` Lab units of spread."""
    s = spread(q, ab) / np.float32(mute)
    return 1.0 / (1.0 + s * s)


def _guide(L_small: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    L_small = np.asarray(L_small, np.float32)
    if L_small.shape[:2] == shape:
        return L_small
    return cv2.resize(L_small, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


def colour_prior(ab_samples: np.ndarray, sigma: float = 5.0) -> np.ndarray:
    """The training photos' smoothed ab bin frequencies (Q,), the rebalancing's prior.

    The same prior :func:`core.nets.decoder.class_rebalance_weights` divides
    by, so multiplying the predicted distribution by it (to the power 1)
    takes the rebalancing back out.
    """
    bins = lab.ab_bins()
    prior = lab.smoothed_ab_prior(ab_samples, sigma)
    lam = 0.5  # the rebalancing's mix with the uniform distribution
    return ((1 - lam) * prior + lam / len(bins)).astype(np.float32)
