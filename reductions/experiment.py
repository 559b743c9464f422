"""One experiment for any layer-stack reduction: compile a model, run it on encoded pointer chasing,
verify it against the model bit for bit, and set the measured bits against the lower bound."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from commlab._version import __version__
from commlab.analysis.bounds import critical_length
from commlab.analysis.stats import clopper_pearson
from commlab.engine import run
from commlab.errors import InvalidParameter
from commlab.problems.pointer_chasing import PointerChasing, check_parameters
from commlab.seeds import EVALUATION, stream_seed
from reductions import REGISTRY, compile_to_protocol
from reductions.conformance import verify_exact
from reductions.layerwise import split_by_blocks
from reductions.pointer_chasing import encode

__all__ = [
    "ReductionReport",
    "SolverCurve",
    "bound_table",
    "even_blocks",
    "reduce_on_paper_task",
    "reduce_on_pointer_chasing",
    "solver_curve",
    "window_solver_curve",
]


def bound_table(rounds: int, bits: int, c_value: float = 1.0, count: int = 6) -> list[dict[str, Any]]:
    """For k = R+1 .. R+count: the length N* = 2·s·k⁶/c beyond which no protocol with these R rounds
    and s-bit messages solves hop_k (Assadi–N's s ≥ c·q/k⁵ at q = N/(2k); SHT24 Prop E.3–E.4), as a
    formula in c and its value."""
    rows = []
    for hops in range(rounds + 1, rounds + count + 1):
        at_c = critical_length(bits, hops, c_value)
        rows.append({"k": hops, "formula": f"{2 * bits * hops**6}/c", "critical_N": at_c, "c": c_value})
    return rows


@dataclass(frozen=True, eq=False)
class ReductionReport:
    """The outcome of :func:`reduce_on_pointer_chasing`."""

    model: str
    reduction: str
    k: int
    q: int
    rounds: int
    declared_bits_per_message: int
    bits_per_message: int
    total_bits: int
    trials: int
    mismatches: int
    first_mismatch: tuple[int, int, int] | None
    accuracy: float
    accuracy_ci: tuple[float, float]
    bound: list[dict[str, Any]]
    seed: int
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            **self.params,
            "reduction": self.reduction,
            "k": self.k,
            "q": self.q,
            "sequence_length": 2 * self.k * self.q + 1,
            "rounds": self.rounds,
            "declared_bits_per_message": self.declared_bits_per_message,
            "bits_per_message": self.bits_per_message,
            "total_bits": self.total_bits,
            "trials": self.trials,
            "mismatches": self.mismatches,
            "first_mismatch": self.first_mismatch,
            "accuracy": self.accuracy,
            "accuracy_ci": list(self.accuracy_ci),
            "bound": self.bound,
            "seed": self.seed,
            "version": __version__,
        }


def model_params(model: Any) -> dict[str, Any]:
    """What a report says the model was: the sizes its builder recorded in ``model.info`` (not the
    seed, which the report carries itself) and its number format."""
    return {**{key: value for key, value in model.info.items() if key != "seed"}, "format": model.fmt.name}


def reduce_on_pointer_chasing(
    model: Any,
    *,
    k: int,
    q: int,
    trials: int,
    seed: int = 0,
    reduction: str | None = None,
    c_value: float = 1.0,
    params: dict[str, Any] | None = None,
) -> ReductionReport:
    """Compile ``model`` for the k players of (q, k) pointer chasing encoded as hop_k, run the
    protocol on ``trials`` random instances, and verify every message against the model.

    Returns
    -------
    ReductionReport
        Rounds, declared and measured bits, mismatching instances (0 for a correct reduction), the
        model's accuracy on hop_k(X)_N with a Clopper–Pearson interval, and the bound table.

    Raises
    ------
    InvalidParameter
        For bad (q, k, trials) or a model whose alphabet cannot hold the encoding (needs 2q + 2).

    Notes
    -----
    No run can contradict the lower bound, whose constant is unknown; a successful run with fewer
    than k rounds bounds the constant instead (:func:`commlab.analysis.bounds.constant_ceiling`).
    """
    check_parameters(q, k, trials)
    if getattr(model, "alphabet", 0) < 2 * q + 2:
        raise InvalidParameter(
            f"the encoding of q = {q} needs an alphabet of 2q + 2 = {2 * q + 2} tokens; "
            f"the model has {getattr(model, 'alphabet', None)}"
        )
    instances = PointerChasing.random(q, k, trials, seed)
    encoded = encode(instances)
    protocol = compile_to_protocol(model, encoded.blocks, reduction)
    result = run(protocol, encoded.player_inputs(), seed=seed, truth=encoded.answer)
    check = verify_exact(protocol, encoded.tokens, result.transcript)
    successes = int(np.count_nonzero(result.output == encoded.answer))
    accuracy = successes / trials
    return ReductionReport(
        model=model.describe() if hasattr(model, "describe") else type(model).__name__,
        reduction=protocol.spec.name,
        k=k,
        q=q,
        rounds=protocol.spec.rounds,
        declared_bits_per_message=protocol.spec.max_bits,
        bits_per_message=result.bits_per_message,
        total_bits=result.total_bits,
        trials=trials,
        mismatches=check.mismatches,
        first_mismatch=check.first,
        accuracy=accuracy,
        accuracy_ci=clopper_pearson(successes, trials),
        # A fixed-s table says nothing of a model whose messages carry a block of the input (their
        # s grows with N): it gets no table, and the report says why.
        bound=[]
        if getattr(REGISTRY.get(protocol.spec.name), "message_grows_with_n", False)
        else bound_table(protocol.spec.rounds, protocol.spec.max_bits, c_value),
        seed=seed,
        params=dict(params or {}),
    )


@dataclass(frozen=True)
class SolverCurve:
    """Accuracy of a family of models on encoded pointer chasing against the bits their compiled
    protocols measurably post: one point per model size."""

    label: str
    q: int
    k: int
    sizes: list[int]
    bits_per_message: list[int]
    rounds: list[int]
    accuracy: list[float]
    accuracy_ci: list[tuple[float, float]]
    mismatches: list[int]
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """As the figures and ``--json`` show it: the shared JSON names (docs/cli-json.md), so the bits
        each point posted are ``measured_bits_per_message``."""
        fields = {key: value for key, value in self.__dict__.items() if key != "bits_per_message"}
        return {
            **fields,
            "measured_bits_per_message": list(self.bits_per_message),
            "accuracy_ci": [list(ci) for ci in self.accuracy_ci],
            "version": __version__,
        }


def solver_curve(
    label: str, make_model, sizes: list[int], *, q: int, k: int, trials: int, seed: int = 0, progress=None
) -> SolverCurve:
    """Run :func:`reduce_on_pointer_chasing` for ``make_model(size)`` at every size.

    Any model family that solves hop_k once it is large enough (a recurrent window, later a
    chain-of-thought transformer) gives a curve the same way, so plots add a curve, not a plot.
    ``progress``, if given, is called after each size.
    """
    reports = []
    for size in sizes:
        reports.append(reduce_on_pointer_chasing(make_model(size), k=k, q=q, trials=trials, seed=seed))
        if progress is not None:
            progress()
    return SolverCurve(
        label,
        q,
        k,
        list(sizes),
        [r.bits_per_message for r in reports],
        [r.rounds for r in reports],
        [r.accuracy for r in reports],
        [r.accuracy_ci for r in reports],
        [r.mismatches for r in reports],
        seed,
    )


def window_solver_curve(
    q: int, k: int, windows: list[int], *, trials: int, seed: int = 0, progress=None
) -> SolverCurve:
    """The window model (keeps the last W tokens, exact while hops stay inside) on encoded (q, k)
    pointer chasing, for each W. When a search leaves the window it answers V¹, right half the time.

    Examples
    --------
    >>> curve = window_solver_curve(4, 2, [2, 17], trials=40)
    >>> curve.accuracy[-1], curve.bits_per_message
    (1.0, [8, 68])
    """
    from commlab.models.window import window_hop_model

    alphabet = 2 * q + 2
    return solver_curve(
        "window RNN (keeps the last W tokens)",
        lambda w: window_hop_model(w, k, alphabet, fallback=2 * q),
        windows,
        q=q,
        k=k,
        trials=trials,
        seed=seed,
        progress=progress,
    )


def even_blocks(length: int, players: int) -> list[tuple[int, int]]:
    """``players`` contiguous blocks over ``length`` positions, as equal as integers allow, in
    speaking order (P_k's block first).

    Examples
    --------
    >>> even_blocks(23, 4)
    [(0, 6), (6, 12), (12, 17), (17, 23)]
    """
    if not 1 <= players <= length:
        raise InvalidParameter(f"cannot split {length} positions among {players} players")
    edges = [round(i * length / players) for i in range(players + 1)]
    return list(zip(edges[:-1], edges[1:], strict=True))


def _defined_last(task, k: int, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` fresh paper-format sequences of hop count k whose last target is a character
    (not ⊥), drawn in chunks seeded by ``(seed, k, chunk)`` in the evaluation stream."""
    inputs, answers, chunk = [], [], 0
    while sum(len(a) for a in answers) < count:
        x, y = task.sample(count, k, stream_seed(seed, EVALUATION, k, chunk))
        keep = y[:, -1] != task.bottom
        inputs.append(x[keep])
        answers.append(y[keep, -1])
        chunk += 1
        if chunk > 100:
            raise InvalidParameter(f"hop_{k} is almost never defined at the last position for this task")
    return np.concatenate(inputs)[:count], np.concatenate(answers)[:count]


def reduce_on_paper_task(
    model: Any, task, k: int, *, samples: int, seed: int = 0, c_value: float = 1.0
) -> dict[str, Any]:
    """Compile ``model`` for k players holding contiguous blocks of a paper-format hop_k sequence
    (:class:`~commlab.problems.paper_format.PaperTask`), run the protocol on ``samples`` fresh
    sequences whose last target is defined, verify every message against the model, and score the
    protocol's output (the model's prediction at the last position) against hop_k there.

    Returns
    -------
    dict
        ``k``, ``players``, ``blocks``, ``sequences``, ``rounds``, ``declared_bits_per_message``,
        ``measured_bits_per_message``, ``total_bits``, ``mismatches``, ``accuracy``/``accuracy_ci``
        (95 % Clopper–Pearson), and the rnn bound at c (SHT24 Cor 5.2, stated in N = the input
        length): ``bound_bits`` = c·N/(2k⁶), whether it ``applies`` (R < k) and is ``vacuous``.

    Raises
    ------
    InvalidParameter
        k outside the task's hop counts or 0, or a task whose last target is almost never defined.

    Examples
    --------
    >>> from commlab.models import random_recurrent_model
    >>> from commlab.problems.paper_format import PaperTask
    >>> task = PaperTask(char_tokens=4, max_hops=3, seq_len=12)
    >>> model = random_recurrent_model("gru", 1, 4, task.vocabulary, "float32", 0)
    >>> row = reduce_on_paper_task(model, task, 3, samples=10)
    >>> row["mismatches"], row["rounds"], row["declared_bits_per_message"], row["vacuous"]
    (0, 1, 128, True)
    """
    from commlab.analysis.bounds import get_bound

    k = task.check_k(k)
    if k < 1:
        raise InvalidParameter(f"k players need k >= 1, got k = {k}")
    tokens, answers = _defined_last(task, k, samples, seed)
    blocks = even_blocks(tokens.shape[1], k)
    protocol = compile_to_protocol(model, blocks, "rnn")
    result = run(protocol, split_by_blocks(tokens, blocks), seed=seed, truth=answers)
    check = verify_exact(protocol, tokens, result.transcript)
    right = int(np.count_nonzero(result.output == answers))
    bound = get_bound("rnn")
    length = tokens.shape[1]
    return {
        "k": k,
        "players": k,
        "blocks": [list(b) for b in blocks],
        "sequences": len(tokens),
        "rounds": protocol.spec.rounds,
        "declared_bits_per_message": protocol.spec.max_bits,
        "measured_bits_per_message": result.bits_per_message,
        "total_bits": result.total_bits,
        "mismatches": check.mismatches,
        "accuracy": right / len(tokens),
        "accuracy_ci": list(clopper_pearson(right, len(tokens))),
        "c": c_value,
        "bound_bits": bound.required_bits(N=length, k=k, c=c_value),
        "applies": bound.applies(L=protocol.spec.rounds, k=k),
        "vacuous": bound.is_vacuous(N=length, k=k, c=c_value),
    }
