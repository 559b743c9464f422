"""The blackboard: the single place where bits are written, metered and refused.

Every message of every protocol passes through :meth:`Blackboard.write`, which enforces the (k, R, s)
model of docs/theory.md §1: the turn order P_k, ..., P_1 in every round, no write past round R, at most s
bits per message, and nothing but bit strings. Bits are counted here, once per write.
"""

from __future__ import annotations

import numpy as np

from commlab.engine.ir import Bits, Message, ProtocolSpec, Transcript
from commlab.errors import ProtocolViolation

__all__ = ["Blackboard", "BoardView"]


class BoardView:
    """What a player sees of the board: the messages written so far, read-only.

    Examples
    --------
    >>> view = BoardView(())
    >>> len(view), view.latest(1) is None
    (0, True)
    """

    def __init__(self, messages: tuple[Message, ...]):
        self._messages = tuple(messages)

    def __len__(self) -> int:
        return len(self._messages)

    @property
    def messages(self) -> tuple[Message, ...]:
        return self._messages

    def message(self, round: int, player: int) -> Message:
        """The message P_player wrote in round ``round``; ``KeyError`` if not written yet."""
        for m in self._messages:
            if (m.round, m.player) == (round, player):
                return m
        raise KeyError(f"P_{player} has not written in round {round} yet")

    def latest(self, player: int | None = None) -> Message | None:
        """The most recent message (of ``player``, if given), or ``None``."""
        for m in reversed(self._messages):
            if player is None or m.player == player:
                return m
        return None


def _as_bits(payload: object, batch: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Check that ``payload`` is a batch of bit strings; return (bits, lengths) as uint8 / int64."""
    bits, lengths = (payload.bits, payload.lengths) if isinstance(payload, Bits) else (payload, None)
    if not isinstance(bits, np.ndarray) or bits.dtype.kind not in "bui":
        kind = type(bits).__name__ if not isinstance(bits, np.ndarray) else f"{bits.dtype} array"
        raise ProtocolViolation(f"{where}: a message must be a 0/1 integer array, got a {kind}")
    if bits.ndim != 2 or bits.shape[0] != batch:
        raise ProtocolViolation(f"{where}: a message must have shape (batch={batch}, bits), got {bits.shape}")
    if bits.size and (bits.min() < 0 or bits.max() > 1):
        raise ProtocolViolation(f"{where}: a message must hold only 0 and 1, found {bits.max()}")
    width = bits.shape[1]
    if lengths is None:
        lengths = np.full(batch, width, dtype=np.int64)
    lengths = np.asarray(lengths)
    if lengths.shape != (batch,) or lengths.dtype.kind not in "ui":
        raise ProtocolViolation(f"{where}: lengths must be {batch} integers, got {lengths.shape}")
    if lengths.size and (lengths.min() < 0 or lengths.max() > width):
        raise ProtocolViolation(f"{where}: lengths must lie in 0..{width}")
    bits = bits.astype(np.uint8, copy=True)
    bits[np.arange(width)[None, :] >= lengths[:, None]] = 0  # padding never reaches the board
    return bits, lengths.astype(np.int64)


class Blackboard:
    """The shared board of one run: writes in turn, meters every bit, refuses violations.

    Parameters
    ----------
    spec : ProtocolSpec
        The protocol's declared k, R and s.
    batch : int
        Number of independent instances run side by side.

    Raises
    ------
    ProtocolViolation
        From :meth:`write`, naming round, player, length and budget.

    Examples
    --------
    >>> board = Blackboard(ProtocolSpec("demo", k=2, rounds=1, max_bits=3), batch=1)
    >>> board.write(1, 2, np.array([[1, 0]])).lengths.tolist()
    [2]
    >>> board.write(1, 2, np.array([[1]]))
    Traceback (most recent call last):
    ...
    commlab.errors.ProtocolViolation: round 1, P_2: out of turn; P_1 of round 1 writes next
    """

    def __init__(self, spec: ProtocolSpec, batch: int):
        self.spec = spec
        self.batch = batch
        self._turns = spec.turns
        self._messages: list[Message] = []

    @property
    def next_turn(self) -> tuple[int, int] | None:
        """The (round, player) allowed to write next, or ``None`` once round R is over."""
        n = len(self._messages)
        return self._turns[n] if n < len(self._turns) else None

    def view(self) -> BoardView:
        return BoardView(tuple(self._messages))

    def write(self, round: int, player: int, payload: object) -> Message:
        """Meter and append P_player's message for round ``round``; return what was written."""
        where = f"round {round}, P_{player}"
        expected = self.next_turn
        if expected is None:
            raise ProtocolViolation(
                f"{where}: the protocol has only {self.spec.rounds} rounds; "
                "no message may be written past the last round"
            )
        if (round, player) != expected:
            raise ProtocolViolation(
                f"{where}: out of turn; P_{expected[1]} of round {expected[0]} writes next"
            )
        bits, lengths = _as_bits(payload, self.batch, where)
        longest = int(lengths.max(initial=0))
        if longest > self.spec.max_bits:
            instance = int(np.argmax(lengths))
            raise ProtocolViolation(
                f"{where}: message of {longest} bits (instance {instance}) is over the budget "
                f"s = {self.spec.max_bits} bits"
            )
        bits.flags.writeable = lengths.flags.writeable = False  # what was metered stays as metered
        message = Message(round, player, bits, lengths)
        self._messages.append(message)
        return message

    def transcript(self) -> Transcript:
        return Transcript(self.spec, tuple(self._messages))
