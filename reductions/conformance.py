"""Exactness checks and the conformance kit every reduction's tests call.

:func:`verify_exact` compares a compiled protocol's run with the model's own forward pass: every
posted message must be the exact bit pattern of the model's state at that block's end (and P_1's
last message its prediction). :func:`check_reduction` runs the whole kit on a model factory: exact
agreement on random inputs and on encoded pointer chasing, measured bits equal to the declared s,
rounds equal to the declared R, batch independence (every instance's transcript and output the
same whatever instances share its batch) on every case, and the isolation audit. Failures raise
:class:`~commlab.errors.SimulationMismatch` naming the reduction, the instance, and the first
differing round and player.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from commlab.engine import audit_isolation, check_batch_independence, run
from commlab.engine.ir import Transcript
from commlab.engine.protocol import Protocol
from commlab.errors import SimulationMismatch
from commlab.problems.pointer_chasing import PointerChasing
from reductions import compile_to_protocol, get_reduction
from reductions.layerwise import split_by_blocks
from reductions.pointer_chasing import encode as encode_pointer_chasing
from reductions.registry import Reduction

__all__ = ["ConformanceReport", "Verification", "check_reduction", "verify_exact"]


@dataclass(frozen=True, eq=False)
class Verification:
    """Which instances of a run disagree with the model, and where the first disagreement is."""

    reduction: str
    mismatched: np.ndarray
    first: tuple[int, int, int] | None  # (instance, round, player)

    @property
    def mismatches(self) -> int:
        return int(np.count_nonzero(self.mismatched))

    def raise_if_mismatched(self) -> None:
        if self.first is not None:
            instance, round, player = self.first
            raise SimulationMismatch(
                f"reduction {self.reduction!r}: instance {instance} differs from the model first at "
                f"round {round}, P_{player} ({self.mismatches} of {len(self.mismatched)} instances differ)"
            )


def verify_exact(protocol: Protocol, tokens: np.ndarray, transcript: Transcript) -> Verification:
    """Compare a compiled protocol's transcript with the model's own forward pass, bit for bit.

    Parameters
    ----------
    protocol : Protocol
        The compiled protocol; it knows its model and partition and says, through
        ``expected_messages(tokens)``, what the model's own forward pass puts in each turn
        (:meth:`reductions.layerwise.LayerwiseProtocol.expected_messages` for layer stacks).
    tokens : int array (B, N)
        The inputs the protocol ran on.
    transcript : Transcript
        What the board holds after the run.
    """
    spec = protocol.spec
    expected_by_turn = protocol.expected_messages(tokens)
    mismatched = np.zeros(len(tokens), dtype=bool)
    first = None
    for message in transcript.messages:
        expected = expected_by_turn[message.round, message.player]
        same = message.lengths == expected.shape[1]
        if message.bits.shape[1] == expected.shape[1]:
            same &= np.all(message.bits == expected, axis=1)
        else:
            same[:] = False
        wrong = np.flatnonzero(~same & ~mismatched)
        if wrong.size and first is None:
            first = (int(wrong[0]), message.round, message.player)
        mismatched |= ~same
    return Verification(spec.name, mismatched, first)


@dataclass(frozen=True)
class ConformanceReport:
    """What the kit ran: cases, instances, and the bits and rounds it measured against declared."""

    reduction: str
    cases: int
    instances: int
    declared_bits: list[int]
    measured_bits: list[int]
    rounds: list[int]


def _case(reduction: Reduction, model: Any, tokens: np.ndarray, blocks, label: str, audit: bool):
    protocol = compile_to_protocol(model, blocks, reduction)
    inputs = split_by_blocks(tokens, blocks)
    result = run(protocol, inputs, seed=0)
    check = verify_exact(protocol, tokens, result.transcript)
    if check.first is not None:
        instance, round, player = check.first
        raise SimulationMismatch(
            f"reduction {reduction.name!r} ({label}): instance {instance} differs from the model first "
            f"at round {round}, P_{player}"
        )
    predictions = model.forward(tokens).predictions[:, -1]
    if not np.array_equal(result.output, predictions):
        instance = int(np.flatnonzero(result.output != predictions)[0])
        raise SimulationMismatch(
            f"reduction {reduction.name!r} ({label}): output of instance {instance} differs"
        )
    declared_r, declared_s = reduction.rounds(model), reduction.bits_per_message(model, len(blocks), blocks)
    if protocol.spec.rounds != declared_r or result.bits_per_message != declared_s:
        raise SimulationMismatch(
            f"reduction {reduction.name!r} ({label}): declared R = {declared_r}, s = {declared_s} but the "
            f"protocol ran {protocol.spec.rounds} rounds with messages of up to {result.bits_per_message} bits"
        )
    check_batch_independence(protocol, inputs, seed=0)
    if audit:
        audit_isolation(protocol, [x[:2] for x in inputs], seed=0)
    return declared_s, result.bits_per_message, protocol.spec.rounds


def check_reduction(
    reduction: str | Reduction,
    make_model: Callable[[int, np.random.Generator], Any],
    *,
    seed: int = 0,
    batch: int = 8,
    players: tuple[int, ...] = (1, 2, 3),
    audit: bool = True,
) -> ConformanceReport:
    """Run the conformance kit on a reduction.

    Parameters
    ----------
    reduction : str or Reduction
    make_model : callable (alphabet, rng) -> model
        Builds a model over ``alphabet`` tokens (random weights from ``rng``).
    seed : int
    batch : int
        Instances per case.
    players : tuple of int
        The numbers of players k to try, each on random tokens with a random contiguous partition
        and on encoded pointer chasing with q = 4.
    audit : bool
        Also run the isolation audit (slower: one process per player).

    Raises
    ------
    SimulationMismatch
        Naming the reduction, the case, the instance, and the first differing round and player.
    IsolationViolation
        If an instance's transcript depends on the other instances of its batch, or (with
        ``audit``) on anything outside the board.
    """
    reduction = get_reduction(reduction) if isinstance(reduction, str) else reduction
    rng = np.random.default_rng(seed)
    declared, measured, rounds, cases = [], [], [], 0
    for k in players:
        alphabet = int(rng.integers(2, 9))
        length = int(rng.integers(k, 4 * k + 6))
        cuts = np.sort(rng.choice(np.arange(1, length), size=k - 1, replace=False)) if k > 1 else []
        edges = [0, *map(int, cuts), length]
        blocks = list(zip(edges[:-1], edges[1:], strict=True))
        tokens = rng.integers(0, alphabet, size=(batch, length))
        encoded = encode_pointer_chasing(PointerChasing.random(4, k, batch, int(rng.integers(2**31))))
        cases_for_k = [
            (make_model(alphabet, rng), tokens, blocks, f"random, k={k}", audit),
            (
                make_model(encoded.alphabet, rng),
                encoded.tokens,
                encoded.blocks,
                f"pointer chasing, k={k}",
                False,
            ),
        ]
        for model, inputs, partition, label, with_audit in cases_for_k:
            bits, measured_bits, used_rounds = _case(reduction, model, inputs, partition, label, with_audit)
            declared.append(bits)
            measured.append(measured_bits)
            rounds.append(used_rounds)
            cases += 1
    return ConformanceReport(reduction.name, cases, cases * batch, declared, measured, rounds)
