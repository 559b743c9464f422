"""Reference protocols for pointer chasing, and one call that runs any of them on random instances.

These are the upper-bound protocols of docs/theory.md §7 that calibrate every plot: ``chase``
(R = k), ``broadcast`` (R = 1), ``sampling`` (R = k − 1, public samples), and the indicator family
(:mod:`commlab.protocols.indicators`): ``indicators`` (R = 1, s = q), ``chunked`` (R = k − 1,
s = ⌈q/(k−1)⌉) and ``pipelined`` (the rounds in between). Each declares its exact success
probability where it has a closed form (:meth:`PointerChasingProtocol.exact_success`).
"""

from __future__ import annotations

import inspect

from commlab.engine import run
from commlab.engine.ir import RunResult
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


def simulate(
    name: str, *, q: int, k: int, trials: int, seed: int = 0, isolated: bool = False, **options
) -> RunResult:
    """Run a reference protocol on ``trials`` random (q, k) instances drawn from ``seed``.

    Returns
    -------
    RunResult
        With the success rate against the true answers and the parameters it ran with.

    Examples
    --------
    >>> simulate("chase", q=1024, k=8, trials=100, seed=0).to_dict()["bits_per_message"]
    10
    """
    check_parameters(q, k, trials)
    protocol = make_protocol(name, q, k, **options)
    instances = PointerChasing.random(q, k, trials, seed)
    result = run(
        protocol,
        instances.player_inputs(),
        seed=seed,
        truth=instances.answer(),
        params={"q": q},
        isolated=isolated,
    )
    return protocol.annotate(result, instances)
