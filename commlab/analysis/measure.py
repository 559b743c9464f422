r"""Measurements of runs: the bits messages use, the information they carry, the precision compiled
models really need, and the smallest budget at which the upper-bound protocols still succeed.

All counts come from the board's meter (:class:`~commlab.engine.ir.RunResult`); nothing here trusts a
protocol's own claims.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from commlab.engine.ir import RunResult, Transcript
from commlab.errors import InvalidParameter
from commlab.io.codecs import ShortFloat

__all__ = [
    "BitProfile",
    "BudgetSearch",
    "EffectiveBits",
    "bit_profile",
    "effective_bits",
    "message_entropy",
    "miller_madow",
    "smallest_budget",
]


@dataclass(frozen=True)
class BitProfile:
    """Bits a run used, from the board's meter: the largest and mean message, the mean bits per
    instance by round, by player and by turn ``[round-1, player-1]``, and the total per instance
    (largest and mean)."""

    max: int
    mean: float
    by_round: list[float]
    by_player: list[float]
    by_turn: list[list[float]]
    total: int
    total_mean: float


def bit_profile(result: RunResult) -> BitProfile:
    """The :class:`BitProfile` of a run.

    Examples
    --------
    >>> from commlab.protocols import simulate
    >>> simulate("chase", q=16, k=3, trials=10).to_dict()["bits_per_message"]
    4
    >>> bit_profile(simulate("chase", q=16, k=3, trials=10)).by_round
    [4.0, 4.0, 5.0]
    """
    lengths = result.transcript.lengths
    return BitProfile(
        max=result.bits_per_message,
        mean=result.mean_bits_per_message,
        by_round=result.bits_by_round.tolist(),
        by_player=result.bits_by_player.tolist(),
        by_turn=lengths.mean(axis=0).tolist(),
        total=result.total_bits,
        total_mean=float(result.total_bits_per_instance.mean()),
    )


def miller_madow(counts: np.ndarray, max_bits: float | None = None) -> float:
    r"""Entropy in bits of a distribution seen through ``counts``: the plug-in estimate plus the
    Miller–Madow bias correction :math:`(K - 1) / (2 n \ln 2)`, K the number of values seen,
    **capped** at :math:`\log_2 n` and at ``max_bits``.

    The correction alone can push the estimate past what n samples can show: 100 distinct values
    give 6.64 + 0.71 = 7.36 bits, above the log₂ 100 = 6.64 bits of any distribution on 100 draws'
    worth of evidence, and past the entropy of the variable's whole range. So the estimate is
    ``min(miller–madow, log₂ n, max_bits)``: it never claims more than the samples can witness
    (log₂ n) nor more than the variable can hold (``max_bits`` = log₂ of the number of values it can
    take, when known).

    References
    ----------
    G. A. Miller. "Note on the bias of information estimates." In *Information Theory in Psychology*,
    Free Press, 1955, 95–100.

    Examples
    --------
    >>> round(miller_madow(np.array([50, 50])), 4)  # a fair bit, 100 draws
    1.0072
    >>> round(miller_madow(np.array([50, 50]), max_bits=1), 4)  # ... of a variable with two values
    1.0
    >>> round(miller_madow(np.ones(100, dtype=int)), 4)  # 100 distinct draws: log₂ 100, not 7.36
    6.6439
    >>> miller_madow(np.array([7]))
    0.0
    """
    counts = np.asarray(counts, dtype=np.float64)
    counts = counts[counts > 0]
    n = counts.sum()
    if n == 0:
        return 0.0
    p = counts / n
    estimate = float(-(p * np.log2(p)).sum() + (len(counts) - 1) / (2 * n * math.log(2)))
    cap = math.log2(n) if max_bits is None else min(math.log2(n), float(max_bits))
    return min(estimate, cap)


def message_entropy(transcript: Transcript) -> np.ndarray:
    """Entropy (bits) of every message slot over the instances of a run, by :func:`miller_madow`
    (capped): shape (R, k), ``[round-1, player-1]``. A slot's cap is what it can hold: ℓ bits when
    every message in it is ℓ bits long, log₂(2^{L+1} − 1) when lengths vary up to L (the length is
    visible). Set against the slot's length it tells how much of a message is information; it
    cannot exceed log₂(instances), so long messages need many instances.

    Examples
    --------
    >>> from commlab.protocols import simulate
    >>> entropy = message_entropy(simulate("chase", q=4, k=2, trials=2000).transcript)
    >>> bool(abs(entropy[0, 0] - 2) < 0.01), bool(entropy[1, 0] <= 1)  # v_2 of 4 vertices; a bit
    (True, True)
    """
    spec = transcript.spec
    out = np.zeros((spec.rounds, spec.k))
    for message in transcript.messages:
        rows = np.concatenate([message.lengths[:, None], message.bits], axis=1)
        _, counts = np.unique(rows, axis=0, return_counts=True)
        lengths = np.unique(message.lengths)
        longest = int(lengths.max(initial=0))
        support_bits = float(longest) if len(lengths) == 1 else longest + math.log2(2 - 2.0**-longest)
        out[message.round - 1, message.player - 1] = miller_madow(counts, support_bits)
    return out


@dataclass(frozen=True)
class EffectiveBits:
    """The precision a compiled model's messages really need, from a scan of every t.

    ``agreement[t]`` is the fraction of instances on which the protocol, posting real states as
    float32 with t fraction bits (9 + t bits a number), returns the full-precision model's answer,
    for t = 0..23. Agreement need not grow with t, so ``mantissa`` is the smallest t from which
    every larger t agrees on every instance; ``monotone`` says whether the curve never drops back.
    ``exact`` is False when even t = 23 disagrees (a float64 model): then ``mantissa`` is 23 and the
    bits are those of float32, which is not enough."""

    mantissa: int
    bits_per_number: int
    bits_per_message: int
    declared_bits_per_message: int
    instances: int
    exact: bool
    agreement: list[float]
    monotone: bool

    def curve(self) -> str:
        """The full-agreement curve as a string of 0/1 over t = 0..23, e.g. ``000001001111…``."""
        return "".join("1" if a == 1.0 else "0" for a in self.agreement)


#: Fraction bits of float32: effective_bits scans t = 0 .. FRACTION_BITS.
FRACTION_BITS = 23


def effective_bits(model: Any, tokens: np.ndarray, blocks: list[tuple[int, int]]) -> EffectiveBits:
    """Measure the precision a compiled layer-stack model's messages really need.

    Runs the protocol once for every t ∈ 0..23, posting every real-valued state rounded to t
    fraction bits (binary and integer states are posted exactly), and compares its answers with the
    model's own predictions at the last position. Agreement is not monotone in t (a coarser
    rounding can land on the right answer by chance), so no bisection: the answer is the smallest t
    from which agreement holds on every instance for every larger t, and the raw curve comes with it.

    Parameters
    ----------
    model : SequenceModel
    tokens : int array (B, N)
    blocks : the players' contiguous blocks, speaking order.

    Returns
    -------
    EffectiveBits

    Examples
    --------
    >>> from commlab.models import window_hop_model
    >>> tokens = np.array([[0, 1, 0, 1, 2, 3]])
    >>> found = effective_bits(window_hop_model(6, 1, 4), tokens, [(0, 3), (3, 6)])
    >>> found.mantissa, found.curve() == "1" * 24  # integer states: every t agrees
    (0, True)
    """
    from commlab.engine import run
    from reductions.layerwise import LayerwiseProtocol, split_by_blocks

    reference = model.forward(tokens).predictions[:, -1]
    inputs = split_by_blocks(tokens, blocks)

    def protocol(t: int) -> LayerwiseProtocol:
        return LayerwiseProtocol("effective-bits", model, blocks, message_format=ShortFloat(t))

    agreement = [
        float(np.mean(run(protocol(t), inputs).output == reference)) for t in range(FRACTION_BITS + 1)
    ]
    full = [a == 1.0 for a in agreement]
    exact = LayerwiseProtocol("exact", model, blocks).spec.max_bits
    monotone = all(not a or b for a, b in zip(full, full[1:], strict=False))
    if not full[-1]:
        return EffectiveBits(FRACTION_BITS, 9 + FRACTION_BITS, exact, exact, len(tokens), False, agreement, monotone)
    t = FRACTION_BITS
    while t > 0 and full[t - 1]:
        t -= 1
    return EffectiveBits(
        t, 9 + t, protocol(t).spec.max_bits, exact, len(tokens), True, agreement, monotone
    )


@dataclass(frozen=True)
class BudgetSearch:
    """The smallest budget found at which a reference protocol with ``rounds`` rounds reaches the
    target success on (q, k) pointer chasing, with every evaluation made on the way."""

    q: int
    k: int
    rounds: int
    protocol: str
    m: int | None
    bits_per_message: int
    success: float
    success_ci: tuple[float, float]
    evaluations: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "success_ci": list(self.success_ci)}


def smallest_budget(
    q: int,
    k: int,
    rounds: int,
    *,
    trials: int,
    seed: int = 0,
    target: float = 2 / 3,
) -> BudgetSearch:
    """Find the smallest bits per message at which pointer chasing is solved with ``rounds`` rounds.

    With ``rounds >= k`` the chase protocol needs only ``bits_for(q)`` bits. With fewer rounds
    the sampling protocol is searched over its sample size m by bisection; the samples for a smaller m
    are a subset of those for a larger one under the same coins, so on a fixed seed success is
    monotone in m and the bisection is exact for that seed. Success is measured by Monte Carlo with
    Clopper–Pearson intervals.

    Examples
    --------
    >>> found = smallest_budget(64, 4, 3, trials=200, seed=0)
    >>> found.protocol, found.success >= 2 / 3, found.bits_per_message == found.m * 6
    ('sampling', True, True)
    """
    from commlab.protocols import simulate

    if not isinstance(rounds, (int, np.integer)) or rounds < 1:
        raise InvalidParameter(f"rounds must be an integer >= 1, got {rounds}")
    evaluations: list[dict[str, Any]] = []

    def measure(name: str, **options) -> RunResult:
        result = simulate(name, q=q, k=k, trials=trials, seed=seed, rounds=rounds, **options)
        evaluations.append(
            {
                "m": options.get("m"),
                "bits": result.bits_per_message,
                "success": result.success,
                "success_ci": list(result.success_ci),
            }
        )
        return result

    if rounds >= k or k == 1:
        result = measure("chase")
        return BudgetSearch(
            q,
            k,
            rounds,
            "chase",
            None,
            result.bits_per_message,
            result.success,
            result.success_ci,
            evaluations,
        )
    results: dict[int, RunResult] = {}

    def succeeds(m: int) -> bool:
        results[m] = measure("sampling", m=m)
        return results[m].success >= target

    low, high = 1, q
    if not succeeds(high):
        raise InvalidParameter(f"even m = q = {q} does not reach success {target} with {trials} trials")
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if succeeds(middle) else (middle + 1, high)
    best = results[high]
    return BudgetSearch(
        q, k, rounds, "sampling", high, best.bits_per_message, best.success, best.success_ci, evaluations
    )
