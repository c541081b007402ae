"""Open and save photos: every format a user is likely to drop on Tinct.

One place decides how a file becomes pixels and back, so the CLI, the GUI
and training agree: EXIF orientation is applied once on load (pixels are
upright everywhere else), 16-bit scans stay 16-bit, the ICC profile and EXIF
travel to the output, and saving is atomic and never replaces an original.
Every failure is a ``PhotoError`` that names the file and says why in words a
user can act on.
"""

from __future__ import annotations

import io
import logging
import os
import stat
import struct
import threading
import zlib
from collections.abc import Callable, Container, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, TiffImagePlugin, TiffTags, UnidentifiedImageError

from core import lab

log = logging.getLogger(__name__)

#: File name endings offered in open dialogs and picked up from folders.
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".gif", ".heic", ".heif"}
)
#: Output format name -> file suffix.
OUTPUT_FORMATS: dict[str, str] = {"png": ".png", "jpg": ".jpg", "tiff": ".tif", "webp": ".webp"}
#: Refuse images larger than this (a tiny file can claim gigapixels).
MAX_PIXELS: int = 120_000_000

#: zlib level for PNG. Measured on a 12 MP photo (2-core Xeon): level 6 took 3.8 s for
#: 17.0 MB, level 3 1.3 s for 19.3 MB, level 1 0.9 s for 19.8 MB; 3 keeps a batch moving.
PNG_COMPRESS_LEVEL = 3

_ORIENTATION = 0x0112
_X_RESOLUTION, _Y_RESOLUTION, _RESOLUTION_UNIT = 282, 283, 296
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_ICC_TAG = 34675
_STRIP_OFFSETS = 273
_STRIP_BYTE_COUNTS = 279
_TILE_OFFSETS = 324
_EXTRA_SAMPLES = 338
# Pillow decoders we let near user files: the formats above, nothing exotic.
# (Multi-picture phone JPEGs come through the JPEG decoder as "MPO".)
_PIL_FORMATS = ("JPEG", "PNG", "TIFF", "WEBP", "BMP", "GIF", "HEIF")
_FORMAT_ALIASES = {"jpeg": "jpg", "tif": "tiff"}
#: Input suffix -> Pillow format name, for inputs not decoded yet (picks the output family).
SOURCE_FORMATS: dict[str, str] = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF",
    ".webp": "WEBP", ".bmp": "BMP", ".gif": "GIF", ".heic": "HEIF", ".heif": "HEIF",
}
_SUFFIX_FORMATS = {".png": "png", ".jpg": "jpg", ".jpeg": "jpg", ".tif": "tiff", ".tiff": "tiff",
                   ".webp": "webp"}
# Largest side each encoder can hold.
_MAX_SIDE = {"jpg": 65_535, "webp": 16_383, "png": 2**31 - 1, "tiff": 2**32 - 1}
# TIFF's first IFD mixes EXIF-like facts with its own layout tags (strips,
# compression...); only these are worth carrying to another file.
_TIFF_EXIF_TAGS = frozenset({270, 271, 272, 274, 282, 283, 296, 305, 306, 315, 33432})
# Errors Pillow's and pillow-heif's decoders raise on damaged data.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error,
                  zlib.error, RuntimeError)
# How strongly a photo may be tinted and still count as gray: mean and 99th
# percentile Lab chroma of a block-averaged copy (noise averages out, a
# sepia or cyanotype tone does not; sepia prints sit around 10..25).
_GRAY_MEAN_CHROMA = 3.0
_GRAY_P99_CHROMA = 8.0
_GRAY_SAMPLE_SIDE = 256

_open_lock = threading.Lock()
_heif_lock = threading.Lock()
_heif_state: bool | None = None  # None: not tried yet


class PhotoError(Exception):
    """A photo that cannot be read or written; str() is '<path>: <reason>'."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self) -> tuple[type[PhotoError], tuple[Path, str]]:
        # Batch workers send errors across processes; the default reduce
        # would call __init__ with the message only.
        return (type(self), (self.path, self.reason))


@dataclass
class Photo:
    """Upright pixels plus the metadata to write back with the colorized result."""

    path: Path | None
    rgb: np.ndarray  # HxWx3 uint8, or uint16 for 16-bit sources
    alpha: np.ndarray | None  # HxW, same dtype as rgb
    exif: bytes | None  # Orientation already reset to 1
    icc: bytes | None  # an RGB ICC profile, or None (sRGB)
    format: str  # Pillow format name of the source
    bit_depth: int  # 8 or 16
    #: the scan's resolution (x, y dots per inch, upright), written back into the output:
    #: archivists print by it. None when the file does not say.
    dpi: tuple[float, float] | None = None
    #: pages (TIFF) or frames (WebP, GIF, HEIC) in the file: only the first is used
    frames: int = 1

    @property
    def notes(self) -> list[str]:
        """What the user should know about how the file was read (shown with the result)."""
        if self.frames <= 1:
            return []
        what = "pages" if self.format == "TIFF" else "frames"
        return [f"{self.path.name if self.path else 'the file'} has {self.frames} {what}: "
                f"only the first was colorized"]
    #: what the repair did to its lightness (core.repair's report), when it was repaired
    repair: dict | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), the order Pillow and Qt use."""
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])

    @property
    def is_gray(self) -> bool:
        """True when the photo carries (almost) no colour: gray, or R≈G≈B.

        A sepia or otherwise toned print is *not* gray: it has a colour cast
        (the colorizer still only uses its lightness). Chroma is measured on
        a block-averaged copy so scanner and JPEG noise do not count as colour.
        """
        rgb = self.rgb
        if rgb.ndim == 2 or rgb.shape[2] == 1:
            return True
        rgb = rgb[..., :3]
        h, w = rgb.shape[:2]
        scale = min(1.0, _GRAY_SAMPLE_SIDE / max(h, w))
        small = cv2.resize(np.ascontiguousarray(rgb), (max(1, round(w * scale)),
                           max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        if small.dtype == np.uint8:
            small = small.astype(np.float32) / np.float32(255.0)
        elif small.dtype == np.uint16:
            small = small.astype(np.float32) / np.float32(65535.0)
        else:
            small = np.clip(small.astype(np.float32), 0.0, 1.0)
        ab = cv2.cvtColor(small, cv2.COLOR_RGB2Lab)[..., 1:]
        chroma = np.hypot(ab[..., 0], ab[..., 1])
        return bool(chroma.mean() <= _GRAY_MEAN_CHROMA
                    and np.percentile(chroma, 99) <= _GRAY_P99_CHROMA)


# --------------------------------------------------------------------------- loading


def load_photo(path: str | Path) -> Photo:
    """Read a photo as upright RGB (8 or 16 bit) with its alpha, EXIF and ICC profile."""
    p = Path(path)
    _check_is_file(p)
    _register_heif()
    with _open_image(p) as im:
        w, h = im.size
        if w * h > MAX_PIXELS:
            raise PhotoError(p, f"image is {w}x{h} pixels, over the "
                                f"{MAX_PIXELS / 1e6:g} MP limit")
        fmt = "JPEG" if im.format == "MPO" else str(im.format)
        icc = im.info.get("icc_profile") or None
        jpeg = _decode_jpeg_with_opencv(p, im)
        if jpeg is not None:
            exif, rgb, alpha, depth = im.getexif(), jpeg, None, 8
        elif _needs_opencv(im):
            # Pillow would cut 16-bit colour to 8 bits; it still reads the metadata.
            exif = _exif_without_decoding(im)
            rgb, alpha, depth = _decode_with_opencv(p)
        else:
            # A TIFF's Orientation is read before decoding: Pillow deletes the tag on
            # load, having turned RGB pixels itself but not gray ones (and garbled gray
            # 5-8). So an oriented TIFF is decoded as stored, and turned below like any.
            exif = im.getexif() if fmt == "TIFF" else None
            with _tiff_as_stored(p, im, exif) as source:
                try:
                    source.load()
                except MemoryError:
                    raise PhotoError(p, "not enough memory to open it") from None
                except _DECODE_ERRORS as e:
                    raise PhotoError(p, f"file is damaged or truncated ({e})") from e
                if exif is None:
                    exif = im.getexif()
                rgb, alpha, depth, icc = _pixels_from_pillow(source, icc)
        # While the file is open: a TIFF's EXIF sub-IFDs are read lazily from it.
        orientation, exif_bytes = _upright_exif(exif, from_tiff=fmt == "TIFF")
        dpi = _dpi(im.info.get("dpi"))
        try:  # not MPO/HEIC: their extra images are previews and depth maps, not photos
            frames = max(1, int(getattr(im, "n_frames", 1))) if im.format in (
                "TIFF", "WEBP", "GIF", "PNG") else 1
        except (OSError, ValueError, TypeError, EOFError, struct.error):
            frames = 1  # a damaged later page: the first one is what is read anyway
    if icc is not None and icc[16:20] != b"RGB ":
        icc = None  # a gray or CMYK profile does not describe RGB output pixels
    rgb = _apply_orientation(rgb, orientation)
    if alpha is not None:
        alpha = _apply_orientation(alpha, orientation)
    if dpi is not None and orientation >= 5:  # turned a quarter: the axes swap
        dpi = (dpi[1], dpi[0])
    return Photo(p, rgb, alpha, exif_bytes, icc, fmt, depth, dpi, frames)


def _dpi(value: object) -> tuple[float, float] | None:
    """A usable (x, y) dpi from Pillow's ``info['dpi']`` (JPEG JFIF or EXIF, PNG pHYs,
    TIFF resolution), else None."""
    try:
        x, y = (float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    if not (0 < x <= 65535 and 0 < y <= 65535):
        return None
    return round(x, 2), round(y, 2)  # PNG keeps pixels per metre: 600 dpi reads 599.9988


@contextmanager
def _tiff_as_stored(p: Path, im: Image.Image, exif: Image.Exif | None) -> Iterator[Image.Image]:
    """``im`` itself, or for a TIFF with an Orientation other than 1 the same file opened
    from memory with that tag set to 1, so Pillow decodes the pixels as stored."""
    if exif is None or exif.get(_ORIENTATION, 1) in (1, None):
        yield im
        return
    try:
        buf = np.fromfile(p, np.uint8)
    except OSError as e:
        raise PhotoError(p, _os_reason("cannot read the file", e)) from e
    _neutralize_tiff_orientation(buf)
    with Image.open(io.BytesIO(buf.tobytes())) as stored:
        yield stored


def _check_is_file(p: Path) -> None:
    """Give the common mistakes a plain reason before Pillow gives a cryptic one."""
    try:
        st = p.stat()
    except FileNotFoundError:
        raise PhotoError(p, "file not found") from None
    except OSError as e:
        raise PhotoError(p, _os_reason("cannot read the file", e)) from e
    if stat.S_ISDIR(st.st_mode):
        raise PhotoError(p, "is a folder, not a photo")
    if not stat.S_ISREG(st.st_mode):  # a FIFO would block the reader forever
        raise PhotoError(p, "is not a regular file (a FIFO, socket or device)")
    if st.st_size == 0:
        raise PhotoError(p, "file is empty")


def _register_heif() -> bool:
    """Teach Pillow HEIC/HEIF once, on first use; False when pillow-heif is missing."""
    global _heif_state
    if _heif_state is None:
        with _heif_lock:
            if _heif_state is None:
                try:
                    from pillow_heif import register_heif_opener
                except ImportError:
                    _heif_state = False
                else:
                    register_heif_opener()
                    _heif_state = True
    return _heif_state


@contextmanager
def _open_image(p: Path) -> Iterator[Image.Image]:
    """Image.open with Pillow's bomb check off (ours uses MAX_PIXELS and says the size)."""
    with _open_lock:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            Image.init()  # loads the TIFF and WebP plugins; a no-op after the first call
            im = Image.open(p, formats=[f for f in _PIL_FORMATS if f in Image.OPEN])
        except UnidentifiedImageError:
            raise PhotoError(p, _unidentified_reason(p)) from None
        except FileNotFoundError:
            raise PhotoError(p, "file not found") from None
        except MemoryError:
            raise PhotoError(p, "not enough memory to open it") from None
        except OSError as e:
            raise PhotoError(p, _os_reason("cannot read the file", e)) from e
        except _DECODE_ERRORS as e:
            raise PhotoError(p, f"file is damaged or truncated ({e})") from e
        finally:
            Image.MAX_IMAGE_PIXELS = saved
    with im:
        yield im


def _unidentified_reason(p: Path) -> str:
    """Why Pillow could not identify the file, as specifically as the header allows."""
    try:
        with open(p, "rb") as f:
            head = f.read(32)
    except OSError as e:
        return _os_reason("cannot read the file", e)
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"heim", b"heis", b"hevc",
                                               b"hevx", b"mif1", b"msf1"):
        if not _heif_state:
            return "HEIC/HEIF photos need the pillow-heif package (pip install pillow-heif)"
        return "file is damaged or an unsupported kind of HEIF"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "file is damaged or an unsupported kind of TIFF (e.g. floating-point colour)"
    if head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n", b"GIF8")) or (
            head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "file is damaged or truncated"
    try:
        with Image.open(p) as other:  # a real image in a format we do not take?
            return f"unsupported image format {other.format}"
    except (UnidentifiedImageError, *_DECODE_ERRORS):
        return "not an image file"


def _needs_opencv(im: Image.Image) -> bool:
    """True for 16-bit colour PNG/TIFF, which Pillow can only hold as 8-bit."""
    if im.mode not in ("RGB", "RGBA", "LA", "RGBX"):
        return False
    if im.format == "PNG":
        return any(";16" in str(t[3]) for t in im.tile)
    if im.format == "TIFF":
        bits = im.tag_v2.get(258, 8)
        bits = bits if isinstance(bits, tuple) else (bits,)
        return max(bits) >= 16
    return False


def _exif_without_decoding(im: Image.Image) -> Image.Exif:
    """EXIF as far as the header has it; PNG's getexif would decode all the pixels."""
    if im.format == "PNG" and "exif" not in im.info:
        return Image.Exif()
    return im.getexif()


def _decode_jpeg_with_opencv(p: Path, im: Image.Image) -> np.ndarray | None:
    """A plain RGB or gray JPEG's upright-as-stored RGB pixels via OpenCV, else None.

    The same libjpeg-turbo decode as Pillow's (identical pixels) straight into one
    writable array: Pillow's path adds a chunked ``tobytes`` join and a copy under
    the GIL, ~40% of a 12 MP decode, and stalls a batch's other threads. Pillow
    still reads the header (EXIF, ICC, orientation, which OpenCV is told to leave
    alone). Anything else (CMYK, MPO, a file not ending in EOI, which OpenCV
    would decode with a warning where Pillow says "truncated") returns None.
    """
    if im.format != "JPEG" or im.mode not in ("RGB", "L") or "transparency" in im.info:
        return None
    try:
        buf = np.fromfile(p, np.uint8)
    except OSError:
        return None  # Pillow's decode says why, in its words
    if buf[-2:].tobytes() != b"\xff\xd9":
        return None
    flags = cv2.IMREAD_IGNORE_ORIENTATION | (
        cv2.IMREAD_COLOR_RGB if im.mode == "RGB" else cv2.IMREAD_GRAYSCALE)
    arr = cv2.imdecode(buf, flags)
    if arr is None or arr.shape[:2] != (im.size[1], im.size[0]):
        return None
    return arr if arr.ndim == 3 else _gray_to_rgb(arr)


def _decode_with_opencv(p: Path) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Decode a 16-bit colour PNG/TIFF with OpenCV, which keeps all 16 bits."""
    try:
        buf = np.fromfile(p, np.uint8)  # np.fromfile copes with non-ASCII paths on Windows
    except OSError as e:
        raise PhotoError(p, _os_reason("cannot read the file", e)) from e
    if buf[:2].tobytes() in (b"II", b"MM"):
        _neutralize_tiff_orientation(buf)
    arr = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)  # UNCHANGED leaves PNG orientation alone
    if arr is None:
        raise PhotoError(p, "file is damaged or truncated")
    alpha = None
    if arr.ndim == 3 and arr.shape[2] == 4:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA)
        alpha = np.ascontiguousarray(arr[..., 3])
        arr = arr[..., :3]
    elif arr.ndim == 3 and arr.shape[2] == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    elif arr.ndim == 3 and arr.shape[2] == 2:
        alpha = np.ascontiguousarray(arr[..., 1])
        arr = arr[..., 0]
    if arr.dtype.kind == "f":
        arr, alpha = _float_to_uint16(arr), None if alpha is None else _float_to_uint16(alpha)
    elif arr.dtype not in (np.uint8, np.uint16):
        raise PhotoError(p, f"unsupported pixel type {arr.dtype}")
    if arr.ndim == 2:
        arr = cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_GRAY2RGB)
    return arr, alpha, 16 if arr.dtype == np.uint16 else 8


def _neutralize_tiff_orientation(buf: np.ndarray) -> None:
    """Set the first IFD's Orientation to 1 in the in-memory file.

    OpenCV's TIFF decoder applies Orientation itself (IMREAD_UNCHANGED or
    not, depending on the version); we apply it once, for every format alike.
    """
    with suppress(struct.error, IndexError, ValueError):
        head = buf[:16].tobytes()
        e = "<" if head[:2] == b"II" else ">"
        (magic,) = struct.unpack(e + "H", head[2:4])
        if magic == 42:  # classic TIFF
            (offset,) = struct.unpack(e + "I", head[4:8])
            count_fmt, entry_size, value_at = "H", 12, 8
        elif magic == 43:  # BigTIFF
            (offset,) = struct.unpack(e + "Q", head[8:16])
            count_fmt, entry_size, value_at = "Q", 20, 12
        else:
            return
        count_size = struct.calcsize(count_fmt)
        (n,) = struct.unpack(e + count_fmt, buf[offset:offset + count_size].tobytes())
        for i in range(n):
            pos = offset + count_size + i * entry_size
            tag, typ = struct.unpack(e + "HH", buf[pos:pos + 4].tobytes())
            if tag == _ORIENTATION and typ == 3:  # SHORT, stored in the entry itself
                one = np.frombuffer(struct.pack(e + "H", 1), np.uint8)
                buf[pos + value_at:pos + value_at + 2] = one
                return


def _pixels_from_pillow(
    im: Image.Image, icc: bytes | None
) -> tuple[np.ndarray, np.ndarray | None, int, bytes | None]:
    """Pillow image in any mode -> (rgb, alpha, bit depth, icc still valid for rgb)."""
    mode = im.mode
    if "transparency" in im.info and mode in ("1", "L", "P", "RGB"):
        im, mode = im.convert("RGBA"), "RGBA"  # palette/colour-key transparency -> alpha
    elif mode == "CMYK":
        im, mode, icc = _cmyk_to_rgb(im, icc), "RGB", None
    elif mode == "1":
        im, mode = im.convert("L"), "L"
    elif mode not in ("L", "LA", "RGB", "RGBA", "I", "F") and not mode.startswith("I;16"):
        # P, PA, RGBX, RGBa, YCbCr, LAB, HSV...: let Pillow do the colour maths.
        mode = "RGBA" if "A" in im.getbands() or "a" in im.getbands() else "RGB"
        im = im.convert(mode)

    arr = np.asarray(im)
    if mode in ("RGB", "RGBA"):
        alpha = arr[..., 3] if mode == "RGBA" else None
        return arr[..., :3], alpha, 8, icc
    if mode == "LA":
        return _gray_to_rgb(arr[..., 0]), arr[..., 1], 8, icc
    if mode == "L":
        return _gray_to_rgb(arr), None, 8, icc
    if mode == "F":
        return _gray_to_rgb(_float_to_uint16(arr)), None, 16, icc
    # I;16, I;16B, I (32-bit int): 16-bit gray.
    if arr.dtype != np.uint16:
        arr = np.clip(arr, 0, 65535).astype(np.uint16) if arr.dtype.kind == "i" else \
            arr.astype(np.uint16)  # also turns big-endian '>u2' native
    return _gray_to_rgb(arr), None, 16, icc


def _cmyk_to_rgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """CMYK -> sRGB through the embedded profile when there is one (print scans)."""
    if icc:
        try:
            from PIL import ImageCms

            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            return ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"),
                                             outputMode="RGB")
        except (ImportError, OSError, ValueError) as e:  # PyCMSError is an OSError
            log.warning("CMYK profile not usable (%s); converting naively", e)
    return im.convert("RGB")


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    """One channel -> three equal channels (the colorizer always works on RGB)."""
    return cv2.cvtColor(np.ascontiguousarray(gray), cv2.COLOR_GRAY2RGB)


def _float_to_uint16(arr: np.ndarray) -> np.ndarray:
    """Float pixels -> uint16: 0..1 maps to the full range, anything else is stretched."""
    a = np.nan_to_num(arr.astype(np.float32, copy=False), nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = float(a.min(initial=0.0)), float(a.max(initial=0.0))
    if lo < 0.0 or hi > 1.0:
        a = (a - lo) / np.float32(hi - lo) if hi > lo else np.zeros_like(a)
    return lab.to_depth(a, 16)


def _upright_exif(exif: Image.Exif, *, from_tiff: bool) -> tuple[int, bytes | None]:
    """(orientation to apply, EXIF bytes to write back with Orientation=1)."""
    try:
        orientation = int(exif.get(_ORIENTATION, 1))
    except (TypeError, ValueError):
        orientation = 1
    if not 1 <= orientation <= 8:
        orientation = 1
    if from_tiff:
        exif = _tiff_exif(exif)
    if len(exif) == 0:
        return orientation, None
    exif[_ORIENTATION] = 1
    try:
        return orientation, exif.tobytes()
    except (ValueError, TypeError, KeyError, struct.error) as e:
        log.warning("dropping unreadable EXIF (%s)", e)
        return orientation, None


def _tiff_exif(src: Image.Exif) -> Image.Exif:
    """Only the camera/date/author facts of a TIFF's IFD, not its strip layout."""
    out = Image.Exif()
    for tag in _TIFF_EXIF_TAGS & set(src):
        out[tag] = src[tag]
    for tag in (_EXIF_IFD, _GPS_IFD):
        if tag in src:
            ifd = src.get_ifd(tag)
            if ifd:
                out[tag] = dict(ifd)
    return out


def _apply_orientation(a: np.ndarray, orientation: int) -> np.ndarray:
    """Turn pixels upright as EXIF orientation 1..8 asks (what ImageOps.exif_transpose does)."""
    if orientation == 2:
        a = a[:, ::-1]
    elif orientation == 3:
        a = a[::-1, ::-1]
    elif orientation == 4:
        a = a[::-1]
    elif orientation == 5:
        a = a.swapaxes(0, 1)
    elif orientation == 6:
        a = np.rot90(a, -1)
    elif orientation == 7:
        a = np.rot90(a, -1)[::-1]
    elif orientation == 8:
        a = np.rot90(a, 1)
    a = np.ascontiguousarray(a)
    return a if a.flags.writeable else a.copy()  # Pillow's arrays are read-only views


# --------------------------------------------------------------------------- saving


def save_photo(
    path: str | Path,
    rgb: np.ndarray,
    *,
    fmt: str | None = None,
    quality: int = 92,
    alpha: np.ndarray | None = None,
    exif: bytes | None = None,
    icc: bytes | None = None,
    bit_depth: int = 8,
    overwrite: bool = False,
    protect: Iterable[str | Path] | Container[str | Path] = (),
    dpi: tuple[float, float] | None = None,
) -> Path:
    """Write ``rgb`` (float 0..1, uint8 or uint16) atomically; return the path written.

    The file appears complete or not at all, and never replaces a path in
    ``protect`` (the originals), whatever ``overwrite`` says.
    """
    target = Path(path)
    write = encode_photo(target, rgb, fmt=fmt, quality=quality, alpha=alpha, exif=exif,
                         icc=icc, bit_depth=bit_depth, dpi=dpi)
    return write_encoded(target, write, overwrite, protect)


def write_encoded(
    target: Path, write: Callable[[BinaryIO], None], overwrite: bool = False,
    protect: Iterable[str | Path] | Container[str | Path] = (),
) -> Path:
    """Write what ``encode_photo`` made at ``target``, atomically; never over an original."""
    if _is_protected(target, protect):
        raise PhotoError(target, "refusing to overwrite an original photo")
    if not overwrite and os.path.lexists(target):
        raise PhotoError(target, "output already exists (use overwrite)")
    _write_atomically(target, write, overwrite)
    return target


def encode_photo(
    target: str | Path,
    rgb: np.ndarray,
    *,
    fmt: str | None = None,
    quality: int = 92,
    alpha: np.ndarray | None = None,
    exif: bytes | None = None,
    icc: bytes | None = None,
    bit_depth: int = 8,
    dpi: tuple[float, float] | None = None,
) -> Callable[[BinaryIO], None]:
    """Check the pixels and options and return ``write(f)`` that encodes the file.

    ``target`` names the file for messages and, without ``fmt``, its format.
    ``dpi``: the resolution to record (JPEG, PNG, TIFF; WebP has no field for it).
    Raises PhotoError (format cannot hold it) or ValueError (bad arrays/options).
    """
    target = Path(target)
    key = _resolve_format(target, fmt)
    if bit_depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16, not {bit_depth!r}")
    if bit_depth == 16 and key not in ("png", "tiff"):
        raise PhotoError(target, f"{key} cannot hold 16-bit pixels; use png or tiff")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be 1..100, not {quality!r}")
    rgb, alpha = _check_pixels(rgb, alpha)
    h, w = rgb.shape[:2]
    if max(w, h) > _MAX_SIDE[key]:
        raise PhotoError(target, f"{key} cannot hold {w}x{h} pixels (at most "
                                 f"{_MAX_SIDE[key]} a side); choose png or tiff")
    if bit_depth == 16 or key == "tiff":
        # Pillow has no 16-bit RGB, and its deflate TIFF writer (libtiff)
        # cannot write the EXIF sub-IFD; OpenCV encodes, we add the metadata.
        data = _encode_opencv(target, key, lab.to_depth(rgb, bit_depth),
                              None if alpha is None else lab.to_depth(alpha, bit_depth),
                              exif, icc, dpi)

        def write(f: BinaryIO) -> None:
            f.write(data)

        return write
    if key == "jpg":
        return _jpeg_writer(target, lab.to_depth(rgb, 8),
                            None if alpha is None else lab.to_depth(alpha, 8),
                            quality, exif, icc, dpi)
    pil_write = _pillow_writer(key, lab.to_depth(rgb, 8),
                               None if alpha is None else lab.to_depth(alpha, 8),
                               quality, exif, icc, dpi)

    def encode(f: BinaryIO) -> None:
        try:
            pil_write(f)
        except OSError:
            raise
        except (ValueError, TypeError, RuntimeError, struct.error) as e:
            raise PhotoError(target, f"could not encode the photo ({e})") from e

    return encode


def default_format_for(source_format: str) -> str:
    """The output format that suits a source: lossy stays lossy, TIFF stays TIFF."""
    name = source_format.upper()
    if name in ("JPEG", "JPG", "MPO", "HEIF", "HEIC"):
        return "jpg"
    if name == "WEBP":
        return "webp"
    if name in ("TIFF", "TIF"):
        return "tiff"
    return "png"


def output_path(input_path: str | Path, out_dir: str | Path, fmt: str,
                pattern: str | None = None) -> Path:
    """Moved to core.outputs (the output plan owns naming); this name still works."""
    from core.outputs import DEFAULT_PATTERN
    from core.outputs import output_path as plan_name

    return plan_name(input_path, out_dir, fmt, pattern or DEFAULT_PATTERN)


def guess_source_format(path: str | Path) -> str:
    """Pillow's format name from a suffix, for photos not decoded yet (PNG if unknown)."""
    return SOURCE_FORMATS.get(Path(path).suffix.lower(), "PNG")


def normalize_format(fmt: str) -> str | None:
    """'JPEG', '.tif', 'png' -> an OUTPUT_FORMATS key, or None when unknown."""
    key = fmt.lower().lstrip(".")
    key = _FORMAT_ALIASES.get(key, key)
    return key if key in OUTPUT_FORMATS else None


def _resolve_format(target: Path, fmt: str | None) -> str:
    """The output format from ``fmt`` or, when None, from the path's suffix."""
    key = normalize_format(fmt) if fmt is not None else _SUFFIX_FORMATS.get(
        target.suffix.lower())
    if key is None:
        what = f"unknown output format {fmt!r}" if fmt is not None else \
            f"cannot tell the format from the suffix {target.suffix!r}"
        raise PhotoError(target, f"{what}; choose one of: {', '.join(OUTPUT_FORMATS)}")
    return key


def _check_pixels(
    rgb: np.ndarray, alpha: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Validate shapes and dtypes; an HxWx4 array carries its own alpha."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] not in (3, 4) or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f"rgb must be HxWx3 (or HxWx4), got shape {rgb.shape}")
    if rgb.shape[2] == 4:
        if alpha is None:
            alpha = rgb[..., 3]
        rgb = rgb[..., :3]
    for name, a in (("rgb", rgb), ("alpha", alpha)):
        if a is not None and a.dtype not in (np.uint8, np.uint16) and a.dtype.kind != "f":
            raise ValueError(f"{name} must be uint8, uint16 or float 0..1, not {a.dtype}")
    if alpha is not None:
        alpha = np.asarray(alpha)
        if alpha.shape != rgb.shape[:2]:
            raise ValueError(f"alpha shape {alpha.shape} does not match rgb {rgb.shape[:2]}")
    return rgb, alpha


def _pillow_writer(
    key: str, rgb: np.ndarray, alpha: np.ndarray | None, quality: int,
    exif: bytes | None, icc: bytes | None, dpi: tuple[float, float] | None = None,
) -> Callable[[BinaryIO], None]:
    """Encode 8-bit JPEG, WebP or PNG with Pillow, which writes their EXIF and ICC."""
    if key == "jpg" and alpha is not None:
        rgb = _over_white(rgb, alpha)
        alpha = None
    im = Image.fromarray(np.dstack((rgb, alpha)) if alpha is not None
                         else np.ascontiguousarray(rgb), "RGBA" if alpha is not None else "RGB")
    opts: dict[str, object] = {}
    if icc:
        opts["icc_profile"] = icc
    if dpi and key != "webp":
        opts["dpi"] = dpi
    if exif:
        exif = _with_exif_header(exif)
        if key == "jpg" and len(exif) > 65_533:  # one JPEG segment; originals fit, junk may not
            log.warning("EXIF too long for JPEG (%d bytes); not written", len(exif))
        else:
            opts["exif"] = exif
    if key == "jpg":
        opts.update(format="JPEG", quality=quality)
    elif key == "webp":
        opts.update(format="WEBP", quality=quality, lossless=quality == 100)
    else:
        opts.update(format="PNG", compress_level=PNG_COMPRESS_LEVEL, optimize=False)

    def write(f: BinaryIO) -> None:
        im.save(f, **opts)

    return write


def _jpeg_writer(
    target: Path, rgb: np.ndarray, alpha: np.ndarray | None, quality: int,
    exif: bytes | None, icc: bytes | None, dpi: tuple[float, float] | None = None,
) -> Callable[[BinaryIO], None]:
    """Encode an 8-bit JPEG with OpenCV, with EXIF (APP1) and ICC (APP2) put in after.

    The same libjpeg-turbo encode as Pillow's (same quality tables, 4:2:0, baseline;
    the same bytes for the same pixels), straight from the array: Pillow's
    ``fromarray`` repacks the photo to 4 bytes a pixel under the GIL first (~20 ms
    at 12 MP). The segments are those Pillow writes, in its order: JFIF APP0,
    APP1 Exif, then APP2 ICC_PROFILE in chunks of at most 65,519 bytes.
    """
    if alpha is not None:
        rgb = _over_white(rgb, alpha)
    segments = b""
    if exif:
        exif = _with_exif_header(exif)
        if len(exif) > 65_533:  # one JPEG segment; originals fit, junk may not
            log.warning("EXIF too long for JPEG (%d bytes); not written", len(exif))
        else:
            segments += b"\xff\xe1" + struct.pack(">H", 2 + len(exif)) + exif
    if icc:
        chunks = [icc[i : i + _ICC_CHUNK] for i in range(0, len(icc), _ICC_CHUNK)]
        if len(chunks) > 255:
            log.warning("ICC profile too long for JPEG (%d bytes); not written", len(icc))
        else:
            for n, chunk in enumerate(chunks, 1):
                segments += (b"\xff\xe2" + struct.pack(">H", 2 + 14 + len(chunk))
                             + b"ICC_PROFILE\x00" + bytes((n, len(chunks))) + chunk)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise PhotoError(target, "could not encode the photo as jpg")
    data = memoryview(buf).cast("B")
    at = _after_jfif(data)
    if at is None:
        raise PhotoError(target, "could not encode the photo as jpg (unexpected layout)")
    head = bytes(data[:at])
    if dpi and head[6:11] == b"JFIF\x00" and at >= 18:  # JFIF density: units 1 = dpi
        head = (head[:13] + bytes((1,)) + struct.pack(">HH", *(round(v) for v in dpi))
                + head[18:])

    def write(f: BinaryIO) -> None:
        f.write(head)
        f.write(segments)
        f.write(data[at:])

    return write


#: ICC profile bytes per APP2 segment (65,535 less the length, "ICC_PROFILE\0" and 2 counters).
_ICC_CHUNK = 65_519


def _after_jfif(data: memoryview) -> int | None:
    """Offset after SOI and the JFIF APP0 segment of an encoded JPEG (where APPn go)."""
    if bytes(data[:4]) != b"\xff\xd8\xff\xe0":
        return 2 if bytes(data[:2]) == b"\xff\xd8" else None
    return 4 + int.from_bytes(data[4:6], "big")


def _over_white(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Flatten transparency onto white for formats without alpha (JPEG)."""
    a = alpha.astype(np.float32)[..., None] / np.float32(255.0)
    out = rgb.astype(np.float32) * a + np.float32(255.0) * (np.float32(1.0) - a)
    return lab.to_depth(out / np.float32(255.0), 8)


def _with_exif_header(exif: bytes) -> bytes:
    """EXIF as JPEG's APP1 wants it; Pillow strips the header again for PNG/WebP."""
    return exif if exif.startswith(b"Exif\x00\x00") else b"Exif\x00\x00" + exif


def _encode_opencv(
    target: Path, key: str, rgb: np.ndarray, alpha: np.ndarray | None,
    exif: bytes | None, icc: bytes | None, dpi: tuple[float, float] | None = None,
) -> bytes:
    """PNG/TIFF (8 or 16 bit, as given) via OpenCV, with EXIF and ICC added after."""
    if alpha is not None:
        bgr = cv2.cvtColor(np.dstack((rgb, alpha)), cv2.COLOR_RGBA2BGRA)
    else:
        bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    if key == "png":
        params = [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESS_LEVEL]
    else:
        params = [cv2.IMWRITE_TIFF_COMPRESSION, 8]  # 8: Adobe Deflate
    ok, buf = cv2.imencode(OUTPUT_FORMATS[key], bgr, params)
    if not ok:
        raise PhotoError(target, f"could not encode the photo as {key}")
    data = buf.tobytes()
    try:
        if key == "png":
            return _png_add_metadata(data, exif, icc, dpi) if exif or icc or dpi else data
        if exif or icc or dpi or alpha is not None:
            return _tiff_add_metadata(data, exif, icc, alpha is not None, dpi)
        return data
    except (ValueError, TypeError, KeyError, struct.error, OSError) as e:
        log.warning("%s: could not add EXIF/ICC to the %s (%s)", target, key, e)
        return data


def _png_add_metadata(data: bytes, exif: bytes | None, icc: bytes | None,
                      dpi: tuple[float, float] | None = None) -> bytes:
    """Insert iCCP, pHYs and eXIf chunks right after IHDR (all must precede IDAT)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    extra = b""
    if icc:
        extra += chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc))
    if dpi:  # pixels per metre, unit 1 (metre)
        extra += chunk(b"pHYs", struct.pack(">IIB", *(round(v / 0.0254) for v in dpi), 1))
    if exif:
        raw = exif[6:] if exif.startswith(b"Exif\x00\x00") else exif
        extra += chunk(b"eXIf", raw)
    ihdr_end = 8 + 8 + 13 + 4  # signature, IHDR length+type, IHDR body, CRC
    if data[12:16] != b"IHDR":
        raise ValueError("unexpected PNG layout")
    return data[:ihdr_end] + extra + data[ihdr_end:]


def _tiff_add_metadata(
    data: bytes, exif: bytes | None, icc: bytes | None, has_alpha: bool,
    dpi: tuple[float, float] | None = None,
) -> bytes:
    """Rebuild OpenCV's single-IFD TIFF with ICC and EXIF tags added.

    With alpha, also say that the 4th channel is (unassociated) alpha, which
    OpenCV leaves out and strict readers need.

    Pillow's IFD writer places the strips right after the IFD (it adds the
    IFD's end to each strip offset), so the strips are gathered in order.
    """
    head = data[:8]
    ifd = TiffImagePlugin.ImageFileDirectory_v2(ifh=head)
    fp = io.BytesIO(data)
    fp.seek(ifd.next)
    ifd.load(fp)
    for tag in list(ifd):
        ifd[tag] = ifd[tag]  # load() defers decoding, and tobytes() skips undecoded tags
    if _TILE_OFFSETS in ifd or _STRIP_OFFSETS not in ifd:
        raise ValueError("unexpected TIFF layout")
    offsets = _as_tuple(ifd[_STRIP_OFFSETS])
    counts = _as_tuple(ifd[_STRIP_BYTE_COUNTS])
    strips = b"".join(data[o:o + c] for o, c in zip(offsets, counts, strict=True))
    ifd[_STRIP_OFFSETS] = tuple(int(x) for x in np.cumsum((0, *counts[:-1])))
    ifd.tagtype[_STRIP_OFFSETS] = TiffTags.LONG
    if has_alpha:
        ifd[_EXTRA_SAMPLES] = 2
        ifd.tagtype[_EXTRA_SAMPLES] = TiffTags.SHORT
    if icc:
        ifd[_ICC_TAG] = icc
        ifd.tagtype[_ICC_TAG] = TiffTags.UNDEFINED
    if exif:
        src = Image.Exif()
        src.load(exif)
        for tag in _TIFF_EXIF_TAGS & set(src):
            ifd[tag] = src[tag]
        for tag in (_EXIF_IFD, _GPS_IFD):
            sub = src.get_ifd(tag) if tag in src else None
            if sub:
                ifd[tag] = dict(sub)
                ifd.tagtype[tag] = TiffTags.LONG
    if dpi:  # the photo's own resolution wins over a copy in its EXIF
        ifd[_X_RESOLUTION], ifd[_Y_RESOLUTION] = (TiffImagePlugin.IFDRational(dpi[0]),
                                                  TiffImagePlugin.IFDRational(dpi[1]))
        ifd[_RESOLUTION_UNIT] = 2  # inch
        ifd.tagtype[_RESOLUTION_UNIT] = TiffTags.SHORT
    out = head[:4] + struct.pack("<I" if head[:2] == b"II" else ">I", 8)
    return out + ifd.tobytes(8) + strips


def _as_tuple(value: int | tuple[int, ...]) -> tuple[int, ...]:
    """A TIFF tag holds a bare int for one strip and a tuple for several."""
    return tuple(int(v) for v in value) if isinstance(value, tuple) else (int(value),)


def _is_protected(target: Path, protect: Iterable[str | Path] | Container[str | Path]) -> bool:
    """True when ``target`` is (a link to, or another spelling of) a protected path.

    ``protect`` is best a ``core.outputs.Originals`` (O(1) per check, built once
    per run); a plain list is turned into one here.
    """
    if not (hasattr(protect, "__contains__") and hasattr(protect, "add")):
        from core.outputs import Originals

        protect = Originals(protect)  # type: ignore[arg-type]
    return target in protect


def _write_atomically(target: Path, write: Callable[[BinaryIO], None], overwrite: bool) -> None:
    """core.filesafe's atomic, durable write, with its failures as PhotoErrors."""
    from core.filesafe import atomic_write

    try:
        atomic_write(target, write, overwrite=overwrite)
    except PhotoError:
        raise
    except FileExistsError:
        raise PhotoError(target, "output already exists (use overwrite)") from None
    except OSError as e:
        raise PhotoError(target, _os_reason(f"cannot write in {target.parent}", e)) from e
    except (ValueError, TypeError, RuntimeError, struct.error) as e:
        raise PhotoError(target, f"could not encode the photo ({e})") from e


def _os_reason(what: str, e: OSError) -> str:
    """'cannot ... (permission denied)' from an OSError, without the repeated path."""
    detail = e.strerror or str(e) or type(e).__name__
    return f"{what} ({detail[:1].lower() + detail[1:]})"
