"""Measurements: bit profiles, message entropy, effective bits, and the smallest-budget search."""

from dataclasses import dataclass
from fractions import Fraction
from typing import ClassVar

import numpy as np
import pytest

from commlab import InvalidParameter
from commlab.analysis.measure import (
    _falls,
    bit_profile,
    effective_bits,
    message_entropy,
    miller_madow,
    smallest_budget,
    zoo_budgets,
)
from commlab.io.codecs import number_format
from commlab.models import Layer, SequenceModel, random_recurrent_model, window_hop_model
from commlab.problems.pointer_chasing import PointerChasing
from commlab.protocols import Sampling, simulate
from reductions.pointer_chasing import encode


def test_bit_profile_of_chase():
    profile = bit_profile(simulate("chase", q=32, k=3, trials=50))
    assert profile.max == 5 and profile.total == 3 * 5 + 1
    assert profile.by_round == [5.0, 5.0, 6.0] and profile.by_player == [6.0, 5.0, 5.0]
    assert profile.by_turn[2] == [1.0, 0.0, 5.0]  # round 3: P_3 posts v_4, P_1 the answer bit


def test_miller_madow_by_hand():
    counts = np.array([30, 10])
    p = counts / 40
    plug_in = -(p * np.log2(p)).sum()
    assert miller_madow(counts) == pytest.approx(plug_in + 1 / (2 * 40 * np.log(2)))
    assert miller_madow(np.array([0, 5, 0])) == 0.0


def test_miller_madow_never_claims_more_than_the_samples_or_the_variable_hold():
    # 100 distinct draws: plug-in log2(100) = 6.64, plus the correction 99/(200 ln 2) = 0.71 -> 7.36
    assert miller_madow(np.ones(100, dtype=int)) == pytest.approx(np.log2(100))
    assert miller_madow(np.array([3, 3, 2, 2])) <= np.log2(10)
    assert miller_madow(np.array([500, 500]), max_bits=1) == 1.0  # a bit holds at most 1 bit
    rng = np.random.default_rng(0)
    for n in (2, 10, 100):
        counts = np.bincount(rng.integers(0, 10 * n, size=n))
        assert miller_madow(counts) <= np.log2(n) + 1e-12


def test_message_entropy_is_capped_by_the_slot():
    result = simulate("chase", q=2, k=2, trials=40, seed=0)
    entropy = message_entropy(result.transcript)
    assert entropy[0, 0] <= 1.0  # v_2 is one bit (q = 2), whatever the correction adds
    assert (entropy <= np.log2(40) + 1e-12).all()


def test_message_entropy_against_what_messages_carry():
    result = simulate("chase", q=8, k=3, trials=4000, seed=1)
    entropy = message_entropy(result.transcript)
    assert entropy[0, 0] == pytest.approx(3, abs=0.01)  # v_2 is uniform over 8 vertices: 3 bits
    assert entropy[2, 0] == pytest.approx(1, abs=0.01)  # the answer bit
    assert entropy[0, 1] == 0.0 and entropy[0, 2] == 0.0  # silent turns carry nothing
    guess = message_entropy(simulate("broadcast", q=4, k=2, trials=3000, seed=0).transcript)
    assert guess[0, 1] == pytest.approx(np.log2(24), abs=0.1)  # a uniform bijection of 4: log2 4!


def test_effective_bits_is_the_smallest_precision_that_reproduces_the_model():
    enc = encode(PointerChasing.random(8, 3, 60, seed=0))
    model = random_recurrent_model("lstm", 2, 6, enc.alphabet, "float32", seed=2)
    found = effective_bits(model, enc.tokens, enc.blocks)
    assert found.exact and 9 <= found.bits_per_number <= 32
    assert found.bits_per_message == 2 * 6 * found.bits_per_number <= found.declared_bits_per_message
    from commlab import run
    from commlab.io.codecs import ShortFloat
    from reductions.layerwise import LayerwiseProtocol, split_by_blocks

    reference = model.predict(enc.tokens)[:, -1]
    if found.mantissa > 0:  # one bit fewer must change some answer
        coarser = LayerwiseProtocol("x", model, enc.blocks, ShortFloat(found.mantissa - 1))
        assert not np.array_equal(run(coarser, split_by_blocks(enc.tokens, enc.blocks)).output, reference)


@dataclass(frozen=True, eq=False)
class Latch(Layer):
    """A float32 state set to ``value`` at the first position and carried; the output is
    ⌊64·state⌋ mod 3. Rounding ``value`` = 1 + 9/1024 to t fraction bits changes that output only
    at t = 6 (1.015625), so agreement over t reads 111111011111…: not monotone."""

    value: float = 1 + 9 / 1024
    kind: ClassVar[str] = "latch"

    @property
    def state_shapes(self):
        return ((1,),)

    @property
    def state_format(self):
        return number_format("float32")

    def step(self, x_t, state):
        held = np.where(state[0] == 0, np.float32(self.value), state[0]).astype(np.float32)
        return (np.floor(held[:, 0] * 64).astype(np.int64) % 3), (held,)

    def parameters(self):
        return {}


def test_effective_bits_scans_every_t_when_agreement_is_not_monotone():
    model = SequenceModel(4, (Latch(),), number_format("float32"))
    tokens = np.zeros((3, 2), dtype=np.int64)
    found = effective_bits(model, tokens, [(0, 1), (1, 2)])
    assert found.curve() == "111111011111111111111111" and not found.monotone
    # bisection would have stopped at t = 0 (t = 11, 5, 2, 1, 0 all agree); t = 6 does not
    assert found.mantissa == 7 and found.bits_per_number == 16 and found.exact
    assert all(found.agreement[t] == 1.0 for t in range(7, 24)) and found.agreement[6] == 0.0


def test_effective_bits_of_random_models_hold_from_their_answer_on():
    enc = encode(PointerChasing.random(8, 4, 30, seed=0))
    model = random_recurrent_model("mamba", 3, 16, enc.alphabet, "float32", seed=2)
    found = effective_bits(model, enc.tokens, enc.blocks)
    assert len(found.agreement) == 24
    assert all(a == 1.0 for a in found.agreement[found.mantissa :])
    assert found.mantissa == 0 or found.agreement[found.mantissa - 1] < 1.0


def test_effective_bits_of_exact_integer_states():
    enc = encode(PointerChasing.random(4, 2, 20, seed=0))
    model = window_hop_model(17, 2, enc.alphabet, fallback=8)
    found = effective_bits(model, enc.tokens, enc.blocks)
    assert found.bits_per_message == found.declared_bits_per_message  # integer states post exactly


def test_smallest_sampling_budget_is_computed_exactly():
    """Issue 10 §1: the old search said 623/336/112 bits for R = 1, 2, 3 at q = 128, k = 4 (fresh
    samples per m, decided on point estimates); the sampling protocol really needs 623/350/119."""
    found = [smallest_budget(128, 4, r, protocol="sampling", trials=100) for r in (1, 2, 3)]
    assert [f.bits_per_message for f in found] == [623, 350, 119]
    assert [f.value for f in found] == [89, 50, 17]
    for f in found:
        assert f.method == "exact" and f.decision == "reached" and f.monotone and not f.violations
        assert f.success_exact >= 2 / 3
        below = Sampling(128, 4, m=f.value - 1, rounds=f.rounds).exact_success()
        assert below < Fraction(2, 3)  # one sample fewer falls short


def test_monte_carlo_search_decides_on_intervals_with_common_random_numbers():
    exact = smallest_budget(32, 4, 3, protocol="sampling").value
    found = smallest_budget(32, 4, 3, protocol="sampling", trials=1500, seed=1, method="monte-carlo")
    assert found.method == "monte-carlo" and found.decision == "reached" and found.monotone
    assert found.value >= exact  # certified: its whole interval clears 2/3
    assert found.success_ci[0] >= 2 / 3
    failing = [v for v, _, _, (lo, hi) in found.evaluations if hi < 2 / 3]
    assert all(v < exact for v in failing)  # nothing at or above the true budget is called failing
    assert set(found.undecided) == {v for v, _, _, (lo, hi) in found.evaluations if lo < 2 / 3 <= hi}


def test_monte_carlo_search_says_undecided_when_intervals_straddle():
    """With 20 trials no interval clears 2/3 unless success is near 1, so chunked at q = 64, k = 4 is
    certified only where it is exactly right, and the sizes in between are reported undecided."""
    found = smallest_budget(64, 4, 3, protocol="chunked", trials=20, seed=0, method="monte-carlo")
    assert found.undecided and found.success_ci[0] >= 2 / 3
    # The decision uses the intervals alone: the value is the smallest evaluated size from which every
    # evaluated size's interval clears 2/3, and the undecided sizes are those whose interval straddles.
    sizes = [row[0] for row in found.evaluations]
    clears = [row[3][0] >= 2 / 3 for row in found.evaluations]
    assert found.value == min(s for i, s in enumerate(sizes) if all(clears[i:]))
    assert found.undecided == [s for s, row in zip(sizes, found.evaluations, strict=True)
                               if row[3][0] < 2 / 3 <= row[3][1]]


def test_monotonicity_violations_are_reported():
    assert _falls([1, 2, 3, 4], [0.5, 0.7, 0.6, 0.8]) == [[2, 3]]
    assert _falls([1, 2], [0.5, 0.5]) == []


def test_zoo_budgets_at_q128_k4():
    best = {r: zoo_budgets(128, 4, r, trials=100) for r in (1, 2, 3, 4)}
    names = {r: [(b.protocol, b.bits_per_message) for b in best[r]] for r in best}
    assert names[1][0] == ("indicators", 89) and names[2][0] == ("pipelined", 43)
    assert names[3][0] == ("chunked", 15) and names[4][0] == ("chase", 7)
    assert ("sampling", 119) in names[3] and ("sampling", 350) in names[2]
    chase_short = [b for b in best[3] if b.protocol == "chase"][0]
    assert chase_short.decision == "unreachable" and chase_short.success_exact == 0.5
    assert smallest_budget(128, 4, 3).protocol == "chunked"
    always = {r: smallest_budget(128, 4, r, target=1.0, trials=100) for r in (1, 3)}
    assert (always[1].protocol, always[1].bits_per_message) == ("indicators", 128)
    assert (always[3].protocol, always[3].bits_per_message) == ("chunked", 43)
    assert always[1].success == always[3].success == 1.0


def test_smallest_budget_refusals():
    with pytest.raises(InvalidParameter, match="does not run with R = 2"):
        smallest_budget(16, 4, 2, protocol="chunked")
    with pytest.raises(InvalidParameter, match="method"):
        smallest_budget(16, 4, 3, protocol="chunked", method="guess")
    with pytest.raises(InvalidParameter, match="target"):
        smallest_budget(16, 4, 3, protocol="chunked", target=1.5)


def test_smallest_budget_with_enough_rounds_is_chase():
    found = smallest_budget(64, 3, 3, trials=50)
    assert (found.protocol, found.bits_per_message, found.success) == ("chase", 6, 1.0)


def test_the_best_three_round_budget_stays_of_order_q_over_k():
    """README: the best R = 3 budget is 114·q/k⁵ at q = 512, k = 4 (chunked, 57 bits)."""
    found = smallest_budget(512, 4, 3, protocol="chunked", trials=50)
    assert found.bits_per_message == 57 and found.bits_per_message / (512 / 4**5) == 114


def test_the_k_minus_1_round_gap_to_assadi_n_is_of_order_k4_for_every_k():
    """The best (k − 1)-round s over c·q/k⁵ stays between k⁴/3 and 2k⁴/3 as k grows (chunked:
    s = ⌈q/(3(k−1))⌉ once that exceeds ⌈log₂ q⌉), so the gap is of order k⁴ with no log q."""
    q = 1024
    for k in (2, 3, 4, 6, 8):
        found = smallest_budget(q, k, k - 1, protocol="chunked", trials=20, seed=0)
        ratio = found.bits_per_message * k**5 / q / k**4
        assert 1 / 3 <= ratio <= 2 / 3 + k / q, (k, found.bits_per_message, ratio)  # + k/q: the ceiling
