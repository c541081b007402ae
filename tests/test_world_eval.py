"""Evaluation where users are, on a tiny fake world pool and prepared folder (no data needed)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from tests.modelsets import ThumbJudge

PHOTOS = (data.astronaut, data.coffee, data.chelsea, data.rocket)


def _photo(i: int) -> np.ndarray:
    im = cv2.resize(PHOTOS[i % len(PHOTOS)](), (256, 256), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(np.roll(im, 17 * i, axis=1))  # each photo its own


def _world(root: Path) -> Path:
    """Held-out and training rows of every kind; PACS people by class folder."""
    world = root / "world"
    rows = []
    specs = [("imagenet-sample", "objects", "test", "n01_tench"),
             ("imagenet-sample", "objects", "test", "n02_dog"),
             ("pacs", "objects", "test", "dog"),
             ("pacs", "objects", "test", "person"),  # a wrong kind: its folder says people
             ("pacs", "people", "test", "person"),
             ("prokudin", "period", "test", ""),
             ("prokudin", "period", "train", ""),  # never evaluated
             ("caltech101", "objects", "val", "chair")]
    for i, (source, kind, split, label) in enumerate(specs):
        rel = f"{source}/{i:03d}.webp"
        (world / source).mkdir(parents=True, exist_ok=True)
        Image.fromarray(_photo(i)).save(world / rel, "WEBP", quality=90)
        path = f"PACS/photo/{label}/p{i}.jpg" if source == "pacs" else f"x/{i}.jpg"
        rows.append({"file": rel, "source": source, "kind": kind, "repo": "o/r",
                     "commit": "0" * 12, "path": path, "licence": "test", "split": split,
                     "label": label, "group": rel})
    with (world / "manifest.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return world


def _prepared(root: Path) -> Path:
    prepared = root / "prepared"
    (prepared / "general").mkdir(parents=True)
    rows = []
    for i, split in enumerate(["test", "test", "test", "test", "val", "train"]):
        rel = f"general/g{i}.webp"
        Image.fromarray(_photo(i + 3)).save(prepared / rel, "WEBP", quality=90)
        rows.append({"file": rel, "category": "general", "split": split, "source": "sun",
                     "group": rel})
    Image.fromarray(_photo(9)).save(prepared / "general" / "dog.webp", "WEBP")
    rows.append({"file": "general/dog.webp", "category": "dog", "split": "test",
                 "source": "k", "group": "general/dog.webp"})
    with (prepared / "index.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return prepared


@pytest.fixture(scope="module")
def world_sets(tmp_path_factory: pytest.TempPathFactory):
    from core.training.world_eval import held_out_sets

    root = tmp_path_factory.mktemp("world")
    return held_out_sets(_world(root), _prepared(root), limit_per_set=None)


def test_sets_by_source_test_rows_only(world_sets) -> None:
    from core.training.world_eval import OLD_PRINTS

    assert list(world_sets) == ["objects", "people", "period", "general", OLD_PRINTS]
    assert len(world_sets["objects"]) == 3  # the val row and the mislabelled person are not
    assert len(world_sets["people"]) == 2 and all(
        lb == "person" for lb in world_sets["people"].labels)
    assert world_sets["period"].files == ["prokudin/005.webp"]
    assert len(world_sets["general"]) == 4  # category general, split test only
    for s in world_sets.values():
        assert s.images.shape == (len(s), 256, 256, 3) and s.images.dtype == np.uint8


def test_old_prints_are_the_general_photos_degraded_deterministically(world_sets) -> None:
    from core import lab
    from core.training.world_eval import OLD_PRINTS, old_prints

    general, prints = world_sets["general"], world_sets[OLD_PRINTS]
    assert prints.files == general.files
    np.testing.assert_array_equal(prints.images, general.images)  # truth: the clean photo
    assert prints.inputs is not None and prints.inputs.shape == general.images.shape
    assert prints.damage == ["damaged", "faded", "damaged", "faded"]
    ab = lab.rgb_to_lab(prints.inputs[0])[..., 1:]
    assert np.abs(ab).max() < 2.0  # a neutral gray scan
    moved = np.abs(lab.luminance(prints.inputs[0]) - lab.luminance(general.images[0]))
    assert moved.mean() > 1.0
    np.testing.assert_array_equal(old_prints(general).inputs, prints.inputs)  # fixed seeds


def test_limit_spreads_over_the_set(tmp_path: Path) -> None:
    from core.training.world_eval import held_out_sets

    sets = held_out_sets(_world(tmp_path), None, limit_per_set=2)
    assert [len(s) for s in sets.values()] == [2, 2, 1]
    assert sets["objects"].files[0] != sets["objects"].files[1]


def test_worst_cases_are_the_lowest_gains() -> None:
    from core.training.world_eval import worst_cases

    gain = np.array([0.5, -2.0, np.nan, -0.1, 1.0, -3.0])
    assert worst_cases(gain, 3) == [5, 1, 3]
    assert worst_cases(gain, 10) == [5, 1, 3, 0, 4]  # NaN left out


def test_evaluate_world_measures_gray_and_models_side_by_side(
        world_sets, animal_models_dir: Path, tmp_path: Path) -> None:
    from core.training.evaluate import KEPT_BEGIN, KEPT_END, MEASURES
    from core.training.world_eval import GRAY, OLD_PRINTS, evaluate_world, render

    sets = {k: world_sets[k] for k in ("objects", "period", OLD_PRINTS)}
    sheets = tmp_path / "figures" / "world"
    result = evaluate_world({"before": animal_models_dir, "after": animal_models_dir}, sets,
                            judge=ThumbJudge(), batch=2, log=lambda _: None,
                            cache_dir=tmp_path / "cache", sheet_dir=sheets, worst_n=2)
    assert list(result["sets"]) == ["objects", "period", OLD_PRINTS]
    objects = result["sets"]["objects"]
    assert objects["photos"] == 3 and list(objects["variants"]) == [GRAY, "before", "after"]
    gray = objects["variants"][GRAY]
    assert gray["means"]["psnr_gain"] == pytest.approx(0.0, abs=1e-9)
    assert gray["per_photo"]["psnr_gain"] == [0.0] * 3
    assert gray["means"]["colourfulness_ratio"] == pytest.approx(0.0, abs=1e-3)
    for v in objects["variants"].values():
        assert set(MEASURES) | {"psnr_gain", "colourfulness_ratio"} <= set(v["means"])
        assert all(len(x) == 3 for x in v["per_photo"].values())
        assert v["means"]["psnr"] == pytest.approx(np.mean(v["per_photo"]["psnr"]), abs=1e-3)
        assert 0.0 <= v["means"]["imagenet_agree"] <= 1.0 and v["means"]["imagenet_logp"] <= 0
    before = objects["variants"]["before"]
    gain = np.array(before["per_photo"]["psnr_gain"])
    np.testing.assert_allclose(gain, np.array(before["per_photo"]["psnr"])
                               - np.array(gray["per_photo"]["psnr"]), atol=1e-3)
    assert objects["worst"]["before"] == list(np.argsort(gain)[:2])
    assert objects["variants"]["after"]["per_photo"] == before["per_photo"]  # same models
    # The old print's gray is the damaged print, measured against the clean photo.
    from core import lab
    from core.training.metrics import psnr

    prints = result["sets"][OLD_PRINTS]["variants"][GRAY]["per_photo"]["psnr"]
    truth = world_sets[OLD_PRINTS].images[0]
    clean_gray = lab.compose(lab.luminance(truth), np.zeros((256, 256, 2), np.float32))
    assert prints[0] < psnr(clean_gray, lab.to_float_rgb(truth)) - 1.0
    assert set(objects["sheets"]) == {"worst_objects_before.jpg", "worst_objects_after.jpg"}
    with Image.open(sheets / "worst_objects_before.jpg") as im:
        assert im.size == (4 * 160, 2 * 160)  # truth | input | before | after
    assert result["sets"][OLD_PRINTS]["sheets"][0] == "worst_old_prints_before.jpg"
    assert result["real_gray_sheet"] == "real_gray.jpg"
    # The report renders, with every set and model, and keeps notes written by hand.
    report = tmp_path / "world.md"
    report.write_text(f"# old\n\n## period\n\n{KEPT_BEGIN}\nlooked at it\n{KEPT_END}\n")
    text = render(result, report)
    for needle in ("## objects", "## period", "## old prints", "| before |", "Δ vs gray",
                   "judge log p", "figures/world/worst_period_after.jpg", "looked at it"):
        assert needle in text
    assert text.index("## period") < text.index("looked at it") < text.index("## old prints")
    from core.training.evaluate import write_json

    write_json(tmp_path / "world.json", result)
    assert json.loads((tmp_path / "world.json").read_text())["judge"] == "thumb-judge"


def test_cli_parses_evaluate_world() -> None:
    import argparse

    from core.training.commands import add_subcommands
    from core.training.world_eval import parse_models

    parser = argparse.ArgumentParser()
    add_subcommands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["evaluate-world", "--models", "before=models", "--models",
                              "after=runs/world/models", "--limit", "5"])
    assert args.limit == 5 and args.report == Path("docs/world.md")
    assert parse_models(args.models) == {"before": Path("models"),
                                         "after": Path("runs/world/models")}
