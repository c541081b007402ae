"""Train the damage detector on clean photos with simulated old-print damage.

Each round draws fresh damage (:func:`core.oldprint.simulate`) on the training
photos, so the detector never sees the same scratch twice and the data costs
no disk. Photos: the general/ folder of the shared photo set, **even** file
indices for training, odd ones held out (the benchmark's); nothing from the
prepared test split. A photo is upscaled to 512 px before damage is drawn (the
simulator's reference size, and the scale the repair pipeline runs the
detector at), then cut into random 256 px tiles.

Resumable: after every round the weights and the round number are written
atomically to the run folder; a run restarted with the same folder continues
from the last complete round (the optimizer's moments start afresh).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from core import lab, oldprint
from core.filesafe import atomic_json, atomic_path

Log = Callable[[str], None]
#: the print size the detector learns at (and repair runs it at, per 512 px)
WORK_SIDE = 512
TILE = 256


@dataclass
class DamageSettings:
    """What decides a detector training run (stored beside its weights)."""

    rounds: int = 30
    per_round: int = 768  # tiles of fresh damage per round
    batch: int = 16
    lr: float = 3e-3
    #: loss weight per class (none, line, dust, tear, stain): rare thin damage counts more
    class_weights: tuple[float, ...] = (1.0, 8.0, 8.0, 2.0, 2.0)
    clean_fraction: float = 0.1  # tiles with no local damage: edges are not cracks
    tile: int = 128  # training tiles (the net is fully convolutional; it runs on 256)
    crops: int = 4  # tiles cut from each simulated print (the simulation is the cost)
    seed: int = 0
    widths: tuple[int, ...] = (12, 24, 32, 48)


def photo_files(folder: Path, parity: int) -> list[Path]:
    """The folder's photos whose index in sorted order has this parity (0 train, 1 held out)."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".webp", ".jpg", ".png"))
    return files[parity::2]


def load_lightness(path: Path) -> np.ndarray:
    """A photo's lightness as uint8 (L * 2.55): what the detector and the repair see."""
    rgb = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return np.clip(lab.luminance(rgb) * 2.55 + 0.5, 0, 255).astype(np.uint8)


def damaged_tiles(gray: np.ndarray, rng: np.random.Generator, tile: int = TILE, crops: int = 1,
                  clean_fraction: float = 0.1) -> list[tuple[np.ndarray, np.ndarray]]:
    """Training pairs from one photo: upscaled to ~512 px, damaged, ``crops`` random tiles."""
    h, w = gray.shape
    s = WORK_SIDE / max(h, w) * rng.uniform(0.85, 1.2)
    big = cv2.resize(gray, (max(tile, round(w * s)), max(tile, round(h * s))),
                     interpolation=cv2.INTER_CUBIC)
    damage = rng.uniform() >= clean_fraction
    sim = oldprint.simulate(big, rng, damage=damage, strength=float(rng.uniform(0.3, 1.6)))
    out = []
    for _ in range(crops):
        y = int(rng.integers(0, big.shape[0] - tile + 1))
        x = int(rng.integers(0, big.shape[1] - tile + 1))
        g, m = sim.gray[y:y + tile, x:x + tile], sim.mask[y:y + tile, x:x + tile]
        if rng.uniform() < 0.5:
            g, m = g[:, ::-1], m[:, ::-1]
        if rng.uniform() < 0.5:
            g, m = g.T, m.T
        out.append((np.ascontiguousarray(g), np.ascontiguousarray(m)))
    return out


def make_round(grays: Sequence[np.ndarray], n: int, seed: int, clean_fraction: float,
               tile: int = TILE, crops: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``n`` damaged tiles of random photos: (N, T, T, 1) float 0..1 and (N, T, T) labels."""
    rng = np.random.default_rng(seed)
    x = np.empty((n, tile, tile, 1), np.float32)
    y = np.empty((n, tile, tile), np.uint8)
    i = 0
    while i < n:
        pairs = damaged_tiles(grays[int(rng.integers(len(grays)))], rng, tile, crops,
                              clean_fraction)
        for g, m in pairs[: n - i]:
            x[i, ..., 0] = g / 255.0
            y[i] = m
            i += 1
    return x, y


def weighted_loss(class_weights: Sequence[float]):
    """Per-pixel cross-entropy weighted by the true class (thin damage is ~1% of pixels)."""
    from core.backend import keras

    k = keras()
    ops = k.ops
    wts = np.asarray(class_weights, np.float32)

    def loss(y_true, y_pred):
        t = ops.cast(y_true, "int32")
        ce = k.losses.sparse_categorical_crossentropy(t, y_pred)
        return ops.mean(ce * ops.take(ops.convert_to_tensor(wts), t))

    return loss


def train_detector(photos: Path, run: Path, settings: DamageSettings | None = None,
                   log: Log = print, time_budget: float | None = None) -> Path:
    """Train (or resume) the detector into ``run``; return the weights file.

    Stops after ``settings.rounds`` rounds or once ``time_budget`` seconds
    have passed (the next run with the same folder resumes).
    """
    from core.backend import keras
    from core.nets.damage import build_detector

    settings = settings or DamageSettings()
    run.mkdir(parents=True, exist_ok=True)
    weights, state_file = run / "detector.weights.h5", run / "state.json"
    t0 = time.perf_counter()
    files = photo_files(photos, 0)
    grays = [load_lightness(p) for p in files]
    log(f"damage: {len(grays)} training photos (even indices of {photos})")
    model = build_detector(settings.widths)
    k = keras()
    model.compile(optimizer=k.optimizers.Adam(settings.lr),
                  loss=weighted_loss(settings.class_weights))
    start, history = 0, []
    if state_file.is_file() and weights.is_file():
        state = json.loads(state_file.read_text())
        model.load_weights(weights)
        start, history = int(state["round"]), list(state["history"])
        log(f"damage: resuming after round {start}")
    for r in range(start, settings.rounds):
        if time_budget is not None and time.perf_counter() - t0 > time_budget:
            log(f"damage: time budget spent after round {r}")
            break
        # cosine decay over the planned rounds, the same on a resumed run
        lr = settings.lr * 0.5 * (1 + np.cos(np.pi * r / settings.rounds))
        model.optimizer.learning_rate = max(lr, settings.lr * 0.02)
        x, y = make_round(grays, settings.per_round, settings.seed * 100003 + r,
                          settings.clean_fraction, settings.tile, settings.crops)
        h = model.fit(x, y, batch_size=settings.batch, epochs=1, verbose=0)
        loss = float(h.history["loss"][-1])
        history.append({"round": r + 1, "loss": loss, "lr": float(lr),
                        "seconds": round(time.perf_counter() - t0, 1)})
        with atomic_path(weights) as tmp:  # weights first, then the round that says so
            model.save_weights(tmp)
        atomic_json(state_file, {"round": r + 1, "history": history,
                                 "settings": asdict(settings)})
        log(f"damage: round {r + 1}/{settings.rounds} loss {loss:.4f} "
            f"({time.perf_counter() - t0:.0f} s)")
    return weights


def calibrate_threshold(detector, photos: Path, n: int = 16, log: Log = print) -> float:
    """The "none" probability under which a pixel is damage, chosen for what the repair is
    for: the largest mean PSNR gain of the filled L over the damaged one, against the same
    print without the damage, on held-out photos the benchmark does not use (odd indices,
    half-way between the benchmark's). F1 of the damaged pixels picks a looser threshold
    whose false repairs (edges inpainted) cost more than the damage it adds."""
    from core.repair import fill

    held = photo_files(photos, 1)
    step = max(1, len(held) // 60)
    files = held[step // 2::step][:n]
    thresholds = (0.2, 0.35, 0.5, 0.65, 0.8)
    gains: dict[float, list[float]] = {t: [] for t in thresholds}
    saved = detector.threshold
    try:
        for i, path in enumerate(files):
            g = cv2.resize(load_lightness(path), (512, 512), interpolation=cv2.INTER_CUBIC)
            sim = oldprint.simulate(g, np.random.default_rng(2 * 10**9 + i))
            truth = oldprint.simulate(g, np.random.default_rng(2 * 10**9 + i),
                                      damage=False).gray / np.float32(2.55)
            L = sim.gray / np.float32(2.55)
            base = float(np.mean((L - truth) ** 2))
            for t in thresholds:
                detector.threshold = t
                fixed = fill(L, detector.detect(L))
                gains[t].append(10 * np.log10(base / max(float(np.mean((fixed - truth) ** 2)),
                                                         1e-9)))
    finally:
        detector.threshold = saved
    mean = {t: float(np.mean(v)) for t, v in gains.items()}
    best = max(mean, key=mean.__getitem__)
    log("damage: threshold " + ", ".join(f"{t:.2f}: {g:+.2f} dB" for t, g in mean.items()) +
        f" -> {best:.2f} ({len(files)} held-out photos)")
    return float(best)


def ship(run: Path, models_dir: Path, log: Log = print,
         photos: Path | None = None) -> dict:
    """Put a run's detector in a models folder: its Keras weights, a LiteRT export in
    256 px tiles (float16 weights, what the app runs), and a ``damage`` entry in the
    manifest (what it is, how it was trained, the export's largest difference)."""
    from core.filesafe import atomic_bytes
    from core.litert import convert
    from core.nets.damage import ARCHITECTURE, CLASSES, build_detector
    from core.repair import MODEL_TFLITE, MODEL_WEIGHTS, TILE

    state = json.loads((run / "state.json").read_text())
    model = build_detector(tuple(state["settings"]["widths"]))
    model.load_weights(run / "detector.weights.h5")
    with atomic_path(models_dir / MODEL_WEIGHTS) as tmp:
        model.save_weights(tmp)
    blob = convert(model, [(None, TILE, TILE, 1)], weights="float16")
    atomic_bytes(models_dir / MODEL_TFLITE, blob)
    from core.backend import LiteRTRunner

    x = np.random.default_rng(0).uniform(0, 1, (2, TILE, TILE, 1)).astype(np.float32)
    diff = float(np.abs(LiteRTRunner(models_dir / MODEL_TFLITE)(x)[0] -
                        np.asarray(model(x, training=False))).max())
    threshold = None
    if photos is not None:
        from core.repair import Detector

        threshold = calibrate_threshold(Detector(models_dir), photos, log=log)
    manifest_file = models_dir / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    hist = state["history"]
    manifest["damage"] = {
        "file": MODEL_WEIGHTS, "tflite": MODEL_TFLITE, "architecture": ARCHITECTURE,
        "classes": list(CLASSES), "tile": TILE, "parameters": int(model.count_params()),
        "training": {"photos": "general/ even indices", "rounds": len(hist),
                     "tiles": len(hist) * state["settings"]["per_round"],
                     "final_loss": round(hist[-1]["loss"], 4),
                     "seconds": hist[-1]["seconds"], "settings": state["settings"]},
        "litert_parity_max": round(diff, 5),
    }
    if threshold is not None:
        manifest["damage"]["threshold"] = threshold
    atomic_json(manifest_file, manifest)
    log(f"damage: shipped {MODEL_WEIGHTS} and {MODEL_TFLITE} to {models_dir} "
        f"(LiteRT max diff {diff:.2e})")
    return manifest["damage"]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m core.training.damage PHOTOS RUN [--rounds N] [--minutes M]``."""
    import argparse

    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("photos", type=Path, help="folder of clean photos (even indices train)")
    p.add_argument("run", type=Path, help="run folder (resumes if it has a checkpoint)")
    p.add_argument("--rounds", type=int, default=DamageSettings.rounds)
    p.add_argument("--per-round", type=int, default=DamageSettings.per_round)
    p.add_argument("--minutes", type=float, help="stop after this long (resume later)")
    p.add_argument("--lr", type=float, default=DamageSettings.lr)
    p.add_argument("--ship", type=Path, metavar="MODELS",
                   help="only put the run's detector into this models folder")
    p.add_argument("--calibrate", type=Path, metavar="MODELS",
                   help="only choose the threshold of the detector in this models folder")
    a = p.parse_args(argv)
    if a.ship:
        ship(a.run, a.ship, photos=a.photos)
        return 0
    if a.calibrate:
        from core.filesafe import atomic_json as _aj
        from core.repair import Detector

        manifest = json.loads((a.calibrate / "manifest.json").read_text())
        manifest["damage"]["threshold"] = calibrate_threshold(Detector(a.calibrate), a.photos)
        _aj(a.calibrate / "manifest.json", manifest)
        return 0
    s = DamageSettings(rounds=a.rounds, per_round=a.per_round, lr=a.lr)
    train_detector(a.photos, a.run, s, time_budget=a.minutes * 60 if a.minutes else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
