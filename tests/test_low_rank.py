"""Low-rank stand-ins for attention (issue 9 §3): exact at full rank, a sharp threshold at r = N for
the construction, Performer features that estimate the softmax kernel, thresholds decided on CIs."""

import numpy as np
import pytest

from commlab import InvalidParameter
from commlab.figures.plot import make_figure
from commlab.models.construction import build_hop_transformer
from commlab.models.low_rank import _performer, low_rank_predict, rank_grid, rank_sweep, threshold
from commlab.models.ops import causal_mask, masked_softmax
from commlab.models.transformer import random_transformer
from commlab.problems.pointer_chasing import PointerChasing
from reductions.pointer_chasing import encode


def test_full_rank_svd_is_the_model():
    model = random_transformer(5, 2, seed=3)
    x = np.random.default_rng(0).integers(0, 5, size=(6, 20))
    assert np.array_equal(low_rank_predict(model, x, rank=21), model.predict(x))


def test_the_construction_needs_rank_n():
    """Layer 1's attention (each position reads the one before) has rank N: every instance is
    solved at r = N and none at r = N − 1."""
    enc = encode(PointerChasing.random(4, 4, 30, seed=1))
    n = enc.tokens.shape[1]
    model = build_hop_transformer(4, n, enc.alphabet).model
    right = [np.mean(low_rank_predict(model, enc.tokens, r)[:, -1] == enc.answer) for r in (n - 1, n)]
    assert right == [0.0, 1.0]


def test_performer_features_estimate_the_softmax_kernel():
    rng = np.random.default_rng(2)
    q, k = rng.normal(0, 0.3, size=(1, 12, 3)), rng.normal(0, 0.3, size=(1, 12, 3))
    exact = masked_softmax(random_transformer(2, 1).arith, q @ k.transpose(0, 2, 1), causal_mask(12))
    estimate = _performer(q, k, 1.0, 20000, np.random.default_rng(0))
    assert np.allclose(estimate, exact, atol=0.02) and np.allclose(estimate.sum(axis=-1), 1)
    assert np.all(estimate[0][~causal_mask(12)] == 0)


def test_performer_cannot_follow_the_construction():
    enc = encode(PointerChasing.random(4, 4, 20, seed=2))
    model = build_hop_transformer(4, enc.tokens.shape[1], enc.alphabet).model
    assert np.mean(low_rank_predict(model, enc.tokens, 512, "performer")[:, -1] == enc.answer) == 0.0


def test_threshold_needs_the_interval_from_there_on():
    assert threshold([1, 2, 3], [40, 40, 40], 40) == 1
    assert threshold([1, 2, 3], [40, 20, 40], 40) == 3  # a dip at r = 2: r = 1 does not count
    assert threshold([1, 2, 3], [40, 40, 26], 40) is None  # 26/40 = 0.65: CI below 2/3 at the top
    assert rank_grid(3) == [1, 2, 3]


def test_sweep_reports_thresholds_and_the_bound():
    sweep = rank_sweep((8,), (2,), trials=12, performer_ranks=(64,))
    svd, performer = sweep["curves"]
    assert svd["n"] == 33 and svd["threshold"] == 33 and performer["threshold"] is None
    # The kernel bound m·r·H·p ≥ c·N/(2k⁶) (docs/theory.md §5, §6) solved for r at c = 1.
    assert svd["bound_rank"] == pytest.approx(33 / (2 * 8**6 * svd["width"] * 64))
    assert svd["layers"] == 5 < 8


def test_bad_arguments():
    model = random_transformer(3, 1)
    with pytest.raises(InvalidParameter, match="method"):
        low_rank_predict(model, np.zeros((1, 3), dtype=int), 2, "nystrom")
    with pytest.raises(InvalidParameter, match="rank"):
        low_rank_predict(model, np.zeros((1, 3), dtype=int), 0)


def test_depth_figure_is_exact_from_the_needed_depth_on():
    _, data = make_figure("depth", k_values=(3, 5), n=48, alphabet=3, max_layers=6, trials=30)
    for row in data["rows"]:
        for layers, acc, every in zip(row["layers"], row["accuracy"], row["every_position"], strict=True):
            if layers >= row["needed_layers"]:
                assert acc == 1.0 and every == 1.0
            else:
                assert every < 1.0
    assert [row["floor_layers"] for row in data["rows"]] == [3, 4]
