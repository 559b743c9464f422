"""The softmax transformer: causal, its attention layer row-local, weights round-trip through .npz."""

import numpy as np
import pytest

from commlab import InvalidParameter
from commlab.models.transformer import load_transformer, random_transformer


def test_causal_prefix_outputs_ignore_later_tokens():
    model = random_transformer(alphabet=6, layers=3, seed=1)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, size=(5, 30))
    y = x.copy()
    y[:, 20:] = rng.integers(0, 6, size=(5, 10))
    a, b = model.forward(x, keep=True), model.forward(y, keep=True)
    for sa, sb in zip(a.streams, b.streams, strict=True):
        assert np.array_equal(sa[:, :21], sb[:, :21])  # rows 0..20 = BOS and tokens 1..20
    assert not np.array_equal(a.streams[-1][:, 21:], b.streams[-1][:, 21:])


def test_a_row_needs_only_earlier_keys_and_values():
    """What the attention protocol relies on: zeroing every later row of x, q, k, v leaves a row of
    the layer's output unchanged, bit for bit."""
    model = random_transformer(alphabet=4, layers=1, seed=2)
    layer, a = model.layers[0], model.arith
    x = model.embed(np.random.default_rng(1).integers(0, 4, size=(3, 25)))
    q, k, v = layer.project(a, x)
    full = layer.attend(a, x, q, k, v)
    for end in (1, 7, 26):
        cut = [np.where(np.arange(26)[None, :, None] < end, m, 0.0) for m in (x, q, k, v)]
        assert np.array_equal(layer.attend(a, *cut)[:, :end], full[:, :end])


def test_batch_chunks_do_not_change_results(monkeypatch):
    model = random_transformer(alphabet=5, layers=2, seed=3)
    x = np.random.default_rng(2).integers(0, 5, size=(9, 40))
    whole = model.forward(x, keep=True)
    monkeypatch.setattr("commlab.models.transformer.CHUNK_ELEMENTS", 41 * 41 * 2)
    assert len(model.chunks(9, 41)) == 5
    parts = model.forward(x, keep=True)
    assert np.array_equal(whole.predictions, parts.predictions)
    assert all(np.array_equal(s, t) for s, t in zip(whole.streams, parts.streams, strict=True))


def test_save_load_round_trip(tmp_path):
    model = random_transformer(alphabet=5, layers=2, seed=4)
    model.save(tmp_path / "m.npz")
    again = load_transformer(tmp_path / "m.npz")
    x = np.random.default_rng(3).integers(0, 5, size=(4, 20))
    assert np.array_equal(model.predict(x), again.predict(x))
    assert again.info == {"seed": 4} and again.context == model.context


def test_load_reports_every_problem(tmp_path):
    model = random_transformer(alphabet=3, layers=2, seed=0)
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as data:
        arrays = dict(data)
    del arrays["layers.1.key"]
    arrays["readout"] = arrays["readout"][:, :2]
    arrays["surprise"] = np.zeros(1)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(
        InvalidParameter, match="readout has shape.*missing layers.1.key.*unexpected array surprise"
    ):
        load_transformer(tmp_path / "bad.npz")
    with pytest.raises(InvalidParameter, match="cannot read"):
        load_transformer(tmp_path / "absent.npz")


def test_bad_tokens_and_parameters():
    model = random_transformer(alphabet=3, layers=1, context=4)
    with pytest.raises(InvalidParameter, match="shape"):
        model.predict(np.zeros(3, dtype=int))
    with pytest.raises(InvalidParameter, match="context of 4"):
        model.predict(np.zeros((1, 5), dtype=int))
    with pytest.raises(InvalidParameter, match=">= 1"):
        random_transformer(alphabet=0, layers=1)
