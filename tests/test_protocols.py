"""Reference protocols against the true answers: correctness, bits and rounds, edge cases."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commlab import InvalidParameter, run
from commlab.io.codecs import bits_for
from commlab.problems.pointer_chasing import PointerChasing
from commlab.protocols import Sampling, make_protocol, sample_size, simulate

qs = st.integers(1, 40).map(lambda h: 2 * h)


@settings(max_examples=40)
@given(q=qs, k=st.integers(1, 9), extra=st.integers(0, 2), seed=st.integers(0, 10**6))
def test_chase_with_k_rounds_is_always_right_with_log_q_bits(q, k, extra, seed):
    inst = PointerChasing.random(q, k, 8, seed)
    result = run(make_protocol("chase", q, k, rounds=k + extra), inst.player_inputs(), truth=inst.answer())
    assert result.success == 1.0
    assert result.bits_per_message == (bits_for(q) if k > 1 else 1)
    # one vertex per hop, then the answer bit
    expected_total = k * bits_for(q) + 1 if k > 1 else 1
    assert (result.total_bits_per_instance == expected_total).all()


@settings(max_examples=40)
@given(q=qs, k=st.integers(1, 9), seed=st.integers(0, 10**6))
def test_broadcast_is_always_right_in_one_round(q, k, seed):
    inst = PointerChasing.random(q, k, 8, seed)
    result = run(make_protocol("broadcast", q, k), inst.player_inputs(), truth=inst.answer())
    assert result.success == 1.0 and result.spec.rounds == 1
    assert result.bits_per_message == (q * bits_for(q) if k > 1 else 1)
    assert result.spec.max_bits == max(q * bits_for(q), 1)


def test_chase_messages_are_the_path():
    inst = PointerChasing.random(16, 4, 3, seed=2)
    result = run(make_protocol("chase", 16, 4), inst.player_inputs())
    path = inst.path()
    for r in range(1, 4):
        posted = result.transcript.message(r, r)
        assert [int(posted.bitstring(b), 2) for b in range(3)] == path[:, r].tolist()


def test_chase_short_of_rounds_guesses_about_half():
    result = simulate("chase", q=64, k=6, trials=4000, seed=0, rounds=5)
    low, high = result.success_ci
    assert low < 0.5 < high


def test_q2_k1_edge_case():
    for name in ("chase", "broadcast"):
        result = simulate(name, q=2, k=1, trials=200, seed=0)
        assert result.success == 1.0 and result.bits_per_message == 1


@settings(max_examples=25)
@given(q=st.integers(1, 30).map(lambda h: 2 * h), k=st.integers(2, 8), data=st.data())
def test_sampling_is_right_whenever_it_completes(q, k, data):
    m = data.draw(st.integers(1, q))
    rounds = data.draw(st.integers(1, k))
    seed = data.draw(st.integers(0, 1000))
    result = simulate("sampling", q=q, k=k, trials=30, seed=seed, m=m, rounds=rounds)
    protocol = Sampling(q, k, m=m, rounds=rounds)
    inst = PointerChasing.random(q, k, 30, seed)
    samples, _ = protocol.samples(__import__("commlab").PublicCoins(seed, 30))
    path = inst.path()
    free = (samples == path[:, 1:k, None]).any(axis=2).sum(axis=1)
    completed = k - free <= rounds
    assert np.array_equal(result.correct[completed], np.ones(completed.sum(), bool))
    assert result.extras["completed"] == completed.mean()
    assert result.bits_per_message <= m * bits_for(q)


def test_sampling_with_full_samples_is_always_right():
    result = simulate("sampling", q=20, k=5, trials=100, seed=0, m=20)
    assert result.success == 1.0 and result.extras["completed"] == 1.0


def test_sampling_incompletion_matches_theory():
    """THEORY.md §7: q = 1000, k = 10, m = 223 → incompletion (1 − m/q)^{k−1} ≈ 0.103."""
    result = simulate("sampling", q=1000, k=10, trials=4000, seed=0, m=223)
    low, high = result.extras["completed_ci"]
    predicted = result.extras["predicted_incompletion"]
    assert predicted == pytest.approx(0.1032, abs=1e-4)
    assert 1 - high <= predicted <= 1 - low
    assert result.bits_per_message == 2230


def test_sampling_parameters():
    assert sample_size(1000, 10, 0.1) == 256
    assert Sampling(1000, 10, delta=0.1).m == 256
    with pytest.raises(InvalidParameter, match="not both"):
        Sampling(10, 3, m=2, delta=0.1)
    with pytest.raises(InvalidParameter, match="k >= 2"):
        Sampling(10, 1)
    with pytest.raises(InvalidParameter, match="1..q"):
        Sampling(10, 3, m=11)
    with pytest.raises(InvalidParameter, match="delta"):
        Sampling(10, 3, delta=1.5)


def test_unknown_protocol_and_bad_rounds():
    with pytest.raises(InvalidParameter, match="unknown protocol 'nope'"):
        make_protocol("nope", 4, 2)
    with pytest.raises(InvalidParameter, match="rounds"):
        make_protocol("chase", 4, 2, rounds=0)
