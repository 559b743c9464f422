"""Toy protocols for the engine's and the audit's tests, some breaking the rules on purpose.

They live in an importable module so that isolated players (spawned processes) can load them.
"""

import numpy as np

from commlab import Protocol, ProtocolSpec

_shared: dict = {}  # the side channel: module state that every in-process player can reach


class Peek(Protocol):
    """P_2 stashes its input in module state; P_1 reads it instead of the board. In one process it
    answers x1 XOR x2 with one bit; run apart, P_1 finds nothing and fails."""

    spec = ProtocolSpec("peek", k=2, rounds=1, max_bits=1)

    def speak(self, player, round, own, board, coins, memory):
        if player == 2:
            _shared["x2"] = own
            return np.zeros((len(own), 1), dtype=np.uint8)
        return (own ^ _shared["x2"])[:, None].astype(np.uint8)


class QuietPeek(Peek):
    """Like :class:`Peek`, but falls back to a guess when the side channel is empty, so it never
    crashes: only the transcript comparison can catch it."""

    spec = ProtocolSpec("quiet-peek", k=2, rounds=1, max_bits=1)

    def speak(self, player, round, own, board, coins, memory):
        if player == 2:
            _shared["x2"] = own
            return np.zeros((len(own), 1), dtype=np.uint8)
        other = _shared.get("x2", np.zeros_like(own))
        return (own ^ other)[:, None].astype(np.uint8)


class Scripted(Protocol):
    """Every player says what a script tells it to, to exercise the board's refusals; ``length``
    (player, round) -> bits is the public length rule (default s)."""

    def __init__(self, say, k=2, rounds=1, max_bits=4, length=None):
        self.say, self.length = say, length
        self.spec = ProtocolSpec("scripted", k=k, rounds=rounds, max_bits=max_bits)

    def message_length(self, round, player, board, coins, memory):
        return self.spec.max_bits if self.length is None else self.length(player, round)

    def speak(self, player, round, own, board, coins, memory):
        return self.say(player, round, own)


class Counter(Protocol):
    """Each player posts how many turns it has had (2 bits), kept in its private memory."""

    spec = ProtocolSpec("counter", k=2, rounds=3, max_bits=2)

    def speak(self, player, round, own, board, coins, memory):
        memory["turns"] = memory.get("turns", 0) + 1
        turns = memory["turns"]
        return np.array([[turns >> 1 & 1, turns & 1]] * len(own), dtype=np.uint8)
