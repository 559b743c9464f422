"""Reference protocols for pointer chasing, and one call that runs any of them on random instances.

These are the upper-bound protocols of docs/theory.md §7 that calibrate every plot: ``chase``
(R = k), ``broadcast`` (R = 1), ``sampling`` (R = k − 1, public samples), and the indicator family
(:mod:`commlab.protocols.indicators`): ``indicators`` (R = 1, s = q), ``chunked`` (R = k − 1,
s = ⌈q/(k−1)⌉) and ``pipelined`` (the rounds in between). Each declares its exact success
probability where it has a closed form (:meth:`PointerChasingProtocol.exact_success`).
"""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np

from commlab import progress
from commlab.engine import PublicCoins, combine, run
from commlab.engine.ir import RunResult
from commlab.engine.runner import check_seed
from commlab.errors import InvalidParameter
from commlab.problems.pointer_chasing import PointerChasing, check_parameters
from commlab.protocols.base import PointerChasingProtocol
from commlab.protocols.broadcast import Broadcast
from commlab.protocols.chase import Chase
from commlab.protocols.indicators import Chunked, IndicatorChase, Indicators, Pipelined
from commlab.protocols.sampling import Sampling, sample_size

__all__ = [
    "PROTOCOLS",
    "Broadcast",
    "Chase",
    "Chunked",
    "IndicatorChase",
    "Indicators",
    "Pipelined",
    "PointerChasingProtocol",
    "Sampling",
    "instance_block",
    "make_protocol",
    "sample_size",
    "simulate",
]

PROTOCOLS: dict[str, type[PointerChasingProtocol]] = {
    "chase": Chase,
    "broadcast": Broadcast,
    "sampling": Sampling,
    "indicators": Indicators,
    "chunked": Chunked,
    "pipelined": Pipelined,
}


def make_protocol(name: str, q: int, k: int, **options) -> PointerChasingProtocol:
    """Build the reference protocol ``name`` for (q, k) pointer chasing.

    ``options`` go to the protocol's constructor (``rounds``; for sampling ``m`` or ``delta``; for
    the indicator family the chunk bits ``t``); options left ``None`` take the protocol's defaults.

    Raises
    ------
    InvalidParameter
        For an unknown name, an option the protocol does not take, or bad parameters.
    """
    if name not in PROTOCOLS:
        raise InvalidParameter(f"unknown protocol {name!r}; choose one of {', '.join(PROTOCOLS)}")
    given = {key: v for key, v in options.items() if v is not None}
    accepted = set(inspect.signature(PROTOCOLS[name]).parameters) - {"q", "k"}
    if set(given) - accepted:
        raise InvalidParameter(
            f"protocol {name!r} takes no option {', '.join(sorted(set(given) - accepted))}; "
            f"it takes {', '.join(sorted(accepted))}"
        )
    return PROTOCOLS[name](q, k, **given)


# Instances are drawn in blocks of at most this many numbers (k·q per instance): the unit of
# memory of a long run, and of its random stream.
BLOCK_NUMBERS = 2**22
MAX_BLOCK = 8192


def instance_block(q: int, k: int) -> int:
    """How many instances one block holds: a power of two ≤ 8192 with k·q numbers each, at most
    2²² numbers in all (at least one instance)."""
    block = MAX_BLOCK
    while block > 1 and block * k * q > BLOCK_NUMBERS:
        block //= 2
    return block


def _block_instances(q: int, k: int, trials: int, seed: int, block: int, index: int) -> PointerChasing:
    """Block ``index`` of the run's instances: drawn from ``seed`` itself for block 0 (so a run of
    at most one block draws exactly ``PointerChasing.random(q, k, trials, seed)``) and from
    ``(seed, index)`` after; the last block holds what is left."""
    size = min(block, trials - index * block)
    return PointerChasing.random(q, k, size, seed if index == 0 else np.random.default_rng([seed, index]))


def simulate(
    name: str,
    *,
    q: int,
    k: int,
    trials: int,
    seed: int = 0,
    isolated: bool = False,
    chunk: int | None = None,
    **options,
) -> RunResult:
    """Run a reference protocol on ``trials`` random (q, k) instances drawn from ``seed``.

    Trials run in chunks, so memory stays flat however many there are: instances are drawn in
    blocks of :func:`instance_block` instances (block 0 from ``seed``, block i from
    ``(seed, i)``), every instance draws its coins from its own number, and the results of the
    chunks are combined exactly — so the answers do not depend on the chunk size.

    Parameters
    ----------
    name : str
        A protocol of :data:`PROTOCOLS`.
    q, k, trials, seed : int
    isolated : bool
        Run every player in a process of its own.
    chunk : int, optional
        Instances per chunk, rounded down to a whole number of blocks (at least one); by default
        one block. ``chunk >= trials`` runs one batch and keeps its transcript.
    **options
        The protocol's own options (``rounds``; for sampling ``m`` or ``delta``).

    Returns
    -------
    RunResult
        With the success rate against the true answers and the parameters it ran with; the
        transcript only when the run was a single chunk.

    Examples
    --------
    >>> simulate("chase", q=1024, k=8, trials=100, seed=0).to_dict()["bits_per_message"]
    10
    """
    check_parameters(q, k, trials)
    seed = check_seed(seed)
    if chunk is not None and (
        isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1
    ):
        raise InvalidParameter(f"chunk must be a positive number of instances, got {chunk!r}")
    protocol = make_protocol(name, q, k, **options)
    block = instance_block(q, k)
    blocks = -(-trials // block)
    per_chunk = (
        1 if chunk is None else blocks if chunk >= trials else max(1, int(chunk) // block)
    )  # in blocks
    single = per_chunk >= blocks
    results, measures = [], []
    for first in range(0, blocks, per_chunk):
        parts = [
            _block_instances(q, k, trials, seed, block, i)
            for i in range(first, min(blocks, first + per_chunk))
        ]
        instances = _concatenate(parts)
        ids = np.arange(first * block, first * block + instances.batch)
        result = run(
            protocol,
            instances.player_inputs(),
            seed=seed,
            truth=instances.answer(),
            params={"q": q, **protocol.parameters()},
            isolated=isolated,
            instance_ids=ids,
        )
        results.append(result if single else dataclasses.replace(result, transcript=None))
        measures.append(protocol.measure(instances, PublicCoins(seed, ids)))
        progress.tick(instances.batch)  # advances a command's progress bar, if one is open
    measured = {key: np.concatenate([m[key] for m in measures]) for key in measures[0]}
    return combine(results, protocol.summarize(measured))


def _concatenate(parts: list[PointerChasing]) -> PointerChasing:
    if len(parts) == 1:
        return parts[0]
    fields = ("edges", "start", "in_second")
    return PointerChasing(*(np.concatenate([getattr(p, f) for p in parts]) for f in fields))
