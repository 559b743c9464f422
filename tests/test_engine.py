"""The engine runs players in order, batches instances, and the isolation audit catches cheaters."""

import numpy as np
import pytest

from commlab import InvalidParameter, IsolationViolation, audit_isolation, run
from commlab.problems.pointer_chasing import PointerChasing
from commlab.protocols import PROTOCOLS, make_protocol, simulate
from tests.toys import Counter, Peek, QuietPeek, Scripted


def test_players_speak_in_order_pk_to_p1_each_round():
    order = []

    def say(player, round, own):
        order.append((round, player))
        return np.zeros((len(own), 1), dtype=np.uint8)

    run(Scripted(say, k=3, rounds=2, max_bits=1), [np.zeros(1)] * 3)
    assert order == [(1, 3), (1, 2), (1, 1), (2, 3), (2, 2), (2, 1)]


def test_silent_turns_do_not_call_the_player():
    calls = []

    def say(player, round, own):
        calls.append((round, player))
        return np.ones((len(own), 1), dtype=np.uint8)

    result = run(
        Scripted(say, k=3, rounds=2, max_bits=1, length=lambda j, r: int(j == r or j == 1)), [np.zeros(2)] * 3
    )
    assert calls == [(1, 1), (2, 2), (2, 1)]
    assert [bits for _, _, bits in result.transcript.instance(0)] == ["", "", "1", "", "1", "1"]


def test_each_player_gets_only_its_own_input():
    seen = {}

    def say(player, round, own):
        seen[player] = own.tolist()
        return np.zeros((len(own), 4), dtype=np.uint8)

    run(Scripted(say, k=3), [np.array([1]), np.array([2]), np.array([3])])
    assert seen == {1: [1], 2: [2], 3: [3]}


def test_memory_is_private_and_kept_between_turns():
    result = run(Counter(), [np.zeros(1), np.zeros(1)])
    assert [bits for _, _, bits in result.transcript.instance(0)] == ["01", "01", "10", "10", "11", "11"]
    audit_isolation(Counter(), [np.zeros(1), np.zeros(1)])


def test_inputs_must_match_k_and_share_a_batch():
    protocol = make_protocol("chase", 4, 2)
    with pytest.raises(InvalidParameter, match="k = 2 players but got 1 inputs"):
        run(protocol, [np.zeros(3)])
    with pytest.raises(InvalidParameter, match="same batch"):
        run(protocol, [np.zeros(3), np.zeros(4)])


def test_per_instance_transcripts_match_single_runs():
    inst = PointerChasing.random(q=8, k=3, batch=5, seed=3)
    batch = run(make_protocol("chase", 8, 3), inst.player_inputs())
    for b in range(5):
        single = PointerChasing(inst.edges[b : b + 1], inst.start[b : b + 1], inst.in_second[b : b + 1])
        alone = run(make_protocol("chase", 8, 3), single.player_inputs())
        assert alone.transcript.instance(0) == batch.transcript.instance(b)


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_isolation_audit_passes_for_every_reference_protocol(name):
    inst = PointerChasing.random(q=16, k=4, batch=6, seed=5)
    protocol = make_protocol(name, 16, 4)
    transcript = audit_isolation(protocol, inst.player_inputs(), seed=9)
    assert transcript.first_difference(run(protocol, inst.player_inputs(), seed=9).transcript) is None


def test_audit_catches_a_player_reading_another_players_input():
    x1, x2 = np.array([0, 1, 1, 0]), np.array([1, 1, 0, 0])
    cheat = run(Peek(), [x1, x2], truth=x1 ^ x2)
    assert cheat.success == 1.0 and cheat.total_bits == 2  # the cheat "works" in one process
    with pytest.raises(IsolationViolation, match="round 1, P_1 failed when run apart"):
        audit_isolation(Peek(), [x1, x2])


def test_audit_catches_a_silent_cheat_by_comparing_transcripts():
    x1, x2 = np.array([0, 1, 1, 0]), np.array([1, 1, 0, 0])
    with pytest.raises(IsolationViolation, match="round 1, P_1, instance 0 writes something else"):
        audit_isolation(QuietPeek(), [x1, x2])


def test_bad_truth_batch_and_seed_are_refused():
    protocol = make_protocol("chase", 4, 2)
    inst = PointerChasing.random(q=4, k=2, batch=3, seed=0)
    with pytest.raises(
        InvalidParameter, match=r"truth must have shape \(3,\), one answer per instance; got \(3, 1\)"
    ):
        run(protocol, inst.player_inputs(), truth=inst.answer()[:, None])
    empty = [{key: value[:0] for key, value in own.items()} for own in inst.player_inputs()]
    with pytest.raises(InvalidParameter, match="the batch is empty"):
        run(protocol, empty)
    for seed in (None, -1, 2**63, True, 1.5):
        with pytest.raises(InvalidParameter, match="seed must be an integer 0 <= seed < 2\\*\\*63"):
            run(protocol, inst.player_inputs(), seed=seed)


def test_chunks_give_the_same_answers_as_one_batch(monkeypatch):
    import commlab.protocols as protocols

    monkeypatch.setattr(protocols, "BLOCK_NUMBERS", 8 * 3 * 16)  # blocks of 8 instances at q = 16, k = 3
    assert protocols.instance_block(16, 3) == 8
    for name, options in (("chase", {"rounds": 2}), ("sampling", {"m": 5}), ("broadcast", {})):
        whole = simulate(name, q=16, k=3, trials=45, seed=11, chunk=45, **options)
        assert whole.transcript is not None
        for chunk in (None, 16, 40):
            parts = simulate(name, q=16, k=3, trials=45, seed=11, chunk=chunk, **options)
            assert parts.transcript is None
            assert np.array_equal(parts.output, whole.output) and np.array_equal(parts.truth, whole.truth)
            assert parts.to_dict() == whole.to_dict()
            assert np.array_equal(parts.counts.by_turn, whole.counts.by_turn)


def test_a_run_of_one_block_draws_the_instances_it_always_drew():
    inst = PointerChasing.random(q=16, k=3, batch=30, seed=2)
    alone = run(make_protocol("sampling", 16, 3, m=4), inst.player_inputs(), seed=2, truth=inst.answer())
    simulated = simulate("sampling", q=16, k=3, trials=30, seed=2, m=4)
    assert np.array_equal(simulated.output, alone.output) and np.array_equal(simulated.truth, inst.answer())


def test_isolated_run_reports_like_an_ordinary_one():
    inst = PointerChasing.random(q=8, k=3, batch=20, seed=1)
    apart = run(make_protocol("chase", 8, 3), inst.player_inputs(), truth=inst.answer(), isolated=True)
    assert apart.success == 1.0 and apart.bits_per_message == 3
