"""The one inference object: a photo in, a colour photo out, at full resolution.

Like Real-ESRGAN's ``RealESRGANer``, :class:`Colorizer` loads its models once
and hides pre-processing, prediction and post-processing behind one call.
The photo is analysed once (one encoder pass gives the classifier's
confidences and the colorizers' features); rendering a category, strength or
routing from that analysis only runs the small decoders, so the GUI can
re-colour at once when the user overrides the category.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from core import lab
from core.backend import Runner
from core.categories import CATEGORIES, GENERAL, UNIVERSAL, validate
from core.decoding import Decoding, decode
from core.pins import Pin, build_guide, check_pins, pin_spread
from core.store import ModelStore
from core.upsampling import upsample_ab

ROUTINGS = ("soft", "hard")
#: Soft routing blends at most this many categories' colorizers.
SOFT_TOP_K = 3
#: ...and ignores categories below this confidence (besides the top one).
SOFT_MIN_CONFIDENCE = 0.05


@dataclass
class Analysis:
    """What one encoder pass learned about a photo; reusable for re-renders."""

    L: np.ndarray  # full-resolution lightness, float32 0..100
    L_small: np.ndarray  # L at model size
    features: list[np.ndarray] | None  # encoder features, batch of 1
    confidences: dict[str, float]  # every category; with ``none`` they sum to 1
    #: The classifier's "none of the categories" probability (0 for a classifier
    #: without that output): soft routing gives this weight to the universal model.
    none: float = 0.0
    #: The colour pins' propagation guide (core.pins), built on the first pinned render.
    pin_guide: Any = field(default=None, repr=False, compare=False)

    @property
    def top_category(self) -> str:
        return max(self.confidences, key=self.confidences.__getitem__)


@dataclass
class ColorizeResult:
    """A colorized photo and how it was made."""

    #: H x W x 3 at the original's resolution: float32 in 0..1, or uint8 0..255 when
    #: rendered with ``dtype=np.uint8`` (what an 8-bit output file needs; no float copy).
    rgb: np.ndarray
    #: the category used: the classifier's top-1 for "auto", or GENERAL ("general")
    #: when the photo looks like none of the categories more than like its top one
    category: str
    confidences: dict[str, float]  # every category's probability
    models_used: list[str]  # model names, strongest weight first
    weights: dict[str, float]  # model name -> blend weight
    routing: str
    strength: float
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    pins: list[Pin] = field(default_factory=list)  # the colour pins applied
    #: the classifier's "none of the categories" share: with ``confidences`` it sums to 1
    general: float = 0.0

    def to_uint8(self) -> np.ndarray:
        return lab.to_depth(self.rgb, 8)

    def to_uint16(self) -> np.ndarray:
        return lab.to_depth(self.rgb, 16)


@dataclass
class Rendering:
    """A photo's colour decided (the models have run), its pixels not yet composed.

    :meth:`Colorizer.render` composes at once; a batch hands this to its writer
    thread instead, which composes (the full-size upsample and Lab -> RGB: most of
    a large photo's time) beside the next photo's models.
    """

    compose: Any = field(repr=False)  # () -> the result's pixels
    fields: dict[str, Any] = field(default_factory=dict)  # the rest of ColorizeResult
    seconds: float = 0.0  # spent deciding the colour

    def result(self) -> ColorizeResult:
        t0 = time.perf_counter()
        rgb = self.compose()
        return ColorizeResult(rgb=rgb, **self.fields,
                              seconds=self.seconds + time.perf_counter() - t0)


class Colorizer:
    """Classify and colorize photos with the models of one models folder."""

    def __init__(
        self,
        models_dir: str | Path | None = None,
        architecture: str | None = None,
        temperature: float | None = None,
        decoding: Decoding | None = None,
        backend: str | None = None,
    ):
        self._models_dir = models_dir
        self._backend = backend  # 'litert' | 'tf' | 'auto' / None (core.backend.resolve_backend)
        self._store: ModelStore | None = None
        self._architecture = architecture
        self._temperature = temperature
        self._decoding = decoding
        self._lock = threading.RLock()

    # -- models ----------------------------------------------------------
    @property
    def store(self) -> ModelStore:
        """The model store (reads the manifest; raises ModelStoreError if none)."""
        if self._store is None:
            self._store = ModelStore(self._models_dir, self._backend)
        return self._store

    @property
    def architecture(self) -> str:
        return self._architecture or self.store.default_architecture

    @property
    def info(self) -> dict[str, Any]:
        return self.store.colorizer_info(self.architecture)

    @property
    def temperature(self) -> float:
        return self.decoding.temperature

    @property
    def decoding(self) -> Decoding:
        """How distributions become colour: the manifest's (calibrated), or the override."""
        if self._decoding is not None:
            if self._temperature is not None:
                return self._decoding.replace(temperature=self._temperature)
            return self._decoding
        return Decoding.from_manifest(self.info, self._temperature)

    @property
    def colour_prior(self) -> np.ndarray | None:
        """The training photos' ab bin prior (for the decoding's prior correction)."""
        prior = self.info.get("colour_prior")
        return None if prior is None else np.asarray(prior, np.float32)

    @property
    def backend(self) -> str:
        """'litert' or 'tf': what the models run on (see ``store.notes`` for exceptions)."""
        return self.store.backend

    @property
    def device(self) -> str:
        """Where the models run, for people: 'CPU (LiteRT)', 'GPU (...) (TensorFlow)'."""
        if self.store.backend == "litert" and not self.store.notes:
            return "CPU (LiteRT)"
        from core.backend import device_name

        if self.store.backend == "litert":
            return f"{device_name()} (LiteRT, some models on TensorFlow)"
        return f"{device_name()} (TensorFlow)"

    def category_status(self) -> dict[str, str]:
        """Every category -> 'own model' | 'universal model' | 'no model yet'."""
        return self.store.category_status(self.architecture)

    def prepare(self) -> None:
        """On LiteRT, open the encoder and classifier now, in the calling thread.

        Creating an interpreter holds the GIL for the ~50 ms XNNPACK takes to
        pack the encoder's weights: the app calls this before its window shows,
        so that loading after it never stalls the window. Nothing happens where
        a model would need TensorFlow (seconds to import: the worker does it),
        and a problem is left for :meth:`load` to report.
        """
        from core.store import ModelStoreError

        try:
            store = self.store
            if store.backend != "litert":
                return
            for part in ("encoder", "classifier"):
                if store.runs_on_litert(store.manifest[part]):
                    getattr(store, part)()
        except (ModelStoreError, KeyError, OSError, ValueError):
            return

    def load(self, decoders: Sequence[str] = ()) -> None:
        """Load and warm what the first photo needs (the GUI does this at start-up).

        The encoder and classifier serve every photo; each decoder is loaded
        the first time a photo's routing needs it (milliseconds on LiteRT), so
        only the ``decoders`` named here are loaded now. A broken category
        model among them is passed over (its photos use the universal model).
        """
        from core.store import ModelFileError

        with self._lock:
            size = self.store.input_size
            analysis = self.analyze_batch([np.zeros((size, size), np.uint8)])[0]
            for name in decoders:
                try:
                    self.store.colorizer(name, self.architecture)
                except ModelFileError as e:
                    if e.fatal or e.universal:
                        raise
                    continue
                self._predict_ab(analysis, {name: 1.0})

    # -- analysis: one encoder pass ---------------------------------------
    def analyze(self, image: np.ndarray | None, L: np.ndarray | None = None) -> Analysis:
        """:meth:`analyze_batch` of one photo; ``L``: its :func:`lightness`, if known."""
        return self.analyze_batch([image], None if L is None else [L])[0]

    def analyze_batch(self, images: Sequence[np.ndarray | None],
                      Ls: Sequence[np.ndarray] | None = None) -> list[Analysis]:
        """Lightness at full resolution, encoder features and confidences.

        ``Ls``: the photos' :func:`lightness`, already computed (a batch's reader
        thread does it beside the models); the images are then not needed.
        """
        if not images:
            raise ValueError("no images given")
        if Ls is None:
            Ls = [lightness(im, f"images[{i}]" if len(images) > 1 else "image")
                  for i, im in enumerate(images)]
        elif len(Ls) != len(images):
            raise ValueError(f"{len(Ls)} lightness maps for {len(images)} images")
        size = self.store.input_size
        smalls, grays = [], []
        for L in Ls:
            small = cv2.resize(L, (size, size), interpolation=cv2.INTER_AREA)
            smalls.append(small)
            grays.append(lab.gray_rgb(small))
        batch = np.stack(grays)[..., None].astype(np.float32)
        with self._lock:
            feats = _predict(self.store.encoder(), batch)
            classifier_input = self.store.manifest["classifier"].get("input", "features")
            if classifier_input == "features":
                probs = _predict(self.store.classifier(), feats[-1])[0]
            else:  # a full classifier network of its own (e.g. VGG19) on the gray photo
                probs = _predict(self.store.classifier(), np.repeat(batch, 3, axis=-1))[0]
        probs = np.asarray(probs, np.float64)
        t = float(self.store.manifest["classifier"].get("temperature", 1.0))
        if t != 1.0:  # calibrated on the validation split (core.training.calibrate)
            probs = temper(probs, t)
        out = []
        for i in range(len(Ls)):
            conf = {c: float(p) for c, p in zip(CATEGORIES, probs[i])}
            none = float(probs[i, len(CATEGORIES)]) if probs.shape[-1] > len(CATEGORIES) else 0.0
            out.append(Analysis(Ls[i], smalls[i], [f[i : i + 1] for f in feats[:-1]], conf,
                                none))
        return out

    # -- rendering: decoders + compose -----------------------------------
    def plan(
        self, analysis: Analysis, category: str = "auto", routing: str = "soft"
    ) -> tuple[str, dict[str, float], list[str]]:
        """Pick the category, the models and their blend weights.

        "auto" with a classifier that knows "none of the categories": soft routing
        blends the universal model in with that probability (beside the top
        categories), hard routing takes the universal model alone when "none"
        beats the top category. A photo unlike every category so leans on the
        model trained on all photos instead of on a wrong category's.
        """
        if routing not in ROUTINGS:
            raise ValueError(f"routing must be one of {ROUTINGS}, not {routing!r}")
        notes: list[str] = []
        conf = analysis.confidences
        none = 0.0
        if category != "auto":
            validate(category)
            chosen = [(category, 1.0)]
        elif routing == "hard":
            top = analysis.top_category
            if analysis.none > conf[top]:
                chosen, none = [], 1.0
            else:
                chosen = [(top, 1.0)]
        else:
            ranked = sorted(conf.items(), key=lambda kv: kv[1], reverse=True)
            chosen = [ranked[0]] + [
                kv for kv in ranked[1:SOFT_TOP_K] if kv[1] >= SOFT_MIN_CONFIDENCE
            ]
            if analysis.none >= SOFT_MIN_CONFIDENCE:
                none = analysis.none
        total = sum(p for _, p in chosen) + none or 1.0
        weights: dict[str, float] = {}
        for cat, p in chosen:
            route = self.store.route(cat, self.architecture)
            if route.fallback:
                notes.append(route.note)
            weights[route.model] = weights.get(route.model, 0.0) + p / total
        if none > 0.0:
            model = self.store.route(UNIVERSAL, self.architecture).model
            weights[model] = weights.get(model, 0.0) + none / total
            if analysis.none > conf[analysis.top_category]:
                notes.append(f"looks like none of the kinds of scene Tinct knows "
                             f"({analysis.none:.0%}): mostly general colours")
        used = category
        if category == "auto":
            top = analysis.top_category
            used = GENERAL if analysis.none > conf[top] else top
        return used, weights, notes

    def render(
        self,
        analysis: Analysis,
        category: str = "auto",
        strength: float = 1.0,
        routing: str = "soft",
        pins: Sequence[Pin] = (),
        dtype: type | np.dtype = np.float32,
    ) -> ColorizeResult:
        """Colour an analysed photo; cheap enough to call on every slider move.

        ``pins`` (core.pins.Pin, photo pixels) recolour their regions; a pin
        outside the photo raises PinError (a ValueError). ``dtype``: the result's
        pixels, float32 0..1 or uint8 (see ``lab.compose``).
        """
        return self.render_pending(analysis, category, strength, routing, pins, dtype).result()

    def render_pending(
        self,
        analysis: Analysis,
        category: str = "auto",
        strength: float = 1.0,
        routing: str = "soft",
        pins: Sequence[Pin] = (),
        dtype: type | np.dtype = np.float32,
    ) -> Rendering:
        """:meth:`render` up to the pixels: the models run now (under the lock),
        ``.result()`` composes them later, in any thread."""
        t0 = time.perf_counter()
        if not 0.0 <= strength <= 2.0:
            raise ValueError(f"strength must be between 0 and 2, not {strength}")
        h, w = analysis.L.shape
        pins = check_pins(pins, w, h)
        used, weights, notes = self._plan_loaded(analysis, category, routing)
        if pins:
            guide = self._pin_guide(analysis)
            # A dragged pin re-renders with the same models: decode their colour once.
            key = tuple(sorted(weights.items()))
            if guide.auto_key != key:
                guide.auto_key, guide.auto_ab = key, self._predict_ab(analysis, weights)
                guide.auto_up = None  # compose_pinned upsamples the new colour once

            def compose() -> np.ndarray:
                return self.compose_pinned(analysis, guide, strength, pins, dtype=dtype)
        else:
            blended = self.blend(analysis, weights)  # the models; decoding is numpy

            def compose() -> np.ndarray:
                return self.compose(analysis, self._decode(analysis, blended), strength, dtype)
        order = sorted(weights, key=weights.__getitem__, reverse=True)
        return Rendering(compose, dict(
            category=used,
            confidences=dict(analysis.confidences),
            models_used=order,
            weights={m: weights[m] for m in order},
            routing=routing,
            strength=strength,
            notes=notes,
            pins=list(pins),
            general=float(analysis.none),
        ), seconds=time.perf_counter() - t0)

    def _plan_loaded(self, analysis: Analysis, category: str, routing: str
                     ) -> tuple[str, dict[str, float], list[str]]:
        """:meth:`plan`, with its decoders loaded (lazily, now): a category model that
        cannot be loaded is marked broken by the store, and the photo planned again
        (that category then routes to the universal model, and the notes say why)."""
        from core.store import ModelFileError

        while True:
            used, weights, notes = self.plan(analysis, category, routing)
            try:
                for name in weights:
                    self.store.colorizer(name, self.architecture)
            except ModelFileError as e:
                if e.fatal or e.universal:
                    raise
                continue
            return used, weights, notes

    def render_with(
        self, analysis: Analysis, weights: dict[str, float], strength: float = 1.0
    ) -> np.ndarray:
        """RGB from an explicit blend of named models (evaluation, e.g. 'universal' alone)."""
        return self.compose(analysis, self._predict_ab(analysis, weights), strength)

    def compose(self, analysis: Analysis, ab: np.ndarray, strength: float = 1.0,
                dtype: type | np.dtype = np.float32) -> np.ndarray:
        """Model-size ab onto the photo's full-resolution L: edges of L stop the colour."""
        return lab.compose(analysis.L, self._upsample(analysis, ab), strength, dtype)

    def compose_pinned(self, analysis: Analysis, guide: Any, strength: float,
                       pins: Sequence[Pin], dtype: type | np.dtype = np.float32,
                       **settings: Any) -> np.ndarray:
        """RGB of ``guide.auto_ab`` at ``strength`` with ``pins`` spread in (``settings``:
        core.pins.spread's, for the benchmark's sweep).

        The automatic colour is upsampled exactly as without pins (cached on the guide)
        and the pins' offset upsampled on its own and added, and only inside the pins'
        regions (:meth:`pin_regions`): outside them the result is the automatic one to
        the bit.
        """
        if guide.auto_up is None:
            guide.auto_up = self._upsample(analysis, guide.auto_ab)
        spread = pin_spread(guide, guide.auto_ab, strength, pins, **settings)
        offset = self._upsample(analysis, spread.offset)
        inside = spread.regions(offset.shape[:2], self.pin_margin(), union=True)
        offset[~inside] = 0.0  # only the upsampling's float dust is there
        if strength > 0:
            # One full-size resize, as without pins: outside the regions the colour map
            # is the automatic one plus exactly 0, so the photo is too, to the bit.
            offset *= np.float32(1.0 / strength)
            offset += guide.auto_up
            return lab.compose(analysis.L, offset, strength, dtype)
        return lab.compose(analysis.L, guide.auto_up, strength, dtype, offset=offset)

    def pin_regions(self, analysis: Analysis, pins: Sequence[Pin],
                    shape: tuple[int, int] | None = None, **settings: Any) -> np.ndarray:
        """(K, H, W) bool: each pin's region at ``shape`` (the photo's size by default),
        as :meth:`render` applies it: outside all of them the render with ``pins`` is the
        automatic one to the bit (core.pins.Spread.regions, with this engine's
        upsampling reach). ``settings``: core.pins.spread's, as for compose_pinned."""
        h, w = analysis.L.shape
        pins = check_pins(pins, w, h)
        guide = self._pin_guide(analysis)
        auto = np.zeros(guide.shape + (2,), np.float32)  # the regions do not depend on it
        spread = pin_spread(guide, auto, 1.0, pins, **settings)
        return spread.regions(shape or (h, w), self.pin_margin())

    @staticmethod
    def _pin_guide(analysis: Analysis) -> Any:
        """The photo's propagation guide (core.pins), built on its first pinned render."""
        if analysis.pin_guide is None:
            analysis.pin_guide = build_guide(analysis.L)
        return analysis.pin_guide

    def pin_margin(self) -> int:
        """Grid cells the pins' offset reaches beyond their regions on its way to the
        photo: the guided upsampling's two box filters, and one for the bilinear steps."""
        return 2 * max(0, self.decoding.upsample_radius) + 1

    def _upsample(self, analysis: Analysis, ab: np.ndarray) -> np.ndarray:
        """ab at any resolution -> the colour map of the photo (edge-aware, decoding's
        settings): what compose and the pins' offset both go through."""
        d = self.decoding
        return upsample_ab(analysis.L, ab, d.upsample_radius, d.upsample_eps)

    def colorize(
        self,
        image: np.ndarray,
        category: str = "auto",
        strength: float = 1.0,
        routing: str = "soft",
        dtype: type | np.dtype = np.float32,
    ) -> ColorizeResult:
        """Classify and colorize one RGB (or gray) photo at its own resolution."""
        return self.colorize_batch([image], category, strength, routing, dtype)[0]

    def colorize_batch(
        self,
        images: Sequence[np.ndarray],
        category: str = "auto",
        strength: float = 1.0,
        routing: str = "soft",
        dtype: type | np.dtype = np.float32,
    ) -> list[ColorizeResult]:
        """Colorize several photos with one encoder pass (``dtype``: see :meth:`render`)."""
        t0 = time.perf_counter()
        analyses = self.analyze_batch(images)
        t_an = (time.perf_counter() - t0) / max(len(images), 1)
        results = []
        for a in analyses:
            r = self.render(a, category, strength, routing, dtype=dtype)
            r.seconds += t_an
            results.append(r)
        return results

    def _predict_ab(self, analysis: Analysis, weights: dict[str, float]) -> np.ndarray:
        """Blend the chosen colorizers' predictions into one ab map (model size)."""
        return self._decode(analysis, self.blend(analysis, weights))

    def _decode(self, analysis: Analysis, blended: np.ndarray) -> np.ndarray:
        """:meth:`blend`'s output as ab: bin distributions decoded, regression ab as it is."""
        if self.info.get("head", "bins") == "bins":
            return decode(blended, analysis.L_small, self.decoding, self.colour_prior)
        return blended

    def blend(self, analysis: Analysis, weights: dict[str, float]) -> np.ndarray:
        """The weighted mean of the chosen colorizers' outputs, before decoding.

        Bin probabilities (H, W, Q) for the bins head, ab for regression heads.
        """
        info = self.info
        head = info.get("head", "bins")
        blended = None
        with self._lock:
            for name, w in weights.items():
                model = self.store.colorizer(name, self.architecture)
                if info.get("input", "features") == "features":
                    out = _predict(model, analysis.features)[0]
                else:  # the paper's network reads L itself
                    out = _predict(model, lab.l_to_net(analysis.L_small)[None, ..., None])[0]
                out = np.asarray(out[0], np.float32)
                if head == "bins":
                    out = _softmax(out)
                else:
                    out = lab.net_to_ab(out)
                blended = out * w if blended is None else blended + out * w
        assert blended is not None
        return blended


def check_image(image: object, name: str = "image") -> np.ndarray:
    """The array as the engine takes it, or a ValueError that says what is wrong.

    Accepted: HxW, HxWx1, HxWx3 or HxWx4; uint8 (0..255), uint16 (0..65535) or
    float in 0..1 with no NaN or inf. Anything else would give a plausible but
    wrong image (a float 0..255 array, ints of another width) or OpenCV's raw
    assertion text (empty, 2 or 5 channels), so it is refused here.
    """
    a = np.asarray(image) if not isinstance(image, np.ndarray) else image
    if a.dtype.kind not in "uif" or a.dtype == np.bool_:
        raise ValueError(f"{name}: pixels must be uint8, uint16 or float 0..1, not {a.dtype}")
    if a.dtype.kind in "iu" and a.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"{name}: integer pixels must be uint8 or uint16, not {a.dtype} "
                         "(convert with .astype(np.uint8) or scale a float copy to 0..1)")
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)):
        raise ValueError(f"{name}: shape must be HxW, HxWx1, HxWx3 or HxWx4, not {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name}: the image is empty (shape {a.shape})")
    if a.dtype.kind == "f":
        if a.dtype not in (np.float32, np.float64):
            a = a.astype(np.float32)
        lo, hi = float(np.min(a)), float(np.max(a))  # NaN propagates into both
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(f"{name}: float pixels contain NaN or infinity")
        if lo < -1e-3 or hi > 1.0 + 1e-3:
            raise ValueError(f"{name}: float pixels must be in 0..1, found {lo:g}..{hi:g}"
                             + (" (divide by 255)" if hi > 1.5 else ""))
        if lo < 0.0 or hi > 1.0:
            a = np.clip(a, 0.0, 1.0)
    return a


def lightness(image: np.ndarray, name: str = "image") -> np.ndarray:
    """L (0..100) of an RGB, RGBA or single-channel photo array, checked as
    :func:`check_image` checks it: what :meth:`Colorizer.analyze` starts from."""
    return _lightness(check_image(image, name))


def _lightness(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    elif image.shape[-1] == 4:
        image = image[..., :3]
    elif image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    return lab.luminance(image)


def temper(probs: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T): the same ranking, softer (T > 1) or sharper confidences."""
    logp = np.log(np.maximum(np.asarray(probs, np.float64), 1e-12)) / temperature
    logp -= logp.max(axis=-1, keepdims=True)
    q = np.exp(logp)
    return q / q.sum(axis=-1, keepdims=True)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


def _predict(model: Runner, inputs: Any) -> list[np.ndarray]:
    """Run one model (LiteRT or Keras, see core.backend): arrays in, list of arrays out."""
    return model(inputs)
