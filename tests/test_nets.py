"""The networks: the paper's Fig. 3 colorizer, Tinct's decoder and its
rebalanced loss, and the classifier head (pooled for training, maps for use)."""

from __future__ import annotations

import numpy as np
import pytest

from core import lab
from core.backend import keras
from core.nets import classifier as clf
from core.nets.decoder import (
    FEATURE_CHANNELS,
    build_decoder,
    class_rebalance_weights,
    rebalanced_bins_loss,
)
from core.nets.paper import PARAMETERS, build_paper_colorizer

Q = len(lab.ab_bins())


def _features(rng: np.random.Generator, h: int, w: int, batch: int = 1) -> list[np.ndarray]:
    """Random encoder features for an h x w input (strides 4, 8, 16, 32)."""
    return [
        rng.standard_normal((batch, h // s, w // s, c)).astype(np.float32)
        for s, c in zip((4, 8, 16, 32), FEATURE_CHANNELS)
    ]


# --------------------------------------------------------------------------- paper


@pytest.fixture(scope="module")
def paper():
    return build_paper_colorizer()


def test_paper_network_matches_the_paper(paper) -> None:
    k = keras()
    assert paper.count_params() == 3_892_194 == PARAMETERS
    assert tuple(paper.input_shape) == (None, 256, 256, 1)
    assert tuple(paper.output_shape) == (None, 256, 256, 2)
    convs = [layer for layer in paper.layers if isinstance(layer, k.layers.Conv2D)]
    assert len(convs) == 12
    assert all(c.kernel_size == (3, 3) for c in convs)
    pools = [layer for layer in paper.layers
             if "pool" in type(layer).__name__.lower()]
    assert pools == []
    # Down-sampling is done by stride-2 convolutions instead.
    assert sum(c.strides == (2, 2) for c in convs) == 3


def test_paper_output_is_in_the_ab_range(paper) -> None:
    x = np.random.default_rng(0).random((1, 256, 256, 1), np.float32)
    y = np.asarray(paper.predict_on_batch(x))
    assert y.shape == (1, 256, 256, 2)
    assert np.abs(y).max() <= 1.0  # tanh: ab / AB_SCALE


# --------------------------------------------------------------------------- decoder


@pytest.fixture(scope="module")
def decoder():
    return build_decoder()


def test_default_decoder_is_small(decoder) -> None:
    n = decoder.count_params()
    assert n * 4 <= 3 * 1024 * 1024, f"{n} parameters = {n * 4 / 2**20:.2f} MiB"
    # The whole point: much smaller than the paper's network.
    assert n < PARAMETERS / 4


def test_decoder_output_shape_for_256_input(decoder) -> None:
    rng = np.random.default_rng(0)
    out = np.asarray(decoder.predict_on_batch(_features(rng, 256, 256, batch=2)))
    assert out.shape == (2, 64, 64, Q)
    assert np.isfinite(out).all()


@pytest.mark.parametrize("h,w", [(320, 192), (128, 128)])
def test_decoder_is_fully_convolutional(h: int, w: int) -> None:
    # A fresh model per size: Keras's bilinear UpSampling2D cannot be retraced
    # with unknown spatial dims, and the engine feeds each model one size only.
    dec = build_decoder(widths=(16, 16, 16, 16))
    out = np.asarray(dec.predict_on_batch(_features(np.random.default_rng(1), h, w)))
    assert out.shape == (1, h // 4, w // 4, Q)


def test_regression_head_outputs_scaled_ab() -> None:
    dec = build_decoder("regression", widths=(8, 8, 8, 8))
    out = np.asarray(dec.predict_on_batch(_features(np.random.default_rng(2), 64, 96)))
    assert out.shape == (1, 16, 24, 2)
    assert np.abs(out).max() <= 1.0


def test_unknown_head_is_refused() -> None:
    with pytest.raises(ValueError, match="head"):
        build_decoder("softmax")


# --------------------------------------------------------------------------- loss


def _logits_for(ab: np.ndarray, sigma: float = 8.0) -> np.ndarray:
    """A prediction: a distribution over the bins centred on the colour ``ab``."""
    d2 = ((ab[..., None, :] - lab.ab_bins()) ** 2).sum(-1)
    return (-d2 / (2 * sigma * sigma)).astype(np.float32)


def test_rebalanced_loss_prefers_the_right_colour() -> None:
    rng = np.random.default_rng(3)
    y_true = rng.uniform(-60, 60, (2, 4, 4, 2)).astype(np.float32)
    loss = rebalanced_bins_loss(np.ones(Q, np.float32))
    right = np.asarray(loss(y_true, _logits_for(y_true)))
    wrong = np.asarray(loss(y_true, _logits_for(-y_true + 30.0)))
    uniform = np.asarray(loss(y_true, np.zeros((2, 4, 4, Q), np.float32)))
    assert right.shape == (2,)  # one value per photo
    assert np.all(right < uniform) and np.all(uniform < wrong)
    assert np.all(right >= 0)


def test_rebalanced_loss_weighs_by_the_true_colour() -> None:
    y_true = np.full((1, 2, 2, 2), 40.0, np.float32)
    logits = np.zeros((1, 2, 2, Q), np.float32)
    base = float(np.asarray(rebalanced_bins_loss(np.ones(Q, np.float32))(y_true, logits))[0])
    doubled = float(np.asarray(rebalanced_bins_loss(np.full(Q, 2.0, np.float32))(y_true,
                                                                                 logits))[0])
    assert doubled == pytest.approx(2 * base, rel=1e-5)


def test_class_rebalance_weights_mean_one_under_the_prior() -> None:
    # A broad colour distribution: the prior's smoothing hardly changes it.
    samples = np.random.default_rng(4).normal(0, 30, (20000, 2)).astype(np.float32)
    w = class_rebalance_weights(samples)
    assert w.shape == (Q,) and w.dtype == np.float32 and np.all(w > 0)
    bins = lab.ab_bins()
    nearest = np.argmin(((samples[:, None] - bins[None]) ** 2).sum(-1), axis=1)
    assert w[nearest].mean() == pytest.approx(1.0, abs=0.05)


def test_rare_colours_weigh_more() -> None:
    rng = np.random.default_rng(5)
    # Photos are mostly desaturated: lots of near-gray ab, a few saturated blues.
    common = rng.normal(0, 4, (5000, 2))
    rare = rng.normal((-10, -60), 3, (50, 2))
    w = class_rebalance_weights(np.concatenate([common, rare]).astype(np.float32))
    bins = lab.ab_bins()
    gray = np.argmin((bins**2).sum(-1))
    blue = np.argmin(((bins - (-10, -60)) ** 2).sum(-1))
    far = np.argmin(((bins - (80, 80)) ** 2).sum(-1))  # never seen
    assert w[gray] < w[blue] < w[far]
    assert w.max() / w.min() > 5  # a real rebalancing, not a nudge


def test_uniform_colours_weigh_the_same() -> None:
    w = class_rebalance_weights(np.repeat(lab.ab_bins(), 20, axis=0))
    interior = np.all(np.abs(lab.ab_bins()) <= 60, axis=1)  # border bins smooth less
    assert w[interior].std() / w[interior].mean() < 0.1


# --------------------------------------------------------------------------- classifier


def test_head_from_pooled_gives_the_same_probabilities() -> None:
    rng = np.random.default_rng(5)
    channels, classes = 32, 20
    pooled = clf.build_pooled_head(channels=channels, num_classes=classes, dropout=0.4)
    # Non-trivial weights everywhere, BN statistics included.
    pooled.set_weights([
        (rng.uniform(0.5, 2.0, v.shape) if "variance" in v.path else rng.normal(0, 0.5, v.shape))
        .astype(np.float32)
        for v in pooled.weights
    ])
    head = clf.head_from_pooled(pooled)
    assert head.get_layer("dropout").rate == pytest.approx(0.4)
    maps = rng.standard_normal((3, 7, 5, channels)).astype(np.float32)
    p_maps = np.asarray(head.predict_on_batch(maps))
    p_pooled = np.asarray(pooled.predict_on_batch(maps.mean(axis=(1, 2))))
    assert p_maps.shape == (3, classes)
    np.testing.assert_allclose(p_maps, p_pooled, atol=1e-5)
    np.testing.assert_allclose(p_maps.sum(-1), 1.0, atol=1e-5)
    assert np.ptp(p_maps) > 1e-3  # not a constant output


def test_classifier_head_works_on_any_map_size() -> None:
    head = clf.build_head(channels=16)
    for h, w in ((1, 1), (8, 8), (5, 11)):
        p = np.asarray(head.predict_on_batch(np.ones((1, h, w, 16), np.float32)))
        assert p.shape == (1, 20)
        assert p.sum() == pytest.approx(1.0, abs=1e-5)
