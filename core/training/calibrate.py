"""Post-training calibration on the validation split, written into the manifest.

Two temperatures, both chosen on photos the models never trained on:
- the classifier's softmax temperature, minimising negative log-likelihood,
  so its confidences mean what they say and soft routing blends honestly;
- the colorizers' annealed-mean temperature: the one under which an
  ImageNet classifier most often agrees with its verdict on the real colour
  photo (the colour is right), ties going to the more colourful.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core import lab
from core.categories import CATEGORIES
from core.engine import Colorizer, temper
from core.store import write_manifest
from core.training.dataset import Split
from core.training.metrics import colourfulness, psnr

CLASSIFIER_TEMPERATURES = (1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0)
COLOUR_TEMPERATURES = (0.38, 0.5, 0.6, 0.75, 1.0)


def fit_classifier_temperature(
    probs: np.ndarray, labels: np.ndarray, grid: Sequence[float] = CLASSIFIER_TEMPERATURES
) -> tuple[float, dict[float, float]]:
    """The grid temperature with the lowest validation NLL, and every NLL."""
    nll = {}
    for t in grid:
        q = temper(probs, t)
        nll[t] = float(-np.log(q[np.arange(len(labels)), labels] + 1e-12).mean())
    return min(nll, key=nll.__getitem__), nll


def colour_temperature_scores(
    colorizer: Colorizer, val: Split, grid: Sequence[float] = COLOUR_TEMPERATURES,
    imagenet: Callable[[list[np.ndarray]], np.ndarray] | None = None,
) -> dict[float, dict[str, float]]:
    """PSNR, colourfulness ratio and ImageNet agreement of soft routing per temperature."""
    scores: dict[float, dict[str, list[float]]] = {
        t: {"psnr": [], "colourfulness": [], "imagenet_agree": []} for t in grid}
    truth_c = []
    for im in val.images:
        a = colorizer.analyze(im)
        _, weights, _ = colorizer.plan(a)
        probs = colorizer.blend(a, weights)
        truth = lab.to_float_rgb(im)
        truth_c.append(colourfulness(truth))
        outs = {t: lab.compose(a.L, lab.annealed_mean(probs, t)) for t in grid}
        if imagenet is not None:
            pred = imagenet([im] + [(outs[t] * 255 + 0.5).astype(np.uint8) for t in grid])
        for i, t in enumerate(grid):
            scores[t]["psnr"].append(psnr(outs[t], truth))
            scores[t]["colourfulness"].append(colourfulness(outs[t]))
            if imagenet is not None:
                scores[t]["imagenet_agree"].append(float(pred[i + 1] == pred[0]))
    mean_truth = float(np.mean(truth_c))
    return {t: {"psnr": float(np.mean(s["psnr"])),
                "colourfulness_ratio": float(np.mean(s["colourfulness"]) / mean_truth),
                "imagenet_agree": float(np.mean(s["imagenet_agree"] or [0.0]))}
            for t, s in scores.items()}


def pick_colour_temperature(scores: dict[float, dict[str, float]]) -> float:
    """Most ImageNet agreement; ties (within 0.5 %) go to the more colourful."""
    best = max(s["imagenet_agree"] for s in scores.values())
    tied = [t for t, s in scores.items() if s["imagenet_agree"] >= best - 0.005]
    return max(tied, key=lambda t: scores[t]["colourfulness_ratio"])


def calibrate(models_dir: str | Path | None, val: Split, colour_val: Split,
              log: Callable[[str], None] = print) -> dict[str, Any]:
    """Fit both temperatures and write them (with their evidence) into the manifest."""
    from core.training.evaluate import _imagenet_model, _imagenet_top1

    c = Colorizer(models_dir)
    manifest = c.store.manifest
    manifest["classifier"].pop("temperature", None)  # measure the raw head
    probs = []
    for i in range(0, len(val), 32):
        probs += [[a.confidences[k] for k in CATEGORIES]
                  for a in c.analyze_batch(list(val.images[i : i + 32]))]
    t_clf, nll = fit_classifier_temperature(np.array(probs), val.labels)
    log(f"classifier temperature {t_clf} (validation NLL {nll[t_clf]:.3f}, raw {nll[1.0]:.3f})")
    manifest["classifier"]["temperature"] = t_clf
    inet = _imagenet_model()
    scores = colour_temperature_scores(c, colour_val,
                                       imagenet=lambda ims: _imagenet_top1(inet, ims))
    t_col = pick_colour_temperature(scores)
    log(f"colour temperature {t_col}: " + ", ".join(
        f"T={t}: PSNR {s['psnr']:.2f}, ratio {s['colourfulness_ratio']:.2f}, "
        f"agree {s['imagenet_agree']:.3f}" for t, s in scores.items()))
    info = manifest["colorizers"][c.architecture]
    info["temperature"] = t_col
    info["calibration"] = {"photos": len(colour_val),
                           "scores": {str(t): s for t, s in scores.items()}}
    manifest["classifier"]["calibration"] = {"photos": len(val),
                                             "nll": {str(t): v for t, v in nll.items()}}
    write_manifest(c.store.root, manifest)
    return {"classifier_temperature": t_clf, "colour_temperature": t_col, "scores": scores}
