"""commlab: a communication-complexity lab for lower bounds on neural sequence models."""

from commlab._version import __version__
from commlab.blackboard import Blackboard, BoardView
from commlab.engine import audit_isolation, run
from commlab.errors import (
    BoundInconsistency,
    CommlabError,
    InvalidInstance,
    InvalidParameter,
    IsolationViolation,
    ProtocolViolation,
    RegistryError,
    SimulationMismatch,
    UnsupportedModel,
)
from commlab.ir import Bits, Message, ProtocolSpec, RunResult, Transcript
from commlab.protocol import Protocol, PublicCoins

__all__ = [
    "Bits",
    "Blackboard",
    "BoardView",
    "BoundInconsistency",
    "CommlabError",
    "InvalidInstance",
    "InvalidParameter",
    "IsolationViolation",
    "Message",
    "Protocol",
    "ProtocolSpec",
    "ProtocolViolation",
    "PublicCoins",
    "RegistryError",
    "RunResult",
    "SimulationMismatch",
    "Transcript",
    "UnsupportedModel",
    "__version__",
    "audit_isolation",
    "run",
]
