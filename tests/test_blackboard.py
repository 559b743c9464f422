"""The board refuses every message the (k, R, s) model forbids and meters every bit it accepts."""

import numpy as np
import pytest

from commlab import Bits, Blackboard, ProtocolSpec, ProtocolViolation, run
from tests.toys import Scripted

SPEC = ProtocolSpec("t", k=2, rounds=2, max_bits=4)


def test_accepts_and_meters_in_turn():
    board = Blackboard(SPEC, batch=3)
    board.write(1, 2, np.ones((3, 4), dtype=np.uint8))
    board.write(1, 1, Bits(np.ones((3, 2), dtype=bool), np.array([0, 1, 2])), length=np.array([0, 1, 2]))
    board.silent(2, 2)
    board.write(2, 1, np.array([[1], [0], [1]]), length=1)
    t = board.transcript()
    assert t.counts.by_turn.tolist() == [[3, 12], [3, 0]] and t.counts.longest == 4
    assert t.lengths[:, :, ::-1].tolist() == [[[4, 0], [0, 1]], [[4, 1], [0, 1]], [[4, 2], [0, 1]]]
    assert t.instance(1) == [(1, 2, "1111"), (1, 1, "1"), (2, 2, ""), (2, 1, "0")]


def test_padding_past_length_never_reaches_the_board():
    board = Blackboard(SPEC, batch=2)
    written = board.write(
        1, 2, Bits(np.ones((2, 4), dtype=np.uint8), np.array([1, 3])), length=np.array([1, 3])
    )
    assert written.bits.tolist() == [[1, 0, 0], [1, 1, 1]]


def test_refuses_a_length_other_than_the_public_one():
    board = Blackboard(SPEC, batch=2)
    with pytest.raises(
        ProtocolViolation,
        match=r"round 1, P_2: instance 1 wrote 2 bits but the protocol's public length for this turn is 3",
    ):
        board.write(1, 2, Bits(np.ones((2, 3), dtype=np.uint8), np.array([3, 2])), length=3)
    with pytest.raises(
        ProtocolViolation, match="instance 0 wrote 3 bits .* public length for this turn is 4"
    ):
        board.write(1, 2, np.ones((2, 3), dtype=np.uint8))  # default: s bits


@pytest.mark.parametrize(
    "length,match",
    [
        (5, r"gives 5 bits; it must lie in 0..s = 0..4"),
        (-1, "gives -1 bits"),
        (1.0, "an integer or 2 integers"),
        (np.array([1, 2, 3]), "an integer or 2 integers"),
    ],
)
def test_refuses_a_bad_length_rule(length, match):
    with pytest.raises(ProtocolViolation, match=match):
        Blackboard(SPEC, batch=2).write(1, 2, np.ones((2, 1), dtype=np.uint8), length=length)


def test_refuses_over_budget_naming_round_player_length_budget():
    board = Blackboard(SPEC, batch=2)
    with pytest.raises(
        ProtocolViolation, match=r"round 1, P_2: message of 5 bits \(instance 0\) is over the budget s = 4"
    ):
        board.write(1, 2, np.ones((2, 5), dtype=np.uint8))
    long_for_one = Bits(np.ones((2, 6), dtype=np.uint8), np.array([2, 6]))
    with pytest.raises(ProtocolViolation, match=r"6 bits \(instance 1\)"):
        board.write(1, 2, long_for_one)


def test_refuses_out_of_turn():
    board = Blackboard(SPEC, batch=1)
    with pytest.raises(ProtocolViolation, match="round 1, P_1: out of turn; P_2 of round 1 writes next"):
        board.write(1, 1, np.ones((1, 1), dtype=np.uint8), length=1)
    board.write(1, 2, np.ones((1, 1), dtype=np.uint8), length=1)
    with pytest.raises(ProtocolViolation, match="out of turn"):
        board.silent(2, 2)


def test_refuses_past_last_round():
    board = Blackboard(SPEC, batch=1)
    for r, j in SPEC.turns:
        board.write(r, j, np.ones((1, 1), dtype=np.uint8), length=1)
    with pytest.raises(
        ProtocolViolation, match="only 2 rounds; no message may be written past the last round"
    ):
        board.write(3, 2, np.ones((1, 1), dtype=np.uint8), length=1)


@pytest.mark.parametrize(
    "payload,match",
    [
        (np.array([[0.0, 1.0]]), "0/1 integer array, got a float64 array"),
        ([[0, 1]], "got a list"),
        ("0101", "got a str"),
        (np.array([[0, 2]]), "only 0 and 1"),
        (np.array([[0, -1]]), "only 0 and 1"),
        (np.array([0, 1]), r"shape \(batch=1, bits\)"),
        (np.array([[0, 1], [1, 1]]), r"shape \(batch=1, bits\)"),
        (Bits(np.array([[0, 1]]), np.array([3])), "lengths must lie in 0..2"),
        (Bits(np.array([[0, 1]]), np.array([1.0])), "lengths must be 1 integers"),
        (Bits(np.array([[0, 1]]), [2]), "lengths must be 1 integers"),
        (np.array([[0, 1]], dtype=object), "got a object array"),
        (np.ma.MaskedArray(np.array([[0, 9]]), mask=True), "only 0 and 1, found 9"),
    ],
)
def test_refuses_what_is_not_a_bit_string(payload, match):
    with pytest.raises(ProtocolViolation, match=match):
        Blackboard(SPEC, batch=1).write(1, 2, payload, length=2)


def test_engine_surfaces_a_players_violation():
    too_long = Scripted(lambda player, round, own: np.ones((len(own), 9), dtype=np.uint8), max_bits=8)
    with pytest.raises(ProtocolViolation, match="round 1, P_2: message of 9 bits"):
        run(too_long, [np.zeros(3), np.zeros(3)])
    too_long = Scripted(
        lambda player, round, own: np.ones((len(own), 1), dtype=np.uint8), length=lambda j, r: 5
    )
    with pytest.raises(ProtocolViolation, match="round 1, P_2: message_length gives 5 bits"):
        run(too_long, [np.zeros(3), np.zeros(3)])
    too_long = Scripted(lambda player, round, own: np.ones((len(own), 9), dtype=np.uint8), max_bits=8)
    with pytest.raises(ProtocolViolation, match="round 1, P_2: message of 9 bits"):
        run(too_long, [np.zeros(3), np.zeros(3)])


def test_run_result_carries_every_count():
    def say(player, round, own):
        return np.ones((len(own), 3 if player == 2 else 1), dtype=np.uint8) * (own[:, None] > 0)

    own = np.array([0, 1, 1, 1])
    result = run(
        Scripted(say, rounds=2, length=lambda j, r: 3 if j == 2 else r - 1),
        [own, own],
        truth=np.array([0, 1, 1, 0]),
    )
    assert result.bits_per_message == 3
    assert result.total_bits == 7 and result.total_bits_per_instance.tolist() == [7, 7, 7, 7]
    assert result.bits_by_round.tolist() == [3.0, 4.0]
    assert result.bits_by_player.tolist() == [1.0, 6.0]
    assert result.mean_bits_per_message == pytest.approx(28 / 16)
    assert result.output.tolist() == [0, 1, 1, 1]
    assert result.success == 0.75 and result.successes == 3
    low, high = result.success_ci
    assert 0 < low < 0.75 < high < 1
    summary = result.to_dict()
    assert summary["total_bits"] == 7 and summary["success_ci"] == [low, high]


def test_written_messages_cannot_be_rewritten():
    board = Blackboard(SPEC, batch=1)
    payload = np.ones((1, 2), dtype=np.uint8)
    board.write(1, 2, payload, length=2)
    payload[0, 0] = 0  # the player's own array: the board kept a copy
    message = board.view().messages[0]
    assert message.bitstring(0) == "11"
    with pytest.raises(ValueError, match="read-only"):
        message.bits[0, 0] = 0
    with pytest.raises(ValueError, match="read-only"):
        message.lengths[0] = 0
    for array in (message.bits, message.bits.base, message.lengths):
        with pytest.raises(ValueError, match="cannot set WRITEABLE flag"):
            array.flags.writeable = True
    object.__setattr__(message, "lengths", np.zeros(1, dtype=np.int64))  # this reader's object only
    assert board.view().message(1, 2).lengths.tolist() == [2] and board.counts().longest == 2
    assert board.transcript().message(1, 2).bitstring(0) == "11"


def test_views_show_the_board_as_it_was():
    board = Blackboard(SPEC, batch=1)
    board.write(1, 2, np.ones((1, 1), dtype=np.uint8), length=1)
    early = board.view()
    board.write(1, 1, np.zeros((1, 2), dtype=np.uint8), length=2)
    late = board.view()
    assert len(early) == 1 and len(late) == 2 and len(late.since(1)) == 1
    assert (
        late.latest(2).bitstring(0) == "1" and late.latest().bitstring(0) == "00" and early.latest(1) is None
    )
    with pytest.raises(KeyError, match="P_1 has not written in round 1 yet"):
        early.message(1, 1)


class Carrier(np.ndarray):
    """An array with a payload attribute that would survive pickling."""

    def __reduce__(self):
        reduced = super().__reduce__()
        return (*reduced[:2], (*reduced[2], getattr(self, "payload", None)))

    def __setstate__(self, state):
        self.payload = state[-1]
        super().__setstate__(state[:-1])


def test_what_players_read_is_a_plain_array_with_nothing_attached():
    payload = np.ones((2, 2), dtype=np.uint8).view(Carrier)
    payload.payload = "the whole input"
    board = Blackboard(SPEC, batch=2)
    board.write(1, 2, payload, length=2)
    for message in (board.view().message(1, 2), board.transcript().message(1, 2)):
        assert type(message.bits) is np.ndarray and not hasattr(message.bits, "payload")
