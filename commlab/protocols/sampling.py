"""The sampling protocol: k − 1 rounds, paid for with public random samples (docs/theory.md §7)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from commlab.analysis.stats import clopper_pearson
from commlab.engine.ir import Bits
from commlab.errors import InvalidParameter
from commlab.protocols.base import PointerChasingProtocol

__all__ = ["Sampling", "sample_size"]


def sample_size(q: int, k: int, delta: float) -> int:
    r"""The sample size :math:`m = \lceil (q/(k-1)) \ln(1/\delta) \rceil` (capped at q) that makes
    the sampling protocol finish in k − 1 rounds except with probability
    :math:`(1 - m/q)^{k-1} \le e^{-m(k-1)/q} \le \delta`.

    Examples
    --------
    >>> sample_size(1000, 10, 0.1)
    256
    """
    if not 0 < delta < 1:
        raise InvalidParameter(f"delta must lie strictly between 0 and 1, got {delta}")
    if k < 2:
        raise InvalidParameter(f"the sampling protocol needs k >= 2 (it uses k - 1 rounds), got {k}")
    return min(q, math.ceil(q / (k - 1) * math.log(1 / delta)))


class Sampling(PointerChasingProtocol):
    """Pointer chasing in R = k − 1 rounds with public random m-subsets S_j ⊂ V_j, j = 2..k.

    Round 1: P_k, ..., P_2 post E_j restricted to S_j (m⌈log₂ q⌉ bits) and P_1 posts v_2. From then
    on, in each round the owner of the frontier posts the next vertex; every hop whose vertex lies in
    its layer's sample is free. Rounds needed = k − #free hops, with #free ~ Binomial(k − 1, m/q) for
    every input, so the protocol completes within k − 1 rounds except with probability
    (1 − m/q)^{k−1}; otherwise P_1 guesses.

    Parameters
    ----------
    q, k : int
        Layer size (even) and layers (k >= 2).
    m : int, optional
        Sample size, 1..q. Give ``m`` or ``delta``, not both.
    delta : float, optional
        Target probability of not finishing; sets ``m`` by :func:`sample_size`. Default 0.1.
    rounds : int, optional
        R; defaults to k − 1.

    Notes
    -----
    s = m⌈log₂ q⌉ = O((q/k)·log q·log(1/δ)). Dominated by the indicator protocols
    (:mod:`commlab.protocols.indicators`), which need no log q factor: ``chunked`` solves R = k − 1
    exactly with ⌈q/(k − 1)⌉ bits.

    The samples of every m are the m vertices with the smallest public random keys, and the keys do
    not depend on m: under one seed the sample for m is contained in the sample for m + 1 (common
    random numbers), so a budget search over m compares like with like, and on each instance
    success can only grow with m.

    Examples
    --------
    >>> from commlab.protocols import simulate
    >>> r = simulate("sampling", q=100, k=4, trials=200, seed=0, m=50)
    >>> r.extras["completed"] > 0.8, r.spec.rounds, r.bits_per_message
    (True, 3, 350)
    """

    name = "sampling"
    size_option = "m"

    def __init__(
        self,
        q: int,
        k: int,
        m: int | None = None,
        delta: float | None = None,
        rounds: int | None = None,
    ):
        if m is not None and delta is not None:
            raise InvalidParameter("give the sample size m or the failure target delta, not both")
        if k < 2:
            raise InvalidParameter(f"the sampling protocol needs k >= 2 (it uses k - 1 rounds), got {k}")
        if m is None:
            m = sample_size(q, k, 0.1 if delta is None else delta)
        if not isinstance(m, (int, np.integer)) or not 1 <= m <= q:
            raise InvalidParameter(f"sample size m must be an integer in 1..q = 1..{q}, got {m}")
        self.m = int(m)
        super().__init__(q, k, k - 1 if rounds is None else rounds)

    def budget(self) -> int:
        return self.m * self.vertex.bits

    @classmethod
    def supports(cls, q: int, k: int, rounds: int) -> bool:
        return k >= 2 and rounds >= 1

    @classmethod
    def size_values(cls, q: int, k: int) -> range:
        return range(1, q + 1)

    def exact_success(self) -> Fraction:
        r"""P(complete) + P(incomplete)/2: the protocol completes within R rounds exactly when at
        least k − R of the k − 1 hops from V_2..V_k are free, and each is free independently with
        probability m/q (the path's vertices are independent and uniform), so

        .. math:: P(\text{complete}) = \sum_{i \ge k-R} \binom{k-1}{i} (m/q)^i (1 - m/q)^{k-1-i};

        otherwise P_1 guesses a public coin, right with probability 1/2.

        Examples
        --------
        >>> float(Sampling(128, 4, m=17).exact_success()) >= 2 / 3 > float(Sampling(128, 4, m=16).exact_success())
        True
        """
        p = Fraction(self.m, self.q)
        need = max(self.k - self.spec.rounds, 0)
        complete = sum(
            math.comb(self.k - 1, i) * p**i * (1 - p) ** (self.k - 1 - i) for i in range(need, self.k)
        )
        return complete + (1 - complete) / 2

    def samples(self, coins) -> tuple[np.ndarray, np.ndarray]:
        """The public samples of every instance of the batch ``coins`` draws for.

        Returns ``(samples, slot)``: ``samples[b, j-2]`` lists S_j in increasing order (the m vertices
        with the smallest public random keys, a uniform m-subset) and ``slot[b, j-2, u]`` is the
        position of u in S_j, or −1. The keys are drawn under a label without m, so samples nest:
        S_j for m is contained in S_j for m + 1 under the same seed.
        """
        keys = coins.uniform(f"samples:{self.k}x{self.q}", (self.k - 1, self.q))
        samples = np.sort(np.argpartition(keys, self.m - 1, axis=2)[..., : self.m], axis=2)
        slot = np.full((coins.batch, self.k - 1, self.q), -1, dtype=np.int16)
        np.put_along_axis(slot, samples, np.arange(self.m, dtype=np.int16), axis=2)
        return samples, slot

    def message_length(self, round, player, board, coins, memory):
        """Round 1: the sample maps from P_k..P_2 and v_2 from P_1 (the answer bit if R = 1); the
        answer bit from P_1 in round R; otherwise a vertex from the owner of the frontier — which
        the board shows — and silence from everyone else."""
        if round == 1 and player > 1:
            return self.budget()
        if player == 1 and round == self.spec.rounds:
            return 1
        if player == 1 and round == 1:
            return self.vertex.bits
        frontier = self._follow(board, coins, memory)
        return np.where(frontier.hop == player, self.vertex.bits, 0)

    def speak(self, player, round, own, board, coins, memory):
        batch = len(own["start"])
        rows = np.arange(batch)
        frontier = self._follow(board, coins, memory)
        if round == 1 and player > 1:
            return self.post_vertices(own["edges"][rows[:, None], frontier.samples[:, player - 2]])
        if player == 1 and round == 1:  # P_1 makes the first hop itself
            second = own["edges"][rows, own["start"]]
            frontier.learn(1, second, np.ones(batch, dtype=bool))
            if round < self.spec.rounds:
                return self.post_vertices(second)
        if player == 1 and round == self.spec.rounds:
            done = frontier.hop == self.k + 1
            end = np.where(done, frontier.vertex, 0)
            return np.where(done[:, None], self.answer_bit(own, end), self.guess(coins))
        owner = frontier.hop == player
        bits = self.post_vertices(own["edges"][rows, np.where(owner, frontier.vertex, 0)])
        return Bits(bits, np.where(owner, bits.shape[1], 0))

    def _follow(self, board, coins, memory):
        """Catch up with the board since this player's last turn (the replay is kept in memory)."""
        if "frontier" not in memory:
            memory["frontier"] = _Frontier(self, coins)
            memory["seen"] = 0
        frontier = memory["frontier"]
        for message in board.since(memory["seen"]):
            frontier.read(message)
        memory["seen"] = len(board)
        return frontier

    def parameters(self) -> dict:
        return {"m": self.m}

    def measure(self, instances, coins) -> dict[str, np.ndarray]:
        """Per instance: ``rounds_needed`` (k − free hops) from the public samples and the path."""
        samples, _ = self.samples(coins)
        path = instances.path()
        free = (samples == path[:, 1 : self.k, None]).any(axis=2).sum(axis=1)
        return {"rounds_needed": self.k - free}

    def summarize(self, measures: dict[str, np.ndarray]) -> dict:
        """``completed`` (finished within R rounds) with its interval, the predicted
        incompletion (1 − m/q)^{k−1} and the mean rounds needed."""
        needed = measures["rounds_needed"]
        finished = needed <= self.spec.rounds
        return {
            "completed": float(finished.mean()),
            "completed_ci": list(clopper_pearson(int(finished.sum()), len(finished))),
            "predicted_incompletion": (1 - self.m / self.q) ** (self.k - 1),
            "mean_rounds_needed": float(needed.mean()),
        }


class _Frontier:
    """What the board tells about the path: the furthest known vertex ``v_hop`` per instance."""

    def __init__(self, protocol: Sampling, coins):
        batch = coins.batch
        self.p = protocol
        self.hop = np.ones(batch, dtype=np.int64)
        self.vertex = np.zeros(batch, dtype=np.int64)
        self.samples, self.slot = protocol.samples(coins)
        self.sampled_images = np.zeros((batch, protocol.k - 1, protocol.m), dtype=np.int64)
        self.maps_known = False

    def read(self, message) -> None:
        """Take in one board message: a sample map (round 1, P_k..P_2) or a posted vertex."""
        if message.round == 1 and message.player > 1:
            images = self.p.read_vertices(message.bits, self.p.m)
            self.sampled_images[:, message.player - 2] = images
            self.maps_known = message.player == 2  # P_2 is the last to post its sample
        elif message.lengths.any() and (message.player > 1 or message.round == 1):
            posted = message.lengths > 0
            self.learn(message.player, self.p.read_vertices(message.bits), posted)

    def learn(self, hop: int, vertex: np.ndarray, where: np.ndarray) -> None:
        """v_{hop+1} = vertex for instances ``where`` the frontier was at hop ``hop``; then follow
        every free hop through the samples."""
        where = where & (self.hop == hop)
        self.vertex = np.where(where, vertex, self.vertex)
        self.hop = np.where(where, hop + 1, self.hop)
        rows = np.arange(len(self.hop))
        while self.maps_known:
            open_ = (self.hop >= 2) & (self.hop <= self.p.k)
            layer = np.clip(self.hop - 2, 0, self.p.k - 2)
            slot = self.slot[rows, layer, self.vertex]
            free = open_ & (slot >= 0)
            if not free.any():
                return
            self.vertex = np.where(free, self.sampled_images[rows, layer, np.maximum(slot, 0)], self.vertex)
            self.hop = np.where(free, self.hop + 1, self.hop)
