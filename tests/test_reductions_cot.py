"""The chain-of-thought model and its reduction: the streamed queries are the dense softmax, the
protocol is bit-exact in every format with N_CoT + 1 rounds and s = H·(m+2)·p, and formats that
cannot hold the normaliser are refused."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commlab import InvalidParameter, UnsupportedModel, run
from commlab.models.cot import random_cot_model
from commlab.models.kernel import random_kernel_model
from commlab.problems.pointer_chasing import PointerChasing
from reductions import compile_to_protocol, get_reduction
from reductions.conformance import check_reduction
from reductions.cot import reduce_cot
from reductions.pointer_chasing import encode

FORMATS = ["float64", "float32", "float16", "bfloat16", "fixed16.8"]


@settings(max_examples=25, deadline=None)
@given(
    cot=st.integers(0, 3),
    heads=st.integers(1, 3),
    width=st.integers(1, 4),
    n=st.integers(1, 12),
    seed=st.integers(0, 999),
)
def test_streamed_queries_agree_with_the_dense_softmax_in_float64(cot, heads, width, n, seed):
    model = random_cot_model(cot, heads, width, 5, "float64", seed=seed, context=n + cot + 1)
    tokens = np.random.default_rng(seed).integers(0, 5, size=(3, n))
    forward = model.forward(tokens, record=[n + c for c in range(cot + 1)])
    sequence = np.concatenate([tokens, np.full((3, 1), model.start), forward.tokens[:, :-1]], axis=1)
    dense = model.dense(sequence)
    for c in range(cot + 1):
        _, total, numerator = forward.recorded[c][n + c]
        np.testing.assert_allclose(numerator / total[..., None], dense[:, n + c], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("cot", [0, 2])
def test_conformance_in_every_format(fmt, cot):
    seeds = iter(range(1000))
    report = check_reduction(
        "cot",
        lambda alphabet, rng: random_cot_model(cot, 2, 3, alphabet, fmt, seed=next(seeds)),
        seed=len(fmt) + cot,
        audit=(fmt == "float32" and cot == 2),  # one audit: each spawns a process per player
    )
    assert report.cases == 6 and report.declared_bits == report.measured_bits
    assert report.rounds == [cot + 1] * 6


def test_messages_are_the_streamed_softmax_and_p1_posts_the_thought():
    model = random_cot_model(2, 2, 3, 10, "float32", seed=4)
    enc = encode(PointerChasing.random(4, 3, 6, seed=2))
    protocol = compile_to_protocol(model, enc.blocks)
    assert protocol.spec.name == "cot" and protocol.spec.rounds == 3
    result = run(protocol, enc.player_inputs(), truth=enc.answer)
    forward = model.forward(enc.tokens, record=[7, 15])
    running, total, numerator = forward.recorded[1][15]  # round 2 = query 1; P_2 holds [8, 16)
    expected = np.concatenate([protocol.encode_state((running, total, numerator))], axis=1)
    np.testing.assert_array_equal(result.transcript.message(2, 2).bits, expected)
    assert (total >= 1).all() and numerator.shape == (6, 2, 3)
    posted = model.token_format.from_bits(result.transcript.message(1, 1).bits)
    np.testing.assert_array_equal(posted, forward.tokens[:, 0])
    assert np.array_equal(result.output, forward.predictions[:, -1])
    assert result.bits_per_message == get_reduction("cot").bits_per_message(model, 3) == 2 * 5 * 32


def test_one_player_posts_only_tokens():
    model = random_cot_model(3, 2, 8, 6, seed=0)
    protocol = compile_to_protocol(model, [(0, 9)])
    assert protocol.spec.max_bits == max(model.token_format.bits, model.output_format.bits) == 3


def test_formats_that_cannot_hold_the_normaliser_are_refused():
    model = random_cot_model(3, 1, 2, 6, "fixed12.6", seed=0)
    with pytest.raises(
        InvalidParameter, match="fixed12.6 cannot hold the softmax normaliser of 40 positions"
    ):
        compile_to_protocol(model, [(0, 20), (20, 36)])
    with pytest.raises(InvalidParameter, match="fixed12.6 cannot hold"):
        model.forward(np.zeros((1, 36), dtype=int))
    compile_to_protocol(model, [(0, 10), (10, 20)])  # 24 positions fit below 32
    with pytest.raises(InvalidParameter, match="exceed the model's context of 8"):
        random_cot_model(3, 1, 2, 6, context=8).forward(np.zeros((1, 5), dtype=int))


def test_cot_refuses_other_models_and_bad_shapes():
    with pytest.raises(UnsupportedModel, match="compiles a ChainOfThought model, got SequenceModel"):
        compile_to_protocol(random_kernel_model(1, 1, 2, 2, 4), [(0, 3)], "cot")
    with pytest.raises(InvalidParameter, match="cot_tokens must be an integer >= 0, got -1"):
        random_cot_model(-1, 1, 2, 4)


def test_reduce_cot_report():
    report = reduce_cot(cot_tokens=2, heads=2, width=4, q=4, trials=20)
    assert (report.k, report.rounds, report.mismatches) == (4, 3, 0)
    assert report.bits_per_message == report.declared_bits_per_message == 2 * 6 * 32


@settings(max_examples=30, deadline=None)
@given(hops=st.integers(0, 3), n=st.integers(2, 25), alphabet=st.integers(2, 5), seed=st.integers(0, 999))
def test_the_hop_following_model_answers_hop_h_with_2h_tokens(hops, n, alphabet, seed):
    from commlab.models.cot import hop_cot_model
    from commlab.problems.hop import hop_k

    tokens = np.random.default_rng(seed).integers(0, alphabet, size=(20, n))
    model = hop_cot_model(alphabet, n + 2 * hops + 1, 2 * hops)
    truth, predicted = hop_k(tokens, hops)[:, -1], model.predict(tokens)
    exists = truth >= 0  # the model assumes the hops exist (no ⊥ detection)
    np.testing.assert_array_equal(predicted[exists], truth[exists])


def test_cot_solver_curve_jumps_exactly_at_two_tokens_per_hop():
    from reductions.cot import cot_solver_curve

    curve = cot_solver_curve(4, 3, [4, 5, 6, 7], trials=30)
    assert curve.accuracy == [0.0, 0.0, 1.0, 0.0] and curve.mismatches == [0] * 4
    assert curve.rounds == [5, 6, 7, 8] and set(curve.bits_per_message) == {4 * 32}
    with pytest.raises(InvalidParameter, match="needs .* embedding numbers"):
        cot_solver_curve(64, 4, [8], trials=1)
