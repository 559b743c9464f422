"""How library errors become one line on stderr and an exit code."""

from __future__ import annotations

from commlab.errors import (
    CommlabError,
    InvalidInstance,
    InvalidParameter,
    ProtocolViolation,
    RegistryError,
    SimulationMismatch,
    UnsupportedModel,
)

#: Exit codes, most specific class first: bad input is 2 (as for usage errors), a compiled protocol
#: that disagrees with its model is 3, a broken protocol is 4.
EXIT_CODES: list[tuple[type[CommlabError], int]] = [
    (SimulationMismatch, 3),
    (ProtocolViolation, 4),
    (InvalidParameter, 2),
    (InvalidInstance, 2),
    (UnsupportedModel, 2),
    (RegistryError, 2),
    (CommlabError, 1),
]

DEBUG_HINT = "(set COMMLAB_DEBUG=1 to see the traceback)"


def exit_code(error: CommlabError) -> int:
    """The exit code for a library error."""
    return next(code for cls, code in EXIT_CODES if isinstance(error, cls))


def one_line(message: str) -> str:
    """``Error: <message>`` folded onto a single line."""
    return "Error: " + " ".join(str(message).split())
