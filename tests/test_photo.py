"""Photo I/O: every input format, metadata, 16-bit, damaged files, safe saving.

Fixtures are real photos (scikit-image's samples) written to tmp_path in
each format at test time; nothing binary is committed.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms, ImageFile, ImageOps
from skimage import data

from core import filesafe, photo
from core.outputs import output_path
from core.photo import (
    MAX_PIXELS,
    OUTPUT_FORMATS,
    SUPPORTED_SUFFIXES,
    Photo,
    PhotoError,
    default_format_for,
    load_photo,
    save_photo,
)

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def astro() -> np.ndarray:
    """A non-square colour photo (orientation mistakes change its shape)."""
    return np.ascontiguousarray(data.astronaut()[::4, ::3][:96])  # 96x171x3


@pytest.fixture(scope="module")
def cat() -> np.ndarray:
    return np.ascontiguousarray(data.chelsea()[::2, ::2])


@pytest.fixture(scope="module")
def gray() -> np.ndarray:
    return np.ascontiguousarray(data.camera()[::4, ::4])


@pytest.fixture(scope="module")
def rgb16(astro: np.ndarray) -> np.ndarray:
    """16-bit colour whose low bytes matter, so truncation to 8 bits shows."""
    rng = np.random.default_rng(1)
    return (astro.astype(np.uint16) * 256 + rng.integers(0, 256, astro.shape)).astype(np.uint16)


@pytest.fixture(scope="module")
def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _exif(orientation: int) -> Image.Exif:
    """Camera-like EXIF: Make in IFD0, DateTimeOriginal in the Exif sub-IFD."""
    ex = Image.Exif()
    ex[0x010F] = "TinctCam"
    ex[0x0112] = orientation
    ex[0x8769] = {0x9003: "1931:05:17 10:00:00"}
    return ex


def _read_exif(data_: bytes | None) -> Image.Exif:
    assert data_ is not None
    ex = Image.Exif()
    ex.load(data_)
    return ex


def _sepia(gray: np.ndarray, amount: float = 1.0) -> np.ndarray:
    g3 = np.dstack([gray] * 3).astype(np.float32)
    m = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])
    toned = np.clip(g3 @ m.T.astype(np.float32), 0, 255)
    return np.clip(amount * toned + (1 - amount) * g3, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- loading formats


def test_jpeg(tmp_path: Path, cat: np.ndarray) -> None:
    p = tmp_path / "cat.jpg"
    Image.fromarray(cat).save(p, quality=95)
    ph = load_photo(p)
    assert ph.format == "JPEG" and ph.bit_depth == 8 and ph.path == p
    assert ph.rgb.dtype == np.uint8 and ph.rgb.shape == cat.shape
    assert ph.alpha is None and ph.exif is None and ph.icc is None
    assert np.abs(ph.rgb.astype(int) - cat).mean() < 3
    assert ph.size == (cat.shape[1], cat.shape[0])
    assert ph.rgb.flags.writeable and ph.rgb.flags.c_contiguous


@pytest.mark.parametrize(("suffix", "kwargs", "fmt"), [
    (".png", {}, "PNG"),
    (".tif", {"compression": "tiff_lzw"}, "TIFF"),
    (".bmp", {}, "BMP"),
    (".webp", {"lossless": True}, "WEBP"),
])
def test_lossless_8bit_exact(tmp_path: Path, astro: np.ndarray, suffix: str,
                             kwargs: dict, fmt: str) -> None:
    p = tmp_path / f"a{suffix}"
    Image.fromarray(astro).save(p, **kwargs)
    ph = load_photo(p)
    assert ph.format == fmt and ph.bit_depth == 8 and ph.alpha is None
    np.testing.assert_array_equal(ph.rgb, astro)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_rgb_keeps_all_bits(tmp_path: Path, rgb16: np.ndarray, suffix: str) -> None:
    p = tmp_path / f"a16{suffix}"
    ok, buf = cv2.imencode(suffix, cv2.cvtColor(rgb16, cv2.COLOR_RGB2BGR))
    assert ok
    p.write_bytes(buf.tobytes())
    ph = load_photo(p)
    assert ph.bit_depth == 16 and ph.rgb.dtype == np.uint16
    assert ph.format == ("PNG" if suffix == ".png" else "TIFF")
    np.testing.assert_array_equal(ph.rgb, rgb16)


def test_png_with_alpha(tmp_path: Path, astro: np.ndarray) -> None:
    alpha = np.tile(np.linspace(0, 255, astro.shape[1]).astype(np.uint8), (astro.shape[0], 1))
    p = tmp_path / "rgba.png"
    Image.fromarray(np.dstack((astro, alpha)), "RGBA").save(p)
    ph = load_photo(p)
    np.testing.assert_array_equal(ph.rgb, astro)
    assert ph.alpha is not None
    np.testing.assert_array_equal(ph.alpha, alpha)


def test_palette_png_transparency_becomes_alpha(tmp_path: Path, astro: np.ndarray) -> None:
    pal = Image.fromarray(astro).quantize(16)
    idx = np.asarray(pal)
    clear = int(idx[0, 0])
    p = tmp_path / "pal.png"
    pal.save(p, transparency=clear)
    ph = load_photo(p)
    assert ph.alpha is not None and ph.rgb.shape == astro.shape
    np.testing.assert_array_equal(ph.alpha, np.where(idx == clear, 0, 255))
    colours = np.array(pal.getpalette()[:48], np.uint8).reshape(16, 3)
    np.testing.assert_array_equal(ph.rgb, colours[idx])


def test_gray_png_and_jpeg(tmp_path: Path, gray: np.ndarray) -> None:
    Image.fromarray(gray).save(tmp_path / "g.png")
    Image.fromarray(gray).save(tmp_path / "g.jpg", quality=95)
    png = load_photo(tmp_path / "g.png")
    assert png.rgb.shape == gray.shape + (3,) and png.bit_depth == 8
    for c in range(3):
        np.testing.assert_array_equal(png.rgb[..., c], gray)
    jpg = load_photo(tmp_path / "g.jpg")
    assert jpg.rgb.shape == gray.shape + (3,)
    assert np.array_equal(jpg.rgb[..., 0], jpg.rgb[..., 2])
    assert np.abs(jpg.rgb[..., 0].astype(int) - gray).mean() < 2
    assert png.is_gray and jpg.is_gray


def test_16bit_gray_png(tmp_path: Path, gray: np.ndarray) -> None:
    g16 = (gray.astype(np.uint16) * 257 + 3).astype(np.uint16)
    p = tmp_path / "g16.png"
    Image.fromarray(g16).save(p)
    ph = load_photo(p)
    assert ph.bit_depth == 16 and ph.rgb.dtype == np.uint16
    for c in range(3):
        np.testing.assert_array_equal(ph.rgb[..., c], g16)
    assert ph.is_gray


def test_float_tiff_scaled_to_16bit(tmp_path: Path, gray: np.ndarray) -> None:
    f = gray.astype(np.float32) / 255.0
    p = tmp_path / "f.tif"
    Image.fromarray(f, "F").save(p)
    ph = load_photo(p)
    assert ph.bit_depth == 16 and ph.rgb.dtype == np.uint16
    np.testing.assert_array_equal(ph.rgb[..., 1], np.round(f * 65535).astype(np.uint16))


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path, cat: np.ndarray) -> None:
    p = tmp_path / "cmyk.jpg"
    Image.fromarray(cat).convert("CMYK").save(p, quality=95)
    ph = load_photo(p)
    assert ph.rgb.shape == cat.shape and ph.icc is None
    assert np.abs(ph.rgb.astype(int) - cat).mean() < 4


def test_multi_picture_phone_jpeg_reads_as_jpeg(tmp_path: Path, cat: np.ndarray) -> None:
    p = tmp_path / "phone.jpg"
    Image.fromarray(cat).save(p, "MPO", save_all=True, append_images=[Image.fromarray(cat[::2])])
    with Image.open(p) as im:
        assert im.format == "MPO"  # what Pillow calls it
    ph = load_photo(p)
    assert ph.format == "JPEG" and ph.rgb.shape == cat.shape
    assert default_format_for(ph.format) == "jpg"


@pytest.mark.parametrize("fmt", ["tif", "webp", "gif"])
def test_only_the_first_page_or_frame_is_used_and_said(tmp_path: Path, gray: np.ndarray,
                                                      fmt: str) -> None:
    """Issue 22: a multi-page TIFF or an animated WebP was read as its first frame without
    a word; the photo's notes (the report, the app) say it now."""
    pages = [Image.fromarray(gray[:30, :40] // k) for k in (1, 2, 3)]
    p = tmp_path / f"album.{fmt}"
    pages[0].save(p, save_all=True, append_images=pages[1:])
    ph = load_photo(p)
    assert ph.frames == 3 and ph.size == (40, 30)
    what = "pages" if fmt == "tif" else "frames"
    assert ph.notes == [f"album.{fmt} has 3 {what}: only the first was colorized"]
    single = tmp_path / f"one.{fmt}"
    pages[0].save(single)
    assert load_photo(single).notes == []


def test_gif_first_frame(tmp_path: Path) -> None:
    red = Image.new("RGB", (40, 30), (255, 0, 0))
    blue = Image.new("RGB", (40, 30), (0, 0, 255))
    p = tmp_path / "anim.gif"
    red.save(p, save_all=True, append_images=[blue], duration=100, loop=0)
    ph = load_photo(p)
    assert ph.format == "GIF" and ph.rgb.shape == (30, 40, 3)
    assert (ph.rgb == [255, 0, 0]).all()


def test_heic(tmp_path: Path, cat: np.ndarray) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    p = tmp_path / "cat.heic"
    pillow_heif.from_pillow(Image.fromarray(cat)).save(p, quality=95)
    ph = load_photo(p)
    assert ph.format == "HEIF" and ph.bit_depth == 8 and ph.rgb.shape == cat.shape
    assert np.abs(ph.rgb.astype(int) - cat).mean() < 6


def test_heic_without_pillow_heif_is_a_clear_error(tmp_path: Path, cat: np.ndarray) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    p = tmp_path / "cat.heic"
    pillow_heif.from_pillow(Image.fromarray(cat[:32, :32])).save(p)
    code = (
        "import sys; sys.modules['pillow_heif'] = None\n"
        "from core.photo import load_photo, PhotoError\n"
        f"try:\n    load_photo({str(p)!r})\n"
        "except PhotoError as e:\n    print(e.reason)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, timeout=60)
    assert "pillow-heif" in out.stdout, out.stderr


# --------------------------------------------------------------------------- orientation


def test_exif_orientation_applied_and_reset(tmp_path: Path, astro: np.ndarray) -> None:
    p = tmp_path / "rotated.jpg"
    Image.fromarray(astro).save(p, quality=95, exif=_exif(6).tobytes())
    stored = np.asarray(Image.open(p))  # as the camera wrote it: sideways
    ph = load_photo(p)
    assert ph.rgb.shape == (astro.shape[1], astro.shape[0], 3)
    np.testing.assert_array_equal(ph.rgb, np.rot90(stored, -1))  # 6 = turn clockwise
    ex = _read_exif(ph.exif)
    assert ex[0x0112] == 1 and ex[0x010F] == "TinctCam"
    assert ex.get_ifd(0x8769)[0x9003] == "1931:05:17 10:00:00"


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_matches_pillow(tmp_path: Path, astro: np.ndarray,
                                          orientation: int) -> None:
    p = tmp_path / "o.png"
    Image.fromarray(astro).save(p, exif=_exif(orientation).tobytes())
    with Image.open(p) as im:
        expected = np.asarray(ImageOps.exif_transpose(im))
    np.testing.assert_array_equal(load_photo(p).rgb, expected)


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
@pytest.mark.parametrize(("mode", "options"), [
    ("RGB", {"subsampling": 2}), ("RGB", {"subsampling": 0}),
    ("RGB", {"progressive": True, "quality": 60}), ("L", {}),
])
def test_jpeg_decoded_by_opencv_matches_pillow(tmp_path: Path, astro: np.ndarray,
                                               monkeypatch: pytest.MonkeyPatch, mode: str,
                                               options: dict, orientation: int) -> None:
    """Plain JPEGs take OpenCV's decoder (faster, no GIL-held copies): the same pixels,
    turned once, with the EXIF kept."""
    p = tmp_path / "o.jpg"
    Image.fromarray(astro).convert(mode).save(p, exif=_exif(orientation).tobytes(), **options)
    with Image.open(p) as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    taken = []
    real = photo._decode_jpeg_with_opencv
    monkeypatch.setattr(photo, "_decode_jpeg_with_opencv",
                        lambda *a: taken.append(1) or real(*a))
    ph = load_photo(p)
    assert taken and ph.bit_depth == 8 and ph.format == "JPEG"
    np.testing.assert_array_equal(ph.rgb, expected)
    assert _read_exif(ph.exif)[0x0112] == 1


def test_jpeg_with_trailing_bytes_falls_back_to_pillow(tmp_path: Path,
                                                        astro: np.ndarray) -> None:
    p = tmp_path / "tail.jpg"
    Image.fromarray(astro).save(p, quality=90)
    p.write_bytes(p.read_bytes() + b"\x00junk")
    with Image.open(p) as im:
        assert photo._decode_jpeg_with_opencv(p, im) is None
    np.testing.assert_array_equal(load_photo(p).rgb, np.asarray(Image.open(p)))


@pytest.mark.parametrize("fmt", ["png", "tiff"])
def test_orientation_applied_once_on_16bit(tmp_path: Path, rgb16: np.ndarray, fmt: str) -> None:
    """The OpenCV path must not turn the photo twice (its TIFF decoder turns too)."""
    p = save_photo(tmp_path / f"o16{OUTPUT_FORMATS[fmt]}", rgb16, bit_depth=16,
                   exif=_exif(6).tobytes())
    ph = load_photo(p)
    np.testing.assert_array_equal(ph.rgb, np.rot90(rgb16, -1))
    assert _read_exif(ph.exif)[0x0112] == 1


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("mode", ["L", "I;16", "RGB"])
def test_every_orientation_of_a_tiff_scan_is_upright(tmp_path: Path, gray: np.ndarray,
                                                     mode: str, orientation: int) -> None:
    """Issue 22: Pillow turns RGB TIFFs itself on load but not gray ones (8 or 16 bit),
    and drops the tag either way: gray scans with orientation 5-8 came out sideways."""
    stored = gray[:40, :70].copy()  # not square: a wrong turn changes the shape
    if mode == "I;16":
        stored = stored.astype(np.uint16) * 257
        im = Image.new("I;16", stored.shape[::-1])
        im.frombytes(stored.astype("<u2").tobytes())
    else:
        im = Image.fromarray(stored if mode == "L" else np.dstack([stored] * 3))
    p = tmp_path / "scan.tif"
    im.save(p, tiffinfo={0x0112: orientation})
    ph = load_photo(p)
    want = photo._apply_orientation(stored, orientation)
    np.testing.assert_array_equal(ph.rgb[..., 0], want)
    assert ph.bit_depth == (16 if mode == "I;16" else 8)


# --------------------------------------------------------------------------- saving


@pytest.mark.parametrize("src", ["jpg", "png", "tif"])
def test_scan_resolution_is_kept(tmp_path: Path, gray: np.ndarray, src: str) -> None:
    """Issue 22: a 600 dpi scan saved as JPEG or PNG came out with no dpi (72 in viewers);
    archivists print by it. Kept in JPEG, PNG and TIFF, 8 and 16 bit, axes swapped by a
    quarter turn."""
    from core.export import ExportOptions, write_result

    p = tmp_path / f"scan.{src}"
    Image.fromarray(gray[:30, :50]).save(p, dpi=(600, 300))
    ph = load_photo(p)
    assert ph.dpi == (600, 300)
    rgb = ph.rgb.astype(np.float32) / 255
    for fmt in ("jpg", "png", "tiff"):
        out = write_result(ph, rgb, tmp_path / f"out_{src}.{fmt}", ExportOptions(fmt=fmt))
        with Image.open(out) as im:
            assert tuple(round(v) for v in im.info["dpi"]) == (600, 300), (fmt, im.info)
    out16 = save_photo(tmp_path / "deep.png", ph.rgb.astype(np.uint16) * 257, bit_depth=16,
                       dpi=ph.dpi)
    assert load_photo(out16).dpi == (600, 300)
    turned = tmp_path / f"turned.{src}"
    if src != "png":  # PNG orientation lives in eXIf, which Pillow's PNG save writes too
        Image.fromarray(gray[:30, :50]).save(turned, dpi=(600, 300), exif=_exif(6).tobytes())
        assert load_photo(turned).dpi == (300, 600)




@pytest.mark.parametrize(("fmt", "depth"), [("jpg", 8), ("png", 8), ("webp", 8), ("tiff", 8),
                                            ("png", 16), ("tiff", 16)])
def test_icc_and_exif_survive_a_round_trip(tmp_path: Path, astro: np.ndarray, srgb_icc: bytes,
                                           fmt: str, depth: int) -> None:
    src = tmp_path / "src.jpg"
    Image.fromarray(astro).save(src, quality=95, icc_profile=srgb_icc,
                                exif=_exif(1).tobytes())
    ph = load_photo(src)
    assert ph.icc == srgb_icc
    out = save_photo(output_path(src, tmp_path / "out", fmt), ph.rgb, exif=ph.exif, icc=ph.icc,
                     bit_depth=depth, protect=[src])
    back = load_photo(out)
    assert back.icc == srgb_icc and back.bit_depth == depth
    ex = _read_exif(back.exif)
    assert ex[0x010F] == "TinctCam" and ex[0x0112] == 1
    assert ex.get_ifd(0x8769)[0x9003] == "1931:05:17 10:00:00"


@pytest.mark.parametrize("metadata", ["none", "exif", "icc", "both", "big icc", "alpha"])
def test_jpeg_written_by_opencv_is_pillows_file(tmp_path: Path, astro: np.ndarray,
                                                srgb_icc: bytes, metadata: str) -> None:
    """JPEGs are encoded by OpenCV with EXIF and ICC put in after: the pixels Pillow's
    encoder gives, and the metadata Pillow reads back (an ICC profile of several
    APP2 chunks too), in Pillow's segment order."""
    exif = _exif(1).tobytes() if metadata in ("exif", "both", "big icc") else None
    icc = {"icc": srgb_icc, "both": srgb_icc,
           "big icc": bytes(range(256)) * 700}.get(metadata)  # 179 KB: 3 chunks
    alpha = None
    if metadata == "alpha":
        alpha = np.zeros(astro.shape[:2], np.uint8)
        alpha[10:60, 20:120] = 255
    out = save_photo(tmp_path / "ours.jpg", astro, quality=88, exif=exif, icc=icc,
                     alpha=alpha)
    ref = tmp_path / "pillow.jpg"
    flat = astro if alpha is None else photo._over_white(astro, alpha)
    opts = {k: v for k, v in (("exif", exif and photo._with_exif_header(exif)),
                              ("icc_profile", icc)) if v}
    Image.fromarray(flat).save(ref, format="JPEG", quality=88, **opts)
    with Image.open(out) as a, Image.open(ref) as b:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        assert a.info.get("icc_profile") == icc
        assert a.applist == b.applist  # the same APPn segments, in the same order
    back = load_photo(out)
    if metadata != "big icc":  # load_photo drops a profile that is not a valid ICC
        assert back.icc == icc
    if exif:
        ex = _read_exif(back.exif)
        assert ex[0x010F] == "TinctCam" and ex.get_ifd(0x8769)[0x9003] == "1931:05:17 10:00:00"
    else:
        assert back.exif is None


@pytest.mark.parametrize(("fmt", "depth"), [("png", 8), ("webp", 8), ("tiff", 8),
                                            ("png", 16), ("tiff", 16)])
def test_alpha_kept(tmp_path: Path, astro: np.ndarray, fmt: str, depth: int) -> None:
    alpha = np.zeros(astro.shape[:2], np.uint8)
    alpha[10:60, 20:120] = 255
    alpha[60:70] = 128
    out = save_photo(tmp_path / f"a{OUTPUT_FORMATS[fmt]}", astro, alpha=alpha,
                     quality=100, bit_depth=depth)
    back = load_photo(out)
    assert back.alpha is not None
    want = alpha if depth == 8 else alpha.astype(np.uint16) * 257
    np.testing.assert_array_equal(back.alpha, want)
    seen = alpha > 0  # WebP need not keep colours under fully clear pixels
    want_rgb = astro if depth == 8 else astro.astype(np.uint16) * 257
    np.testing.assert_array_equal(back.rgb[seen], want_rgb[seen])


def test_jpeg_flattens_alpha_onto_white(tmp_path: Path, astro: np.ndarray) -> None:
    alpha = np.full(astro.shape[:2], 255, np.uint8)
    alpha[:, :50] = 0
    back = load_photo(save_photo(tmp_path / "x.jpg", astro, alpha=alpha, quality=100))
    assert back.alpha is None
    assert back.rgb[5:-5, 5:40].min() >= 250  # clear -> white
    assert np.abs(back.rgb[:, 60:].astype(int) - astro[:, 60:]).mean() < 3


@pytest.mark.parametrize("fmt", ["png", "tiff"])
def test_16bit_round_trip_exact(tmp_path: Path, rgb16: np.ndarray, fmt: str) -> None:
    alpha = (np.arange(rgb16.shape[0] * rgb16.shape[1]) % 65536).astype(np.uint16)
    alpha = alpha.reshape(rgb16.shape[:2])
    out = save_photo(tmp_path / f"x{OUTPUT_FORMATS[fmt]}", rgb16, alpha=alpha, bit_depth=16)
    back = load_photo(out)
    assert back.bit_depth == 16
    np.testing.assert_array_equal(back.rgb, rgb16)
    np.testing.assert_array_equal(back.alpha, alpha)


def test_float_and_16bit_input_converted_with_rounding(tmp_path: Path) -> None:
    f = np.array([[[0.0, 0.5, 1.0], [-0.2, 1.3, 0.25]]], np.float32)
    back = load_photo(save_photo(tmp_path / "f.png", f))
    np.testing.assert_array_equal(back.rgb, [[[0, 128, 255], [0, 255, 64]]])
    u16 = np.array([[[0, 257 * 100, 65535]]], np.uint16)
    back = load_photo(save_photo(tmp_path / "u.png", u16))
    np.testing.assert_array_equal(back.rgb, [[[0, 100, 255]]])
    back = load_photo(save_photo(tmp_path / "f16.png", f, bit_depth=16))
    np.testing.assert_array_equal(back.rgb, [[[0, 32768, 65535], [0, 65535, 16384]]])


def test_webp_quality_100_is_lossless(tmp_path: Path, cat: np.ndarray) -> None:
    back = load_photo(save_photo(tmp_path / "x.webp", cat, quality=100))
    np.testing.assert_array_equal(back.rgb, cat)


def test_quality_changes_jpeg_size(tmp_path: Path, cat: np.ndarray) -> None:
    low = save_photo(tmp_path / "low.jpg", cat, quality=30)
    high = save_photo(tmp_path / "high.jpg", cat, quality=95)
    assert low.stat().st_size < 0.6 * high.stat().st_size
    assert np.abs(load_photo(high).rgb.astype(int) - cat).mean() < 3


def test_format_from_suffix_or_argument(tmp_path: Path, astro: np.ndarray) -> None:
    assert load_photo(save_photo(tmp_path / "a.TIFF", astro)).format == "TIFF"
    assert load_photo(save_photo(tmp_path / "b.jpeg", astro)).format == "JPEG"
    assert load_photo(save_photo(tmp_path / "c.out", astro, fmt="webp")).format == "WEBP"
    with pytest.raises(PhotoError, match="png, jpg, tiff, webp") as e:
        save_photo(tmp_path / "d.xyz", astro)
    assert e.value.path == tmp_path / "d.xyz"
    with pytest.raises(PhotoError, match="png, jpg, tiff, webp"):
        save_photo(tmp_path / "e.png", astro, fmt="gifx")
    with pytest.raises(PhotoError, match="16-bit"):
        save_photo(tmp_path / "f.jpg", astro, bit_depth=16)
    with pytest.raises(ValueError, match="HxWx3"):
        save_photo(tmp_path / "g.png", astro[..., 0])
    with pytest.raises(ValueError, match="alpha shape"):
        save_photo(tmp_path / "h.png", astro, alpha=np.zeros((3, 3), np.uint8))
    assert not list(tmp_path.glob("[d-h].*"))


def test_save_is_atomic_and_leaves_no_temp(tmp_path: Path, astro: np.ndarray) -> None:
    out = save_photo(tmp_path / "deep" / "er" / "x.png", astro)
    assert out.is_file()
    assert [q.name for q in out.parent.iterdir()] == ["x.png"]
    mode = out.stat().st_mode & 0o777
    if os.name == "posix":  # not mkstemp's private 0600
        assert mode == 0o666 & ~filesafe._UMASK


def test_failed_save_keeps_the_old_file_and_no_temp(tmp_path: Path, astro: np.ndarray,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "x.png"  # a Pillow writer; JPEGs are encoded by OpenCV
    target.write_bytes(b"previous result")

    def disk_full(self: Image.Image, fp: io.BufferedWriter, *a: object, **k: object) -> None:
        fp.write(b"half a jpeg")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", disk_full)
    with pytest.raises(PhotoError, match="no space left") as e:
        save_photo(target, astro, overwrite=True)
    assert str(e.value).startswith(str(target))
    assert target.read_bytes() == b"previous result"
    assert [q.name for q in tmp_path.iterdir()] == ["x.png"]


def test_refuses_to_overwrite_an_original(tmp_path: Path, astro: np.ndarray) -> None:
    original = tmp_path / "photos" / "grandma.png"
    original.parent.mkdir()
    Image.fromarray(astro).save(original)
    before = original.read_bytes()
    spellings = [original, tmp_path / "photos" / ".." / "photos" / "grandma.png"]
    link = tmp_path / "link.png"
    try:
        link.symlink_to(original)
        spellings.append(link)
    except OSError:  # no symlinks here (Windows without privilege)
        pass
    for target in spellings:
        with pytest.raises(PhotoError, match="refusing to overwrite an original"):
            save_photo(target, astro[::-1], overwrite=True, protect=[str(original)])
    assert original.read_bytes() == before
    assert sorted(q.name for q in original.parent.iterdir()) == ["grandma.png"]


def test_existing_output_needs_overwrite(tmp_path: Path, astro: np.ndarray) -> None:
    out = save_photo(tmp_path / "x.png", astro)
    with pytest.raises(PhotoError, match=r"output already exists \(use overwrite\)"):
        save_photo(out, astro[::-1])
    np.testing.assert_array_equal(load_photo(out).rgb, astro)
    save_photo(out, astro[::-1], overwrite=True)
    np.testing.assert_array_equal(load_photo(out).rgb, astro[::-1])
    assert [q.name for q in tmp_path.iterdir()] == ["x.png"]


# --------------------------------------------------------------------------- bad input


def _assert_photo_error(p: Path, reason: str) -> None:
    with pytest.raises(PhotoError) as e:
        load_photo(p)
    assert e.value.path == p and str(p) in str(e.value)
    assert reason in e.value.reason, e.value.reason


def test_missing_empty_and_folder(tmp_path: Path) -> None:
    _assert_photo_error(tmp_path / "nope.jpg", "file not found")
    (tmp_path / "empty.png").write_bytes(b"")
    _assert_photo_error(tmp_path / "empty.png", "file is empty")
    (tmp_path / "album.jpg").mkdir()
    _assert_photo_error(tmp_path / "album.jpg", "folder")


def test_not_an_image(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("shopping list: milk, eggs\n")
    _assert_photo_error(tmp_path / "notes.png", "not an image file")
    rng = np.random.default_rng(0)
    (tmp_path / "noise.jpg").write_bytes(rng.integers(0, 256, 4096, np.uint8).tobytes())
    _assert_photo_error(tmp_path / "noise.jpg", "not an image file")


def test_truncated_and_corrupt(tmp_path: Path, cat: np.ndarray) -> None:
    full = tmp_path / "full.jpg"
    Image.fromarray(cat).save(full, quality=90)
    raw = full.read_bytes()
    (tmp_path / "cut.jpg").write_bytes(raw[: len(raw) // 2])
    _assert_photo_error(tmp_path / "cut.jpg", "damaged or truncated")
    Image.fromarray(cat).save(tmp_path / "full.png")
    png = bytearray((tmp_path / "full.png").read_bytes())
    png[len(png) // 2: len(png) // 2 + 64] = bytes(64)  # zeroed IDAT data: bad CRC / zlib
    (tmp_path / "bad.png").write_bytes(bytes(png))
    _assert_photo_error(tmp_path / "bad.png", "damaged or truncated")
    (tmp_path / "cut.png").write_bytes(bytes(png[:100]))
    _assert_photo_error(tmp_path / "cut.png", "damaged or truncated")


def _png_header_only(width: int, height: int) -> bytes:
    """A valid-looking PNG that claims a huge size but holds a few bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def test_decompression_bomb_refused_before_decoding(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "bomb.png"
    p.write_bytes(_png_header_only(200_000, 200_000))
    limit = Image.MAX_IMAGE_PIXELS

    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    _assert_photo_error(p, f"200000x200000 pixels, over the {MAX_PIXELS / 1e6:g} MP limit")
    assert limit == Image.MAX_IMAGE_PIXELS  # Pillow's own guard is back for everyone else


def test_pixel_limit_is_configurable(tmp_path: Path, astro: np.ndarray,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "a.png"
    Image.fromarray(astro).save(p)
    monkeypatch.setattr(photo, "MAX_PIXELS", 1000)
    _assert_photo_error(p, f"{astro.shape[1]}x{astro.shape[0]} pixels, over the 0.001 MP limit")


# --------------------------------------------------------------------------- is_gray


def test_is_gray(gray: np.ndarray, cat: np.ndarray, astro: np.ndarray) -> None:
    def is_gray(rgb: np.ndarray) -> bool:
        return Photo(None, rgb, None, None, None, "PNG", 8).is_gray

    g3 = np.dstack([gray] * 3)
    rng = np.random.default_rng(0)
    scan = np.clip(g3 + rng.normal(0, 3, g3.shape), 0, 255).astype(np.uint8)
    assert is_gray(g3) and is_gray(scan)
    assert is_gray((g3.astype(np.uint16) * 257).astype(np.uint16))
    assert is_gray(g3.astype(np.float32) / 255)
    assert not is_gray(cat) and not is_gray(astro)
    assert not is_gray(_sepia(gray)) and not is_gray(_sepia(gray, 0.3))


# --------------------------------------------------------------------------- helpers


def test_constants() -> None:
    assert {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".gif", ".heic",
            ".heif"} == SUPPORTED_SUFFIXES
    assert OUTPUT_FORMATS == {"png": ".png", "jpg": ".jpg", "tiff": ".tif", "webp": ".webp"}
    assert MAX_PIXELS == 120_000_000


def test_default_format_for() -> None:
    assert default_format_for("JPEG") == "jpg" and default_format_for("HEIF") == "jpg"
    assert default_format_for("MPO") == "jpg"
    assert default_format_for("WEBP") == "webp" and default_format_for("TIFF") == "tiff"
    for other in ("PNG", "BMP", "GIF", "whatever"):
        assert default_format_for(other) == "png"


def test_output_path(tmp_path: Path) -> None:
    src = tmp_path / "in" / "Grandma 1931.JPG"
    assert output_path(src, tmp_path / "out", "jpg") == tmp_path / "out" / "Grandma 1931_color.jpg"
    assert output_path(src, "o", "tiff", "{name}") == Path("o") / "Grandma 1931.tif"
    assert output_path(src, "o", "JPEG", "{name}-{ext}-c") == Path("o") / "Grandma 1931-jpg-c.jpg"
    with pytest.raises(ValueError, match="png, jpg, tiff, webp"):
        output_path(src, "o", "gif")
    with pytest.raises(ValueError, match="pattern"):
        output_path(src, "o", "png", "{stem}")
    with pytest.raises(ValueError, match="not a file name"):
        output_path(src, "o", "png", "../{name}")


def test_photo_error_message_and_pickling(tmp_path: Path) -> None:
    err = PhotoError(str(tmp_path / "x.jpg"), "file not found")
    assert str(err) == f"{tmp_path / 'x.jpg'}: file not found"
    assert err.path == tmp_path / "x.jpg" and err.reason == "file not found"
    back = pickle.loads(pickle.dumps(err))
    assert isinstance(back, PhotoError) and str(back) == str(err) and back.path == err.path
