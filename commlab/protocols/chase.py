"""The chase protocol: one hop per round (docs/theory.md §7)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from commlab.engine.ir import Bits
from commlab.protocols.base import PointerChasingProtocol

__all__ = ["Chase"]


class Chase(PointerChasingProtocol):
    """Round r: P_r posts v_{r+1}; in round R, P_1 posts the answer bit.

    With ``rounds >= k`` it is correct on every instance using messages of ``bits_for(q)`` bits, so
    the Assadi–N bound's alternative R ≥ k is tight. With fewer rounds P_1 must guess the answer from
    the public coins and succeeds about half the time.

    Parameters
    ----------
    q, k : int
        Layer size (even) and number of layers / players.
    rounds : int, optional
        R; defaults to k.

    References
    ----------
    S. Assadi and V. N. "Graph streaming lower bounds for parameter estimation and property testing
    via a streaming XOR lemma." STOC 2021, Prop 4.12. arXiv:2104.04908.

    Examples
    --------
    >>> from commlab import run
    >>> from commlab.problems.pointer_chasing import PointerChasing
    >>> inst = PointerChasing.random(q=16, k=3, batch=50, seed=1)
    >>> result = run(Chase(16, 3), inst.player_inputs(), truth=inst.answer())
    >>> result.success, result.bits_per_message, result.spec.rounds
    (1.0, 4, 3)
    """

    name = "chase"

    def __init__(self, q: int, k: int, rounds: int | None = None):
        super().__init__(q, k, k if rounds is None else rounds)

    def budget(self) -> int:
        return self.vertex.bits

    def exact_success(self) -> Fraction:
        """1 with R >= k rounds; otherwise P_1 guesses a public coin and is right with probability
        exactly 1/2 (the answer bit is uniform and independent of the coins)."""
        return Fraction(1) if self.spec.rounds >= self.k else Fraction(1, 2)
    def message_length(self, round, player, board, coins, memory):
        """The answer bit from P_1 in round R, v_{r+1} from P_r in round r, silence otherwise."""
        if player == 1 and round == self.spec.rounds:
            return 1
        return self.vertex.bits if player == round and self.k > 1 else 0

    def speak(self, player, round, own, board, coins, memory):
        if player == 1 and round == self.spec.rounds:  # the output
            if round < self.k:
                return self.guess(coins)
            end = self._hop(own, board, 1) if self.k == 1 else self._posted(board, self.k)
            return self.answer_bit(own, end)
        if player == round and self.k > 1:  # hop r: P_r posts v_{r+1} (for k = 1 P_1 just answers)
            return self.post_vertices(self._hop(own, board, player))
        return Bits.empty(len(own["start"]))

    def _posted(self, board, player: int) -> np.ndarray:
        """v_{player+1}, which P_player posted in round ``player``."""
        return self.read_vertices(board.message(player, player).bits)

    def _hop(self, own, board, player: int) -> np.ndarray:
        """v_{player+1} = E_player(v_player), computed by P_player."""
        here = own["start"] if player == 1 else self._posted(board, player - 1)
        return own["edges"][np.arange(len(here)), here]
