"""Measurements: bit profiles, message entropy, effective bits, and the smallest-budget search."""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from commlab.analysis.measure import (
    bit_profile,
    effective_bits,
    message_entropy,
    miller_madow,
    smallest_budget,
)
from commlab.io.codecs import bits_for, number_format
from commlab.models import Layer, SequenceModel, random_recurrent_model, window_hop_model
from commlab.problems.pointer_chasing import PointerChasing
from commlab.protocols import simulate
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


@pytest.mark.parametrize("rounds", [1, 2, 3])
def test_smallest_budget_is_the_threshold(rounds):
    found = smallest_budget(32, 4, rounds, trials=150, seed=3)
    assert found.protocol == "sampling" and found.success >= 2 / 3
    assert found.bits_per_message == found.m * bits_for(32)
    if found.m > 1:
        below = simulate("sampling", q=32, k=4, trials=150, seed=3, rounds=rounds, m=found.m - 1)
        assert below.success < 2 / 3


def test_smallest_budget_with_enough_rounds_is_chase():
    found = smallest_budget(64, 3, 3, trials=50)
    assert (found.protocol, found.bits_per_message, found.success) == ("chase", 6, 1.0)
