"""The broadcast protocol: one round, whole matchings on the board (docs/theory.md §7)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from commlab.engine.ir import Bits
from commlab.protocols.base import PointerChasingProtocol

__all__ = ["Broadcast"]


class Broadcast(PointerChasingProtocol):
    """Round 1: P_k, ..., P_2 post their whole matchings (q·⌈log₂ q⌉ bits); in round R, P_1 follows
    the path through them and posts the answer bit. Correct on every instance in one round.

    Parameters
    ----------
    q, k : int
        Layer size (even) and number of layers / players.
    rounds : int, optional
        R; defaults to 1 (extra rounds stay silent until P_1 answers in round R).

    Notes
    -----
    ``q·⌈log₂ q⌉`` bits per message; ``⌈log₂ q!⌉`` would suffice with a ranking of permutations.

    Examples
    --------
    >>> from commlab import run
    >>> from commlab.problems.pointer_chasing import PointerChasing
    >>> inst = PointerChasing.random(q=8, k=4, batch=20, seed=2)
    >>> result = run(Broadcast(8, 4), inst.player_inputs(), truth=inst.answer())
    >>> result.success, result.bits_per_message, result.spec.rounds
    (1.0, 24, 1)
    """

    name = "broadcast"

    def __init__(self, q: int, k: int, rounds: int | None = None):
        super().__init__(q, k, 1 if rounds is None else rounds)

    def budget(self) -> int:
        return self.q * self.vertex.bits

    def exact_success(self) -> Fraction:
        """Always right."""
        return Fraction(1)
    def message_length(self, round, player, board, coins, memory):
        """Whole matchings from P_k..P_2 in round 1, the answer bit from P_1 in round R."""
        if player == 1 and round == self.spec.rounds:
            return 1
        return self.budget() if round == 1 and player > 1 else 0

    def speak(self, player, round, own, board, coins, memory):
        rows = np.arange(len(own["start"]))
        if player == 1 and round == self.spec.rounds:
            here = own["edges"][rows, own["start"]]
            for j in range(2, self.k + 1):
                here = self.read_vertices(board.message(1, j).bits, self.q)[rows, here]
            return self.answer_bit(own, here)
        if round == 1 and player > 1:
            return self.post_vertices(own["edges"])
        return Bits.empty(len(rows))
