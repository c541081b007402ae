"""Numpy pixels -> QImages for the screen, made in worker threads.

Converting and downscaling a 12 MP photo takes tens of milliseconds, too
long for the GUI thread, so workers hand the canvas ready-to-paint images:
the full-resolution one (for 100% zoom) and a preview small enough to paint
at fit-to-window size without aliasing or per-frame cost. QImage (unlike
QPixmap) may be built outside the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PySide6.QtGui import QImage

#: Long side of the preview the canvas paints when the photo is shown smaller.
PREVIEW_SIDE = 2048
#: Long side of the thumbnails in the strip (drawn at half size on HiDPI-less screens).
THUMB_SIDE = 192


@dataclass(frozen=True)
class Frames:
    """One picture at full resolution plus a downscaled preview of it."""

    full: QImage
    preview: QImage

    @property
    def width(self) -> int:
        return self.full.width()

    @property
    def height(self) -> int:
        return self.full.height()

    def for_scale(self, scale: float) -> QImage:
        """The cheapest image that still has enough pixels at this zoom."""
        if self.preview is not self.full and scale * self.full.width() <= self.preview.width():
            return self.preview
        return self.full


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """uint8/uint16/float(0..1) RGB -> uint8 RGB (display only: exports keep depth)."""
    if rgb.dtype == np.uint8:
        return rgb
    if rgb.dtype == np.uint16:
        return (rgb >> 8).astype(np.uint8)
    return cv2.convertScaleAbs(np.ascontiguousarray(rgb, dtype=np.float32), alpha=255.0)


def qimage(rgb: np.ndarray) -> QImage:
    """RGB(uint8/16/float) HxWx3 -> an owning QImage in the raster engine's native format.

    OpenCV converts straight into the QImage's own pixel buffer. Building the
    image from a numpy buffer and then calling ``QImage.copy()`` would hold the
    GIL through a 48 MB copy at 12 MP (page faults included, ~130 ms on a
    2-core machine), stalling the GUI thread; cv2 releases the GIL while it works.
    """
    rgb8 = to_uint8(rgb)
    h, w = rgb8.shape[:2]
    image = QImage(w, h, QImage.Format.Format_RGB32)
    if image.isNull():
        raise MemoryError(f"no memory for a {w}x{h} image")
    rows = np.frombuffer(image.bits(), np.uint8, image.sizeInBytes())
    bgra = rows.reshape(h, image.bytesPerLine())[:, : w * 4].reshape(h, w, 4)
    code = cv2.COLOR_GRAY2BGRA if rgb8.ndim == 2 else cv2.COLOR_RGB2BGRA
    src = rgb8 if rgb8.ndim == 2 else np.ascontiguousarray(rgb8[..., :3])
    out = cv2.cvtColor(src, code, dst=bgra)
    if out is not bgra and not np.shares_memory(out, bgra):  # cv2 made its own array
        bgra[...] = out
    return image


def scaled(rgb: np.ndarray, side: int) -> np.ndarray:
    """Area-averaged downscale so the long side is at most ``side`` (no upscaling)."""
    h, w = rgb.shape[:2]
    factor = side / max(h, w)
    if factor >= 1.0:
        return rgb
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return cv2.resize(np.ascontiguousarray(rgb), size, interpolation=cv2.INTER_AREA)


def frames(rgb: np.ndarray) -> Frames:
    """Full-resolution and preview QImages of an RGB array."""
    rgb8 = to_uint8(rgb)
    full = qimage(rgb8)
    small = scaled(rgb8, PREVIEW_SIDE)
    preview = full if small is rgb8 else qimage(small)
    return Frames(full, preview)


def thumbnail(rgb: np.ndarray, side: int = THUMB_SIDE) -> QImage:
    """A small QImage for the thumbnail strip."""
    return qimage(scaled(to_uint8(rgb), side))


#: the long side of the repair overlay: enough to see a scratch, small enough to keep
OVERLAY_SIDE = 2048


def mask_overlay(mask: np.ndarray, side: int = OVERLAY_SIDE) -> QImage:
    """A translucent magenta picture of the repaired pixels (any label > 0), for painting
    over the photo; thin marks survive the downscale (max, not average)."""
    h, w = mask.shape
    m = (mask > 0).astype(np.uint8)
    factor = side / max(h, w)
    if factor < 1.0:
        k = int(np.ceil(1 / factor))
        m = cv2.dilate(m, np.ones((k, k), np.uint8))
        m = cv2.resize(m, (max(1, round(w * factor)), max(1, round(h * factor))),
                       interpolation=cv2.INTER_NEAREST)
    oh, ow = m.shape
    image = QImage(ow, oh, QImage.Format.Format_ARGB32_Premultiplied)
    if image.isNull():
        raise MemoryError(f"no memory for a {ow}x{oh} overlay")
    rows = np.frombuffer(image.bits(), np.uint8, image.sizeInBytes())
    bgra = rows.reshape(oh, image.bytesPerLine())[:, : ow * 4].reshape(oh, ow, 4)
    alpha = 150
    on = m > 0
    bgra[...] = 0
    bgra[on] = (alpha * 230 // 255, 0, alpha * 230 // 255, alpha)  # premultiplied magenta
    return image
