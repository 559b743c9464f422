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
    """docs/theory.md §7: q = 1000, k = 10, m = 223 → incompletion (1 − m/q)^{k−1} ≈ 0.103."""
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


# --- the indicator family (indicators, chunked, pipelined) ----------------------------------------

from fractions import Fraction  # noqa: E402

from commlab import PublicCoins, audit_isolation  # noqa: E402
from commlab.protocols import PROTOCOLS, Chunked, Indicators, Pipelined  # noqa: E402


def reference_indicator_chase(inst, rounds, t):
    """An independent, loop-by-loop reading of the indicator chase on one instance at a time: per
    instance, the value P_1 outputs where the answer is covered (None where P_h must guess) and
    whether that value is exact (its chain of lookups reaches the partition)."""
    k, q = inst.k, inst.q
    h = min(rounds, k)
    out = []
    for b in range(inst.batch):
        edges, part = inst.edges[b], inst.in_second[b]
        # posted[j][u] = (value, exact) of the latest chunk of P_j covering u, updated round by round
        posted = {j: {} for j in range(h + 1, k + 1)}
        for r in range(1, h + 1):
            for j in range(k, h, -1):
                for i in range(t):
                    u = ((r - 1) * t + i) % q
                    w = int(edges[j - 1, u])
                    if j == k:
                        posted[j][u] = (int(part[w]), True)
                    else:
                        posted[j][u] = posted[j + 1].get(w, (0, False))
        v = int(inst.start[b])
        for j in range(1, h + 1):
            v = int(edges[j - 1, v])
        if h == k:
            out.append((int(part[v]), True))
        else:
            out.append(posted[h + 1].get(v, (None, False)))
    return out


family = st.sampled_from(["indicators", "chunked", "pipelined"])


@settings(max_examples=60)
@given(name=family, q=st.integers(1, 12).map(lambda h: 2 * h), k=st.integers(1, 6), data=st.data())
def test_indicator_family_matches_an_independent_reference(name, q, k, data):
    cls = PROTOCOLS[name]
    valid = [r for r in range(1, k + 1) if cls.supports(q, k, r)]
    if name == "chunked" and k < 2 or not valid:
        return
    rounds = data.draw(st.sampled_from(valid))
    t = data.draw(st.integers(1, q))
    seed = data.draw(st.integers(0, 10**6))
    inst = PointerChasing.random(q, k, 12, seed)
    protocol = make_protocol(name, q, k, rounds=rounds, t=t)
    result = run(protocol, inst.player_inputs(), seed=seed, truth=inst.answer())
    expected = reference_indicator_chase(inst, rounds, t)
    for b, (value, exact) in enumerate(expected):
        if value is not None:  # covered: the protocol repeats the posted value
            assert result.output[b] == value
        if exact:
            assert result.correct[b]
    # message lengths are fixed by (round, player): the same on every instance
    lengths = result.transcript.lengths
    assert (lengths == lengths[:1]).all()
    assert result.bits_per_message <= protocol.spec.max_bits
    assert protocol.spec.max_bits == max(min(t, q) if k > rounds else 0, bits_for(q) if rounds >= 2 else 0, 1)


@settings(max_examples=40)
@given(q=qs, k=st.integers(1, 8), seed=st.integers(0, 10**6))
def test_indicators_and_chunked_with_default_chunks_are_always_right(q, k, seed):
    inst = PointerChasing.random(q, k, 8, seed)
    one = run(Indicators(q, k), inst.player_inputs(), truth=inst.answer())
    assert one.success == 1.0 and one.spec.rounds == 1
    assert one.spec.max_bits == (q if k > 1 else 1) and one.bits_per_message == one.spec.max_bits
    assert Indicators(q, k).exact_success() == 1
    if k >= 2:
        chunked = run(Chunked(q, k), inst.player_inputs(), truth=inst.answer())
        assert chunked.success == 1.0 and chunked.spec.rounds == k - 1
        expected_s = max(-(-q // (k - 1)), bits_for(q) if k >= 3 else 1)
        assert chunked.spec.max_bits == expected_s
        assert Chunked(q, k).exact_success() == 1


@pytest.mark.parametrize("q, k", [(2, 1), (2, 2), (2, 3), (4, 2), (6, 2)])
def test_indicator_family_edge_cases(q, k):
    inst = PointerChasing.random(q, k, 64, seed=5)
    for protocol in [Indicators(q, k)] + ([Chunked(q, k), Pipelined(q, k)] if k >= 2 else []):
        result = run(protocol, inst.player_inputs(), truth=inst.answer())
        assert result.success == 1.0, protocol.spec


def test_chunked_with_fewer_chunk_bits_succeeds_as_computed():
    """1/2 + min(1, (k−1)t/q)/2 exactly, and the engine's measured rate agrees within its interval."""
    for t in (1, 10, 30, 43):
        assert Chunked(128, 4, t=t).exact_success() == Fraction(1, 2) + min(1, Fraction(3 * t, 128)) / 2
    result = simulate("chunked", q=128, k=4, trials=6000, seed=0, t=10)
    low, high = result.success_ci
    assert low <= float(Fraction(1, 2) + Fraction(30, 256)) <= high
    assert result.bits_per_message == 10  # max(t, ⌈log₂ q⌉): chunks are the longest messages


@pytest.mark.parametrize(
    "name, q, k, options",
    [
        ("indicators", 64, 4, {"t": 50}),
        ("pipelined", 128, 4, {"rounds": 2, "t": 43}),
        ("pipelined", 64, 6, {"rounds": 3, "t": 30}),
    ],
)
def test_exact_success_agrees_with_the_engine(name, q, k, options):
    result = simulate(name, q=q, k=k, trials=6000, seed=1, **options)
    exact = float(make_protocol(name, q, k, **options).exact_success())
    low, high = result.success_ci
    assert low <= exact <= high and 0.5 < exact < 1


def test_indicators_with_partial_chunks_closed_form():
    assert Indicators(128, 4, t=89).exact_success() == Fraction(1, 2) + Fraction(89, 128) ** 3 / 2
    assert (
        Pipelined(128, 4, rounds=2, t=43).exact_success() == Fraction(1, 2) + 3 * Fraction(43, 128) ** 2 / 2
    )


@pytest.mark.parametrize(
    "name, options", [("indicators", {}), ("chunked", {}), ("pipelined", {"rounds": 2, "t": 3})]
)
def test_indicator_family_passes_the_isolation_audit(name, options):
    inst = PointerChasing.random(8, 4, 6, seed=3)
    audit_isolation(make_protocol(name, 8, 4, **options), inst.player_inputs(), seed=3)


def test_indicator_family_refusals():
    with pytest.raises(InvalidParameter, match="chunked needs k >= 2"):
        Chunked(8, 1)
    with pytest.raises(InvalidParameter, match="R = 1"):
        Indicators(8, 4, rounds=2)
    with pytest.raises(InvalidParameter, match="R = k − 1 = 3"):
        Chunked(8, 4, rounds=2)
    with pytest.raises(InvalidParameter, match=r"R in 1\.\.3"):
        Pipelined(8, 4, rounds=4)
    with pytest.raises(InvalidParameter, match="1..q"):
        Pipelined(8, 4, t=9)
    with pytest.raises(InvalidParameter, match="takes no option m"):
        make_protocol("indicators", 8, 4, m=3)


# --- closed forms of the other protocols ------------------------------------------------------------


def test_sampling_samples_nest_across_m():
    """Common random numbers: under one seed S_j for m = 15 lies inside S_j for m = 16 (they were
    drawn afresh per m before, overlapping in 0 of 15)."""
    small, _ = Sampling(128, 4, m=15).samples(PublicCoins(4, 50))
    large, _ = Sampling(128, 4, m=16).samples(PublicCoins(4, 50))
    assert all(set(a) <= set(b) for a, b in zip(small.reshape(-1, 15), large.reshape(-1, 16), strict=True))


def test_sampling_exact_success_agrees_with_the_engine():
    protocol = Sampling(128, 4, m=50, rounds=2)
    result = simulate("sampling", q=128, k=4, trials=6000, seed=2, m=50, rounds=2)
    low, high = result.success_ci
    assert low <= float(protocol.exact_success()) <= high
    p = Fraction(50, 128)
    complete = 3 * p**2 * (1 - p) + p**3  # at least 2 of the 3 hops free
    assert protocol.exact_success() == complete + (1 - complete) / 2


def test_chase_and_broadcast_closed_forms():
    assert make_protocol("chase", 16, 4).exact_success() == 1
    assert make_protocol("chase", 16, 4, rounds=3).exact_success() == Fraction(1, 2)
    assert make_protocol("broadcast", 16, 4).exact_success() == 1
