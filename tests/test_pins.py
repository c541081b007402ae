"""Colour pins: propagation properties on constructed images, validation, the engine hook.

The constructed photos are flat areas split by sharp steps in L, so what a
pin may and may not touch is known exactly.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core import lab, pins
from core.pins import Pin, PinError, build_guide, check_pins, parse_color, propagate

BLUE = (40, 60, 150)
RED = (170, 40, 40)


def _ab(rgb: tuple[int, int, int]) -> np.ndarray:
    return pins.pin_ab([Pin(0, 0, rgb)])[0]


def _halves(h: int = 240, w: int = 320, left: float = 60.0, right: float = 30.0) -> np.ndarray:
    L = np.full((h, w), left, np.float32)
    L[:, w // 2 :] = right
    return L


def _zero_auto(guide: pins.Guide) -> np.ndarray:
    return np.zeros(guide.shape + (2,), np.float32)


def _spread(L: np.ndarray, pin_list: list[Pin], mode: str = "replace") -> np.ndarray:
    """ab (grid) for an automatic colour of zero: what the pins alone put there."""
    g = build_guide(L)
    return propagate(g, pin_list, _zero_auto(g), mode)


@pytest.mark.parametrize("mode", pins.MODES)
def test_an_edge_stops_a_pin(mode: str) -> None:
    L = _halves()
    ab = _spread(L, [Pin(40, 120, BLUE)], mode)
    w = ab.shape[1]
    right = np.hypot(ab[:, w // 2 :, 0], ab[:, w // 2 :, 1])
    assert right.max() < 0.5  # across the step: the automatic colour (zero) stays
    np.testing.assert_allclose(ab[120, 40], _ab(BLUE), atol=0.5)  # the pin has its colour
    near = np.hypot(*ab[100:141, 20:61].reshape(-1, 2).T)
    assert near.min() > 0.8 * np.hypot(*_ab(BLUE))  # and its surroundings follow


def test_a_pin_fades_with_distance_in_an_open_area() -> None:
    L = np.full((300, 1200), 50.0, np.float32)
    ab = _spread(L, [Pin(30, 150, RED)])
    g = build_guide(L)
    r, c = g.node(Pin(30, 150, RED))
    chroma = np.hypot(ab[r, c:, 0], ab[r, c:, 1])
    assert chroma[0] == pytest.approx(np.hypot(*_ab(RED)), abs=0.5)
    assert np.all(np.diff(chroma) <= 1e-4)  # never grows away from the pin (float32)
    assert chroma[-1] < 0.1 * chroma[0]  # and is gone at the far end


def test_two_pins_split_a_region_along_its_edge() -> None:
    # A framed region (dark border), split by an inner step into a lighter left and right.
    L = np.full((240, 320), 10.0, np.float32)
    L[90:150, 100:160] = 70.0
    L[90:150, 160:220] = 55.0
    ab = _spread(L, [Pin(110, 120, RED), Pin(210, 120, BLUE)])
    red, blue = _ab(RED), _ab(BLUE)
    left, right = ab[92:148, 102:158], ab[92:148, 162:218]
    assert np.abs(left - red).max() < 3.0  # each side all of its pin's colour
    assert np.abs(right - blue).max() < 3.0
    row = ab[120, 100:220]  # and the split falls exactly on the step
    to_red = np.linalg.norm(row - red, axis=1) < np.linalg.norm(row - blue, axis=1)
    assert to_red[:60].all() and not to_red[60:].any()
    assert np.abs(ab[:80]).max() < 0.5  # the frame around keeps the automatic colour


def test_no_pins_leave_the_automatic_colour() -> None:
    g = build_guide(_halves())
    auto = np.random.default_rng(0).normal(0, 20, g.shape + (2,)).astype(np.float32)
    np.testing.assert_array_equal(propagate(g, [], auto), auto)


def test_a_gradual_boundary_stops_a_pin_too() -> None:
    # Light, then a 50 px ramp down to dark: no step the smoother stops at (1 L unit a
    # pixel), yet the dark side is another surface. The range term keeps the pin off it.
    L = np.full((100, 320), 80.0, np.float32)
    L[:, 150:200] = np.linspace(80, 30, 50)[None]
    L[:, 200:] = 30.0
    g = build_guide(L)
    pin = [Pin(140, 50, RED)]
    chroma = {}
    for l_range in (0.0, pins.L_RANGE):
        ab = propagate(g, pin, _zero_auto(g), l_range=l_range)
        chroma[l_range] = np.hypot(ab[50, :, 0], ab[50, :, 1])
    full = np.hypot(*_ab(RED))
    assert chroma[pins.L_RANGE][140] == pytest.approx(full, abs=0.5)  # its own colour
    assert chroma[0.0][215] > 0.3 * full  # the smoother alone spills past the ramp
    assert chroma[pins.L_RANGE][215:].max() < 0.01 * full  # with the range term: not


def test_offset_mode_keeps_the_automatic_variation() -> None:
    L = np.full((100, 100), 50.0, np.float32)
    g = build_guide(L)
    auto = np.zeros(g.shape + (2,), np.float32)
    auto[..., 0] = np.linspace(-10, 10, g.shape[1])[None, :]
    out = propagate(g, [Pin(50, 50, BLUE)], auto, "offset")
    r, c = g.node(Pin(50, 50, BLUE))
    np.testing.assert_allclose(out[r, c], _ab(BLUE), atol=0.5)
    # near the pin the shift is (almost) the same: the automatic gradient survives
    d = out[r, c - 5 : c + 6, 0] - auto[r, c - 5 : c + 6, 0]
    assert np.ptp(d) < 0.1 * abs(d[5]) and np.ptp(out[r, c - 5 : c + 6, 0]) > 1.0


def test_exact_reference_also_respects_the_edge() -> None:
    L = _halves(120, 160)
    g = build_guide(L)
    out = pins.propagate_exact(g, [Pin(20, 60, BLUE)], _zero_auto(g))
    assert np.abs(out[:, g.shape[1] // 2 :]).max() < 0.5
    np.testing.assert_allclose(out[g.node(Pin(20, 60, BLUE))], _ab(BLUE), atol=0.5)


def test_a_dragged_pin_reuses_the_guide() -> None:
    g = build_guide(_halves())
    auto = _zero_auto(g)
    a = propagate(g, [Pin(40, 120, BLUE)], auto)
    b = propagate(g, [Pin(41, 121, BLUE)], auto)
    c = propagate(g, [Pin(40, 120, BLUE), Pin(250, 60, RED)], auto)
    d = propagate(g, [Pin(40, 120, BLUE)], auto)
    np.testing.assert_array_equal(a, d)  # cached reaches give the same answer
    assert np.abs(a - b).mean() < 0.5
    for k in range(3 * pins.REACH_CACHE):  # a long drag among pins that stay put ...
        propagate(g, [Pin(40 + 2 * k, 120, BLUE), Pin(250, 60, RED)], auto)
    assert (g.node(Pin(250, 60, RED)), pins.GAIN, pins.L_RANGE) in g._terms  # ... keeps them
    assert len(g._reach) <= pins.REACH_CACHE + 2 and len(g._terms) <= pins.REACH_CACHE + 2
    fresh = build_guide(_halves())  # and the same as a guide that never saw a pin
    np.testing.assert_array_equal(c, propagate(fresh, [Pin(40, 120, BLUE), Pin(250, 60, RED)],
                                               auto))


# --------------------------------------------------------------------------- regions


def _regions(L: np.ndarray, pin_list: list[Pin]) -> tuple[pins.Guide, pins.Spread]:
    g = build_guide(L)
    return g, pins.spread(g, pin_list, _zero_auto(g))


def test_a_pins_region_stops_at_an_L_edge() -> None:
    g, sp = _regions(_halves(), [Pin(40, 120, BLUE)])
    grid = sp.regions(g.shape)[0]
    w = g.shape[1]
    assert grid[g.node(Pin(40, 120, BLUE))]
    assert grid[:, : w // 2].all()  # the whole lighter half, closed by the step ...
    assert not grid[:, w // 2 :].any()  # ... and nothing beyond it
    np.testing.assert_array_equal(sp.offset[:, w // 2 :], 0.0)  # exactly nothing
    # At the photo's size, grown by a margin of grid cells: it ends that far past the step.
    photo = sp.regions((240, 320), margin=2)[0]
    assert photo[:, :160].all() and not photo[:, 160 + 3 :].any()


def test_a_pins_region_is_bounded_in_an_open_flat_area() -> None:
    L = np.full((300, 1200), 50.0, np.float32)
    pin = Pin(30, 150, RED)
    g, sp = _regions(L, [pin])
    region = sp.regions(g.shape)[0]
    r, c = g.node(pin)
    row = region[r]
    assert row[c] and not row[-1]  # the distance fade ends it, edges or not
    inside = np.flatnonzero(row)
    assert np.all(np.diff(inside) == 1)  # one piece along the row
    chroma = np.hypot(sp.offset[r, :, 0], sp.offset[r, :, 1])
    end = inside[-1]
    np.testing.assert_array_equal(chroma[end + 1 :], 0.0)  # exactly zero outside
    # and no seam where it ends: the colour fades to nothing in small steps
    full = np.hypot(*_ab(RED))
    assert chroma[end] < 0.01 * full
    assert np.abs(np.diff(chroma[c:])).max() < 0.02 * full


def test_a_pins_region_is_where_its_confidence_passes_the_floor() -> None:
    # One rule: the grid region is conf > FLOOR, the pin's colour moves nothing outside
    # it, and with several pins each has its own (its weight ramps from 0 at FLOOR).
    L = np.full((120, 320), 50.0, np.float32)
    L[:, 160:] = 20.0
    pin_list = [Pin(20, 60, RED), Pin(300, 60, BLUE)]
    g, sp = _regions(L, pin_list)
    regions = sp.regions(g.shape)
    np.testing.assert_array_equal(regions, sp.conf > pins.FLOOR)
    assert not (regions[0] & regions[1]).any()  # the step keeps them apart
    moved = np.hypot(sp.offset[..., 0], sp.offset[..., 1]) > 0
    assert not (moved & ~regions.any(axis=0)).any()


def test_pinned_ab_is_the_automatic_colour_plus_pin_offset() -> None:
    g = build_guide(_halves())
    auto = np.random.default_rng(1).normal(0, 20, (64, 64, 2)).astype(np.float32)
    pin_list = [Pin(40, 120, BLUE), Pin(250, 60, RED)]
    for strength in (1.0, 0.5):
        grid = pins.grid_ab(g, auto) * np.float32(strength)
        got = pins.pinned_ab(g, auto, strength, pin_list)
        np.testing.assert_array_equal(got, grid + pins.pin_offset(g, auto, strength, pin_list))
        np.testing.assert_array_equal(got, propagate(g, pin_list, grid))


# --------------------------------------------------------------------------- validation


def test_colours_parse_and_bad_ones_say_why() -> None:
    assert parse_color("#2a3f8f") == (42, 63, 143)
    assert parse_color("2A3F8F") == (42, 63, 143)
    for bad in ("#2a3f8", "blue", "#gg0000", 123, None):
        with pytest.raises(PinError, match="bad colour"):
            parse_color(bad)


def test_pins_outside_the_photo_are_refused() -> None:
    check_pins([Pin(0, 0, RED), Pin(99.5, 49, RED)], 100, 50)
    for x, y in ((100, 10), (-1, 10), (10, 50)):
        with pytest.raises(PinError, match="outside the photo"):
            check_pins([Pin(x, y, RED)], 100, 50)


def test_pin_json_round_trip_and_errors() -> None:
    items = [{"x": 120, "y": 40, "color": "#2a3f8f"}, {"x": 3.5, "y": 7, "color": "#ff0000"}]
    got = pins.pins_from_json(items)
    assert got == [Pin(120, 40, (42, 63, 143)), Pin(3.5, 7, (255, 0, 0))]
    assert [p.to_json() for p in got] == items
    with pytest.raises(PinError, match="pin 2: .*no color"):
        pins.pins_from_json([items[0], {"x": 1, "y": 2}])
    with pytest.raises(PinError, match="must be a number"):
        pins.pins_from_json([{"x": "a", "y": 2, "color": "#000000"}])
    with pytest.raises(PinError, match="list"):
        pins.pins_from_json({"x": 1})
    with pytest.raises(PinError, match="0..255"):
        Pin(1, 2, (0, 0, 300))


# --------------------------------------------------------------------------- the engine


@pytest.fixture(scope="module")
def cz(tiny_colorizer):
    tiny_colorizer.load()
    return tiny_colorizer


@pytest.fixture(scope="module")
def steps() -> np.ndarray:
    """A gray photo: a light left half and a dark right half."""
    g = np.full((90, 160), 170, np.uint8)
    g[:, 80:] = 90
    return np.repeat(g[..., None], 3, axis=-1)


def test_render_without_pins_is_unchanged(cz, steps: np.ndarray) -> None:
    a = cz.analyze(steps)
    plain = cz.render(a, strength=0.7)
    np.testing.assert_array_equal(cz.render(a, strength=0.7, pins=[]).rgb, plain.rgb)
    assert plain.pins == []


@pytest.mark.parametrize("strength", [1.0, 0.4])
def test_render_with_a_pin_keeps_L_and_its_region(cz, steps: np.ndarray, strength: float) -> None:
    a = cz.analyze(steps)
    plain = cz.render(a, strength=strength).rgb
    pin = Pin(20, 45, (60, 90, 160))
    res = cz.render(a, strength=strength, pins=[pin])
    assert res.pins == [pin]
    got = lab.rgb_to_lab(res.rgb)
    np.testing.assert_allclose(got[..., 0], a.L, atol=1.0)  # the photo's own lightness
    want = _ab(pin.rgb)
    np.testing.assert_allclose(got[45, 20, 1:], want, atol=3.0)  # the pin's colour there
    # The dark half, beyond the step (and the upsampling's one grid pixel), is untouched.
    np.testing.assert_allclose(res.rgb[:, 84:], plain[:, 84:], atol=2e-3)


def test_far_from_a_pin_the_render_is_the_automatic_one(cz) -> None:
    # A framed light square in a textured dark surround, under an automatic colour that
    # varies everywhere: beyond the frame the pinned render must be the automatic result
    # itself (the same upsampling of the same ab), not a copy resampled onto the grid.
    rng = np.random.default_rng(3)
    g = rng.integers(20, 60, (120, 200)).astype(np.uint8)
    g[30:60, 30:70] = 200
    a = cz.analyze(np.repeat(g[..., None], 3, axis=-1))
    guide = build_guide(a.L)
    guide.auto_ab = rng.normal(0, 25, (64, 64, 2)).astype(np.float32)
    for strength in (1.0, 0.6):
        plain = cz.compose(a, guide.auto_ab, strength)
        res = cz.compose_pinned(a, guide, strength, [Pin(50, 45, (60, 90, 160))])
        assert np.abs(res[30:60, 30:70] - plain[30:60, 30:70]).max() > 0.05  # the pin acts
        np.testing.assert_array_equal(res[:, 110:], plain[:, 110:])
        np.testing.assert_array_equal(res[80:], plain[80:])


def _objects(seed: int = 5) -> np.ndarray:
    """A gray photo of flat shapes on a textured ground: closed regions and open ones."""
    rng = np.random.default_rng(seed)
    g = rng.integers(60, 80, (150, 240)).astype(np.uint8)
    g[20:70, 20:90] = 200
    g[90:140, 120:220] = 130
    g[30:60, 150:230] = 30
    return np.repeat(g[..., None], 3, axis=-1)


@pytest.mark.parametrize("strength", [1.0, 0.6])
def test_outside_its_region_a_pinned_render_is_the_automatic_one(cz, strength: float) -> None:
    a = cz.analyze(_objects())
    plain = cz.render(a, strength=strength)
    for pin_list in ([Pin(50, 40, BLUE)], [Pin(50, 40, BLUE), Pin(170, 110, RED)],
                     [Pin(10, 140, RED)]):  # the last on the open textured ground
        res = cz.render(a, strength=strength, pins=pin_list)
        regions = cz.pin_regions(a, pin_list)
        assert regions.shape == (len(pin_list), 150, 240)
        guide = cz._pin_guide(a)
        union = pins.pin_spread(guide, guide.auto_ab, strength, pin_list).regions(
            (150, 240), cz.pin_margin(), union=True)
        np.testing.assert_array_equal(union, regions.any(axis=0))
        out = ~regions.any(axis=0)
        assert out.mean() > 0.2  # the regions are a part of the photo, not all of it
        np.testing.assert_array_equal(res.rgb[out], plain.rgb[out])  # to the bit
        u8 = cz.render(a, strength=strength, pins=pin_list, dtype=np.uint8).rgb
        np.testing.assert_array_equal(u8[out], cz.render(a, strength=strength,
                                                         dtype=np.uint8).rgb[out])
        np.testing.assert_array_equal(u8, lab.to_uint8(res.rgb))  # as the float result, saved
        inside = regions.any(axis=0)
        assert np.abs(res.rgb[inside] - plain.rgb[inside]).max() > 0.05  # and they act
        assert all(r[int(p.y), int(p.x)] for r, p in zip(regions, pin_list))


@pytest.mark.parametrize("strength", [1.0, 0.6, 0.0])
def test_a_big_photo_keeps_the_automatic_colour_outside_the_regions(cz, strength: float) -> None:
    # Larger than the colour map (core.upsampling.COLOUR_SIDE): the offset goes through
    # one more bilinear resize onto the photo, and the regions must hold that step too.
    g = cv2.resize(_objects()[..., 0], (1100, 700), interpolation=cv2.INTER_NEAREST)
    a = cz.analyze(np.repeat(g[..., None], 3, axis=-1))
    plain = cz.render(a, strength=strength).rgb
    pin_list = [Pin(230, 180, BLUE), Pin(40, 650, RED)]
    res = cz.render(a, strength=strength, pins=pin_list).rgb
    out = ~cz.pin_regions(a, pin_list).any(axis=0)
    assert 0.2 < out.mean() < 1.0
    np.testing.assert_array_equal(res[out], plain[out])
    if strength:
        assert np.abs(res[~out] - plain[~out]).max() > 0.05


def test_the_region_clamp_removes_only_float_dust(cz) -> None:
    # The engine zeroes the upsampled offset outside the regions; its margin covers the
    # upsampling's reach, so nothing visible is cut there (no seam at a region's end).
    a = cz.analyze(_objects())
    guide = cz._pin_guide(a)
    guide.auto_ab = np.random.default_rng(2).normal(0, 25, (64, 64, 2)).astype(np.float32)
    pin_list = [Pin(50, 40, BLUE), Pin(10, 140, RED)]
    sp = pins.pin_spread(guide, guide.auto_ab, 1.0, pin_list)
    up = cz._upsample(a, sp.offset)
    inside = sp.regions(up.shape[:2], cz.pin_margin()).any(axis=0)
    assert np.abs(up[~inside]).max(initial=0.0) < 1e-3


def test_render_refuses_a_pin_outside_the_photo(cz, steps: np.ndarray) -> None:
    a = cz.analyze(steps)
    with pytest.raises(PinError, match=r"outside the photo \(160x90"):
        cz.render(a, pins=[Pin(160, 10, RED)])


def test_pinned_renders_follow_a_category_change(cz, steps: np.ndarray) -> None:
    pin = [Pin(20, 45, (60, 90, 160))]
    a = cz.analyze(steps)
    cz.render(a, "animal", pins=pin)  # caches the animal model's colour on the analysis
    again = cz.render(a, "dress", pins=pin).rgb
    fresh = cz.render(cz.analyze(steps), "dress", pins=pin).rgb
    np.testing.assert_array_equal(again, fresh)


@pytest.mark.parametrize("strength", [1.0, 0.6])
def test_compose_with_a_zero_offset_is_compose_without_one(strength: float) -> None:
    rng = np.random.default_rng(4)
    L = rng.uniform(0, 100, (90, 160)).astype(np.float32)
    ab = rng.normal(0, 30, (30, 40, 2)).astype(np.float32)
    off = np.zeros((45, 80, 2), np.float32)
    plain = lab.compose(L, ab, strength)
    np.testing.assert_array_equal(lab.compose(L, ab, strength, offset=off), plain)
    off[10:20, 10:30] = 15.0  # and an offset moves only the pixels it reaches
    got = lab.compose(L, ab, strength, offset=off)
    assert np.abs(got[20:40, 20:60] - plain[20:40, 20:60]).max() > 0.01
    np.testing.assert_array_equal(got[50:], plain[50:])
