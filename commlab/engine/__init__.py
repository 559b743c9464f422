"""The (k, R, s) blackboard engine: the board that meters every bit, the protocol interface, the
typed records a run produces, the runner, and the isolation audit (docs/theory.md §1,
docs/engine.md)."""

from commlab.engine.audit import audit_isolation, check_batch_independence
from commlab.engine.blackboard import Blackboard, BoardView
from commlab.engine.ir import BitCounts, Bits, Message, ProtocolSpec, RunResult, Transcript
from commlab.engine.protocol import Protocol, PublicCoins
from commlab.engine.runner import batch_size, combine, run

__all__ = [
    "BitCounts",
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
    "check_batch_independence",
    "combine",
    "run",
]
