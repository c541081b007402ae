"""The paper's Table I for every backbone this machine can build.

Each backbone (ImageNet weights, frozen, gray photo in) gets the paper's replaced
top -- batch norm, dropout, dense softmax -- trained the same way on its pooled
features; the table gives top-1 and top-3 error per category on the test split.
Backbones whose weights need a download (VGG19, ResNet50, InceptionV3 without
internet) are listed as unavailable rather than silently skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from core.categories import CATEGORIES
from core.filesafe import atomic_json, atomic_text
from core.nets.backbones import BACKBONES, available_backbones
from core.training.dataset import Split, gray_inputs, load_split
from core.training.metrics import topk_error
from core.training.train import Trainer, TrainSettings

SIZE = 256


def pooled_features(model, split: Split, batch: int = 32) -> np.ndarray:
    """Global-average-pooled final features of a split's gray photos."""
    out = []
    for i in range(0, len(split), batch):
        gray = gray_inputs(split.images[i : i + batch])
        fmap = np.asarray(model.predict_on_batch(gray), np.float32)
        out.append(fmap.mean(axis=(1, 2)))
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def compare_backbones(prepared: str | Path, run_dir: str | Path,
                      names: list[str] | None = None, limit: int | None = None,
                      log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train a head per backbone; return per-category errors and what was unavailable."""
    run_dir = Path(run_dir)
    splits = {s: load_split(prepared, s, limit) for s in ("train", "val", "test")}
    names = names or list(BACKBONES)
    here = set(available_backbones())
    result: dict[str, Any] = {"backbones": {}, "unavailable": {},
                              "test_photos": len(splits["test"])}
    for name in names:
        spec = BACKBONES[name]
        if name not in here:
            result["unavailable"][name] = (
                f"needs {spec.weights_source} (pip package)" if spec.offline else
                "ImageNet weights are downloaded by keras.applications: no internet here")
            log(f"{name}: unavailable ({result['unavailable'][name]})")
            continue
        t0 = time.perf_counter()
        model = spec.build((SIZE, SIZE, 1))
        feats = {s: pooled_features(model, sp) for s, sp in splits.items()}
        log(f"{name}: features in {time.perf_counter() - t0:.0f} s")
        trainer = Trainer(run_dir / name, TrainSettings(), log=log, resume=False)
        head = trainer.train_classifier(feats["train"], splits["train"].labels,
                                        (feats["val"], splits["val"].labels))
        probs = np.asarray(head.predict_on_batch(feats["test"][:, None, None, :]), np.float64)
        labels = splits["test"].labels
        top1, top3 = topk_error(probs, labels, 1), topk_error(probs, labels, 3)
        present = [k for k in range(len(CATEGORIES)) if np.any(labels == k)]
        per = {CATEGORIES[k]: {"top1_error": float(top1[labels == k].mean()),
                               "top3_error": float(top3[labels == k].mean())} for k in present}
        result["backbones"][name] = {
            "per_category": per,
            "top1_error": float(np.mean([p["top1_error"] for p in per.values()])),
            "top3_error": float(np.mean([p["top3_error"] for p in per.values()])),
            "parameters": int(model.count_params()),
            "seconds": round(time.perf_counter() - t0, 1),
        }
        log(f"{name}: top-1 {result['backbones'][name]['top1_error']:.3f}, "
            f"top-3 {result['backbones'][name]['top3_error']:.3f}")
    return result


def render_table(result: dict[str, Any], path: Path) -> str:
    b = result["backbones"]
    lines = ["# Classifier backbones: the paper's Table I", "",
             f"Frozen ImageNet backbone on the gray photo (256x256), the paper's replaced top "
             f"(batch norm, dropout 0.3, dense softmax) trained on pooled features, "
             f"{result['test_photos']} test photos. Errors per category; the paper's VGG19 "
             f"had a mean top-3 error of 0.47.", "",
             "| category | " + " | ".join(f"{n} top-1 | {n} top-3" for n in b) + " |",
             "|---|" + "---:|---:|" * len(b)]
    cats = list(next(iter(b.values()))["per_category"]) if b else []
    for c in cats:
        lines.append(f"| {c} | " + " | ".join(
            f"{b[n]['per_category'][c]['top1_error']:.3f} | "
            f"{b[n]['per_category'][c]['top3_error']:.3f}" for n in b) + " |")
    lines.append("| **mean** | " + " | ".join(
        f"**{b[n]['top1_error']:.3f}** | **{b[n]['top3_error']:.3f}**" for n in b) + " |")
    lines += ["", "| backbone | parameters | features + training, 2 CPU cores |", "|---|---:|---:|"]
    lines += [f"| {n} | {d['parameters']:,} | {d['seconds']:.0f} s |" for n, d in b.items()]
    if result["unavailable"]:
        lines += ["", "Not available on this machine:", ""]
        lines += [f"- {n}: {why}" for n, why in result["unavailable"].items()]
    text = "\n".join(lines) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_text(path, text)
    atomic_json(path.with_suffix(".json"), result, indent=1)
    return text
