"""The Longformer and its reduction: the gathered form is the dense masked softmax, the protocol is
bit-exact in every format, each player posts only its window edge and its own globals."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commlab import InvalidParameter, run
from commlab.io.codecs import number_format
from commlab.models.longformer import LongformerLayer, random_longformer_model
from commlab.problems.pointer_chasing import PointerChasing
from reductions import compile_to_protocol, get_reduction
from reductions.conformance import check_reduction
from reductions.longformer import reduce_longformer
from reductions.pointer_chasing import encode

FORMATS = ["float64", "float32", "float16", "bfloat16", "fixed16.8"]
F64 = number_format("float64")


@settings(max_examples=30, deadline=None)
@given(
    window=st.integers(1, 8),
    every=st.integers(1, 6),
    n=st.integers(1, 20),
    heads=st.integers(1, 2),
    seed=st.integers(0, 999),
)
def test_gathered_layer_agrees_with_the_dense_masked_softmax(window, every, n, heads, seed):
    rng = np.random.default_rng(seed)
    layer = LongformerLayer.random(heads * 3, heads, 3, window, every, F64, rng)
    x = rng.normal(size=(n, 2, heads * 3))
    gathered, _, _ = layer.run(x, 0, layer.initial_window(2), {})
    np.testing.assert_allclose(gathered, layer.dense(x), rtol=1e-9, atol=1e-9)


def test_blocks_change_nothing_but_what_is_recorded():
    model = random_longformer_model(2, 2, 3, 3, 4, 6, "float16", seed=2)
    tokens = np.random.default_rng(1).integers(0, 6, size=(4, 19))
    whole = model.forward(tokens).predictions
    assert np.array_equal(whole, model.forward(tokens, [(0, 1), (1, 9), (9, 10), (10, 19)]).predictions)


@pytest.mark.parametrize("fmt", FORMATS)
def test_conformance_in_every_format(fmt):
    seeds = iter(range(1000))
    report = check_reduction(
        "longformer",
        lambda alphabet, rng: random_longformer_model(2, 2, 2, 3, 4, alphabet, fmt, seed=next(seeds)),
        seed=len(fmt),
        audit=(fmt == "float32"),
    )
    assert report.cases == 6 and report.declared_bits == report.measured_bits and report.rounds == [2] * 6


def test_each_player_posts_its_window_and_only_its_own_globals():
    model = random_longformer_model(1, 1, 2, 3, 5, 10, "float32", seed=0)
    enc = encode(PointerChasing.random(4, 3, 5, seed=1))  # blocks [0, 8), [8, 16), [16, 25)
    protocol = compile_to_protocol(model, enc.blocks)
    result = run(protocol, enc.player_inputs(), truth=enc.answer)
    per_position = 2 * 1 * 2 * 32
    assert result.transcript.message(1, 3).bits.shape[1] == (2 + 1) * per_position  # global 4
    assert result.transcript.message(1, 2).bits.shape[1] == (2 + 2) * per_position  # globals 9, 14
    assert protocol.spec.max_bits == get_reduction("longformer").bits_per_message(model, 3, enc.blocks)
    window, own = model.forward(enc.tokens, enc.blocks).recorded[0][8, 16]
    assert sorted(own) == [9, 14] and window[0].shape == (5, 2, 1, 2)
    np.testing.assert_array_equal(result.transcript.message(1, 2).bits, protocol.encode_message(window, own))
    assert np.array_equal(result.output, model.predict(enc.tokens)[:, -1])


def test_s_needs_the_blocks_and_the_window_must_fit():
    model = random_longformer_model(1, 1, 2, 3, 5, 10)
    with pytest.raises(InvalidParameter, match="pass the blocks"):
        get_reduction("longformer").bits_per_message(model, 2)
    with pytest.raises(InvalidParameter, match="window 40 is longer than the sequence"):
        reduce_longformer(window=40, q=4, trials=2)
    with pytest.raises(InvalidParameter, match="global-every must be an integer >= 1, got 0"):
        random_longformer_model(1, 1, 2, 3, 0, 10)


def test_reduce_longformer_report():
    report = reduce_longformer(layers=2, heads=1, width=2, window=4, globals_every=8, q=8, trials=20)
    assert (report.k, report.rounds, report.mismatches) == (3, 2, 0)
    # blocks of 16 positions hold 2 globals each: (4 − 1 + 2)·2·1·2·32
    assert report.bits_per_message == report.declared_bits_per_message == 5 * 4 * 32


@pytest.mark.parametrize(("window", "every"), [(1, 1), (1, 7), (9, 1)])
def test_edge_windows_and_all_global_positions(window, every):
    """w = 1 carries no window (only globals travel); g = 1 makes every position global."""
    seeds = iter(range(1000))
    report = check_reduction(
        "longformer",
        lambda alphabet, rng: random_longformer_model(
            2, 1, 2, window, every, alphabet, "bfloat16", seed=next(seeds)
        ),
        audit=False,
    )
    assert report.declared_bits == report.measured_bits
