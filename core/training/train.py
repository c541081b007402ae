"""Training Tinct's models: the classifier head, the colorizers, the paper's net.

Pure Keras 3, so the same code trains on the GPU machine under JAX (whole
frozen encoder + decoder per step, mixed bf16) and on 2 CPU cores under
TensorFlow (encoder features computed once and cached, decoders trained on
them). Every stage writes its finished model to the run folder; with
``resume`` a finished stage is reloaded and an interrupted one continues from
its last epoch checkpoint.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core import lab
from core.backend import keras
from core.categories import CATEGORIES, CLASSIFIER_OUTPUTS, NO_DATA, UNIVERSAL
from core.filesafe import atomic_json, atomic_path, atomic_write
from core.nets import classifier as clf
from core.nets.decoder import build_decoder, class_rebalance_weights, rebalanced_bins_loss
from core.nets.efficientnet_lite import build_efficientnet_lite
from core.nets.paper import build_paper_colorizer
from core.training.dataset import (
    TARGET_STRIDE,
    OldPrints,
    Split,
    ab_targets,
    gray_inputs,
    lightness_inputs,
    with_flips,
)

Log = Callable[[str], None]


@dataclass
class TrainSettings:
    """Everything that decides a training run (stored with the models)."""

    head: str = "bins"  # "bins" (rebalanced classification) or "regression" (MSE)
    widths: tuple[int, ...] = (128, 128, 96, 64)
    batch_size: int = 32
    universal_epochs: int = 12
    category_epochs: int = 8
    lr: float = 1e-3
    category_lr: float = 3e-4
    classifier_epochs: int = 40
    classifier_lr: float = 2e-3
    flips: bool = True
    cache_features: bool = True  # CPU: encoder once; GPU: False (encoder in the step)
    disk_cache: bool = True  # cached features memory-mapped under the run (reused on resume)
    mixed_precision: bool = False  # bf16 on GPUs
    categories: tuple[str, ...] | None = None  # own models for these (None: all with data)
    min_photos: int = 40  # a category needs this many training photos (autumn has 59)
    paper: bool = False  # also train the paper's Fig. 3 network as a universal model
    paper_epochs: int = 20
    paper_steps: int | None = None  # paper schedule: 25 steps per epoch
    paper_batch: int = 32
    paper_categories: bool = False  # and one Fig. 3 model per category (from the universal)
    paper_category_epochs: int = 10
    paper_crop: int | None = None  # train on random crops of this side (CPU: 128 is 4x cheaper)
    mse_baseline: bool = False  # also a universal decoder with the paper's MSE loss
    mse_epochs: int = 10
    time_budget: float | None = None  # seconds: later optional stages are skipped past it
    # Fine-tuning (CPU): start from a models folder's decoders instead of from scratch.
    init_from: str | None = None  # models folder whose tinct_universal starts the universal
    general: bool = True  # the prepared general/ photos train the universal and "none"
    general_photos: int | None = None  # at most this many general train photos (evenly spread)
    rebalance: float = 1.0  # loss mix: 1 = Zhang's rebalanced CE, 0 = plain likelihood
    #: The loss mix ``init_from``'s decoders were trained with; None: what its manifest
    #: records (``training.settings.rebalance``; 1.0 when it records none).
    init_rebalance: float | None = None
    feature_crop: int | None = None  # train on random crops of this side of the s4 grid
    #: Share of the photos the encoder sees as simulated old prints (core.oldprint:
    #: fading, toning, grain, blur, JPEG...) while the target stays the clean colour,
    #: and the share of those with local damage too (cracks, dust, tears, stains).
    old_prints: float = 0.0
    old_print_damage: float = 0.0
    #: A folder of more colour photos (scripts/build_world_pool.py: objects, people,
    #: period plates) whose train / val photos join the universal decoder's as photos of
    #: none of the categories; at most ``world_photos`` of its train split (per source
    #: alike), None for all.
    world: str | None = None
    world_photos: int | None = None
    patience: int | None = None  # epochs without val improvement before a stage stops
    #: A category model starts from this run's universal ("universal"), or from the
    #: better on its val photos of that and init_from's own model for it ("better").
    category_init: str = "universal"
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def paper_schedule(settings: TrainSettings) -> TrainSettings:
    """The paper's schedule: Adam, 500 epochs x 25 steps x batch 25."""
    settings.paper = True
    settings.paper_epochs = 500
    settings.paper_steps = 25
    settings.paper_batch = 25
    return settings


def set_precision(mixed: bool) -> None:
    keras().mixed_precision.set_global_policy("mixed_bfloat16" if mixed else "float32")


def build_encoder(trainable: bool = False, size: int | None = 256):
    """The ImageNet EfficientNet-Lite0 on gray input, frozen (its BN in inference mode)."""
    image_size = (size, size) if size else (None, None)
    enc = build_efficientnet_lite(
        "lite0", input_channels=1, include_top=False, weights="imagenet",
        image_size=image_size, name="encoder",
    )
    enc.trainable = trainable
    return enc


def encode(encoder, images: np.ndarray, batch: int = 32,
           out: list[np.ndarray] | None = None, old_prints: OldPrints | None = None,
           first_row: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """Cached features (float16, strides 4-32) and the pooled head vector per photo.

    ``images``: uint8 RGB photos, made gray a batch at a time (13k photos' float
    gray inputs alone would take 3.5 GB). ``out``: preallocated feature arrays
    (e.g. memory-mapped files) to fill instead of new ones. ``old_prints``: the
    photos the encoder sees as simulated old prints, by row of the whole list
    (``images`` starts at row ``first_row``).
    """
    feats: list[list[np.ndarray]] = [[], [], [], []]
    pooled = []
    for i in range(0, len(images), batch):
        inputs = gray_inputs(images[i : i + batch], old_prints, first_row + i)
        outs = encoder.predict_on_batch(inputs)
        for j in range(4):
            if out is None:
                feats[j].append(np.asarray(outs[j], np.float16))
            else:
                out[j][i : i + batch] = np.asarray(outs[j], np.float16)
        pooled.append(np.asarray(outs[4], np.float32).mean(axis=(1, 2)))
    if out is not None:
        return out, np.concatenate(pooled)
    return [np.concatenate(f) for f in feats], np.concatenate(pooled)


#: Photos encoded between two progress marks of a cached encoder pass (resume points).
ENCODE_CHUNK = 1024


def encode_cached(encoder, images: np.ndarray, files: list[str], folder: Path,
                  log: Callable[[str], None] = print, old_prints: OldPrints | None = None,
                  ) -> tuple[list[np.ndarray], np.ndarray]:
    """``encode`` through a cache on disk: memory-mapped, reused by later runs.

    The features of 13k photos are 5 GB of float16: on disk they are paged in
    batch by batch instead of held, and a resumed or a second run (e.g.
    category models after the universal) skips the encoder pass. The cache is
    valid for exactly the same photo list (``files``) seen the same way
    (``old_prints``). A pass over tens of thousands of photos takes longer than
    a working session on 2 cores: it records its progress every
    ``ENCODE_CHUNK`` photos and a rerun continues where it stopped.
    """
    folder = Path(folder)
    stamp = folder / "files.json"
    names = [f"s{s}.npy" for s in (4, 8, 16, 32)]
    # What the cache holds: the photo list, and how the encoder saw them (a clean
    # gray cache keeps the plain list its stamps always had).
    want: Any = files if old_prints is None else {"files": files,
                                                   "inputs": old_prints.describe()}
    if stamp.is_file() and json.loads(stamp.read_text()) == want:
        feats = [np.load(folder / n, mmap_mode="r") for n in names]
        return feats, np.load(folder / "pooled.npy")
    folder.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    progress = folder / "progress.json"
    done = 0
    if progress.is_file() and all((folder / n).is_file() for n in names):
        state = json.loads(progress.read_text())
        if state.get("for") == want:
            done = int(state["done"])
    probe = encoder.predict_on_batch(gray_inputs(images[:1]))
    if done:
        out = [np.load(folder / n, mmap_mode="r+") for n in names]
        pooled_done = np.load(folder / "pooled.partial.npy")[:done]
        log(f"encoder pass: resuming at photo {done} of {len(images)}")
    else:
        out = [np.lib.format.open_memmap(folder / n, "w+", np.float16,
                                         (len(images), *np.shape(probe[j])[1:]))
               for j, n in enumerate(names)]
        pooled_done = np.zeros((0, np.shape(probe[4])[-1]), np.float32)
    t0 = time.perf_counter()
    pooled_parts = [pooled_done]
    for start in range(done, len(images), ENCODE_CHUNK):
        stop = min(start + ENCODE_CHUNK, len(images))
        window = [f[start:stop] for f in out]
        _, part = encode(encoder, images[start:stop], out=window, old_prints=old_prints,
                         first_row=start)
        pooled_parts.append(part)
        for f in out:
            f.flush()
        with atomic_path(folder / "pooled.partial.npy") as tmp:
            np.save(tmp, np.concatenate(pooled_parts))
        atomic_json(progress, {"for": want, "done": stop}, indent=None)
        rate = (stop - done) / max(time.perf_counter() - t0, 1e-9)
        log(f"encoder pass: {stop} / {len(images)} photos ({rate:.1f} photos/s)")
    pooled = np.concatenate(pooled_parts)
    with atomic_path(folder / "pooled.npy") as tmp:
        np.save(tmp, pooled)
    atomic_json(stamp, want, indent=None)  # last: a cache without it is incomplete
    progress.unlink(missing_ok=True)
    (folder / "pooled.partial.npy").unlink(missing_ok=True)
    log(f"encoded {len(images)} photos in {time.perf_counter() - t0:.0f} s -> {folder}")
    return [np.load(folder / n, mmap_mode="r") for n in names], pooled


def _checkpoint_callback(path: Path):
    """Save weights and the epoch number after every epoch (resume point)."""
    k = keras()

    class Checkpoint(k.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            # Weights first, then the epoch that says they are complete; each atomic,
            # so a kill mid-save leaves the previous epoch's pair, never half a file.
            with atomic_path(path.with_suffix(".weights.h5")) as tmp:
                self.model.save_weights(tmp)
            atomic_json(path.with_suffix(".json"), {"epoch": epoch + 1}, indent=None)

    return Checkpoint()


def _resume_point(path: Path, model) -> int:
    state = path.with_suffix(".json")
    weights = path.with_suffix(".weights.h5")
    if state.is_file() and weights.is_file():
        model.load_weights(weights)
        return int(json.loads(state.read_text())["epoch"])
    return 0


def _reset_optimizer(model, lr: float) -> None:
    """Fresh Adam moments and a new rate, without recompiling (JAX keeps its jit)."""
    opt = model.optimizer
    for v in opt.variables:
        if "learning_rate" not in v.path:
            v.assign(np.zeros(v.shape, v.dtype))
    opt.learning_rate = lr


def feature_batches(x: list[np.ndarray], y: np.ndarray, batch: int, shuffle: bool = True,
                    seed: int = 0, crop: int | None = None, flips: bool = False,
                    rows: np.ndarray | None = None):
    """Cached float16 features served batch by batch as float32.

    Handing Keras the whole feature list makes TensorFlow copy it into one
    tensor (float32): 8,258 photos' features then took over 24 GiB here.
    ``crop``: a random window of this side of the stride-4 grid (aligned to the
    stride-32 one, so every level crops alike); a 32 of 64 window trains 4x
    faster. ``flips``: mirror a random half of each batch (features and targets).
    ``rows``: serve only these rows (default all).
    """
    k = keras()
    ratios = [f.shape[1] / x[0].shape[1] for f in x]
    rows = np.arange(len(y)) if rows is None else np.asarray(rows)

    class FeatureBatches(k.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(rows) if shuffle else rows

        def __len__(self) -> int:
            return max(1, len(rows) // batch)

        def __getitem__(self, i: int):
            idx = np.sort(self.order[i * batch : (i + 1) * batch])
            feats = [np.asarray(f[idx], np.float32) for f in x]
            target = np.asarray(y[idx], np.float32)
            if crop is not None and crop < target.shape[1]:
                step = int(round(1 / ratios[-1]))  # s4 cells per s32 cell
                top = step * int(self.rng.integers(0, (target.shape[1] - crop) // step + 1))
                left = step * int(self.rng.integers(0, (target.shape[2] - crop) // step + 1))

                def window(a: np.ndarray, r: float) -> np.ndarray:
                    t, lf, c = int(top * r), int(left * r), int(crop * r)
                    return a[:, t : t + c, lf : lf + c]

                feats = [window(f, r) for f, r in zip(feats, ratios)]
                target = window(target, 1.0)
            if flips:
                m = self.rng.random(len(idx)) < 0.5
                feats = [np.where(m[:, None, None, None], f[:, :, ::-1], f) for f in feats]
                target = np.where(m[:, None, None, None], target[:, :, ::-1], target)
            return tuple(np.ascontiguousarray(f) for f in feats), np.ascontiguousarray(target)

        def on_epoch_end(self) -> None:
            if shuffle:
                self.order = self.rng.permutation(rows)

    return FeatureBatches()


def _best_weights_callback(model, start_loss: float | None, patience: int | None,
                           log: Callable[[str], None]):
    """Keep the weights of the epoch with the lowest validation loss (the starting
    weights count as epoch 0: fine-tuning that does not help changes nothing);
    stop after ``patience`` epochs without improvement."""

    class BestWeights(keras().callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.best = start_loss if start_loss is not None else math.inf
            self.best_epoch = 0
            self.weights = model.get_weights()
            self.wait = 0

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            loss = (logs or {}).get("val_loss")
            if loss is None:
                return
            if loss < self.best:
                self.best, self.best_epoch, self.wait = float(loss), epoch + 1, 0
                self.weights = model.get_weights()
            else:
                self.wait += 1
                if patience is not None and self.wait >= patience:
                    model.stop_training = True

        def on_train_end(self, logs: dict | None = None) -> None:
            model.set_weights(self.weights)
            log(f"kept epoch {self.best_epoch} (val loss {self.best:.4f}"
                + (f", start {start_loss:.4f})" if start_loss is not None else ")"))

    return BestWeights()


def lab_batches(images: np.ndarray, batch: int, crop: int | None = None, flips: bool = True,
                steps: int | None = None, seed: int = 0):
    """uint8 photos served as (L, ab) batches for the paper's network, made per batch.

    Precomputing float L and ab for 8,258 photos takes 6 GB (12 GB with
    mirrors); per batch it is a few milliseconds. Random crops (``crop``) keep
    the photos' scale, so a net trained on 128 px crops runs unchanged at 256.
    With ``steps``, an epoch is that many random batches (the paper's schedule);
    otherwise one shuffled pass.
    """
    k = keras()
    n, h, w = images.shape[:3]
    side = crop or h

    class LabBatches(k.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(n)

        def __len__(self) -> int:
            return steps or max(1, n // batch)

        def __getitem__(self, i: int):
            if steps:
                idx = self.rng.choice(n, batch, replace=False)
            else:
                idx = self.order[i * batch : (i + 1) * batch]
            crops = np.empty((len(idx), side, side, 3), np.uint8)
            for j, src in enumerate(idx):
                top = int(self.rng.integers(0, h - side + 1))
                left = int(self.rng.integers(0, w - side + 1))
                im = images[src, top : top + side, left : left + side]
                crops[j] = im[:, ::-1] if flips and self.rng.random() < 0.5 else im
            return lightness_inputs(crops), ab_targets(crops, stride=1)

        def on_epoch_end(self) -> None:
            self.order = self.rng.permutation(n)

    return LabBatches()


class LazyTargets:
    """The ab targets of a split's photos, each computed on first use.

    Indexes like the array ``ab_targets(images)`` would be. A resumed run that
    only has a few category models left does not pay minutes for all 10k photos.
    """

    def __init__(self, images: np.ndarray, stride: int = TARGET_STRIDE):
        n, h, w = images.shape[:3]
        self.images = images
        self.stride = stride
        self.data = np.zeros((n, h // stride, w // stride, 2), np.float16)
        self.done = np.zeros(n, bool)
        self.shape = self.data.shape

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, idx: Any) -> np.ndarray:
        rows = np.unique(np.arange(len(self))[idx])
        todo = rows[~self.done[rows]]
        if len(todo):
            self.data[todo] = ab_targets(self.images[todo], self.stride)
            self.done[todo] = True
        return self.data[idx]


def _take(x: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of features (a list of arrays, possibly memory-mapped) or an array."""
    return [f[idx] for f in x] if isinstance(x, list) else x[idx]


def mixed_rebalance_weights(ab_samples: np.ndarray, mix: float) -> np.ndarray:
    """Per-bin loss weights between plain likelihood (``mix`` 0: all 1) and Zhang's
    rebalancing (1): ``(1 - mix) + mix * w``, still mean 1 under the colour prior.

    Rebalancing makes rare saturated colours win where the net is unsure (the
    vivid false colours of the issue); less of it keeps the predicted
    distribution closer to the real one, whose mean is right more often.
    """
    w = class_rebalance_weights(ab_samples) if mix > 0 else np.ones(len(lab.ab_bins()))
    return ((1.0 - mix) + mix * w).astype(np.float32)


def _as_label_sets(labels: np.ndarray) -> np.ndarray:
    """(N, 21) bool label sets; plain class indices (N,) become one-hot sets."""
    labels = np.asarray(labels)
    if labels.ndim == 2:
        return labels.astype(bool)
    sets = np.zeros((len(labels), len(CLASSIFIER_OUTPUTS)), bool)
    sets[np.arange(len(labels)), labels.astype(int)] = True
    return sets


def label_set_errors(probs: np.ndarray, label_sets: np.ndarray) -> dict[str, float]:
    """Top-1 / top-3 error (a photo is right if any of its classes is in the top k),
    averaged per category as in the paper's Table I, and on general photos."""
    order = np.argsort(-probs, axis=1)
    out: dict[str, float] = {}
    primary = np.argmax(label_sets, axis=1)
    for k in (1, 3):
        hit = np.take_along_axis(label_sets, order[:, :k], axis=1).any(axis=1)
        per = [1 - hit[primary == c].mean() for c in range(len(CATEGORIES))
               if (primary == c).any()]
        out[f"top{k}_error"] = float(np.mean(per)) if per else float("nan")
        if label_sets.shape[1] > len(CATEGORIES) and (primary == len(CATEGORIES)).any():
            out[f"general_top{k}_error"] = float(1 - hit[primary == len(CATEGORIES)].mean())
    return out


#: Lab chroma below which a true pixel counts as neutral (grey stone, white walls).
NEUTRAL_CHROMA = 5.0


def decoder_scores(decoder, feats: list[np.ndarray], images: np.ndarray,
                   rows: np.ndarray | None = None, temperature: float = 1.0,
                   batch: int = 32) -> dict[str, float]:
    """How a bins decoder colours photos from their cached features, at 256 px.

    The decoder alone (annealed mean at ``temperature``, bilinear ab, no routing
    or refinement): comparable between decoders before and after training,
    cheap enough for every stage. PSNR and ab MSE against the real photo (and
    gray's PSNR), colourfulness ratio, mean chroma on truly neutral pixels.
    """
    from core.training.metrics import ab_mse, colourfulness, psnr

    rows = np.arange(len(images)) if rows is None else np.asarray(rows)
    acc: dict[str, list[float]] = {k: [] for k in ("psnr", "gray_psnr", "ab_mse")}
    colour, truth_colour, neutral_sum, neutral_n = [], [], 0.0, 0
    for i in range(0, len(rows), batch):
        idx = rows[i : i + batch]
        logits = np.asarray(decoder.predict_on_batch(
            [np.asarray(f[np.sort(idx)], np.float32) for f in feats]), np.float32)
        logits = logits[np.argsort(np.argsort(idx))]  # back to idx order
        z = logits - logits.max(axis=-1, keepdims=True)
        probs = np.exp(z)
        probs /= probs.sum(axis=-1, keepdims=True)
        ab = lab.annealed_mean(probs, temperature)
        for j, r in enumerate(idx):
            truth = lab.to_float_rgb(images[r])
            L = lab.luminance(images[r])
            out = lab.compose(L, ab[j])
            gray = lab.compose(L, np.zeros((1, 1, 2), np.float32))
            acc["psnr"].append(psnr(out, truth))
            acc["gray_psnr"].append(psnr(gray, truth))
            acc["ab_mse"].append(ab_mse(out, truth))
            colour.append(colourfulness(out))
            truth_colour.append(colourfulness(truth))
            t_ab = lab.rgb_to_lab(truth)[..., 1:]
            neutral = np.hypot(t_ab[..., 0], t_ab[..., 1]) < NEUTRAL_CHROMA
            if neutral.any():
                o_ab = lab.rgb_to_lab(out)[..., 1:][neutral]
                neutral_sum += float(np.hypot(o_ab[:, 0], o_ab[:, 1]).sum())
                neutral_n += int(neutral.sum())
    out = {k: float(np.mean(v)) for k, v in acc.items()}
    out["colourfulness_ratio"] = float(np.mean(colour) / max(np.mean(truth_colour), 1e-9))
    out["neutral_chroma"] = neutral_sum / max(neutral_n, 1)
    out["photos"] = len(rows)
    return out


def reweight_logits(decoder, ab_samples: np.ndarray, old_mix: float, new_mix: float) -> None:
    """Move a bins decoder's output biases from one loss weighting to another.

    Weighted cross-entropy with per-bin weights w is minimised by q ∝ w·p (p the
    true colour distribution), so a decoder trained with weights w_old predicts
    under weights w_new after adding log(w_new / w_old) to its logits: one bias
    change, exact up to the soft encoding of the targets.
    """
    layer = decoder.get_layer("ab_logits")
    kernel, bias = layer.get_weights()
    shift = (np.log(mixed_rebalance_weights(ab_samples, new_mix))
             - np.log(mixed_rebalance_weights(ab_samples, old_mix)))
    layer.set_weights([kernel, (bias + shift).astype(bias.dtype)])


def _jit() -> bool | str:
    """XLA on JAX (always) but not on TensorFlow's CPU, where it ran 8x slower here."""
    return "auto" if keras().backend.backend() == "jax" else False


def _trim(n: int, batch: int) -> int:
    """Keep whole batches only: one batch shape means one compiled step on JAX."""
    return max(batch, n - n % batch) if n >= batch else n


class Trainer:
    """Runs the stages of one training run into ``run_dir``."""

    def __init__(self, run_dir: str | Path, settings: TrainSettings, log: Log = print,
                 resume: bool = True):
        self.run = Path(run_dir)
        self.run.mkdir(parents=True, exist_ok=True)
        self.s = settings
        self.log = log
        self.resume = resume
        self.history: dict[str, Any] = {}
        self.started = time.perf_counter()
        # Per split ("train", "val"): encoder outputs and gray inputs, computed once a run.
        self._encoded: dict[str, tuple[list[np.ndarray], np.ndarray]] = {}
        self._gray: dict[str, np.ndarray] = {}
        keras().utils.set_random_seed(settings.seed)
        set_precision(settings.mixed_precision)
        atomic_json(self.run / "settings.json", asdict(settings))

    def out_of_time(self, stage: str) -> bool:
        """True (and logged) when the time budget is spent: skip ``stage``."""
        budget = self.s.time_budget
        if budget is None or time.perf_counter() - self.started < budget:
            return False
        self.log(f"{stage}: skipped, the time budget of {budget:.0f} s is spent")
        self.history.setdefault("skipped", []).append(stage)
        return True

    # -- data -------------------------------------------------------------
    @functools.cached_property
    def start_rebalance(self) -> float:
        """The loss mix the ``init_from`` decoders were trained with (their manifest's)."""
        if self.s.init_rebalance is not None:
            return self.s.init_rebalance
        manifest = Path(self.s.init_from or "") / "manifest.json"
        if self.s.init_from and manifest.is_file():
            settings = json.loads(manifest.read_text()).get("training", {}).get("settings", {})
            return float(settings.get("rebalance", 1.0))
        return 1.0

    @property
    def old_prints(self) -> OldPrints | None:
        """How the encoder sees this run's photos (None: clean gray, as before)."""
        if self.s.old_prints <= 0:
            return None
        return OldPrints(self.s.old_prints, self.s.old_print_damage, self.s.seed)

    def own_categories(self, train: Split) -> list[str]:
        wanted = self.s.categories or tuple(c for c in CATEGORIES if c not in NO_DATA)
        counts = np.bincount(train.labels, minlength=len(CATEGORIES))
        return [c for c in wanted if counts[CATEGORIES.index(c)] >= self.s.min_photos]

    # -- classifier ---------------------------------------------------------
    def train_classifier(self, pooled: np.ndarray, label_sets: np.ndarray,
                         val: tuple[np.ndarray, np.ndarray] | None = None):
        """Batch norm, dropout, dense softmax on the frozen backbone's pooled features.

        ``label_sets`` (N, 21) bool: a photo's classes (one row per photo; class
        indices (N,) work too, one class each). With
        general photos among them the head gets a 21st output, "none of the
        categories" (``CLASSIFIER_OUTPUTS``); otherwise the 20 categories. The loss
        is -log of the probability summed over a photo's classes, so a photo
        filed under autumn and forest is right as either. Classes weigh alike.
        """
        path = self.run / "classifier.keras"
        if self.resume and path.is_file():
            self.log("classifier: finished earlier, reloaded")
            return keras().saving.load_model(path, compile=False)
        label_sets = _as_label_sets(label_sets)
        if val is not None:
            val = (val[0], _as_label_sets(val[1]))
        k = keras()
        ops = k.ops
        set_precision(False)
        n_out = len(CLASSIFIER_OUTPUTS) if label_sets[:, len(CATEGORIES)].any() else len(
            CATEGORIES)
        y = label_sets[:, :n_out].astype(np.float32)
        head = clf.build_pooled_head(channels=pooled.shape[-1], num_classes=n_out)
        primary = np.argmax(label_sets[:, :n_out], axis=1)
        counts = np.bincount(primary, minlength=n_out).astype(np.float64)
        class_w = len(primary) / (np.count_nonzero(counts) * np.maximum(counts, 1))
        steps = math.ceil(len(y) / 64) * self.s.classifier_epochs

        def any_label_nll(y_true, y_pred):
            p = ops.sum(ops.cast(y_true, "float32") * ops.cast(y_pred, "float32"), axis=-1)
            return -ops.log(ops.clip(p, 1e-7, 1.0))

        head.compile(
            optimizer=k.optimizers.Adam(
                k.optimizers.schedules.CosineDecay(self.s.classifier_lr, steps)
            ),
            loss=any_label_nll,
        )
        vd = None if val is None else (val[0], val[1][:, :n_out].astype(np.float32))
        t0 = time.perf_counter()
        hist = head.fit(pooled, y, batch_size=64, epochs=self.s.classifier_epochs,
                        sample_weight=class_w[primary], validation_data=vd, verbose=2)
        record: dict[str, Any] = {**hist.history, "seconds": time.perf_counter() - t0,
                                  "outputs": n_out, "photos": len(y)}
        if vd is not None:
            probs = np.asarray(head.predict(vd[0], batch_size=256, verbose=0))
            record.update(label_set_errors(probs, val[1][:, :n_out]))
            self.log("classifier on val: " + ", ".join(
                f"{k} {v:.4f}" for k, v in record.items() if k.endswith("error")))
        self.history["classifier"] = record
        model = clf.head_from_pooled(head)
        with atomic_path(path) as tmp:  # a half-written model must never count as finished
            model.save(tmp)
        set_precision(self.s.mixed_precision)
        return model

    # -- encoder passes ----------------------------------------------------------
    def encoded(self, encoder, split: Split, key: str) -> tuple[list[np.ndarray], np.ndarray]:
        """Features and pooled head vectors of a split, computed once per run."""
        cache = self._encoded
        if key not in cache:
            if self.s.disk_cache:
                cache[key] = encode_cached(encoder, split.images, split.files,
                                           self.run / "features" / key, self.log,
                                           old_prints=self.old_prints)
            else:
                t0 = time.perf_counter()
                cache[key] = encode(encoder, split.images, old_prints=self.old_prints)
                self.log(f"encoded {len(split)} {key} photos in "
                         f"{time.perf_counter() - t0:.0f} s")
        return cache[key]

    # -- colorizers ----------------------------------------------------------
    def _decoder_inputs(self, encoder, split: Split, key: str) -> Any:
        if self.s.cache_features:
            return self.encoded(encoder, split, key)[0]
        cache = self._gray
        if key not in cache:
            cache[key] = gray_inputs(split.images, self.old_prints)
        return cache[key]

    def _decoder_model(self, encoder, head: str):
        """The trainable model: decoder alone (cached features) or frozen encoder + decoder."""
        k = keras()
        decoder = build_decoder(head, widths=self.s.widths, name="decoder")
        if self.s.cache_features:
            return decoder, decoder
        inp = k.layers.Input((256, 256, 1), name="gray")
        feats = encoder(inp)[:4]
        return k.Model(inp, decoder(feats), name="encoder_decoder"), decoder

    def _loss(self, ab: np.ndarray, head: str):
        if head == "bins":
            sample = ab[:: max(1, len(ab) // 500)].astype(np.float32)
            return rebalanced_bins_loss(mixed_rebalance_weights(sample, self.s.rebalance))
        scale = 1.0 / lab.AB_SCALE
        ops = keras().ops

        def mse(y_true, y_pred):
            y = ops.cast(y_true, "float32") * scale
            return ops.mean(ops.square(y - ops.cast(y_pred, "float32")), axis=(1, 2, 3))

        return mse

    def _start_weights(self, prefix: str, decoder, ab: np.ndarray | None = None
                       ) -> str | None:
        """Load ``init_from``'s universal decoder into ``decoder``; what was loaded.

        When the run's loss mix differs from the one the start was trained with
        (``init_rebalance``), the output biases are moved by the log ratio of the
        two weightings (``reweight_logits``), so fine-tuning starts from the
        start's knowledge under the new prior instead of unlearning the old one.
        """
        if not self.s.init_from or prefix != "tinct":
            return None
        path = Path(self.s.init_from) / f"{prefix}_{UNIVERSAL}.keras"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no universal decoder to fine-tune from")
        start = keras().saving.load_model(path, compile=False)
        try:
            decoder.set_weights(start.get_weights())
        except ValueError as exc:
            raise ValueError(f"{path}: its decoder does not match widths {self.s.widths} "
                             f"({exc})") from None
        note = str(path)
        if (self.s.head == "bins" and ab is not None
                and self.s.rebalance != self.start_rebalance):
            sample = ab[:: max(1, len(ab) // 500)].astype(np.float32)
            reweight_logits(decoder, sample, self.start_rebalance, self.s.rebalance)
            note += (f", output biases moved from rebalance {self.start_rebalance} "
                     f"to {self.s.rebalance}")
        self.log(f"{prefix}_{UNIVERSAL}: starts from {note}")
        return note

    def train_colorizers(self, encoder, train: Split, val: Split | None = None,
                         prefix: str = "tinct", head: str | None = None,
                         universal_epochs: int | None = None,
                         categories: bool = True) -> dict[str, Any]:
        """Universal decoder on every photo (general ones too), then one per category
        fine-tuned from it."""
        k = keras()
        s = self.s
        head = head or s.head
        # The universal model sees each photo once (a photo in two categories is one photo).
        row_of = {f: i for i, f in enumerate(train.files)}
        uni_idx = np.array([row_of[f] for f in train.unique_photos().files], np.int64)
        x_all = self._decoder_inputs(encoder, train, "train")
        streamed = isinstance(x_all, list)  # cached features: flipped per batch
        y_all = LazyTargets(train.images) if streamed else ab_targets(train.images)
        labels = train.labels
        if s.flips and not streamed:
            (x_all,) = with_flips(x_all)
            (y_all,) = with_flips(y_all)
            labels = np.concatenate([labels, labels])
            uni_idx = np.concatenate([uni_idx, uni_idx + len(train)])
        val_data = None
        if val is not None and len(val):
            val_x = self._decoder_inputs(encoder, val, "val")
            val_data = (val_x, LazyTargets(val.images) if streamed else ab_targets(val.images))
        model, decoder = self._decoder_model(encoder, head)
        started_from = self._start_weights(prefix, decoder, y_all)
        loss = self._loss(y_all, head)
        n = _trim(len(uni_idx), s.batch_size)
        epochs = universal_epochs or s.universal_epochs
        steps = n // s.batch_size * epochs
        model.compile(
            optimizer=k.optimizers.Adam(k.optimizers.schedules.CosineDecay(s.lr, steps)),
            loss=loss, jit_compile=_jit(),
        )
        out: dict[str, Any] = {}
        uni_path = self.run / f"{prefix}_{UNIVERSAL}.keras"
        rng = np.random.default_rng(s.seed)
        pick = np.sort(rng.permutation(uni_idx)[:n])
        universal_weights = self._fit_stage(
            f"{prefix}_{UNIVERSAL}", model, decoder, x_all, y_all, n, epochs, val_data, head,
            started_from=started_from, rows=pick,
        )
        out[UNIVERSAL] = uni_path
        if not categories:
            return out
        # Per category: same model object, fresh optimizer state, fixed small rate.
        model.compile(optimizer=k.optimizers.Adam(s.category_lr), loss=loss,
                      jit_compile=_jit())
        for cat in self.own_categories(train):
            if self.out_of_time(f"{prefix}_{cat}"):
                continue
            idx = np.nonzero(labels == CATEGORIES.index(cat))[0]
            m = _trim(len(idx), s.batch_size)
            rng = np.random.default_rng(s.seed + CATEGORIES.index(cat))
            idx = np.sort(rng.permutation(idx)[:m])
            vd = None
            if val_data is not None:
                vm = np.nonzero(val.labels == CATEGORIES.index(cat))[0]
                if len(vm):
                    vd = (_take(val_data[0], vm), val_data[1][vm])
            decoder.set_weights(universal_weights)
            start = f"{prefix}_{UNIVERSAL} of this run"
            if (s.category_init == "better" and vd is not None and s.init_from
                    and not (self.resume and (self.run / f"{prefix}_{cat}.keras").is_file())):
                start = self._better_start(prefix, cat, model, decoder, universal_weights,
                                           vd, y_all)
            _reset_optimizer(model, s.category_lr)
            self._fit_stage(f"{prefix}_{cat}", model, decoder, x_all, y_all, m,
                            s.category_epochs, vd, head, started_from=start, rows=idx)
            out[cat] = self.run / f"{prefix}_{cat}.keras"
        return out

    def _better_start(self, prefix: str, cat: str, model, decoder, universal_weights: list,
                      val, ab) -> str:
        """Start a category model from whichever is better on its validation photos:
        this run's universal decoder or ``init_from``'s own decoder for the category
        (its output biases moved to this run's loss mix, as for the universal)."""
        path = Path(self.s.init_from) / f"{prefix}_{cat}.keras"
        if not path.is_file():
            return f"{prefix}_{UNIVERSAL} of this run"
        batches = feature_batches(val[0], val[1], self.s.batch_size, shuffle=False)
        uni_loss = float(model.evaluate(batches, verbose=0))
        old = keras().saving.load_model(path, compile=False)
        decoder.set_weights(old.get_weights())
        note = str(path)
        if self.s.head == "bins" and self.s.rebalance != self.start_rebalance:
            sample = ab[:: max(1, len(ab) // 500)].astype(np.float32)
            reweight_logits(decoder, sample, self.start_rebalance, self.s.rebalance)
            note += f", output biases moved to rebalance {self.s.rebalance}"
        own_loss = float(model.evaluate(batches, verbose=0))
        self.log(f"{prefix}_{cat}: validation loss {uni_loss:.4f} from the universal, "
                 f"{own_loss:.4f} from {path}")
        if own_loss < uni_loss:
            return note
        decoder.set_weights(universal_weights)
        return f"{prefix}_{UNIVERSAL} of this run"

    def _fit_stage(self, name: str, model, decoder, x, y, n: int, epochs: int, val,
                   head: str, started_from: str | None = None,
                   rows: np.ndarray | None = None) -> list:
        """Fit one model (or reload it when finished earlier); return decoder weights.

        ``rows``: the samples of ``x``/``y`` to train on (default the first ``n``);
        cached features are read row by row from them, never copied whole.

        With validation data, the stage keeps its best epoch by validation loss,
        counting the starting weights as epoch 0 when fine-tuning.
        """
        s = self.s
        path = self.run / f"{name}.keras"
        if self.resume and path.is_file():
            self.log(f"{name}: finished earlier, reloaded")
            done = keras().saving.load_model(path, compile=False)
            decoder.set_weights(done.get_weights())
            return done.get_weights()
        ckpt = self.run / "checkpoints" / name
        ckpt.parent.mkdir(exist_ok=True)
        start = _resume_point(ckpt, model) if self.resume else 0
        if start:
            self.log(f"{name}: resuming at epoch {start + 1}")
        self.log(f"{name}: {n} samples x {epochs} epochs")
        t0 = time.perf_counter()
        streamed = isinstance(x, list)
        rows = np.arange(n) if rows is None else np.asarray(rows)[:n]
        if not streamed:
            x, y = x[rows], y[rows]
        if streamed and val is not None and isinstance(val[0], list):
            val = feature_batches(val[0], val[1], s.batch_size, shuffle=False)
        start_loss = None
        if val is not None and (started_from or start):
            start_loss = float(model.evaluate(val, verbose=0) if streamed
                               else model.evaluate(*val, batch_size=s.batch_size, verbose=0))
            self.log(f"{name}: validation loss {start_loss:.4f} before training")
        callbacks = [_checkpoint_callback(ckpt)]
        if val is not None:
            callbacks.append(_best_weights_callback(model, start_loss, s.patience, self.log))
        if streamed:  # cached features: stream them, never copy them whole
            hist = model.fit(
                feature_batches(x, y, s.batch_size, seed=s.seed, crop=s.feature_crop,
                                flips=s.flips, rows=rows),
                epochs=epochs, initial_epoch=start, validation_data=val, verbose=2,
                callbacks=callbacks,
            )
        else:
            hist = model.fit(
                x[:n], y[:n], batch_size=s.batch_size, epochs=epochs,
                initial_epoch=start, shuffle=True, validation_data=val, verbose=2,
                callbacks=callbacks,
            )
        best = callbacks[-1] if val is not None else None
        self._record(name, hist, time.perf_counter() - t0, n * (len(hist.epoch)),
                     started_from=started_from, start_val_loss=start_loss,
                     kept_epoch=getattr(best, "best_epoch", None), rows=n,
                     feature_crop=s.feature_crop, rebalance=s.rebalance)
        weights = decoder.get_weights()
        self._save_float32(decoder, path, lambda: build_decoder(
            head, widths=self.s.widths, name=name))
        return weights

    def _record(self, name: str, hist, secs: float, samples: int, **extra: Any) -> None:
        """A finished stage's losses, time and speed into the run's history, and the log."""
        rate = samples / max(secs, 1e-9)
        self.history[name] = {**{k: [float(v) for v in vals] for k, vals in hist.history.items()},
                              "seconds": secs, "samples_per_second": rate, **extra}
        self.log(f"{name}: {rate:.1f} samples/s")

    def _save_float32(self, model, path: Path, builder: Callable[[], Any]) -> None:
        """Save a float32 copy: bf16 policies would slow inference on CPUs."""
        set_precision(False)
        clean = builder()
        clean.set_weights([np.asarray(w, np.float32) for w in model.get_weights()])
        with atomic_path(path) as tmp:  # a half-written stage must never count as finished
            clean.save(tmp)
        set_precision(self.s.mixed_precision)

    # -- the paper's network ---------------------------------------------------
    def train_paper(self, train: Split, val: Split | None = None,
                    sheet: Callable[[Any, int], None] | None = None) -> dict[str, Path]:
        """Fig. 3 network, Adam + MSE: a universal model, then (``paper_categories``) one
        per category fine-tuned from it (the paper trained each from scratch, which
        needs ~300k image steps a category: GPU hours, not our budget)."""
        k = keras()
        s = self.s
        side = s.paper_crop or train.images.shape[1]
        model = build_paper_colorizer(side)
        scale = 1.0 / lab.AB_SCALE
        ops = k.ops

        def mse(y_true, y_pred):
            return ops.mean(ops.square(ops.cast(y_true, "float32") * scale
                                       - ops.cast(y_pred, "float32")), axis=(1, 2, 3))

        model.compile(optimizer=k.optimizers.Adam(1e-3), loss=mse, jit_compile=_jit())
        callbacks = []
        if sheet is None and s.paper_steps:  # the paper's schedule: Fig. 6 every 50 epochs
            source = val if val is not None and len(val) else train
            sheet = ProgressionSheet(source.images[:: max(1, len(source) // 6)][:6],
                                     self.run / "paper_progression.jpg")
        if sheet is not None:
            # The sheet colours full 256 px photos: a same-weights copy at that size.
            def draw(epoch: int) -> None:
                full = build_paper_colorizer(256)
                full.set_weights(model.get_weights())
                sheet(full, epoch)
            callbacks.append(_every_n_epochs(50, draw))
        out = {UNIVERSAL: self._fit_paper(f"paper_{UNIVERSAL}", model, train.images,
                                          s.paper_epochs, callbacks, s.seed)}
        if not s.paper_categories:
            return out
        universal = model.get_weights()
        for cat in self.own_categories(train):
            if self.out_of_time(f"paper_{cat}"):
                continue
            model.set_weights(universal)
            _reset_optimizer(model, s.category_lr)
            out[cat] = self._fit_paper(f"paper_{cat}", model, train.of_category(cat).images,
                                       s.paper_category_epochs, [],
                                       s.seed + 1 + CATEGORIES.index(cat))
        return out

    def _fit_paper(self, name: str, model, images: np.ndarray, epochs: int,
                   callbacks: list, seed: int) -> Path:
        """Fit the paper's net on ``images`` (or reload it when finished earlier)."""
        s = self.s
        path = self.run / f"{name}.keras"
        if self.resume and path.is_file():
            self.log(f"{name}: finished earlier, reloaded")
            model.set_weights(keras().saving.load_model(path, compile=False).get_weights())
            return path
        ckpt = self.run / "checkpoints" / name
        ckpt.parent.mkdir(exist_ok=True)
        start = _resume_point(ckpt, model) if self.resume else 0
        data = lab_batches(images, s.paper_batch, s.paper_crop, s.flips, s.paper_steps,
                           seed=seed)
        self.log(f"{name}: {len(images)} photos, {len(data)} steps x {epochs} epochs of "
                 f"{s.paper_batch} at {s.paper_crop or images.shape[1]} px")
        t0 = time.perf_counter()
        hist = model.fit(data, epochs=epochs, initial_epoch=start, verbose=2,
                         callbacks=[_checkpoint_callback(ckpt), *callbacks])
        self._record(name, hist, time.perf_counter() - t0,
                     len(data) * s.paper_batch * (epochs - start),
                     image_steps=len(data) * s.paper_batch * epochs)
        self._save_float32(model, path, lambda: build_paper_colorizer(256, name=name))
        return path

    def save_history(self) -> None:
        path = self.run / "history.json"
        old = json.loads(path.read_text()) if path.is_file() else {}
        atomic_json(path, {**old, **self.history}, indent=1)


class ProgressionSheet:
    """The paper's Fig. 6: the same photos colorized at every checkpoint, one row each."""

    def __init__(self, images: np.ndarray, path: Path, thumb: int = 128):
        self.images = images
        self.path = Path(path)
        self.thumb = thumb
        self.rows: list[np.ndarray] = []
        self.L = lightness_inputs(images)

    def _tile(self, rgb: np.ndarray) -> np.ndarray:
        import cv2

        return cv2.resize(rgb, (self.thumb, self.thumb), interpolation=cv2.INTER_AREA)

    def __call__(self, model, epoch: int) -> None:
        from PIL import Image

        ab = lab.net_to_ab(np.asarray(model.predict_on_batch(self.L), np.float32))
        tiles = [self._tile(lab.compose(L[..., 0] * lab.L_SCALE, a))
                 for L, a in zip(self.L, ab)]
        if not self.rows:  # first row: the real colour photos, for reference
            self.rows.append(np.concatenate([self._tile(lab.to_float_rgb(im))
                                             for im in self.images], axis=1))
        self.rows.append(np.concatenate(tiles, axis=1))
        sheet = (np.clip(np.concatenate(self.rows, axis=0), 0, 1) * 255 + 0.5).astype(np.uint8)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, lambda f: Image.fromarray(sheet).save(f, "JPEG", quality=88))


def _every_n_epochs(n: int, fn: Callable[[int], None]):
    """A callback calling ``fn(epoch)`` every ``n`` epochs (the paper's checkpoints, Fig. 6)."""

    class EveryN(keras().callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if (epoch + 1) % n == 0:
                fn(epoch + 1)

    return EveryN()
