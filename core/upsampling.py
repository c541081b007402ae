"""Edge-aware upsampling of a low-resolution ab map onto the photo's own lightness.

The decoders predict colour at 1/4 of a 256 px input (64x64 for any photo):
upsampled bilinearly, grass green runs onto the road beside it. A guided
filter (He et al. 2010) with the lightness as guide makes the colour a local
affine function of L, so where L has an edge the colour changes with it and
stops there. Its "fast" form: the affine coefficients are fitted at the
model's resolution, upsampled (they are smooth), and applied to L at the
colour resolution, a few cheap passes whatever the photo's size.

The colour resolution is capped at COLOUR_SIDE on the long side: chroma
detail finer than that is invisible (the eye reads detail from L; a colour
edge is then placed to within 5 px of a 12 MP photo's), so a 12 MP photo
pays for the guided step at 0.5 MP and compose's plain bilinear resize does
the rest. Colour pins (issue 10) use the same function.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Longest side of the edge-aware colour map; compose upsamples it the rest of the way.
COLOUR_SIDE = 800
#: Guided-filter window radius at the model's resolution, and its smoothing
#: (in L units squared: edges of more than ~sqrt(eps) in L keep colour apart).
DEFAULT_RADIUS = 2
DEFAULT_EPS = 64.0


#: The most channels one OpenCV filter call takes.
MAX_CHANNELS = 128


def box(x: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window, reflected at the border.

    ``x``: (H, W[, C]) with any number of channels, or a stack (n, H, W, C<=128)
    of such images (core.decoding's layout of its 261 colour bins): OpenCV
    filters up to 128 channels in one call, so a stack needs no copies.
    """
    k = 2 * radius + 1
    if x.ndim == 4:
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            cv2.blur(x[i], (k, k), dst=out[i], borderType=cv2.BORDER_REFLECT)
        return out
    if x.ndim == 3 and x.shape[2] > MAX_CHANNELS:
        out = np.empty_like(x)
        for c in range(0, x.shape[2], MAX_CHANNELS):
            out[..., c : c + MAX_CHANNELS] = cv2.blur(
                np.ascontiguousarray(x[..., c : c + MAX_CHANNELS]), (k, k),
                borderType=cv2.BORDER_REFLECT)
        return out
    return cv2.blur(x, (k, k), borderType=cv2.BORDER_REFLECT)


def guided_coefficients(guide: np.ndarray, src: np.ndarray, radius: int,
                        eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Window-averaged affine coefficients A, B with src ~ A * guide + B (He et al.).

    ``guide`` (H, W); ``src`` (H, W), (H, W, C) or a stack (n, H, W, C) (:func:`box`).
    """
    guide = np.asarray(guide, np.float32)
    src = np.asarray(src, np.float32)
    per_channel = src.ndim > guide.ndim  # the guide broadcasts over the channels (and stack)
    g = guide[..., None] if per_channel else guide
    mean_g = box(guide, radius)
    var_g = box(guide * guide, radius) - mean_g * mean_g
    mean_g = mean_g[..., None] if per_channel else mean_g
    var_g = var_g[..., None] if per_channel else var_g
    mean_s = box(src, radius)
    cov = box(g * src, radius) - mean_g * mean_s
    a = cov / (np.maximum(var_g, 0.0) + np.float32(eps))
    b = mean_s - a * mean_g
    return box(a, radius), box(b, radius)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Edge-preserving smoothing of ``src`` (H, W[, C]) by a gray ``guide`` of the same size."""
    a, b = guided_coefficients(guide, src, radius, eps)
    g = guide[..., None] if src.ndim == 3 else guide
    return (a * g + b).astype(np.float32)


def colour_shape(shape: tuple[int, int], side: int = COLOUR_SIDE) -> tuple[int, int]:
    """(h, w) of the colour map for a photo of ``shape``: its aspect, at most ``side`` long."""
    h, w = shape
    scale = min(1.0, side / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))


def upsample_ab(L: np.ndarray, ab: np.ndarray, radius: int = DEFAULT_RADIUS,
                eps: float = DEFAULT_EPS, side: int = COLOUR_SIDE) -> np.ndarray:
    """ab (h, w, 2) at model resolution -> ab that follows the edges of ``L`` (H, W).

    Returns ab at :func:`colour_shape` of L (L's own size up to ``side``);
    ``lab.compose`` takes it from there. ``radius`` 0 is plain bilinear.
    """
    L = np.asarray(L, np.float32)
    ab = np.asarray(ab, np.float32)
    ch, cw = colour_shape(L.shape[:2], side)
    L_c = L if L.shape[:2] == (ch, cw) else cv2.resize(L, (cw, ch), interpolation=cv2.INTER_AREA)
    if radius <= 0:
        return cv2.resize(ab, (cw, ch), interpolation=cv2.INTER_LINEAR)
    h, w = ab.shape[:2]
    L_lo = cv2.resize(L_c, (w, h), interpolation=cv2.INTER_AREA)
    a, b = guided_coefficients(L_lo, ab, radius, eps)
    out = cv2.resize(a, (cw, ch), interpolation=cv2.INTER_LINEAR)
    out *= L_c[..., None]
    out += cv2.resize(b, (cw, ch), interpolation=cv2.INTER_LINEAR)
    return out
