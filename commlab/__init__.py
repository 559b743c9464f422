"""commlab: a communication-complexity lab for lower bounds on neural sequence models."""

from commlab._version import __version__
from commlab.engine import (
    Bits,
    Blackboard,
    BoardView,
    Message,
    Protocol,
    ProtocolSpec,
    PublicCoins,
    RunResult,
    Transcript,
    audit_isolation,
    run,
)
from commlab.errors import (
    CommlabError,
    InvalidInstance,
    InvalidParameter,
    IsolationViolation,
    ProtocolViolation,
    RegistryError,
    SimulationMismatch,
    UnsupportedModel,
)
from commlab.problems import PointerChasing, hop_k

__all__ = [
    "Bits",
    "Blackboard",
    "BoardView",
    "CommlabError",
    "InvalidInstance",
    "InvalidParameter",
    "IsolationViolation",
    "Message",
    "PointerChasing",
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
    "hop_k",
    "run",
]
