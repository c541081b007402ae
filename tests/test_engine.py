"""The Colorizer: any photo array in, full-resolution colour out; routing
between category models; re-rendering from a cached analysis; the model store.

Models are small random sets (tests/modelsets.py): the engine's behaviour,
not colour quality, is under test.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from skimage import data

from core import engine, lab
from core.categories import CATEGORIES, NO_DATA, UNIVERSAL
from core.engine import SOFT_MIN_CONFIDENCE, SOFT_TOP_K, Analysis, Colorizer
from core.pins import Pin
from core.store import ModelStore, ModelStoreError


@pytest.fixture(scope="module")
def cz(tiny_colorizer: Colorizer) -> Colorizer:
    tiny_colorizer.load()
    return tiny_colorizer


@pytest.fixture(scope="module")
def animal_cz(animal_models_dir: Path) -> Colorizer:
    return Colorizer(animal_models_dir)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A real non-square photo, small enough to be quick."""
    return np.ascontiguousarray(data.astronaut()[::4, ::3])  # 128x171


def _chroma(rgb: np.ndarray) -> np.ndarray:
    ab = lab.rgb_to_lab(rgb)[..., 1:]
    return np.hypot(ab[..., 0], ab[..., 1])


def _analysis_with(cz: Colorizer, photo: np.ndarray, conf: dict[str, float]) -> Analysis:
    """The photo's real analysis with chosen classifier confidences."""
    a = cz.analyze(photo)
    rest = (1.0 - sum(conf.values())) / (len(CATEGORIES) - len(conf))
    a.confidences = {c: conf.get(c, rest) for c in CATEGORIES}
    return a


# --------------------------------------------------------------------------- shapes and inputs


@pytest.mark.parametrize("h,w", [(37, 53), (300, 200), (64, 64), (1, 1)])
def test_output_has_the_original_resolution(cz: Colorizer, h: int, w: int) -> None:
    rgb = np.ascontiguousarray(
        np.resize(data.coffee(), (h, w, 3)) if (h, w) == (1, 1) else
        data.coffee()[:h, :w]
    )
    r = cz.colorize(rgb)
    assert r.rgb.shape == (h, w, 3) and r.rgb.dtype == np.float32
    assert r.rgb.min() >= 0.0 and r.rgb.max() <= 1.0
    assert r.to_uint8().shape == (h, w, 3) and r.to_uint8().dtype == np.uint8
    assert r.to_uint16().dtype == np.uint16


def test_uint8_render_is_the_float_render_rounded(cz: Colorizer, photo: np.ndarray) -> None:
    """dtype=np.uint8 (what the batch writes 8-bit files from) changes no pixel."""
    a = cz.analyze(photo)
    f = cz.render(a)
    u = cz.render(a, dtype=np.uint8)
    assert u.rgb.dtype == np.uint8 and u.rgb.shape == f.rgb.shape
    assert np.array_equal(u.rgb, lab.to_uint8(f.rgb))
    assert u.to_uint8() is u.rgb
    assert np.array_equal(u.to_uint16(), u.rgb.astype(np.uint16) * 257)
    pinned = cz.render(a, pins=[Pin(20, 30, (200, 40, 40))])
    pinned8 = cz.render(a, pins=[Pin(20, 30, (200, 40, 40))], dtype=np.uint8)
    assert np.array_equal(pinned8.rgb, lab.to_uint8(pinned.rgb))
    r = cz.colorize(photo, dtype=np.uint8)
    assert np.array_equal(r.rgb, u.rgb)


def test_colour_keeps_the_photo_lightness(cz: Colorizer, photo: np.ndarray) -> None:
    """Only chroma is predicted: the detail (L) is the photo's own, at full resolution."""
    r = cz.colorize(photo)
    dL = np.abs(lab.luminance(r.rgb) - lab.luminance(photo))
    assert np.median(dL) < 0.5
    assert dL.mean() < 2.0  # a few pixels lose some L to sRGB gamut clipping


def test_gray_rgba_and_16bit_inputs(cz: Colorizer, photo: np.ndarray) -> None:
    gray = np.ascontiguousarray(photo[..., 1])
    gray3 = np.repeat(gray[..., None], 3, axis=-1)
    ref = cz.colorize(gray3).rgb
    for variant in (gray, gray[..., None], gray3.astype(np.uint16) * 257):
        out = cz.colorize(variant).rgb
        assert out.shape == gray3.shape
        np.testing.assert_allclose(out, ref, atol=2e-3)
    rgba = np.dstack([photo, np.full(photo.shape[:2], 7, np.uint8)])
    np.testing.assert_allclose(cz.colorize(rgba).rgb, cz.colorize(photo).rgb, atol=1e-5)


def test_sepia_and_gray_versions_colour_alike(cz: Colorizer, photo: np.ndarray) -> None:
    """Only the lightness is read: a sepia tone does not leak into the result."""
    L = lab.luminance(photo)
    gray = (lab.gray_rgb(L) * 255 + 0.5).astype(np.uint8)
    lab_sepia = np.dstack([L, np.full_like(L, 6.0), np.full_like(L, 22.0)])
    sepia = (lab.lab_to_rgb(lab_sepia) * 255 + 0.5).astype(np.uint8)
    a = cz.colorize(np.repeat(gray[..., None], 3, -1)).rgb
    b = cz.colorize(sepia).rgb
    assert np.abs(a - b).mean() < 0.01


# --------------------------------------------------------------------------- classification


def test_confidences_cover_every_category(cz: Colorizer, photo: np.ndarray) -> None:
    r = cz.colorize(photo)
    assert list(r.confidences) == list(CATEGORIES)
    assert all(0.0 <= p <= 1.0 for p in r.confidences.values())
    assert sum(r.confidences.values()) == pytest.approx(1.0, abs=1e-5)
    assert r.category == max(r.confidences, key=r.confidences.get)
    assert r.seconds > 0


# --------------------------------------------------------------------------- routing


def test_manual_category_uses_its_own_model(cz: Colorizer, photo: np.ndarray) -> None:
    r = cz.colorize(photo, category="dog")
    assert r.category == "dog"
    assert r.models_used == ["dog"] and r.weights == {"dog": 1.0}
    assert r.notes == []


def test_category_without_a_model_falls_back_with_a_note(
    animal_cz: Colorizer, photo: np.ndarray
) -> None:
    own = animal_cz.colorize(photo, category="animal")
    assert own.models_used == ["animal"] and own.notes == []
    r = animal_cz.colorize(photo, category="beach")
    assert r.category == "beach"
    assert r.models_used == [UNIVERSAL]
    assert any("beach" in n and "general colours" in n for n in r.notes)
    status = animal_cz.category_status()
    assert status["animal"] == "own model"
    assert {s for c, s in status.items() if c != "animal"} == {"universal model"}


def test_categories_without_data_fall_back_in_the_full_set(cz: Colorizer) -> None:
    status = cz.category_status()
    assert {c for c, s in status.items() if s == "universal model"} == set(NO_DATA)
    assert set(cz.store.colorizers()) == {UNIVERSAL, *(set(CATEGORIES) - NO_DATA)}


def test_hard_routing_uses_the_top_model_only(cz: Colorizer, photo: np.ndarray) -> None:
    a = _analysis_with(cz, photo, {"bird": 0.4, "dog": 0.35, "city": 0.2})
    r = cz.render(a, routing="hard")
    assert r.category == "bird" and r.routing == "hard"
    assert r.models_used == ["bird"] and r.weights == {"bird": 1.0}
    # ...and it is exactly the bird model's rendering.
    np.testing.assert_allclose(r.rgb, cz.render(a, category="bird").rgb, atol=1e-6)


def test_soft_routing_blends_the_top_categories(cz: Colorizer, photo: np.ndarray) -> None:
    conf = {"dog": 0.5, "animal": 0.3, "bird": 0.15, "city": 0.04}
    a = _analysis_with(cz, photo, conf)
    r = cz.render(a, routing="soft")
    assert r.category == "dog"
    assert len(r.models_used) <= SOFT_TOP_K
    assert r.models_used == ["dog", "animal", "bird"]  # sorted, strongest first
    assert sum(r.weights.values()) == pytest.approx(1.0)
    for name in r.models_used:
        assert r.weights[name] == pytest.approx(conf[name] / 0.95)
    # The blend differs from any single model's colours.
    for single in r.models_used:
        assert np.abs(r.rgb - cz.render(a, category=single).rgb).max() > 1e-4


def test_soft_routing_ignores_weak_runners_up(cz: Colorizer, photo: np.ndarray) -> None:
    a = _analysis_with(cz, photo, {"house": 0.9, "road": SOFT_MIN_CONFIDENCE / 2})
    r = cz.render(a, routing="soft")
    assert r.models_used == ["house"] and r.weights == {"house": pytest.approx(1.0)}


def test_soft_routing_merges_fallbacks_into_universal(
    animal_cz: Colorizer, photo: np.ndarray
) -> None:
    a = _analysis_with(animal_cz, photo, {"dog": 0.5, "animal": 0.3, "bird": 0.15})
    r = animal_cz.render(a, routing="soft")
    assert r.models_used == [UNIVERSAL, "animal"]
    assert r.weights[UNIVERSAL] == pytest.approx(0.65 / 0.95)
    assert r.weights["animal"] == pytest.approx(0.30 / 0.95)
    assert sum(r.weights.values()) == pytest.approx(1.0)
    assert len(r.notes) == 2  # dog and bird fell back


def test_real_soft_routing_weights_are_normalised(cz: Colorizer, photo: np.ndarray) -> None:
    r = cz.colorize(photo, routing="soft")
    w = list(r.weights.values())
    assert sum(w) == pytest.approx(1.0)
    assert w == sorted(w, reverse=True)
    assert 1 <= len(w) <= SOFT_TOP_K


# --------------------------------------------------------------------------- strength


def test_strength_zero_is_gray_and_strength_scales_colour(
    cz: Colorizer, photo: np.ndarray
) -> None:
    a = cz.analyze(photo)
    zero = cz.render(a, category="flower", strength=0.0).rgb
    assert np.abs(zero - zero[..., :1]).max() < 2 / 255  # R = G = B
    assert np.abs(lab.rgb_to_lab(zero)[..., 1:]).max() < 1.0
    c1 = _chroma(cz.render(a, category="flower", strength=1.0).rgb).mean()
    c2 = _chroma(cz.render(a, category="flower", strength=2.0).rgb).mean()
    assert c1 > 0.5 and c2 > 1.5 * c1


def test_temperature_default_and_override(models_dir: Path, photo: np.ndarray,
                                          monkeypatch) -> None:
    assert Colorizer(models_dir).temperature == lab.DEFAULT_TEMPERATURE  # none in manifest
    used: list[float] = []
    real = engine.decode

    def spy(probs, L_small, d, prior=None):
        used.append(d.temperature)
        return real(probs, L_small, d, prior)

    monkeypatch.setattr(engine, "decode", spy)
    a = Colorizer(models_dir, temperature=1.0).colorize(photo, category="food").rgb
    b = Colorizer(models_dir, temperature=0.05).colorize(photo, category="food").rgb
    assert used == [1.0, 0.05]
    assert not np.allclose(a, b, atol=1e-6)


# --------------------------------------------------------------------------- bad requests


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"routing": "fuzzy"}, "routing"),
        ({"strength": -0.1}, "strength"),
        ({"strength": 2.5}, "strength"),
        ({"category": "spaceship"}, "category"),
    ],
)
def test_invalid_requests_raise_value_error(cz: Colorizer, photo: np.ndarray, kwargs: dict,
                                            word: str) -> None:
    with pytest.raises(ValueError, match=word):
        cz.colorize(photo, **kwargs)


# --------------------------------------------------------------------------- analysis reuse


def test_render_reuses_the_analysis(cz: Colorizer, photo: np.ndarray, monkeypatch) -> None:
    full = cz.colorize(photo, category="city")
    a = cz.analyze(photo)
    calls: list[str] = []
    real = engine._predict

    def spy(model, inputs):
        calls.append(model.name)
        return real(model, inputs)

    monkeypatch.setattr(engine, "_predict", spy)
    again = cz.render(a, category="city")
    other = cz.render(a, category="food", strength=1.5)
    assert calls == ["city", "food"]  # decoders only: no encoder, no classifier
    np.testing.assert_allclose(again.rgb, full.rgb, atol=1e-6)
    assert again.confidences == full.confidences
    assert not np.allclose(other.rgb, again.rgb)


def test_colorize_batch_equals_colorize(cz: Colorizer) -> None:
    photos = [
        np.ascontiguousarray(data.chelsea()[::3, ::3]),
        np.ascontiguousarray(data.coffee()[:90, :130]),
        data.camera()[::5, ::5],
    ]
    batch = cz.colorize_batch(photos, routing="soft")
    assert len(batch) == len(photos)
    for p, b in zip(photos, batch):
        one = cz.colorize(p, routing="soft")
        assert b.rgb.shape == p.shape[:2] + (3,)
        np.testing.assert_allclose(b.rgb, one.rgb, atol=1e-4)
        assert b.models_used == one.models_used
        for c in CATEGORIES:
            assert b.confidences[c] == pytest.approx(one.confidences[c], abs=1e-5)


def test_render_with_explicit_weights(cz: Colorizer, photo: np.ndarray) -> None:
    a = cz.analyze(photo)
    np.testing.assert_allclose(cz.render_with(a, {UNIVERSAL: 1.0}),
                               cz.render(a, category="christmas").rgb, atol=1e-6)


def test_regression_head_model_set(tmp_path: Path, photo: np.ndarray) -> None:
    from tests.modelsets import make_model_set

    cz = Colorizer(make_model_set(tmp_path, categories=(), head="regression"))
    r = cz.colorize(photo, category="dog")
    assert r.models_used == [UNIVERSAL] and r.notes
    assert r.rgb.shape == photo.shape
    assert cz.colorize(photo, strength=0.0).rgb.std(axis=-1).max() < 2 / 255


# --------------------------------------------------------------------------- the model store


def test_missing_manifest_is_a_helpful_error(tmp_path: Path) -> None:
    with pytest.raises(ModelStoreError) as err:
        ModelStore(tmp_path)
    msg = str(err.value)
    assert "no trained models" in msg and str(tmp_path) in msg and "train" in msg
    with pytest.raises(ModelStoreError, match="no trained models"):
        _ = Colorizer(tmp_path / "nowhere").info


def test_inconsistent_manifests_are_refused(tmp_path: Path, models_dir: Path) -> None:
    manifest = json.loads((models_dir / "manifest.json").read_text())
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ModelStoreError, match="cannot read"):
        ModelStore(tmp_path)
    (tmp_path / "manifest.json").write_text(
        json.dumps({**manifest, "categories": list(reversed(CATEGORIES))}))
    with pytest.raises(ModelStoreError, match="category list"):
        ModelStore(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))  # files are elsewhere
    store = ModelStore(tmp_path)
    with pytest.raises(ModelStoreError, match="missing"):
        store.encoder()
    with pytest.raises(ModelStoreError, match="architecture"):
        store.colorizer_info("nope")


def test_store_loads_each_model_once(models_dir: Path) -> None:
    store = ModelStore(models_dir)
    assert store.input_size == 64
    assert store.colorizer("dog") is store.colorizer("dog")
    assert store.encoder() is store.encoder()
    assert store.route("christmas").fallback and store.route("dog").model == "dog"


# --------------------------------------------------------------------------- none of the categories


def test_none_mass_routes_to_the_universal_model(cz: Colorizer, photo: np.ndarray) -> None:
    a = _analysis_with(cz, photo, {"city": 0.25, "house": 0.08})
    a.confidences = {c: p * 0.4 for c, p in a.confidences.items()}  # the rest is "none"
    a.none = 0.6
    used, weights, notes = cz.plan(a)
    # "none of them" (60 %) beats city (10 %): the category says so (issue 22: the
    # report named city for a photo 99.8 % general).
    assert used == "general"
    assert cz.render(a).general == pytest.approx(0.6)
    # house (0.4 x 0.08) is below the soft-routing floor: city and "none" share the weight.
    assert weights == pytest.approx({UNIVERSAL: 0.6 / 0.7, "city": 0.1 / 0.7})
    assert sum(weights.values()) == pytest.approx(1.0)
    assert any("none of the kinds of scene Tinct knows" in n for n in notes)
    hard = cz.render(a, routing="hard")
    assert hard.models_used == [UNIVERSAL] and hard.weights == {UNIVERSAL: 1.0}
    # Chosen by hand, the category's model is used whatever "none" says.
    assert cz.render(a, category="city").models_used == ["city"]


def test_small_none_mass_blends_in_quietly(cz: Colorizer, photo: np.ndarray) -> None:
    a = _analysis_with(cz, photo, {"dog": 0.85})
    a.confidences = {c: p * 0.9 for c, p in a.confidences.items()}
    a.none = 0.1
    _, weights, notes = cz.plan(a)
    assert max(weights, key=weights.__getitem__) == "dog"
    assert weights[UNIVERSAL] == pytest.approx(0.1 / (0.9 * 0.85 + 0.1))
    assert not any("none" in n for n in notes)
    assert cz.render(a, routing="hard").models_used == ["dog"]
    a.none = 0.0  # a classifier without the output: routing as before
    assert UNIVERSAL not in cz.plan(a)[1]


def test_a_classifier_with_a_none_output_fills_analysis_none(tmp_path: Path,
                                                             photo: np.ndarray) -> None:
    from tests.modelsets import make_model_set

    cz21 = Colorizer(make_model_set(tmp_path / "m", categories=("dog",), none_output=True))
    a = cz21.analyze(photo)
    assert list(a.confidences) == list(CATEGORIES)
    assert 0.0 < a.none < 1.0
    assert sum(a.confidences.values()) + a.none == pytest.approx(1.0, abs=1e-5)
    r = cz21.colorize(photo)
    assert UNIVERSAL in r.weights and sum(r.weights.values()) == pytest.approx(1.0)
    assert r.general == pytest.approx(a.none)  # the report's general share
    assert r.category == ("general" if a.none > max(a.confidences.values())
                          else a.top_category)


@pytest.mark.parametrize("change, where", [
    (lambda m: m["colorizers"][next(iter(m["colorizers"]))]["models"].update(
        dog=[{"file": "x.keras"}]), "models.dog must be an object"),
    (lambda m: m["colorizers"][next(iter(m["colorizers"]))]["models"].update(
        dog={"tflite": "x.tflite"}), "models.dog.file must be a file name"),
    (lambda m: m["encoder"].update(tflite=123), "encoder.tflite must be a file name, not 123"),
    (lambda m: m.update(classifier=["classifier.keras"]), "classifier must be an object"),
    (lambda m: m["colorizers"].update(cubist=[1]), "colorizers.cubist must be an object"),
    (lambda m: m.update(input_size="big"), "input_size must be a positive whole number"),
    (lambda m: m.update(categories=123), "category list"),
])
def test_a_manifest_of_wrong_types_names_itself_and_the_entry(
        capsys, tmp_path: Path, models_dir: Path, change, where: str) -> None:
    """Issue 22: an entry without 'file', a list where an object belongs or 'tflite': 123
    gave a traceback; now exit 3 with a message naming the manifest and the entry."""
    import shutil

    from core import cli

    root = shutil.copytree(models_dir, tmp_path / "models")
    manifest = json.loads((root / "manifest.json").read_text())
    change(manifest)
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelStoreError, match="manifest") as err:
        ModelStore(root)
    assert str(root / "manifest.json") in str(err.value) and where in str(err.value)
    photo = tmp_path / "a.png"
    import cv2

    cv2.imwrite(str(photo), np.full((8, 8), 99, np.uint8))
    code = cli.main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--models", str(root)])
    err_text = capsys.readouterr().err
    assert code == 3 and where in err_text and "manifest.json" in err_text
