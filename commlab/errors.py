"""The one exception hierarchy of commlab: everything it raises on purpose is a ``CommlabError``.

Errors about malformed arguments also derive from ``ValueError`` so that generic callers can catch
them the usual way; errors about protocols, models and bounds are commlab's own.
"""

from __future__ import annotations

__all__ = [
    "CommlabError",
    "InvalidInstance",
    "InvalidParameter",
    "IsolationViolation",
    "ProtocolViolation",
    "RegistryError",
    "SimulationMismatch",
    "UnsupportedModel",
]


class CommlabError(Exception):
    """Base class of every error commlab raises deliberately."""


class InvalidParameter(CommlabError, ValueError):
    """Raised when an argument is out of range or of the wrong kind (``k < 1``, odd ``q``, ...).

    The message names the parameter, quotes the bad value and says what would be accepted.
    """


class InvalidInstance(CommlabError, ValueError):
    """Raised when a problem instance a user supplies is malformed (a layer that is not a bijection,
    arrays of the wrong shape, tokens outside the alphabet)."""


class ProtocolViolation(CommlabError):
    """Raised by the blackboard when a message breaks the (k, R, s) model: over the s-bit budget,
    not a bit string, written out of turn, or written after the last round."""


class IsolationViolation(ProtocolViolation):
    """Raised by the isolation audit when a protocol's transcript depends on more than each player's
    own input, the board and the public coins (the players ran apart and disagreed with the
    ordinary run, or a player failed when cut off from shared state)."""


class UnsupportedModel(CommlabError, ValueError):
    """Raised when a model cannot be compiled by a reduction; the message lists every reason."""

    def __init__(self, reasons: list[str] | str):
        self.reasons = [reasons] if isinstance(reasons, str) else list(reasons)
        super().__init__("; ".join(self.reasons))


class SimulationMismatch(CommlabError):
    """Raised when a compiled protocol's output or posted state differs from the model's own
    forward pass; the message names the reduction, the instance, the round and the player."""


class RegistryError(CommlabError):
    """Raised when a name is registered twice or looked up without being registered."""
