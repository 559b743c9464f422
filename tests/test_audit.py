"""Every leak of issue 10 §4 has a protocol here (tests/cheats.py) that the engine accepted before
and that ``run`` or ``audit_isolation`` now refuses — or that no longer leaks at all."""

import itertools
import os
from fractions import Fraction

import numpy as np
import pytest

from commlab import (
    InvalidParameter,
    IsolationViolation,
    PointerChasing,
    Protocol,
    ProtocolSpec,
    ProtocolViolation,
    PublicCoins,
    audit_isolation,
    run,
)
from commlab.engine import check_batch_independence
from commlab.protocols import PROTOCOLS, make_protocol
from tests import cheats


def chasing(batch=80, seed=0):
    return PointerChasing.random(q=64, k=2, batch=batch, seed=seed)


def honest_output(inst):
    return run(cheats.OneBitChasing(), inst.player_inputs()).output


# Across the batch ---------------------------------------------------------------------------------


def test_the_batch_cheat_works_in_one_run_and_the_audit_catches_it():
    for seed in range(300):  # s = 1, R = 1, k = 2, q = 64: instance 0 is always right
        inst = chasing(batch=65, seed=seed)
        assert run(cheats.AcrossTheBatch(), inst.player_inputs(), truth=inst.answer()).correct[0]
    with pytest.raises(
        IsolationViolation, match=r"round 1, P_2, instance \d+ writes something else when run reversed"
    ):
        check_batch_independence(cheats.AcrossTheBatch(), inst.player_inputs())
    with pytest.raises(IsolationViolation, match="instances are not independent runs"):
        audit_isolation(cheats.AcrossTheBatch(), inst.player_inputs())


@pytest.mark.parametrize("name,options", [(n, {}) for n in sorted(PROTOCOLS)] + [("chase", {"rounds": 2})])
def test_every_shipped_protocol_is_batch_independent(name, options):
    inst = PointerChasing.random(q=16, k=4, batch=9, seed=4)
    protocol = make_protocol(name, 16, 4, **options)
    transcript = check_batch_independence(protocol, inst.player_inputs(), seed=3, alone=9)
    assert transcript.first_difference(run(protocol, inst.player_inputs(), seed=3).transcript) is None


def test_batch_independence_compares_outputs_too():
    class DecodesTheBatch(cheats.OneBitChasing):
        def decode(self, message):  # every output is instance 0's bit
            return np.full(len(message.bits), int(message.bits[0, 0]))

    inst = chasing(batch=40, seed=1)
    with pytest.raises(IsolationViolation, match="output of instance .* changes when run"):
        check_batch_independence(DecodesTheBatch(), inst.player_inputs())


# Through message lengths --------------------------------------------------------------------------


def test_length_can_no_longer_carry_a_third_value():
    x1, x2 = np.array([0, 1, 2, 0, 1, 2, 2]), np.array([0, 1, 2, 1, 2, 0, 2])
    with pytest.raises(
        ProtocolViolation, match=r"round 1, P_2: instance 0 wrote 0 bits but the protocol's public length"
    ):
        run(cheats.LengthCarriesATrit(), [x1, x2], truth=(x1 == x2).astype(int))


def test_with_real_one_bit_messages_trit_equality_succeeds_at_most_7_in_9():
    """docs/engine.md: every deterministic protocol (P_2 sends f(x2) in {0, 1}, P_1 answers
    g(x1, f(x2))) on uniform inputs; randomness cannot beat the best deterministic one."""
    values = range(3)
    best = 0
    for f in itertools.product((0, 1), repeat=3):
        for g in itertools.product((0, 1), repeat=6):
            right = sum(g[2 * x1 + f[x2]] == (x1 == x2) for x1 in values for x2 in values)
            best = max(best, right)
    assert Fraction(best, 9) == Fraction(7, 9)


def test_a_length_rule_that_reads_private_state_is_caught_by_the_audit():
    x1, x2 = np.array([0, 1, 2, 0, 1, 2, 2]), np.array([0, 1, 2, 1, 2, 0, 2])
    assert run(cheats.LengthFromAStash(), [x1, x2], truth=(x1 == x2).astype(int)).success == 1.0
    with pytest.raises(IsolationViolation, match="public side"):
        audit_isolation(cheats.LengthFromAStash(), [x1, x2])


# Through the audit's own run: state on self, in the inputs, in the spec, in the environment ---------


def test_state_on_self_reaches_no_other_player_and_leaves_the_protocol_untouched():
    inst = chasing()
    cheat = cheats.OnSelf()
    result = run(cheat, inst.player_inputs(), truth=inst.answer())
    assert np.array_equal(result.output, honest_output(inst)) and result.success < 0.75
    assert not hasattr(cheat, "secret")
    audit_isolation(cheat, inst.player_inputs())  # what it does is now an honest protocol


def test_inputs_are_private_copies_and_the_callers_instance_is_not_corrupted():
    inst = chasing()
    before = inst.in_second.copy()
    result = run(cheats.InTheInput(), inst.player_inputs(), truth=inst.answer())
    assert np.array_equal(inst.in_second, before)
    assert np.array_equal(result.output, honest_output(inst)) and result.success < 0.75
    audit_isolation(cheats.InTheInput(), inst.player_inputs())
    assert np.array_equal(inst.in_second, before)


def test_raising_the_budget_mid_run_changes_nothing_on_the_board():
    inst = chasing()
    with pytest.raises(ProtocolViolation, match=r"round 1, P_2: message of 64 bits .* over the budget s = 1"):
        run(cheats.RaisesItsBudget(), inst.player_inputs())


def test_the_environment_is_not_a_channel():
    x1, x2 = np.array([1, 0, 1, 1]), np.array([1, 1, 0, 1])
    with pytest.raises(IsolationViolation, match="os.environ changed during the run"):
        run(cheats.InTheEnvironment(), [x1, x2])
    assert "COMMLAB_TEST_STASH" not in os.environ
    with pytest.raises(IsolationViolation, match="os.environ changed"):
        audit_isolation(cheats.InTheEnvironment(), [x1, x2])


# What the board accepts and hands out ----------------------------------------------------------------


@pytest.mark.parametrize("cheat", [cheats.Masked(), cheats.LyingArray()], ids=["masked", "lying-subclass"])
def test_the_board_checks_values_on_its_own_plain_copy(cheat):
    x = np.array([7, 200, 0, 1])
    with pytest.raises(ProtocolViolation, match="round 1, P_2: a message must hold only 0 and 1, found 7"):
        run(cheat, [x, x])


def test_metered_messages_can_never_be_made_writeable():
    x = np.array([1, 0, 1])
    with pytest.raises(ValueError, match="cannot set WRITEABLE flag"):
        run(cheats.RewritesTheBoard(), [x, x])


def test_altering_a_message_object_does_not_alter_the_count():
    x = np.zeros(3, dtype=int)
    result = run(cheats.ShrinksTheCount(), [x, x])
    assert result.bits_per_message == 24 and result.total_bits == 25
    assert result.transcript.message(1, 2).lengths.tolist() == [24] * 3
    assert result.bits_by_player.tolist() == [1.0, 24.0]


# The output -------------------------------------------------------------------------------------------


def test_an_output_read_from_a_stash_is_caught():
    x1 = np.arange(12) % 3
    x2 = np.arange(12) % 4
    assert run(cheats.DecodesAStash(), [x1, x2], truth=(x1 == x2).astype(int)).success == 1.0
    with pytest.raises(IsolationViolation, match="output of instance .* differs when decoded apart"):
        audit_isolation(cheats.DecodesAStash(), [x1, x2])


# Shared objects -------------------------------------------------------------------------------------


def test_a_player_cannot_reach_the_other_players_edges():
    inst = chasing()
    assert inst.player_inputs()[0]["edges"].base is not None  # what the caller hands in is a view
    result = run(cheats.ThroughTheBase(), inst.player_inputs(), truth=inst.answer())
    assert np.array_equal(result.output, honest_output(inst)) and result.success < 0.75


def test_every_player_has_its_own_coins():
    inst = chasing()
    result = run(cheats.ThroughTheCoins(), inst.player_inputs(), truth=inst.answer())
    assert np.array_equal(result.output, honest_output(inst))


# Private coins ----------------------------------------------------------------------------------------


def test_private_coins_are_reproducible_and_pass_the_audit():
    x = np.zeros(64, dtype=int)
    first = audit_isolation(cheats.PrivateRandom(), [x, x], seed=5)
    again = run(cheats.PrivateRandom(), [x, x], seed=5).transcript
    assert first.first_difference(again) is None
    p1, p2 = first.message(1, 1).bits[:, 0], first.message(1, 2).bits[:, 0]
    assert 0 < p1.mean() < 1 and not np.array_equal(p1, p2)  # random, and private to each player
    other = run(cheats.PrivateRandom(), [x, x], seed=6).transcript
    assert not np.array_equal(other.message(1, 1).bits, first.message(1, 1).bits)


def test_a_generator_shared_between_players_is_still_caught():
    x = np.zeros(64, dtype=int)
    with pytest.raises(IsolationViolation, match="writes something else when the players run apart"):
        audit_isolation(cheats.SharedGenerator(), [x, x])


def test_private_coins_belong_to_a_player():
    with pytest.raises(Exception, match="private coins belong to a player"):
        PublicCoins(0, 3).private_uniform("x")


# --- found by an outside review -----------------------------------------------------------------


class _HoldsTheInstances(Protocol):
    """P_1 answers 'equal?' by reading P_2's input off the protocol object, where the caller left
    the instances: every copy of the protocol carries them, so an isolated run agrees."""

    spec = ProtocolSpec("holds-instances", k=2, rounds=1, max_bits=1)

    def __init__(self, inputs):
        self.inputs = inputs

    def speak(self, player, round, own, board, coins, memory):
        if player == 2:
            return np.zeros((len(own), 1), dtype=np.uint8)
        return (self.inputs[1][coins.instances] == own)[:, None].astype(np.uint8)


def test_a_protocol_holding_its_inputs_is_refused_by_run_and_the_audit():
    x1 = np.arange(8)
    x2 = np.where(np.arange(8) % 2 == 0, x1, 99)
    for check in (run, audit_isolation):
        with pytest.raises(IsolationViolation, match="holds one of the inputs it is run on"):
            check(_HoldsTheInstances([x1, x2]), [x1, x2])


def test_object_array_inputs_are_refused():
    x = np.arange(4)
    with pytest.raises(InvalidParameter, match="object array"):
        run(_HoldsTheInstances([]), [x.astype(object), x])


def test_numpy_integers_in_a_spec_become_plain_ints():
    spec = ProtocolSpec("x", k=np.uint8(130), rounds=np.uint8(2), max_bits=np.int64(1))
    assert all(type(v) is int for v in (spec.k, spec.rounds, spec.max_bits))
    assert spec.turns[-1] == (2, 1) and len(spec.turns) == 260


class _PairTalk(Protocol):
    """Instance 5's P_1 copies instance 6's P_2 bit whenever both share the batch: crosstalk
    between one pair that the old arrangements (reversed, first half, three alone) never split."""

    spec = ProtocolSpec("pair-talk", k=2, rounds=1, max_bits=1)

    def speak(self, player, round, own, board, coins, memory):
        if player == 2:
            return (own[:, None] & 1).astype(np.uint8)
        out = np.zeros((len(own), 1), dtype=np.uint8)
        ids = list(coins.instances)
        if 5 in ids and 6 in ids:
            out[ids.index(5), 0] = board.message(1, 2).bits[ids.index(6), 0]
        return out


def test_every_pair_of_instances_is_separated_by_some_arrangement():
    x = np.ones(8, dtype=int)
    with pytest.raises(IsolationViolation, match="instance 5 writes something else"):
        check_batch_independence(_PairTalk(), [x, x])
