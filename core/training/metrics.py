"""Quality measures for colorization, as the evaluation report uses them."""

from __future__ import annotations

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


def topk_error(probs: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Per-photo 0/1 error: the true label is not among the k most probable."""
    top = np.argsort(-probs, axis=1)[:, :k]
    return (~np.any(top == labels[:, None], axis=1)).astype(np.float64)
