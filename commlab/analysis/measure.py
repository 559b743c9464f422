r"""Measurements of runs: the bits messages use, the information they carry, the precision compiled
models really need, and the smallest budget at which each zoo protocol still succeeds.

All counts come from the board's meter (:class:`~commlab.engine.ir.RunResult`); nothing here trusts a
protocol's own claims.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
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
    "zoo_budgets",
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
    """The smallest message size at which one zoo protocol with ``rounds`` rounds reaches the target
    success on (q, k) pointer chasing (:func:`smallest_budget`).

    Attributes
    ----------
    protocol : str
        The zoo protocol searched (:data:`commlab.protocols.PROTOCOLS`).
    option, value : str or None, int or None
        The size option searched (``"m"``, ``"t"``; ``None`` for a protocol whose s is fixed) and the
        value found (``None`` when the target is not reached).
    decision : str
        ``"reached"``: with ``method == "exact"``, every size from ``value`` on reaches the target
        (all sizes are scanned); with ``"monte-carlo"``, every size the search *evaluated* from
        ``value`` on has its whole confidence interval above the target (sizes it skipped are not
        certified, and each interval holds at 95 % on its own, not jointly); ``"undecided"``: the
        intervals straddle the target at every size tried, so no size is certified; ``"unreachable"``: no size reaches it.
    method : str
        ``"exact"`` (the protocol's closed-form success, every size scanned) or ``"monte-carlo"``
        (common random numbers: one seed, the same instances and coins for every size).
    bits_per_message : int or None
        The declared s at ``value`` (``declared_bits_per_message`` in :meth:`to_dict`).
    measured_bits_per_message : int
        The largest message the engine's run at ``value`` actually sent.
    success_exact : float or None
        The exact success at ``value`` (``None`` without a closed form).
    success, success_ci : float, [lo, hi]
        Measured by the engine at ``value`` on ``trials`` instances, with the 95 % Clopper–Pearson
        interval (for ``"unreachable"``, at the largest size).
    undecided : list of int
        Sizes whose interval straddles the target (Monte Carlo only).
    monotone : bool
        Whether success never fell as the size grew over every evaluation made.
    violations : list of [int, int]
        Pairs of consecutive evaluated sizes (smaller, larger) where success fell.
    evaluations : list of [value, bits, success]
        Every evaluation made, smallest size first (Monte Carlo rows add the interval).
    """

    q: int
    k: int
    rounds: int
    protocol: str
    option: str | None
    value: int | None
    decision: str
    method: str
    bits_per_message: int | None
    measured_bits_per_message: int
    success_exact: float | None
    success: float
    success_ci: tuple[float, float]
    trials: int
    seed: int
    target: float
    undecided: list[int]
    monotone: bool
    violations: list[list[int]]
    evaluations: list[list]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the lab's key names (``declared_bits_per_message``)."""
        out = {**self.__dict__, "success_ci": list(self.success_ci)}
        out["declared_bits_per_message"] = out.pop("bits_per_message")
        return out


def _exact_target(target: float) -> Fraction:
    """The target as a fraction (2/3 stays exactly 2/3)."""
    if not 0 < target <= 1:
        raise InvalidParameter(f"target success must lie in (0, 1], got {target}")
    return Fraction(target).limit_denominator(10**6)


def _falls(sizes: list[int], successes: list) -> list[list[int]]:
    """Consecutive pairs of sizes where success fell as the size grew."""
    return [[a, b] for a, b, x, y in zip(sizes, sizes[1:], successes, successes[1:], strict=False) if y < x]


def smallest_budget(
    q: int,
    k: int,
    rounds: int,
    *,
    protocol: str | None = None,
    trials: int = 300,
    seed: int = 0,
    target: float = 2 / 3,
    method: str = "exact",
) -> BudgetSearch:
    """The smallest bits per message at which a zoo protocol solves pointer chasing in ``rounds``
    rounds with success at least ``target``.

    With ``method="exact"`` (used wherever the protocol has a closed form,
    :meth:`~commlab.protocols.PointerChasingProtocol.exact_success`) every size is evaluated exactly
    and the answer is the smallest size from which every larger one reaches the target; nothing is
    assumed monotone, and any fall of success with size is reported in ``violations``. The found
    protocol is then run through the engine on ``trials`` instances, so the exact value stands beside
    a measured rate and its interval.

    With ``method="monte-carlo"`` success is measured on ``trials`` instances with common random
    numbers (one seed: the same instances and public coins for every size; the sampling protocol's
    samples nest). A size counts as reaching the target only when its whole Clopper–Pearson interval
    lies at or above it, as failing only when the interval lies below; sizes in between are
    ``undecided``. Two bisections find the smallest certified size and the largest certified failure;
    monotonicity is then checked over every evaluation and violations reported, not assumed away.

    Parameters
    ----------
    q, k, rounds : int
        The problem and the rounds R.
    protocol : str, optional
        A name in :data:`commlab.protocols.PROTOCOLS`; by default the best of the zoo
        (:func:`zoo_budgets`).
    trials, seed : int
        Instances per measurement, and the seed of instances and coins.
    target : float
        The success to reach (the bound's 2/3 by default).
    method : {"exact", "monte-carlo"}

    Returns
    -------
    BudgetSearch

    Raises
    ------
    InvalidParameter
        For bad parameters, a protocol that cannot run with ``rounds`` rounds, or ``"exact"`` for a
        protocol without a closed form.

    Examples
    --------
    The sampling protocol at q = 128, k = 4 needs 623, 350 and 119 bits for R = 1, 2, 3:

    >>> [smallest_budget(128, 4, r, protocol="sampling").bits_per_message for r in (1, 2, 3)]
    [623, 350, 119]
    >>> best = smallest_budget(128, 4, 3)
    >>> best.protocol, best.value, best.bits_per_message, round(best.success_exact, 4)
    ('chunked', 15, 15, 0.6758)
    """
    from commlab.protocols import PROTOCOLS, make_protocol, simulate

    if not isinstance(rounds, (int, np.integer)) or rounds < 1:
        raise InvalidParameter(f"rounds must be an integer >= 1, got {rounds}")
    if protocol is None:
        return zoo_budgets(q, k, rounds, trials=trials, seed=seed, target=target, method=method)[0]
    if method not in ("exact", "monte-carlo"):
        raise InvalidParameter(f"method must be 'exact' or 'monte-carlo', got {method!r}")
    if protocol not in PROTOCOLS:
        raise InvalidParameter(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    cls = PROTOCOLS[protocol]
    if not cls.supports(q, k, rounds):
        raise InvalidParameter(f"protocol {protocol!r} does not run with R = {rounds} rounds at k = {k}")
    goal = _exact_target(target)
    option = cls.size_option
    sizes = list(cls.size_values(q, k)) or [None]

    def build(size):
        return make_protocol(protocol, q, k, rounds=rounds, **({option: size} if option else {}))

    def measure(size):
        opts = {option: size} if option else {}
        return simulate(protocol, q=q, k=k, trials=trials, seed=seed, rounds=rounds, **opts)

    common = {"q": q, "k": k, "rounds": rounds, "protocol": protocol, "option": option}
    if method == "exact":
        exact = [build(size).exact_success() for size in sizes]
        if exact[0] is None:
            raise InvalidParameter(
                f"protocol {protocol!r} has no closed-form success; use method='monte-carlo'"
            )
        bits = [build(size).spec.max_bits for size in sizes]
        first = len(sizes)  # smallest index from which every larger size reaches the goal
        while first > 0 and exact[first - 1] >= goal:
            first -= 1
        reached = first < len(sizes)
        at = first if reached else len(sizes) - 1
        run = measure(sizes[at])
        return BudgetSearch(
            **common,
            value=sizes[at] if reached else None,
            decision="reached" if reached else "unreachable",
            method="exact",
            bits_per_message=bits[at] if reached else None,
            measured_bits_per_message=run.bits_per_message,
            success_exact=float(exact[at]),
            success=run.success,
            success_ci=run.success_ci,
            trials=trials,
            seed=seed,
            target=target,
            undecided=[],
            monotone=not _falls(sizes, exact),
            violations=_falls(sizes, exact) if option else [],
            evaluations=[[v, b, float(x)] for v, b, x in zip(sizes, bits, exact, strict=True)],
        )

    runs: dict[Any, RunResult] = {}

    def verdict(i: int) -> int:
        """+1 certified reaching, −1 certified failing, 0 undecided (measured at sizes[i])."""
        if sizes[i] not in runs:
            runs[sizes[i]] = measure(sizes[i])
        low, high = runs[sizes[i]].success_ci
        return 1 if low >= goal else -1 if high < goal else 0

    lo, hi = 0, len(sizes)  # smallest certified-reaching index in [lo, hi] (hi: none)
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if verdict(mid) == 1 else (mid + 1, hi)
    passing = lo
    lo, hi = -1, passing - 1  # largest certified-failing index in [lo, hi] (lo: none)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if verdict(mid) == -1 else (lo, mid - 1)
    failing = lo
    evaluated = sorted(runs)
    successes = [runs[v].success for v in evaluated]
    violations = _falls(evaluated, successes)
    undecided = [v for v in evaluated if verdict(sizes.index(v)) == 0]
    reached = passing < len(sizes)
    at = sizes[passing] if reached else sizes[-1]
    if at not in runs:
        runs[at] = measure(at)
    decision = "reached" if reached else "unreachable" if failing == len(sizes) - 1 else "undecided"
    closed = build(at).exact_success()
    return BudgetSearch(
        **common,
        value=at if reached else None,
        decision=decision,
        method="monte-carlo",
        bits_per_message=build(at).spec.max_bits if reached else None,
        measured_bits_per_message=runs[at].bits_per_message,
        success_exact=None if closed is None else float(closed),
        success=runs[at].success,
        success_ci=runs[at].success_ci,
        trials=trials,
        seed=seed,
        target=target,
        undecided=undecided,
        monotone=not violations,
        violations=violations,
        evaluations=[
            [v, build(v).spec.max_bits, runs[v].success, list(runs[v].success_ci)] for v in evaluated
        ],
    )


def zoo_budgets(
    q: int,
    k: int,
    rounds: int,
    *,
    trials: int = 300,
    seed: int = 0,
    target: float = 2 / 3,
    method: str = "exact",
) -> list[BudgetSearch]:
    """:func:`smallest_budget` for every zoo protocol that runs with ``rounds`` rounds, best first:
    protocols that reach the target ordered by bits per message (then by exact success, highest
    first), then the rest. ``method="exact"`` falls back to Monte Carlo for a protocol without a
    closed form. ``pipelined`` is left out where it coincides with ``indicators`` (R = 1) or
    ``chunked`` (R = k − 1).

    Examples
    --------
    >>> [(b.protocol, b.bits_per_message) for b in zoo_budgets(128, 4, 2)]
    [('pipelined', 43), ('sampling', 350), ('broadcast', 896), ('chase', None)]
    """
    from commlab.protocols import PROTOCOLS

    found = []
    for name, cls in PROTOCOLS.items():
        if not cls.supports(q, k, rounds):
            continue
        if name == "pipelined" and (rounds == 1 or rounds == k - 1):
            continue
        closed = method == "exact" and cls(q, k, rounds=rounds).exact_success() is not None
        found.append(
            smallest_budget(
                q,
                k,
                rounds,
                protocol=name,
                trials=trials,
                seed=seed,
                target=target,
                method="exact" if closed else "monte-carlo",
            )
        )

    def rank(b: BudgetSearch):
        reached = b.decision == "reached"
        return (not reached, b.bits_per_message if reached else 0, -(b.success_exact or b.success))

    return sorted(found, key=rank)
