r"""Indicator protocols: chase the first hops, compose the answer's indicator backwards through the
rest (docs/theory.md §7).

Let χ_{k+1} mark the answer half V² of V_{k+1} and χ_j = χ_{j+1} ∘ E_j the indicator, on V_j, of the
vertices whose path ends in V². With R rounds the path is chased for h = R hops: P_j posts v_{j+1} in
round j (j < h), and in round h P_h computes v_{h+1} = E_h(v_h) and posts the answer χ_{h+1}(v_{h+1}),
which P_1 repeats as the output. The players P_{h+1}, ..., P_k hold the layers the chase never
reaches and are otherwise idle; they compose χ_{h+1} backwards, t bits a message. In every round
r = 1..h, P_j (j = k, ..., h+1) posts its indicator on the next t vertices of V_j in cyclic order
(chunk r is the vertices (r−1)t, ..., rt − 1 mod q): P_k reads χ_{k+1} from the public partition,
and P_j, j < k, reads χ_{j+1}(E_j(u)) from the latest chunk of P_{j+1} that covers E_j(u) — P_{j+1}
speaks before P_j in every round. A vertex that no chunk covers yet is posted as 0, and P_h guesses
a public coin when v_{h+1} is uncovered.

Every message length is fixed by (round, player): t bits for P_{h+1..k}, ⌈log₂ q⌉ for a chased
vertex, 1 for the answer. The family has three names in the zoo:

- ``indicators`` (R = 1, t = q): composed indicators, deterministic and always right with s = q.
- ``chunked`` (R = k − 1, t = ⌈q/(k−1)⌉): only P_k is idle; always right with
  s = max(⌈q/(k−1)⌉, ⌈log₂ q⌉). With fewer chunk bits t it is right with probability exactly
  1/2 + min(1, (k−1)t/q)/2.
- ``pipelined`` (any 1 ≤ R ≤ k − 1, default t = q): the same protocol for the rounds in between.

Success, exactly (:meth:`IndicatorChase.exact_success`): call a posted bit *exact* when the chain
of lookups behind it reaches χ_{k+1}. Let p_j(r) be the expected fraction of V_j whose latest
posted bit by round r is exact (p_{k+1} ≡ 1). A vertex u of V_j last posted in round r' is exact iff
E_j(u) is exact in layer j+1 by round r'; E_j(u) is uniform and independent of the layers above, so

.. math:: p_j(r) = \frac{1}{q} \sum_{u \text{ posted by } r} p_{j+1}(\mathrm{last}_r(u)).

The path vertex v_{h+1} is uniform and independent of E_{h+1..k}, so the answer is exact with
probability p_{h+1}(h). Otherwise it is a placeholder 0 or a public coin, neither of which depends on
the partition, while the true answer is a fair bit given the matchings: right with probability 1/2.
Hence success = 1/2 + p_{h+1}(h)/2. For ``chunked`` that is the formula above; for ``indicators``
with t < q it is 1/2 + (t/q)^{k−1}/2.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from commlab.engine.ir import Bits
from commlab.errors import InvalidParameter
from commlab.protocols.base import PointerChasingProtocol

__all__ = ["Chunked", "IndicatorChase", "Indicators", "Pipelined"]


class IndicatorChase(PointerChasingProtocol):
    """Chase h = R hops, compose the indicator of the answer through the other k − R layers in chunks
    of t bits (module docstring; docs/theory.md §7).

    Parameters
    ----------
    q, k : int
        Layer size (even) and layers / players.
    rounds : int, optional
        R, from 1 to max(1, k − 1); each subclass has its own default.
    t : int, optional
        Chunk bits, 1..q; each subclass has its own default.

    Raises
    ------
    InvalidParameter
        For rounds outside 1..max(1, k − 1) or t outside 1..q.
    """

    name = "indicator-chase"
    size_option = "t"

    def __init__(self, q: int, k: int, rounds: int | None = None, t: int | None = None):
        rounds = self.default_rounds(k) if rounds is None else rounds
        if not isinstance(rounds, (int, np.integer)) or not self.supports(q, k, rounds):
            raise InvalidParameter(
                f"{self.name} runs with {self._rounds_text(k)} rounds at k = {k}, got rounds = {rounds}"
            )
        t = self.default_t(q, k) if t is None else t
        if not isinstance(t, (int, np.integer)) or not 1 <= t <= q:
            raise InvalidParameter(f"chunk bits t must be an integer in 1..q = 1..{q}, got {t}")
        self.t = int(t)
        self.hops = min(int(rounds), k)  # h: hops chased; P_h answers in round h
        super().__init__(q, k, int(rounds))

    @classmethod
    def default_rounds(cls, k: int) -> int:
        return max(1, k - 1)

    @classmethod
    def default_t(cls, q: int, k: int) -> int:
        return q

    @classmethod
    def _rounds_text(cls, k: int) -> str:
        return f"R in 1..{max(1, k - 1)}"

    @classmethod
    def supports(cls, q: int, k: int, rounds: int) -> bool:
        return 1 <= rounds <= max(1, k - 1)

    @classmethod
    def size_values(cls, q: int, k: int) -> range:
        return range(1, q + 1)

    @property
    def idle(self) -> range:
        """The players that compose the indicator: P_{h+1}, ..., P_k (empty when h = k)."""
        return range(self.hops + 1, self.k + 1)

    def budget(self) -> int:
        chunk = self.t if len(self.idle) else 0
        vertex = self.vertex.bits if self.hops >= 2 else 0
        return max(chunk, vertex, 1)

    def chunk(self, round: int) -> np.ndarray:
        """The vertices every idle player covers in round ``round``: t of them, cyclically."""
        return (np.arange(self.t) + (round - 1) * self.t) % self.q

    def last_posted(self, round: int) -> np.ndarray:
        """For every vertex of an idle layer, the last round ≤ ``round`` whose chunk covers it (0 if
        none)."""
        last = np.zeros(self.q, dtype=np.int64)
        for r in range(1, round + 1):
            last[self.chunk(r)] = r
        return last

    def exact_fractions(self) -> dict[tuple[int, int], Fraction]:
        """p_j(r) of the module docstring for every idle layer j and round r = 1..h, exactly."""
        counts = {r: np.bincount(self.last_posted(r), minlength=r + 1) for r in range(1, self.hops + 1)}
        p: dict[tuple[int, int], Fraction] = {}
        for j in reversed(self.idle):
            for r in range(1, self.hops + 1):
                above = (lambda rr: Fraction(1)) if j == self.k else (lambda rr, j=j: p[j + 1, rr])
                p[j, r] = (
                    sum((int(counts[r][rr]) * above(rr) for rr in range(1, r + 1)), Fraction(0)) / self.q
                )
        return p

    def exact_success(self) -> Fraction:
        """1/2 + p_{h+1}(h)/2 (module docstring); 1 when no layer is left to compose.

        Examples
        --------
        >>> Chunked(128, 4, t=15).exact_success() == Fraction(1, 2) + Fraction(3 * 15, 2 * 128)
        True
        >>> Indicators(128, 4, t=64).exact_success() == Fraction(1, 2) + Fraction(1, 16)
        True
        """
        if not len(self.idle):
            return Fraction(1)
        return Fraction(1, 2) + self.exact_fractions()[self.hops + 1, self.hops] / 2

    def message_length(self, round, player, board, coins, memory):
        """Fixed by (round, player), as :meth:`speak` writes: t bits from each idle player in rounds
        1..h, ⌈log₂ q⌉ from the chasing P_j in round j < h, the answer bit from P_h in round h (and
        from P_1, repeating it, in round R), silence otherwise."""
        if player in self.idle:
            return self.t if round <= self.hops else 0
        if player == 1 and round == self.spec.rounds and self.hops > 1:
            return 1
        if player == round == self.hops:
            return 1
        if player == round and player < self.hops:
            return self.vertex.bits
        return 0

    def speak(self, player, round, own, board, coins, memory):
        batch = len(own["start"])
        rows = np.arange(batch)
        if player in self.idle:
            if round > self.hops:
                return Bits.empty(batch)
            images = own["edges"][:, self.chunk(round)]  # E_j on this round's chunk
            return self._indicator(player + 1, round, own, board)[rows[:, None], images]
        if player == 1 and round == self.spec.rounds and self.hops > 1:
            return board.message(self.hops, self.hops).bits  # repeat P_h's answer
        if player == round == self.hops:  # P_h: one more hop, then the answer
            here = (
                own["start"]
                if player == 1
                else self.read_vertices(board.message(player - 1, player - 1).bits)
            )
            end = own["edges"][rows, here]
            if not len(self.idle):
                return self.answer_bit(own, end)
            known, value = self._posted(self.hops + 1, round, board, batch)
            answer = value[rows, end][:, None]
            return np.where(known[end][:, None], answer, self.guess(coins))
        if player == round and player < self.hops:  # chase: P_j posts v_{j+1} in round j
            here = (
                own["start"]
                if player == 1
                else self.read_vertices(board.message(player - 1, player - 1).bits)
            )
            return self.post_vertices(own["edges"][rows, here])
        return Bits.empty(batch)

    def _posted(self, player: int, round: int, board, batch: int) -> tuple[np.ndarray, np.ndarray]:
        """What P_player's chunks up to round ``round`` say: ``(known (q,), value (B, q))``, the latest
        chunk winning."""
        known = np.zeros(self.q, dtype=bool)
        value = np.zeros((batch, self.q), dtype=np.uint8)
        for r in range(1, round + 1):
            chunk = self.chunk(r)
            value[:, chunk] = board.message(r, player).bits
            known[chunk] = True
        return known, value

    def _indicator(self, layer: int, round: int, own, board) -> np.ndarray:
        """χ_layer on V_layer as far as the board shows it by this turn (0 where not covered):
        the public partition for layer k + 1, else P_layer's chunks."""
        if layer == self.k + 1:
            return own["in_second"].astype(np.uint8)
        return self._posted(layer, round, board, len(own["start"]))[1]


class Indicators(IndicatorChase):
    """Composed indicators (docs/theory.md §7): one round. P_k posts χ_k = χ_{k+1} ∘ E_k on V_k,
    each P_j (j = k − 1, ..., 2) posts χ_j = χ_{j+1} ∘ E_j, and P_1 answers χ_2(E_1(v_1)).

    With t = q (the default) it is deterministic and always right with s = q bits, a factor ⌈log₂ q⌉
    below broadcast; with t < q chunks it is right with probability 1/2 + (t/q)^{k−1}/2.

    Examples
    --------
    >>> from commlab.protocols import simulate
    >>> r = simulate("indicators", q=64, k=5, trials=200, seed=0)
    >>> r.success, r.spec.rounds, r.bits_per_message
    (1.0, 1, 64)
    """

    name = "indicators"

    @classmethod
    def default_rounds(cls, k: int) -> int:
        return 1

    @classmethod
    def supports(cls, q: int, k: int, rounds: int) -> bool:
        return rounds == 1

    @classmethod
    def _rounds_text(cls, k: int) -> str:
        return "R = 1"


class Chunked(IndicatorChase):
    """Chunked indicator chase (docs/theory.md §7): R = k − 1 rounds. The path is chased one hop per
    round while P_k, the one player the chase never reaches, posts χ_k on t more vertices each round;
    in round k − 1, P_{k−1} computes v_k and posts χ_k(v_k), which P_1 repeats.

    With t = ⌈q/(k−1)⌉ (the default) it is deterministic and always right with
    s = max(⌈q/(k−1)⌉, ⌈log₂ q⌉) bits; with fewer chunk bits it is right with probability exactly
    1/2 + min(1, (k−1)t/q)/2. So k − 1 rounds cost O(q/k) bits: no log q factor once
    q/(k−1) ≥ ⌈log₂ q⌉, where the chunk rather than the vertex name sets s.

    Examples
    --------
    >>> from commlab.protocols import simulate
    >>> r = simulate("chunked", q=128, k=4, trials=200, seed=0)
    >>> r.success, r.spec.rounds, r.bits_per_message
    (1.0, 3, 43)
    """

    name = "chunked"

    def __init__(self, q: int, k: int, rounds: int | None = None, t: int | None = None):
        if k < 2:
            raise InvalidParameter(f"chunked needs k >= 2 (it uses R = k − 1 rounds), got k = {k}")
        super().__init__(q, k, rounds, t)

    @classmethod
    def default_t(cls, q: int, k: int) -> int:
        return math.ceil(q / max(k - 1, 1))

    @classmethod
    def supports(cls, q: int, k: int, rounds: int) -> bool:
        return k >= 2 and rounds == k - 1

    @classmethod
    def _rounds_text(cls, k: int) -> str:
        return f"R = k − 1 = {k - 1}"


class Pipelined(IndicatorChase):
    """The indicator chase for any 1 ≤ R ≤ k − 1 (module docstring): chase R hops while the k − R
    idle players pipeline the composed indicator, t bits a message. R = 1 is ``indicators`` and
    R = k − 1 is ``chunked``; the rounds in between interpolate. t = q (the default) is always right.

    Examples
    --------
    >>> p = Pipelined(128, 4, rounds=2, t=43)
    >>> float(p.exact_success()) >= 2 / 3 > float(Pipelined(128, 4, rounds=2, t=42).exact_success())
    True
    """

    name = "pipelined"

    @classmethod
    def default_rounds(cls, k: int) -> int:
        return max(1, k // 2)
