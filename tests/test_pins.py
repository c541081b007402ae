"""Colour pins: propagation properties on constructed images, validation, the engine hook.

The constructed photos are flat areas split by sharp steps in L, so what a
pin may and may not touch is known exactly.
"""

from __future__ import annotations

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
    assert np.all(np.diff(chroma) <= 1e-6)  # never grows away from the pin
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
    c = propagate(g, [Pin(40, 120, BLUE)], auto)
    np.testing.assert_array_equal(a, c)  # cached normalisers give the same answer
    assert np.abs(a - b).mean() < 0.5


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
        np.testing.assert_allclose(res[:, 110:], plain[:, 110:], atol=1e-5)
        np.testing.assert_allclose(res[80:], plain[80:], atol=1e-5)


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
