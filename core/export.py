"""Writing a colorized photo: format, quality, metadata, alpha, side-by-side.

Shared by the batch runner, the CLI and the GUI's export panel, so a photo
saved from any of them is the same file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from core.outputs import DEFAULT_PATTERN
from core.photo import Photo, default_format_for, encode_photo, write_encoded

LOSSLESS_16 = ("png", "tiff")


@dataclass(frozen=True)
class ExportOptions:
    """How results are written (the GUI's export panel, the CLI's flags)."""

    fmt: str | None = None  # None: same family as the input (PNG for lossless)
    quality: int = 92
    pattern: str = DEFAULT_PATTERN
    keep_metadata: bool = True  # EXIF and ICC profile
    overwrite: bool = False
    side_by_side: bool = False  # also write a before | after image, {name}_compare

    def format_for(self, photo: Photo) -> str:
        return self.fmt or default_format_for(photo.format)

    def result_dtype(self, photo: Photo, fmt: str | None = None) -> type:
        """The colour result's pixels that lose nothing in ``photo``'s output: uint8 for
        an 8-bit file (``Colorizer.render(dtype=...)`` then skips the float image)."""
        return np.uint8 if output_bit_depth(photo, fmt or self.format_for(photo)) == 8 \
            else np.float32


def output_bit_depth(photo: Photo, fmt: str) -> int:
    """Bits per channel of ``photo``'s output: 16 only for a 16-bit photo as PNG/TIFF."""
    return 16 if photo.bit_depth == 16 and fmt in LOSSLESS_16 else 8


def side_by_side(before: np.ndarray, after: np.ndarray, gap: int = 8) -> np.ndarray:
    """Original (as gray/sepia scan) and colour result next to each other, white gap.

    Both float 0..1; an 8-bit ``after`` (a uint8 result) is scaled to float."""
    if after.dtype == np.uint8:
        after = after.astype(np.float32) / np.float32(255.0)
    h, w = after.shape[:2]
    out = np.ones((h, 2 * w + gap, 3), np.float32)
    out[:, :w] = before
    out[:, w + gap :] = after
    return out


def _pixels_for(photo: Photo, rgb: np.ndarray, fmt: str, compare: bool):
    """(image, alpha, bit depth) to write for ``photo`` in ``fmt``."""
    image = rgb
    alpha = photo.alpha
    if compare:
        before = photo.rgb.astype(np.float32) / (65535.0 if photo.bit_depth == 16 else 255.0)
        image = side_by_side(before, rgb)
        alpha = None
    if alpha is not None and alpha.dtype == np.uint16 and not (
        photo.bit_depth == 16 and fmt in LOSSLESS_16
    ):
        alpha = (alpha >> 8).astype(np.uint8)
    bit_depth = output_bit_depth(photo, fmt)
    if bit_depth == 8 and alpha is not None and alpha.dtype != np.uint8:
        alpha = alpha.astype(np.uint8)
    return image, alpha, bit_depth


def _encoder(photo: Photo, rgb: np.ndarray, path: Path, options: ExportOptions,
             fmt: str | None, compare: bool) -> Callable[[BinaryIO], None]:
    fmt = fmt or options.format_for(photo)
    image, alpha, bit_depth = _pixels_for(photo, rgb, fmt, compare)
    return encode_photo(
        path, image, fmt=fmt, quality=options.quality, alpha=alpha,
        exif=photo.exif if options.keep_metadata else None,
        icc=photo.icc if options.keep_metadata else None, bit_depth=bit_depth,
        dpi=photo.dpi,  # a print property, not private: kept whatever keep_metadata says
    )


def encode_result(photo: Photo, rgb: np.ndarray, path: Path, options: ExportOptions,
                  fmt: str | None = None) -> Callable[[BinaryIO], None]:
    """``write(f)`` for the colour photo (float RGB 0..1) of ``photo``."""
    return _encoder(photo, rgb, Path(path), options, fmt, compare=False)


def encode_compare(photo: Photo, rgb: np.ndarray, path: Path, options: ExportOptions,
                   fmt: str | None = None) -> Callable[[BinaryIO], None]:
    """``write(f)`` for the before | after comparison image (its own file)."""
    return _encoder(photo, rgb, Path(path), options, fmt, compare=True)


def write_result(
    photo: Photo,
    rgb: np.ndarray,
    path: Path,
    options: ExportOptions,
    protect: Iterable[Path] = (),
) -> Path:
    """Save a colour result (float RGB 0..1) for ``photo`` atomically at ``path``.

    (One file at a given path, for scripts and benchmarks; batches and the app go
    through the output plan and core.job, which pick the names.)
    """
    write = encode_result(photo, rgb, path, options)
    protected = [*protect]
    if photo.path is not None:
        protected.append(photo.path)
    return write_encoded(Path(path), write, options.overwrite, protected)
