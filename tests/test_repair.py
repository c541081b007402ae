"""Repair before colour: detection, fill, tone, colour prints, and `colorize --repair`."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from core import oldprint, repair
from core.oldprint import DUST, LINE, STAIN, TEAR


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(100.0 ** 2 / max(np.mean((a - b) ** 2), 1e-9)))


@pytest.fixture(scope="module")
def clean_L() -> np.ndarray:
    g = cv2.resize(data.camera(), (384, 384), interpolation=cv2.INTER_AREA)
    return g.astype(np.float32) / 2.55


def _sim(L: np.ndarray, seed: int, **kw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(damaged L, labels, the same print without the damage: the truth)."""
    g = repair.to_gray8(L)
    d = oldprint.simulate(g, np.random.default_rng(seed), **kw)
    c = oldprint.simulate(g, np.random.default_rng(seed), damage=False,
                          strength=kw.get("strength", 1.0))
    return d.gray / np.float32(2.55), d.mask, c.gray / np.float32(2.55)


@pytest.mark.parametrize("kind", [LINE, DUST, TEAR, STAIN])
def test_fill_with_the_true_mask_brings_the_print_back(clean_L: np.ndarray, kind: int) -> None:
    gains = []
    for seed in range(6):
        damaged, mask, truth = _sim(clean_L, seed, damage={kind}, strength=1.3)
        if (mask == kind).mean() < 5e-4:
            continue
        filled = repair.fill(damaged, mask)
        gains.append(_psnr(filled, truth) - _psnr(damaged, truth))
    assert gains and np.median(gains) > 1.0, gains


def test_fill_touches_only_the_damage_and_its_edge(clean_L: np.ndarray) -> None:
    damaged, mask, _ = _sim(clean_L, 2, damage={LINE, DUST})
    before = damaged.copy()
    filled = repair.fill(damaged, mask)
    np.testing.assert_array_equal(damaged, before)  # the input is never modified
    near = cv2.dilate((mask > 0).astype(np.uint8), np.ones((11, 11), np.uint8)) > 0
    assert np.abs(filled - damaged)[~near].max() < 1e-4
    assert filled.dtype == np.float32 and filled.shape == damaged.shape


def test_fill_keeps_grain_in_a_large_hole() -> None:
    rng = np.random.default_rng(0)
    L = (50 + 4 * rng.standard_normal((200, 200))).astype(np.float32)
    hole = np.zeros((200, 200), np.uint8)
    hole[60:140, 60:140] = TEAR
    L[hole > 0] = 100.0
    out = repair.fill(L, hole)
    inside = out[80:120, 80:120]
    assert abs(float(inside.mean()) - 50) < 3  # filled from the surroundings
    hp = inside - cv2.GaussianBlur(inside, (0, 0), 1.5)
    assert hp.std() > 0.5  # not a flat, plastic patch


def test_faded_print_gets_its_tones_back_and_a_healthy_one_is_left(clean_L: np.ndarray) -> None:
    faded = 25 + 0.5 * clean_L
    out, info = repair.restore_tone(faded)
    assert info["faded"]
    spread = np.percentile(out, 99) - np.percentile(out, 1)
    assert spread > 1.6 * (np.percentile(faded, 99) - np.percentile(faded, 1))
    assert out.min() >= 0 and out.max() <= 100
    assert (out <= 0.01).mean() < 0.01 and (out >= 99.99).mean() < 0.01  # not clipped
    # order kept: tone restoration does not invert or posterise
    assert np.corrcoef(out.ravel(), faded.ravel())[0, 1] > 0.95
    healthy = np.clip((clean_L - 50) * 1.3 + 50, 0, 100)
    same, info = repair.restore_tone(healthy)
    assert not info["faded"] and same is healthy


def test_classical_detector_finds_a_scratch_and_specks() -> None:
    g = np.full((256, 256), 120, np.uint8)
    g += np.random.default_rng(0).integers(0, 6, g.shape).astype(np.uint8)
    cv2.line(g, (20, 30), (230, 200), 245, 1)
    for x, y in ((40, 200), (180, 40), (120, 230)):
        cv2.circle(g, (x, y), 2, 15, -1)
    labels = repair.classical_damage(g)
    assert (labels[np.abs(np.arange(256)[:, None] - (30 + (np.arange(256)[None] - 20)
                                                        * 170 / 210)) < 0.6] == LINE).any()
    assert labels[200, 40] == DUST and labels[40, 180] == DUST
    assert (labels > 0).mean() < 0.02


def _random_detector(tmp_path: Path) -> repair.Detector:
    from core.nets.damage import build_detector

    model = build_detector()
    model.save_weights(tmp_path / repair.MODEL_WEIGHTS)
    return repair.Detector(tmp_path)


def test_network_detector_tiles_cover_any_size_and_agree_with_one_pass(
        tmp_path: Path) -> None:
    det = _random_detector(tmp_path)
    assert det.kind == "network"
    gray = cv2.resize(data.camera(), (300, 217), interpolation=cv2.INTER_AREA)
    probs = det.probabilities(gray)
    assert probs.shape == (217, 300, 5)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-4)
    # away from tile seams the tiled result is the whole image's (fully convolutional)
    pad = np.pad(gray, ((0, 7), (0, 4)), mode="reflect")  # sides: multiples of 8
    whole = det._load()(pad[None, ..., None].astype(np.float32) / 255.0)[0][0]
    centre = (slice(60, 150), slice(60, 150))
    assert np.abs(probs[centre] - whole[:217, :300][centre]).mean() < 0.05
    labels = det.detect(np.full((700, 500), 50.0, np.float32))
    assert labels.shape == (700, 500) and labels.dtype == np.uint8


def test_repair_reports_and_never_modifies_its_input(clean_L: np.ndarray) -> None:
    damaged, mask, truth = _sim(clean_L, 4, damage={LINE, DUST})
    before = damaged.copy()
    det = repair.Detector(Path("/nonexistent"))
    r = repair.repair(damaged, detector=det)
    np.testing.assert_array_equal(damaged, before)
    assert r.L.shape == damaged.shape and r.mask.shape == damaged.shape
    assert r.report["detector"] == "classical"
    assert set(r.report["kinds"]) == {"line", "dust", "tear", "stain", "user"}
    given = repair.repair(damaged, mask=mask, tone=False)
    assert given.report["detector"] == "given mask"
    assert _psnr(given.L, truth) > _psnr(damaged, truth)
    with pytest.raises(ValueError):
        repair.repair(damaged, mask=mask[:10])


def test_a_colour_print_is_told_from_a_toned_one() -> None:
    from core import lab

    rgb = data.astronaut()
    faded = (rgb.astype(np.float32) * 0.55 + np.array([70, 40, 60])).astype(np.uint8)
    assert repair.faded_colour(faded)
    L = lab.luminance(rgb)
    toned = np.zeros(rgb.shape, np.float32)
    toned[..., 0], toned[..., 1], toned[..., 2] = L, 6.0, 18.0  # sepia
    sepia = (lab.lab_to_rgb(toned) * 255 + 0.5).astype(np.uint8)
    assert not repair.faded_colour(sepia)
    gray = np.repeat(data.camera()[..., None], 3, axis=-1)
    assert not repair.faded_colour(gray)
    restored = repair.restore_colour(faded)
    assert restored.dtype == faded.dtype
    err = lambda x: np.abs(x.astype(float) - rgb).mean()  # noqa: E731
    assert err(restored) < 0.6 * err(faded)


def test_cli_repair_colours_the_repaired_print_and_reports_it(
        capsys, models_dir: Path, tmp_path: Path) -> None:
    from core import lab
    from tests.test_cli import _run

    g = cv2.resize(data.camera(), (256, 256), interpolation=cv2.INTER_AREA)
    src = tmp_path / "in"
    src.mkdir()
    g = g.copy()
    cv2.line(g, (10, 20), (240, 230), 250, 1)  # a bright crack across
    cv2.imwrite(str(src / "scan.png"), g)
    before = (src / "scan.png").read_bytes()
    report = tmp_path / "r.json"
    code, err = _run(capsys, "colorize", src / "scan.png", "-o", tmp_path / "out",
                     "--models", models_dir, "--repair", "--report", report)
    assert code == 0, err
    assert (src / "scan.png").read_bytes() == before  # the original is untouched
    item = json.loads(report.read_text())[0]
    assert item["repair"]["detector"] in ("network", "classical")
    assert item["repair"]["damaged"] > 0
    out = cv2.imread(item["output"])[..., ::-1]
    L_out = lab.luminance(np.ascontiguousarray(out))
    on_line = [(L_out[20 + k * 210 // 230, 10 + k]) for k in range(20, 200, 10)]
    assert np.median(on_line) < 0.98 * 250 / 2.55  # the crack is no longer in the colour
    code, err = _run(capsys, "colorize", src / "scan.png", "-o", tmp_path / "out2",
                     "--models", models_dir, "--report", tmp_path / "r2.json")
    assert json.loads((tmp_path / "r2.json").read_text())[0]["repair"] is None


def test_brush_strokes_add_and_take_and_survive_the_sidecar(tmp_path: Path) -> None:
    from core.hints import EditRecord, read_sidecar, write_sidecar

    mask = np.zeros((50, 80), np.uint8)
    mask[10:20, 10:20] = DUST
    add = repair.Stroke(True, 2.0, ((40.0, 25.0), (70.0, 25.0)))
    take = repair.Stroke(False, 3.0, ((15.0, 15.0),))
    out = repair.apply_strokes(mask, (add, take))
    assert out[25, 55] == repair.USER and out[15, 15] == 0 and out[11, 11] == DUST
    assert mask[25, 55] == 0  # a new array
    r = repair.repair(np.full((50, 80), 40.0, np.float32), mask=mask, strokes=(add,),
                      tone=False)
    assert r.mask[25, 55] == repair.USER and r.report["strokes"] == 1
    path = write_sidecar(tmp_path / "x.tinct.json",
                         EditRecord("in.png", "out.png", repair=True, repair_strokes=(add, take)))
    back = read_sidecar(path)
    assert back.repair and back.repair_strokes == (add, take)
    plain = read_sidecar(write_sidecar(tmp_path / "y.tinct.json", EditRecord("a", "b")))
    assert not plain.repair and "repair" not in (tmp_path / "y.tinct.json").read_text()


def test_detector_training_resumes_and_ships(tmp_path: Path) -> None:
    """Two rounds, then a restart that resumes after them; the shipped model runs on LiteRT."""
    import shutil

    from core.training import damage

    photos = tmp_path / "photos"
    photos.mkdir()
    for i, im in enumerate((data.camera(), data.astronaut(), data.coffee(), data.moon())):
        im = im if im.ndim == 3 else np.repeat(im[..., None], 3, axis=-1)
        cv2.imwrite(str(photos / f"p{i}.png"), cv2.resize(im, (96, 96))[..., ::-1])
    assert [p.name for p in damage.photo_files(photos, 0)] == ["p0.png", "p2.png"]
    run = tmp_path / "run"
    s = damage.DamageSettings(rounds=2, per_round=4, batch=2, tile=64, crops=2)
    damage.train_detector(photos, run, s, log=lambda _m: None)
    state = json.loads((run / "state.json").read_text())
    assert state["round"] == 2 and len(state["history"]) == 2
    s3 = damage.DamageSettings(rounds=3, per_round=4, batch=2, tile=64, crops=2)
    lines: list[str] = []
    damage.train_detector(photos, run, s3, log=lines.append)
    assert any("resuming after round 2" in m for m in lines)
    assert json.loads((run / "state.json").read_text())["round"] == 3

    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(Path(__file__).resolve().parents[1] / "models" / "manifest.json", models)
    entry = damage.ship(run, models, log=lambda _m: None)
    assert entry["litert_parity_max"] < 0.01 and entry["training"]["rounds"] == 3
    det = repair.Detector(models)
    assert det.kind == "network" and det.threshold == repair.THRESHOLD
    labels = det.detect(np.full((300, 200), 50.0, np.float32))
    assert labels.shape == (300, 200)
