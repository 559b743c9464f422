"""The (k, R, s) blackboard engine: the board that meters every bit, the protocol interface, the
typed records a run produces, and the runner with its isolation audit (docs/theory.md §1)."""

from commlab.engine.blackboard import Blackboard, BoardView
from commlab.engine.ir import Bits, Message, ProtocolSpec, RunResult, Transcript
from commlab.engine.protocol import Protocol, PublicCoins
from commlab.engine.runner import audit_isolation, batch_size, run

__all__ = [
    "Bits",
    "Blackboard",
    "BoardView",
    "Message",
    "Protocol",
    "ProtocolSpec",
    "PublicCoins",
    "RunResult",
    "Transcript",
    "audit_isolation",
    "batch_size",
    "run",
]
