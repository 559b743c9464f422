"""The isolation audit: evidence that a protocol's players communicate only through the board.

:func:`audit_isolation` snapshots the protocol and the inputs before anything runs, then

1. runs every player — and the public side (message lengths, output) — in a fresh process of its own
   that receives only a pristine copy of the protocol, its own input, the board as it grows, the
   coins and the environment this process started with;
2. runs the protocol in this process, from the same snapshot;
3. requires the two transcripts and the two outputs to be identical, bit for bit;
4. checks batch independence (:func:`check_batch_independence`): every instance writes the same
   transcript and gets the same output whatever other instances share its batch and wherever it
   sits in it.

What a process audit cannot see — files, timing, inspecting the caller's stack, reading other
processes — is listed in docs/engine.md.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Sequence
from typing import Any

import numpy as np

from commlab.engine.ir import Transcript
from commlab.engine.protocol import Protocol
from commlab.engine.runner import (
    check_inputs,
    check_protocol_holds_no_input,
    check_seed,
    declared_spec,
    instance_numbers,
    play,
    take,
)
from commlab.errors import IsolationViolation

__all__ = ["audit_isolation", "check_batch_independence"]


def _snapshot(protocol: Protocol, inputs: Sequence[Any]) -> tuple[Protocol, list[Any]]:
    """Private copies of the protocol and the inputs, taken before anything runs (the protocol
    must pickle, to reach the isolated players)."""
    return pickle.loads(pickle.dumps(protocol)), pickle.loads(pickle.dumps(list(inputs)))


def _differs(name: str, what: str, where: tuple[int, int, int]) -> IsolationViolation:
    round, player, instance = where
    return IsolationViolation(f"protocol {name!r}: round {round}, P_{player}, instance {instance} {what}")


def _compare_outputs(
    name: str, what: str, mine: np.ndarray, theirs: np.ndarray, instances: np.ndarray
) -> None:
    same = mine == theirs
    if not np.all(same):
        b = int(instances[np.flatnonzero(~same)[0]])
        raise IsolationViolation(f"protocol {name!r}: the output of instance {b} {what}")


def check_batch_independence(
    protocol: Protocol,
    inputs: Sequence[Any],
    *,
    seed: int = 0,
    alone: int = 3,
) -> Transcript:
    """Check that every instance runs as if it were alone: the same transcript and output whatever
    other instances share its batch and wherever it sits in it.

    Runs the batch as given, reversed, then for every bit b of an instance's place the instances
    whose place has bit b clear on their own (⌈log₂ B⌉ runs, so every pair of instances is separated
    in at least one), and ``alone`` instances evenly spread over the batch (the first and the last
    among them) each in a batch of one; every instance keeps its number, so it draws the same coins
    everywhere.

    Parameters
    ----------
    protocol : Protocol
    inputs : sequence of length k
        As for :func:`commlab.run`.
    seed : int
    alone : int
        How many instances also run on their own (default 3: the first, the middle and the last).

    Returns
    -------
    Transcript
        The transcript of the batch as given.

    Raises
    ------
    IsolationViolation
        Naming the arrangement, the round, the player and the instance whose transcript or output
        changed.

    Examples
    --------
    >>> from commlab.protocols import Chase
    >>> from commlab.problems.pointer_chasing import PointerChasing
    >>> inst = PointerChasing.random(q=8, k=3, batch=5, seed=0)
    >>> check_batch_independence(Chase(8, 3), inst.player_inputs()).batch
    5
    """
    seed = check_seed(seed)
    spec = declared_spec(protocol)
    batch = check_inputs(spec, inputs)
    check_protocol_holds_no_input(protocol, inputs)
    pristine, inputs = copy.deepcopy(protocol), take(list(inputs), slice(None))
    return _batch_independence(pristine, spec, inputs, seed, batch, alone)


def _batch_independence(
    pristine: Protocol, spec, inputs: list[Any], seed: int, batch: int, alone: int
) -> Transcript:
    ids = instance_numbers(None, batch)
    whole, output = play(pristine, spec, inputs, seed, ids, isolated=False)
    singles = np.unique(np.linspace(0, batch - 1, alone).round().astype(int)) if alone > 0 else []
    arrangements = [("reversed in its batch", np.arange(batch)[::-1])]
    # For every bit of the instance's place, the instances whose place has that bit clear, on their
    # own: any two instances differ in some bit, so every pair is separated in some arrangement.
    places = np.arange(batch)
    arrangements += [
        (f"with only the instances whose place has bit {bit} clear", places[(places >> bit) & 1 == 0])
        for bit in range(max(batch - 1, 0).bit_length())
    ]
    arrangements += [("alone in a batch of one", np.array([b])) for b in singles]
    for how, order in arrangements:
        if np.array_equal(order, np.arange(batch)):
            continue  # the arrangement already run
        transcript, out = play(
            pristine, spec, [take(x, order) for x in inputs], seed, ids[order], isolated=False
        )
        where = whole.first_difference(transcript, order, np.arange(len(order)))
        if where is not None:
            raise _differs(
                spec.name, f"writes something else when run {how}: instances are not independent runs", where
            )
        _compare_outputs(spec.name, f"changes when run {how}", output[order], out, order)
    return whole


def audit_isolation(
    protocol: Protocol, inputs: Sequence[Any], *, seed: int = 0, alone: int = 3
) -> Transcript:
    """Check that players communicate only through the board, and instances not at all.

    Snapshots the protocol and the inputs first; runs every player, and the public side (message
    lengths and output), in a process of its own with pristine copies and the environment this
    process started with; runs the protocol in this process from the same snapshot; requires the
    same transcripts and outputs bit for bit; then checks batch independence
    (:func:`check_batch_independence`).

    Parameters
    ----------
    protocol : Protocol
    inputs : sequence of length k
        As for :func:`commlab.run`.
    seed : int
    alone : int
        How many instances the batch-independence check also runs on their own (default 3: the
        first, the middle and the last).

    Returns
    -------
    Transcript
        The (common) transcript.

    Raises
    ------
    IsolationViolation
        Naming the first round, player and instance where the runs differ, an output that differs,
        or the player (or the public side) that failed when cut off.
    """
    seed = check_seed(seed)
    spec = declared_spec(protocol)
    batch = check_inputs(spec, inputs)
    check_protocol_holds_no_input(protocol, inputs)
    pristine, inputs = _snapshot(protocol, inputs)
    ids = instance_numbers(None, batch)
    apart, apart_output = play(pristine, spec, inputs, seed, ids, isolated=True)
    ordinary, output = play(pristine, spec, inputs, seed, ids, isolated=False)
    where = ordinary.first_difference(apart)
    if where is not None:
        raise _differs(
            spec.name,
            "writes something else when the players run apart; it reads state shared outside the board",
            where,
        )
    _compare_outputs(
        spec.name,
        "differs when decoded apart: the output must be a function of P_1's last message alone",
        output,
        apart_output,
        np.arange(batch),
    )
    _batch_independence(pristine, spec, inputs, seed, batch, alone)
    return ordinary
