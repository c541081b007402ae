"""The colour measures on constructed images, the recognition judge, and evaluate on tiny models."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from core import lab
from core.categories import GENERAL, label_of
from core.training import metrics
from core.training.dataset import Split
from core.training.recognition import Verdicts, log_softmax, recognition
from tests.modelsets import ThumbJudge


def lab_image(L: float, a: float, b: float, shape=(64, 64)) -> np.ndarray:
    img = np.zeros(shape + (3,), np.float32)
    img[...] = (L, a, b)
    return lab.lab_to_rgb(img)


# ------------------------------------------------------------------ neutral false colour


def test_neutral_false_colour_measures_tint_on_neutral_pixels_only() -> None:
    truth = lab_image(60, 0, 0)
    truth[:, 32:] = lab_image(60, 40, 30)[:, 32:]  # right half is colourful
    tinted = lab_image(60, 12, 0)  # 12 units of chroma everywhere
    assert metrics.neutral_false_colour(tinted, truth) == pytest.approx(12.0, abs=0.7)
    assert metrics.neutral_false_colour(truth, truth) < 1.0
    gray = lab_image(60, 0, 0)
    assert metrics.neutral_false_colour(gray, truth) < 0.5
    # The colourful half does not count, whatever colour it gets.
    wild = truth.copy()
    wild[:, 32:] = lab_image(60, -50, 50)[:, 32:]
    assert metrics.neutral_false_colour(wild, truth) < 1.0


def test_neutral_false_colour_is_nan_without_neutral_pixels() -> None:
    truth = lab_image(60, 40, 30)
    assert np.isnan(metrics.neutral_false_colour(truth, truth))


# ------------------------------------------------------------------ blotches


def test_one_colour_regions_finds_the_flat_areas() -> None:
    truth = lab_image(60, 30, -30)
    truth[:, 32:] = lab_image(60, -20, 40)[:, 32:]
    regions = metrics.one_colour_regions(truth)
    assert len(regions) == 2
    assert sum(int(r.sum()) for r in regions) > 0.8 * 64 * 64


def test_patches_in_a_one_colour_region_are_blotches() -> None:
    truth = lab_image(70, 0, -30)  # a blue wall
    one_wrong_colour = lab_image(70, 20, 10)  # wrong, but one colour: not a blotch
    patches = lab_image(70, 30, 0)
    patches[32:, :32] = lab_image(70, -30, 30)[32:, :32]
    patches[:32, 32:] = lab_image(70, 0, 40)[:32, 32:]
    assert metrics.blotchiness(truth, truth) == pytest.approx(0.0, abs=0.5)
    assert metrics.blotchiness(one_wrong_colour, truth) == pytest.approx(0.0, abs=0.5)
    assert metrics.blotchiness(patches, truth) > 15.0


def test_blotchiness_subtracts_the_truths_own_spread() -> None:
    rng = np.random.default_rng(0)
    truth_lab = np.zeros((64, 64, 3), np.float32)
    truth_lab[...] = (60, 20, 20)
    truth_lab[..., 1:] += rng.normal(0, 1.0, (64, 64, 2))  # fine grain, one colour
    truth = lab.lab_to_rgb(truth_lab)
    assert metrics.blotchiness(truth, truth) == pytest.approx(0.0, abs=0.3)


# ------------------------------------------------------------------ recognition


def test_recognition_agreement_and_log_probability() -> None:
    logits = np.array([[5.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 1.0, 4.0]])
    lp = log_softmax(logits)
    np.testing.assert_allclose(np.exp(lp).sum(axis=1), 1.0)
    agree, logp = recognition(lp, np.array([0, 2, 2]))
    np.testing.assert_array_equal(agree, [1, 0, 1])
    np.testing.assert_allclose(logp, [lp[0, 0], lp[1, 2], lp[2, 2]])


def test_real_photo_verdicts_are_cached(tmp_path: Path) -> None:
    judge = ThumbJudge()
    photos = [data.astronaut(), data.coffee()]
    first = Verdicts(judge, tmp_path / "v.json").top1(["a", "c"], photos)
    assert judge.calls == 2
    again = Verdicts(judge, tmp_path / "v.json").top1(["a", "c"], photos)
    assert judge.calls == 2  # read from the cache
    np.testing.assert_array_equal(first, again)
    assert json.loads((tmp_path / "v.json").read_text())["judge"] == "thumb-judge"


# ------------------------------------------------------------------ evaluate, tiny models


def _split(labels: list[int], names: str) -> Split:
    srcs = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    imgs = np.stack([cv2.resize(srcs[i % 4], (64, 64), interpolation=cv2.INTER_AREA)
                     for i in range(len(labels))])
    return Split(imgs, np.array(labels, np.int32), [f"{names}{i}.webp" for i in
                                                    range(len(labels))])


def test_evaluate_reports_both_sets_with_every_measure(models_dir: Path,
                                                       tmp_path: Path) -> None:
    from core.categories import CATEGORIES
    from core.training.evaluate import MEASURES, evaluate, render_report

    test = _split([CATEGORIES.index("dog"), CATEGORIES.index("dog"),
                   CATEGORIES.index("beach")], "t")
    general = _split([label_of(GENERAL)] * 4, "g")
    result = evaluate(test, models_dir, general=general, judge=ThumbJudge(),
                      cache_dir=tmp_path / "cache", log=lambda _: None)
    v, g = result["variants"], result["general"]["variants"]
    for name in ("gray", "soft routing", "true category"):
        assert set(MEASURES) <= set(v[name]["overall"])
    assert "true category" not in g and "soft routing" in g  # no label on general photos
    assert g["gray"]["overall"]["colourfulness_ratio"] == pytest.approx(0.0, abs=1e-3)
    assert g["gray"]["overall"]["neutral_chroma"] == pytest.approx(0.0, abs=0.5)
    assert 0.0 <= g["soft routing"]["overall"]["imagenet_agree"] <= 1.0
    assert g["soft routing"]["overall"]["imagenet_logp"] <= 0.0
    assert result["general"]["photos"] == 4 and result["judge"] == "thumb-judge"
    text = render_report(result, tmp_path / "results.md")
    assert "general held-out set" in text and "neutral false colour" in text


def test_general_set_falls_back_to_every_kth_photo(tmp_path: Path) -> None:
    from PIL import Image

    from core.training.evaluate import load_general

    folder = tmp_path / "general"
    folder.mkdir()
    for i in range(10):
        Image.fromarray(cv2.resize(data.coffee(), (300, 200))).save(folder / f"p{i:02d}.webp")
    g = load_general(None, general_dir=folder)
    assert len(g) == 10 and g.images.shape[1:] == (256, 256, 3)
    assert (g.labels == label_of(GENERAL)).all()
    assert load_general(None, general_dir=folder).files == g.files  # deterministic
    assert len(load_general(None, limit=3, general_dir=folder)) == 3


def test_topk_error_counts_any_of_a_photos_categories() -> None:
    probs = np.array([[0.6, 0.3, 0.1], [0.2, 0.3, 0.5]])
    sets = np.array([[False, True, False], [True, False, True]])
    np.testing.assert_array_equal(metrics.topk_error(probs, np.array([1, 0]), 1, sets), [1, 0])
    np.testing.assert_array_equal(metrics.topk_error(probs, np.array([1, 0]), 2, sets), [0, 0])


# ------------------------------------------------------------------ figure sheets


def test_simulated_old_print_is_a_damaged_gray_print() -> None:
    from core.training.figures import old_print

    photo = cv2.resize(data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA)
    scan = old_print(photo, seed=1)
    assert scan.shape == photo.shape and scan.dtype == np.uint8
    ab = lab.rgb_to_lab(scan)[..., 1:]
    assert np.abs(np.median(ab.reshape(-1, 2), axis=0) - (2, 11)).max() < 2  # yellowed paper
    L, clean = lab.luminance(scan), lab.luminance(photo)
    faded = np.percentile(L, 98) - np.percentile(L, 2)
    assert faded < np.percentile(clean, 98) - np.percentile(clean, 2)  # core.oldprint's fading
    assert np.abs(L - clean).mean() > 1.0
    np.testing.assert_array_equal(old_print(photo, seed=1), scan)  # deterministic


def test_sheets_have_a_row_per_case(tmp_path: Path) -> None:
    from PIL import Image

    from core.training.figures import sheets

    imgs = np.stack([cv2.resize(im, (64, 64)) for im in (data.astronaut(), data.coffee(),
                                                         data.chelsea())])
    files = sheets(tmp_path, lambda im: lab.to_float_rgb(im), lambda im: lab.to_float_rgb(im),
                   {"test": (imgs, np.array([1.0, 3.0, np.nan]))}, imgs[:2],
                   [np.repeat(data.camera()[..., None], 3, axis=-1)], rows=6, )
    assert files == ["worst_test.jpg", "old_scans.jpg", "real_gray.jpg"]
    with Image.open(tmp_path / "worst_test.jpg") as im:
        assert im.size == (4 * 192, 2 * 192)  # truth | gray | before | after; NaN left out
    with Image.open(tmp_path / "real_gray.jpg") as im:
        assert im.size == (3 * 192, 192)


def test_regenerating_the_report_keeps_the_blocks_written_by_hand(tmp_path: Path) -> None:
    from core.training.evaluate import KEPT_BEGIN, KEPT_END, keep_written_blocks

    report = tmp_path / "results.md"
    assert keep_written_blocks("# R\n\n## A\n\nnew a\n", report) == "# R\n\n## A\n\nnew a\n"
    report.write_text(
        "# R\n\n## A\n\nold a\n\n" + KEPT_BEGIN + "\n## Notes\n\nwhy\n" + KEPT_END
        + "\n\n## B\n\nold b\n\n" + KEPT_BEGIN + "\n## Pins\n\n### One pin\n\nleaks\n"
        + KEPT_END + "\n\n## Gone\n\n" + KEPT_BEGIN + "\norphan\n" + KEPT_END + "\n")
    text = keep_written_blocks("# R\n\n## A\n\nnew a\n\n## B\n\nnew b\n\n## C\n\nc\n", report)
    assert "old a" not in text and "old b" not in text
    # Each block follows the section it followed; one whose heading is gone goes last.
    order = [text.index(s) for s in ("new a", "## Notes", "## B", "new b", "## Pins",
                                     "### One pin", "## C", "orphan")]
    assert order == sorted(order)
    assert text.count(KEPT_BEGIN) == 3 == text.count(KEPT_END)
    # Regenerating again changes nothing.
    report.write_text(text)
    assert keep_written_blocks("# R\n\n## A\n\nnew a\n\n## B\n\nnew b\n\n## C\n\nc\n",
                               report) == text
    report.write_text(KEPT_BEGIN + "\nunclosed\n")
    with pytest.raises(ValueError, match="no '<!-- kept: end -->'"):
        keep_written_blocks("# R\n", report)
