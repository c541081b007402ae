"""Lab colour: conversion accuracy on real photos, the ab gamut bins, the
annealed-mean decode and composing predicted ab onto full-resolution L."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import color, data

from core import lab


@pytest.fixture(scope="module", params=["astronaut", "coffee", "chelsea"])
def photo(request) -> np.ndarray:
    return getattr(data, request.param)()


# --------------------------------------------------------------------------- conversion


def test_round_trip_within_one_level(photo: np.ndarray) -> None:
    rgb = lab.to_float_rgb(photo)
    back = lab.lab_to_rgb(lab.rgb_to_lab(photo))
    assert back.shape == photo.shape and back.dtype == np.float32
    assert np.abs(back - rgb).max() < 1.0 / 255.0


def test_conversion_agrees_with_scikit_image(photo: np.ndarray) -> None:
    """An independent implementation (float64, D65) gives the same Lab."""
    ours = lab.rgb_to_lab(photo)
    ref = color.rgb2lab(photo)
    assert np.abs(ours[..., 0] - ref[..., 0]).max() < 0.5
    assert np.abs(ours[..., 1:] - ref[..., 1:]).max() < 1.0


def test_16bit_and_8bit_inputs_agree(photo: np.ndarray) -> None:
    wide = photo.astype(np.uint16) * 257  # 255 -> 65535 exactly
    np.testing.assert_allclose(lab.rgb_to_lab(wide), lab.rgb_to_lab(photo), atol=1e-2)


def test_lab_to_rgb_clips_out_of_gamut() -> None:
    wild = np.array([[[50.0, 120.0, -120.0], [100.0, 0.0, 0.0], [0.0, 0.0, 0.0]]], np.float32)
    rgb = lab.lab_to_rgb(wild)
    assert rgb.min() >= 0.0 and rgb.max() <= 1.0
    np.testing.assert_allclose(rgb[0, 1], 1.0, atol=2e-3)  # L=100 is white
    np.testing.assert_allclose(rgb[0, 2], 0.0, atol=2e-3)  # L=0 is black


def test_gray_rgb_has_the_requested_lightness() -> None:
    L = np.linspace(0.0, 100.0, 101, dtype=np.float32).reshape(1, -1)
    g = lab.gray_rgb(L)
    assert g.shape == L.shape
    assert np.all(np.diff(g[0]) >= 0)  # monotonic
    back = lab.luminance(np.repeat(g[..., None], 3, axis=-1))
    assert np.abs(back - L).max() < 0.3  # OpenCV's float Lab is accurate to ~0.2


def test_network_scaling_round_trips() -> None:
    ab = np.array([[-110.0, 64.0], [0.0, 127.0]], np.float32)
    np.testing.assert_allclose(lab.net_to_ab(lab.ab_to_net(ab)), ab, rtol=1e-6)
    assert np.abs(lab.ab_to_net(ab)).max() <= 1.0
    assert lab.l_to_net(np.float32(100.0)) == pytest.approx(1.0)


# --------------------------------------------------------------------------- ab bins


def test_ab_bins_are_well_formed() -> None:
    bins = lab.ab_bins()
    q = len(bins)
    assert bins.shape == (q, 2) and bins.dtype == np.float32
    assert 200 <= q <= 320
    assert len(np.unique(bins, axis=0)) == q
    assert np.all(np.mod(bins, lab.AB_GRID) == 0)  # centres on the 10-grid
    assert np.any(np.all(bins == 0.0, axis=1))  # neutral gray is a bin
    assert lab.ab_bins() is bins  # computed once


def test_ab_bins_are_in_gamut_ish() -> None:
    """Every bin holds some real sRGB colour; cells far outside do not become bins."""
    bins = lab.ab_bins()
    # The ab of every 8-bit sRGB colour (a 32-level cube) falls into a kept cell.
    levels = np.linspace(0, 1, 32, dtype=np.float32)
    cube = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(1, -1, 3)
    ab = lab.rgb_to_lab(cube)[0, :, 1:]
    cells = {tuple(c) for c in (np.round(ab / lab.AB_GRID) * lab.AB_GRID).astype(int)}
    kept = {tuple(c) for c in bins.astype(int)}
    assert cells <= kept
    # ...and nearly every kept bin is reached by some real colour (borders are partial cells).
    assert len(cells) >= 0.85 * len(kept)
    assert np.abs(bins).max() <= 110


# --------------------------------------------------------------------------- decoding


def _random_probs(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    q = len(lab.ab_bins())
    p = rng.gamma(0.3, size=shape + (q,))
    return p / p.sum(-1, keepdims=True)


def test_annealed_mean_at_t1_is_the_mean() -> None:
    rng = np.random.default_rng(0)
    p = _random_probs(rng, (4, 5))
    got = lab.annealed_mean(p, temperature=1.0)
    assert got.shape == (4, 5, 2)
    np.testing.assert_allclose(got, p @ lab.ab_bins().astype(np.float64), atol=1e-3)


def test_lower_temperature_moves_towards_the_mode() -> None:
    rng = np.random.default_rng(1)
    bins = lab.ab_bins().astype(np.float64)
    p = _random_probs(rng, (64,))
    mode = bins[p.argmax(-1)]
    dist = [np.linalg.norm(lab.annealed_mean(p, t) - mode, axis=-1).mean()
            for t in (1.0, 0.38, 0.1, 0.01)]
    assert all(a > b for a, b in zip(dist, dist[1:])), dist
    assert dist[-1] < 1.0  # T -> 0 is the mode


def test_annealed_mean_of_a_one_hot_is_that_bin() -> None:
    bins = lab.ab_bins()
    p = np.eye(len(bins))[[0, len(bins) // 2, -1]]
    np.testing.assert_allclose(lab.annealed_mean(p, 0.38), bins[[0, len(bins) // 2, -1]],
                               atol=1e-3)


# --------------------------------------------------------------------------- compose


def test_compose_with_zero_ab_reproduces_a_gray_photo() -> None:
    gray = data.camera()
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    out = lab.compose(lab.luminance(rgb), np.zeros((8, 8, 2), np.float32))
    assert out.shape == rgb.shape
    assert np.abs(out * 255.0 - gray[..., None]).max() < 1.0


def test_compose_upsamples_ab_to_l() -> None:
    L = np.full((37, 53), 60.0, np.float32)
    ab = np.zeros((4, 4, 2), np.float32)
    ab[..., 0] = 40.0  # a uniform red-ish tint
    out = lab.compose(L, ab)
    assert out.shape == (37, 53, 3)
    back = lab.rgb_to_lab(out)
    np.testing.assert_allclose(back[..., 0], 60.0, atol=0.5)
    np.testing.assert_allclose(back[..., 1], 40.0, atol=1.0)
    np.testing.assert_allclose(back[..., 2], 0.0, atol=1.0)


def test_compose_keeps_the_photo_colours_given_its_own_ab(photo: np.ndarray) -> None:
    """Chroma at quarter resolution + full-resolution L looks like the photo."""
    lab_full = lab.rgb_to_lab(photo)
    h, w = lab_full.shape[:2]
    small = cv2.resize(lab_full[..., 1:], (w // 4, h // 4), interpolation=cv2.INTER_AREA)
    out = lab.compose(lab_full[..., 0], small)
    assert out.shape == photo.shape
    err = np.abs(out - lab.to_float_rgb(photo)).mean()
    assert err < 0.03


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (300, 1100), (1100, 300)])
@pytest.mark.parametrize("strength", [1.0, 0.4, 2.0])
def test_compose_to_uint8_is_the_float_result_rounded(shape: tuple[int, int],
                                                      strength: float) -> None:
    """The 8-bit compose (no full-size float image) gives exactly what the writers
    make of the float result: bit-identical, band edges included."""
    rng = np.random.default_rng(sum(shape))
    L = rng.uniform(0.0, 100.0, shape).astype(np.float32)
    ab = (rng.standard_normal((max(1, shape[0] // 7), max(1, shape[1] // 7), 2)) * 60.0
          ).astype(np.float32)
    f = lab.compose(L, ab, strength)
    u = lab.compose(L, ab, strength, dtype=np.uint8)
    assert u.dtype == np.uint8 and u.shape == shape + (3,)
    assert np.array_equal(u, lab.to_depth(f, 8))  # the writers' rule (core.photo)
    assert np.array_equal(u, lab.to_uint8(f))


def test_compose_refuses_other_dtypes() -> None:
    with pytest.raises(ValueError, match="float32 or uint8"):
        lab.compose(np.zeros((2, 2), np.float32), np.zeros((1, 1, 2), np.float32),
                    dtype=np.uint16)


def test_strength_zero_is_neutral_gray(photo: np.ndarray) -> None:
    lab_full = lab.rgb_to_lab(photo)
    out = lab.compose(lab_full[..., 0], lab_full[..., 1:], strength=0.0)
    back = lab.rgb_to_lab(out)
    assert np.abs(back[..., 1:]).max() < 1.0
    assert np.abs(out[..., 0] - out[..., 1]).max() < 2 / 255
    np.testing.assert_allclose(back[..., 0], lab_full[..., 0], atol=0.5)


def test_strength_scales_chroma() -> None:
    L = np.full((8, 8), 55.0, np.float32)
    ab = np.tile(np.array([20.0, -15.0], np.float32), (8, 8, 1))
    half = lab.rgb_to_lab(lab.compose(L, ab, 0.5))[..., 1:]
    double = lab.rgb_to_lab(lab.compose(L, ab, 2.0))[..., 1:]
    np.testing.assert_allclose(half.mean((0, 1)), [10.0, -7.5], atol=0.7)
    np.testing.assert_allclose(double.mean((0, 1)), [40.0, -30.0], atol=1.5)


@pytest.mark.parametrize("bits", [8, 16])
def test_gray_luminance_by_table_is_bit_identical(bits: int) -> None:
    """A gray scan's L comes from a table: the very numbers of the full conversion."""
    g = data.camera()
    gray = np.repeat(g[..., None], 3, axis=-1)
    if bits == 16:
        gray = gray.astype(np.uint16) * 257 + 3
    tall = np.concatenate([gray] * 3, axis=0)  # several bands of rows
    np.testing.assert_array_equal(lab.luminance(tall), lab.rgb_to_lab(tall)[..., 0])
    tinted = tall.copy()
    tinted[-1, -1, 2] += 1  # one pixel of colour in the last band: the full conversion
    np.testing.assert_array_equal(lab.luminance(tinted), lab.rgb_to_lab(tinted)[..., 0])


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (513, 1001)])
def test_colour_luminance_by_table_is_bit_identical(shape: tuple[int, int]) -> None:
    """A toned or colour 8-bit photo's L comes from the table of all colours, filled
    as photos need its rows: the very numbers of the full conversion, odd widths and
    strided arrays included, and again once the rows are filled."""
    rng = np.random.default_rng(shape[0])
    rgb = rng.integers(0, 256, shape + (3,)).astype(np.uint8)
    for _ in range(2):
        np.testing.assert_array_equal(lab.luminance(rgb), lab.rgb_to_lab(rgb)[..., 0])
    sepia = (np.array([1.0, 0.85, 0.65]) * rng.integers(0, 256, shape)[..., None]).astype(
        np.uint8)
    np.testing.assert_array_equal(lab.luminance(sepia), lab.rgb_to_lab(sepia)[..., 0])
    wide = np.concatenate([rgb, sepia], axis=1)[:, ::2]  # a strided view
    np.testing.assert_array_equal(lab.luminance(wide), lab.rgb_to_lab(wide)[..., 0])
