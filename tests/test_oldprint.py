"""The old-print simulator: deterministic, labelled, and degrading the right way."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from core import oldprint
from core.oldprint import DUST, KINDS, LINE, STAIN, TEAR, simulate


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return cv2.resize(data.camera(), (320, 256), interpolation=cv2.INTER_AREA)


def _contrast(g: np.ndarray) -> float:
    return float(np.percentile(g, 98) - np.percentile(g, 2))


def test_same_seed_same_scan_and_shapes(photo: np.ndarray) -> None:
    a = simulate(photo, np.random.default_rng(7))
    b = simulate(photo, np.random.default_rng(7))
    c = simulate(photo, np.random.default_rng(8))
    np.testing.assert_array_equal(a.gray, b.gray)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert not np.array_equal(a.gray, c.gray)
    for r in (a, c):
        assert r.gray.shape == r.mask.shape == photo.shape
        assert r.gray.dtype == r.mask.dtype == np.uint8
        assert set(np.unique(r.mask)) <= {0, *KINDS}


def test_the_clean_photo_is_never_modified(photo: np.ndarray) -> None:
    before = photo.copy()
    simulate(photo, np.random.default_rng(0), strength=2.0)
    np.testing.assert_array_equal(photo, before)


def test_every_kind_is_drawn_and_labelled_over_a_few_seeds(photo: np.ndarray) -> None:
    seen: set[int] = set()
    for seed in range(12):
        seen |= set(np.unique(simulate(photo, np.random.default_rng(seed)).mask).tolist())
    assert {LINE, DUST, TEAR, STAIN} <= seen


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_one_kind_alone_labels_only_that_kind(photo: np.ndarray, kind: int) -> None:
    labels: set[int] = set()
    for seed in range(8):
        labels |= set(np.unique(simulate(photo, np.random.default_rng(seed),
                                         damage={kind}).mask).tolist())
    assert labels == {0, kind}


def test_no_damage_means_an_empty_mask_but_still_an_old_print(photo: np.ndarray) -> None:
    for seed in range(5):
        r = simulate(photo, np.random.default_rng(seed), damage=False)
        assert not r.mask.any()
        assert _contrast(r.gray) < _contrast(photo)  # faded: always some contrast lost
        assert np.abs(r.gray.astype(int) - photo).mean() > 1.0


def test_the_same_seed_without_damage_is_the_same_print_outside_the_damage(
        photo: np.ndarray) -> None:
    for seed in range(4):
        damaged = simulate(photo, np.random.default_rng(seed))
        clean = simulate(photo, np.random.default_rng(seed), damage=False)
        far = cv2.dilate((damaged.mask > 0).astype(np.uint8), np.ones((9, 9), np.uint8)) == 0
        diff = np.abs(damaged.gray.astype(int) - clean.gray)
        assert np.median(diff[far]) <= 1 and np.percentile(diff[far], 99) <= 12
        assert diff[damaged.mask > 0].mean() > 5


def test_masked_pixels_changed_and_lines_go_both_ways(photo: np.ndarray) -> None:
    brighter = darker = 0
    for seed in range(10):
        r = simulate(photo, np.random.default_rng(seed), damage={LINE})
        ref = cv2.medianBlur(r.gray, 7).astype(int)
        d = r.gray.astype(int) - ref
        on = r.mask == LINE
        if on.sum() > 20:
            brighter += int((d[on] > 25).sum())
            darker += int((d[on] < -25).sum())
    assert brighter > 50 and darker > 10  # bright scratches/cracks and dark ones


def test_damage_is_a_small_part_of_the_print(photo: np.ndarray) -> None:
    fractions = [(simulate(photo, np.random.default_rng(s)).mask > 0).mean() for s in range(10)]
    assert 0.0 < float(np.median(fractions)) < 0.25


def test_strength_zero_is_the_photo_and_more_strength_is_more_damage(photo: np.ndarray) -> None:
    r0 = simulate(photo, np.random.default_rng(3), strength=0.0)
    np.testing.assert_array_equal(r0.gray, photo)
    assert not r0.mask.any()
    weak = np.mean([(simulate(photo, np.random.default_rng(s), strength=0.3).mask > 0).mean()
                    for s in range(8)])
    strong = np.mean([(simulate(photo, np.random.default_rng(s), strength=1.5).mask > 0).mean()
                      for s in range(8)])
    assert strong > weak


def test_sizes_scale_with_the_print() -> None:
    """Any size works, and a print twice as large gets lines about twice as wide."""
    for shape in ((1, 1), (3, 50), (97, 31)):
        r = simulate(np.full(shape, 128, np.uint8), np.random.default_rng(0))
        assert r.gray.shape == r.mask.shape == shape

    def width(side: int) -> float:
        """Line area per unit of length (the length grows with the side too)."""
        img = np.full((side, side), 110, np.uint8)
        return float(np.mean([(simulate(img, np.random.default_rng(seed), damage={LINE})
                               .mask > 0).sum() / side for seed in range(8)]))

    assert width(512) > 1.4 * width(256)


def test_rejects_what_is_not_a_gray_uint8_image() -> None:
    with pytest.raises(ValueError):
        simulate(np.zeros((8, 8, 3), np.uint8), np.random.default_rng(0))
    with pytest.raises(ValueError):
        simulate(np.zeros((8, 8), np.float32), np.random.default_rng(0))
    with pytest.raises(ValueError):
        simulate(np.zeros((8, 8), np.uint8), np.random.default_rng(0), damage={9})


def test_names_of_kinds_are_stable() -> None:
    assert KINDS == {1: "line", 2: "dust", 3: "tear", 4: "stain"}
    assert oldprint.NONE == 0
