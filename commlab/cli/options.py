"""Option declarations shared by every command, so that names, help texts, accepted values and the
error for a bad value agree everywhere. A new command takes its options from here.

Values are checked as they are parsed (before any computing), by the same library checks the API
uses (:mod:`commlab._validate`), so a bad value is one line naming the option, exit 2.

Choices are spelled out here rather than read from the library's registries so that ``--help``
imports nothing heavy; ``tests/test_cli.py`` checks that they match the registries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

import typer

from commlab._validate import check_int, check_positive_real, check_seed
from commlab.errors import InvalidParameter

__all__ = [
    "CELL_NAMES",
    "FIGURE_NAMES",
    "PROTOCOL_NAMES",
    "COpt",
    "CellOpt",
    "FormatOpt",
    "JsonOpt",
    "KOpt",
    "LayersOpt",
    "QOpt",
    "QuietOpt",
    "RoundsOpt",
    "SeedOpt",
    "StateOpt",
    "TrialsOpt",
    "c_option",
    "checked",
    "k_option",
    "q_option",
    "trials_option",
]

PROTOCOL_NAMES = ("chase", "broadcast", "sampling", "indicators", "chunked", "pipelined")
CELL_NAMES = ("elman", "elman_relu", "gru", "gru_torch", "lstm", "ssm", "mamba", "binary")
FIGURE_NAMES = ("tradeoff", "frontier", "solvers", "example", "depth", "rank", "depth-vs-k", "rnn-bits")
FORMAT_METAVAR = "[float64|float32|float16|bfloat16|e8mM|fixedP[.F]]"


def checked(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A typer callback running a library check on a given value (``None``, not given, passes):
    its :class:`~commlab.errors.InvalidParameter` becomes a usage error naming the option."""

    def callback(value: Any) -> Any:
        if value is None:
            return None
        try:
            check(value)
        except InvalidParameter as error:
            raise typer.BadParameter(str(error)) from None
        return value

    return callback


def _at_least(name: str, minimum: int) -> Callable[[Any], Any]:
    return checked(lambda v: check_int(name, v, minimum=minimum))


def _even_q(q: int) -> None:
    check_int("q", q, minimum=2)
    if q % 2:
        raise InvalidParameter(
            f"q must be an even integer >= 2 (the equipartition halves the last layer), got {q}"
        )


def _number_format(name: str) -> None:
    from commlab.io.codecs import number_format

    number_format(name)


def k_option(help: str = "Number of hops / players k (>= 1).") -> Any:
    return typer.Option("--k", help=help, callback=_at_least("k", 1))


def q_option(help: str = "Layer size q of pointer chasing (even, >= 2).") -> Any:
    return typer.Option("--q", help=help, callback=checked(_even_q))


def trials_option(help: str = "Number of random instances to run (>= 1).") -> Any:
    return typer.Option("--trials", help=help, callback=_at_least("trials", 1))


def c_option(help: str = "The bounds' hidden constant c (finite, > 0).") -> Any:
    return typer.Option("--c", help=help, callback=checked(lambda c: check_positive_real("c", c)))


JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of text.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", help="No progress bar on stderr.")]
SeedOpt = Annotated[
    int,
    typer.Option(
        "--seed",
        help="Seed of every random choice (instances, coins, weights): an integer 0 <= seed < 2^63.",
        callback=checked(check_seed),
    ),
]
TrialsOpt = Annotated[int, trials_option()]
KOpt = Annotated[int, k_option()]
QOpt = Annotated[int, q_option()]
COpt = Annotated[float, c_option()]
RoundsOpt = Annotated[
    int | None,
    typer.Option(
        "--rounds", help="Rounds R the protocol may use (default: its own).", callback=_at_least("rounds", 1)
    ),
]
LayersOpt = Annotated[
    int,
    typer.Option("--layers", help="Number of recurrent layers L (>= 1).", callback=_at_least("layers", 1)),
]
StateOpt = Annotated[
    int,
    typer.Option(
        "--state", help="Width of each layer, the hidden size (>= 1).", callback=_at_least("state", 1)
    ),
]
CellOpt = Annotated[Literal[CELL_NAMES], typer.Option("--cell", help="The recurrent cell.")]
FormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        metavar=FORMAT_METAVAR,
        help="Number format of weights and states; fixedP.F has P bits (2..53), F of them fractional.",
        callback=checked(_number_format),
    ),
]
