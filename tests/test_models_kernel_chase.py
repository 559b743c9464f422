"""The indicator-factorised kernel-attention chaser: exact at rank q, and below that right exactly
when an independent rule (every pointer covered by the rank, or the answer is V¹) says so; compiled
bit for bit with R = k and s = r·(q + 1)·p."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commlab import InvalidParameter
from commlab.models.kernel_chase import kernel_chase_model
from commlab.problems import PointerChasing, hop_k
from reductions.experiment import reduce_on_pointer_chasing
from reductions.kernel import kernel_solver_curve
from reductions.pointer_chasing import encode


def expected_last_answer(tokens: np.ndarray, q: int, k: int, rank: int) -> np.ndarray:
    """The rule, from hop_k alone: hop ℓ looks up the pointer hop_{ℓ−1}(X)_N, found only if its
    index (mod q) is below the rank; a lost search answers V¹ (token 2q)."""
    covered = np.ones(len(tokens), dtype=bool)
    for hop in range(1, k + 1):
        covered &= hop_k(tokens, hop - 1)[:, -1] % q < rank
    return np.where(covered, hop_k(tokens, k)[:, -1], 2 * q)


@settings(max_examples=40, deadline=None)
@given(
    q=st.sampled_from([2, 4, 6, 8, 12]),
    k=st.integers(1, 5),
    rank_fraction=st.floats(0, 1),
    seed=st.integers(0, 2**32 - 1),
)
def test_the_last_prediction_follows_the_coverage_rule(q, k, rank_fraction, seed):
    """On instances with random start vertices too (the encoding relabels V_1 so the start is 0)."""
    rank = 1 + round(rank_fraction * (q - 1))
    instances = PointerChasing.random(q, k, 30, seed)
    starts = np.random.default_rng(seed).integers(0, q, size=30)
    encoded = encode(PointerChasing(instances.edges, starts.astype(instances.start.dtype), instances.in_second))
    predicted = kernel_chase_model(q, k, rank).predict(encoded.tokens)[:, -1]
    assert np.array_equal(predicted, expected_last_answer(encoded.tokens, q, k, rank))


@pytest.mark.parametrize(("q", "k"), [(2, 1), (2, 3), (8, 1), (8, 4), (16, 6)])
def test_full_rank_is_always_right(q, k):
    encoded = encode(PointerChasing.random(q, k, 200, 7))
    predicted = kernel_chase_model(q, k).predict(encoded.tokens)[:, -1]
    assert np.array_equal(predicted, encoded.answer)
    assert np.array_equal(predicted, hop_k(encoded.tokens, k)[:, -1])


def test_a_rank_short_of_q_is_wrong_somewhere():
    """Not a constant model: at r = q − 1 some instance loses its pointer and answers V¹ wrongly."""
    encoded = encode(PointerChasing.random(8, 3, 300, 1))
    predicted = kernel_chase_model(8, 3, 7).predict(encoded.tokens)[:, -1]
    wrong = predicted != hop_k(encoded.tokens, 3)[:, -1]
    assert wrong.any() and (predicted[wrong] == 16).all()


@pytest.mark.parametrize("fmt", ["float32", "float16", "bfloat16", "fixed16.8"])
@pytest.mark.parametrize(("q", "k", "rank"), [(2, 1, 1), (4, 2, 2), (6, 3, 6)])
def test_compiles_bit_for_bit_with_k_rounds_in_every_format(fmt, q, k, rank):
    """Each player embeds its block at its own positions: an offset wrong by one would mismatch."""
    report = reduce_on_pointer_chasing(kernel_chase_model(q, k, rank, fmt), k=k, q=q, trials=40, seed=3)
    bits = int(fmt.removeprefix("float").removeprefix("bfloat").removeprefix("fixed").split(".")[0])
    assert report.reduction == "kernel" and report.rounds == k and report.mismatches == 0
    if k > 1:  # with one player nobody posts a state, only the answer
        assert report.bits_per_message == report.declared_bits_per_message == rank * (q + 1) * bits
    encoded = encode(PointerChasing.random(q, k, 40, 3))
    expected = expected_last_answer(encoded.tokens, q, k, rank)
    assert report.accuracy == np.mean(expected == encoded.answer)


def test_the_solver_curve_rises_to_one_at_rank_q():
    curve = kernel_solver_curve(8, 3, [2, 4, 8], trials=200, seed=0)
    assert curve.mismatches == [0, 0, 0] and curve.rounds == [3, 3, 3]
    assert curve.bits_per_message == [r * 9 * 32 for r in (2, 4, 8)]
    assert curve.accuracy[-1] == 1.0 and curve.accuracy_ci[0][1] < 2 / 3 < curve.accuracy_ci[2][0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((8, 3, 0), "rank must be an integer in 1..q = 1..8"),
        ((8, 3, 9), "got 9"),
        ((8, 3, 2.5), "got 2.5"),
        ((7, 3, 2), "q must be an even integer"),
        ((8, 0, 2), "k must be an integer >= 1"),
        ((8, 3, 2, "fixed8.0"), "format fixed8.0 cannot hold the values 0, 0.5, 1, 1.5"),
        ((8, 3, 2, "fixed2.1"), "format fixed2.1 cannot hold"),
        ((8, 3, 2, "uint4"), "format uint4 cannot hold"),
    ],
)
def test_bad_values_are_refused_naming_them(args, message):
    """Formats that round ½ or 3/2 away would answer a non-answer token or miss at r = q."""
    with pytest.raises(InvalidParameter, match=message):
        kernel_chase_model(*args)


@settings(max_examples=20, deadline=None)
@given(q=st.sampled_from([2, 4, 10]), k=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_the_positional_tag_names_the_source_before_each_target(q, k, seed):
    """The premise of the positional embedding, checked on the encoding itself: at the target
    position 2i + 1 of every block the previous token (the source) has index i mod q."""
    tokens = encode(PointerChasing.random(q, k, 20, seed)).tokens
    targets = np.arange(1, 2 * k * q, 2)
    assert (tokens[:, targets - 1] % q == (targets % (2 * q)) // 2).all()


def test_sequences_longer_than_the_encoding_are_refused():
    model = kernel_chase_model(4, 2)
    with pytest.raises(InvalidParameter, match="takes sequences of at most 17 tokens"):
        model.predict(np.zeros((1, 18), dtype=np.int64))


def closed_form_success(q: int, k: int, rank: int) -> float:
    """ρ + (1 − ρ)/2 with ρ = (r/q)^(k−1): the pointers after hop 1 are uniform and independent
    (random bijections), and a lost search's V¹ is right half the time."""
    covered = (rank / q) ** (k - 1)
    return covered + (1 - covered) / 2


def test_the_readme_success_rates_are_the_closed_form():
    assert [round(closed_form_success(64, 4, r), 2) for r in (16, 32, 48, 64)] == [0.51, 0.56, 0.71, 1.0]


@pytest.mark.parametrize(("q", "k", "rank"), [(8, 3, 4), (8, 2, 2), (16, 4, 12)])
def test_measured_success_agrees_with_the_closed_form(q, k, rank):
    curve = kernel_solver_curve(q, k, [rank], trials=1500, seed=11)
    low, high = curve.accuracy_ci[0]
    assert low <= closed_form_success(q, k, rank) <= high
