"""The blackboard: the single place where bits are written, metered and refused.

Every message of every protocol passes through :meth:`Blackboard.write`, which enforces the (k, R, s)
model of docs/theory.md §1 with fixed public lengths (docs/engine.md): the turn order P_k, ..., P_1
in every round, no write past round R, at most s bits per message, nothing but bit strings, and
every message exactly as long as the protocol's public length rule says, so that a message's length
carries no information. The board keeps its own immutable copy of every message (bytes), counts
bits from that copy once per write, and hands out only read-only views of it.
"""

from __future__ import annotations

import numpy as np

from commlab.engine.ir import (
    BitCounts,
    Bits,
    Message,
    ProtocolSpec,
    Record,
    Transcript,
    message_from_record,
    turn_index,
)
from commlab.errors import ProtocolViolation

__all__ = ["Blackboard", "BoardView"]


class BoardView:
    """What a player sees of the board: the first ``count`` messages, read-only.

    Messages are made on demand from the board's immutable records; each view makes its own
    :class:`~commlab.engine.ir.Message` objects, so nothing one reader does to them reaches another.

    Examples
    --------
    >>> board = Blackboard(ProtocolSpec("demo", k=2, rounds=1, max_bits=1), batch=1)
    >>> view = board.view()
    >>> len(view), view.latest(1) is None
    (0, True)
    """

    def __init__(
        self, spec: ProtocolSpec, batch: int, records: list[Record] | tuple[Record, ...], count: int
    ):
        self._spec, self._batch, self._records, self._count = spec, batch, records, count
        self._made: dict[int, Message] = {}

    def __len__(self) -> int:
        return self._count

    def _at(self, index: int) -> Message:
        if index not in self._made:
            self._made[index] = message_from_record(self._records[index], self._batch)
        return self._made[index]

    @property
    def messages(self) -> tuple[Message, ...]:
        """Every message so far, in the order written."""
        return self.since(0)

    def since(self, start: int) -> tuple[Message, ...]:
        """The messages written after the first ``start`` ones (what is new since a player's last
        turn, when it remembers ``len(board)``)."""
        return tuple(self._at(i) for i in range(start, self._count))

    def message(self, round: int, player: int) -> Message:
        """The message P_player wrote in round ``round``; ``KeyError`` if not written yet."""
        index = turn_index(self._spec, round, player)
        if not (1 <= player <= self._spec.k and 0 <= index < self._count):
            raise KeyError(f"P_{player} has not written in round {round} yet")
        return self._at(index)

    def latest(self, player: int | None = None) -> Message | None:
        """The most recent message (of ``player``, if given), or ``None``."""
        for index in range(self._count - 1, -1, -1):
            if player is None or self._records[index].player == player:
                return self._at(index)
        return None


def _plain(array: object, what: str, where: str) -> np.ndarray:
    """A plain ndarray copy of ``array``: no subclass, no attribute, no mask, nothing shared."""
    if not isinstance(array, np.ndarray):
        raise ProtocolViolation(f"{where}: {what} must be a 0/1 integer array, got a {type(array).__name__}")
    return np.array(array, copy=True, subok=False)


def _as_bits(payload: object, batch: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Check that ``payload`` is a batch of bit strings; return plain (bits, lengths) copies as
    uint8 / int64. Values are checked one by one on the plain copy, whatever the payload's class
    claims about itself."""
    raw_bits, raw_lengths = (payload.bits, payload.lengths) if isinstance(payload, Bits) else (payload, None)
    bits = _plain(raw_bits, "a message", where)
    if bits.dtype.kind not in "bui":
        raise ProtocolViolation(f"{where}: a message must be a 0/1 integer array, got a {bits.dtype} array")
    if bits.ndim != 2 or bits.shape[0] != batch:
        raise ProtocolViolation(f"{where}: a message must have shape (batch={batch}, bits), got {bits.shape}")
    not_bits = (bits != 0) & (bits != 1)
    if not_bits.any():
        raise ProtocolViolation(f"{where}: a message must hold only 0 and 1, found {bits[not_bits][0]}")
    width = bits.shape[1]
    if raw_lengths is None:
        lengths = np.full(batch, width, dtype=np.int64)
    else:
        lengths = (
            np.array(raw_lengths, copy=True, subok=False) if isinstance(raw_lengths, np.ndarray) else None
        )
        if lengths is None or lengths.shape != (batch,) or lengths.dtype.kind not in "ui":
            shape = getattr(raw_lengths, "shape", type(raw_lengths).__name__)
            raise ProtocolViolation(f"{where}: lengths must be {batch} integers, got {shape}")
        if lengths.size and (lengths.min() < 0 or lengths.max() > width):
            raise ProtocolViolation(f"{where}: lengths must lie in 0..{width}")
    return bits.astype(np.uint8, copy=False), lengths.astype(np.int64)


class Blackboard:
    """The shared board of one run: writes in turn, meters every bit, refuses violations.

    Parameters
    ----------
    spec : ProtocolSpec
        The protocol's declared k, R and s (the board keeps its own copy: changing the protocol's
        spec during a run changes nothing here).
    batch : int
        Number of independent instances run side by side.

    Raises
    ------
    ProtocolViolation
        From :meth:`write`, naming round, player, length and budget.

    Examples
    --------
    >>> board = Blackboard(ProtocolSpec("demo", k=2, rounds=1, max_bits=3), batch=1)
    >>> board.write(1, 2, np.array([[1, 0]]), length=2).lengths.tolist()
    [2]
    >>> board.write(1, 1, np.array([[1, 0]]))  # the length rule says s = 3 bits by default
    Traceback (most recent call last):
    ...
    commlab.errors.ProtocolViolation: round 1, P_1: instance 0 wrote 2 bits but the protocol's ...
    """

    def __init__(self, spec: ProtocolSpec, batch: int):
        self.spec = ProtocolSpec(spec.name, spec.k, spec.rounds, spec.max_bits)
        self.batch = batch
        self._turns = self.spec.turns
        self._records: list[Record] = []  # private: counts and transcripts come from here
        self._published: list[Record] = []  # what views read (the same immutable records)
        self._by_turn = np.zeros((self.spec.rounds, self.spec.k), dtype=np.int64)
        self._totals = np.zeros(batch, dtype=np.int64)
        self._longest = 0
        self._silence = np.zeros(batch, dtype=np.int64).tobytes()

    @property
    def next_turn(self) -> tuple[int, int] | None:
        """The (round, player) allowed to write next, or ``None`` once round R is over."""
        n = len(self._records)
        return self._turns[n] if n < len(self._turns) else None

    def view(self) -> BoardView:
        """A read-only view of the board as it is now."""
        return BoardView(self.spec, self.batch, self._published, len(self._records))

    def public_lengths(self, round: int, player: int, length: object) -> int | np.ndarray:
        """Check what a protocol's public length rule gave for this turn: an integer (every
        instance) or one per instance, each in 0..s. Returns an ``int`` or ``batch`` int64."""
        where = f"round {round}, P_{player}"
        if isinstance(length, (int, np.integer)) and not isinstance(length, (bool, np.bool_)):
            if not 0 <= length <= self.spec.max_bits:
                raise ProtocolViolation(
                    f"{where}: message_length gives {length} bits; it must lie in 0..s = 0..{self.spec.max_bits}"
                )
            return int(length)
        value = np.array(length, copy=True, subok=False) if isinstance(length, np.ndarray) else None
        if value is None or value.dtype.kind not in "ui" or value.shape not in ((), (self.batch,)):
            raise ProtocolViolation(
                f"{where}: message_length must give an integer or {self.batch} integers, got {length!r}"
            )
        if value.shape == ():
            return self.public_lengths(round, player, int(value))
        value = value.astype(np.int64)
        if value.min() < 0 or value.max() > self.spec.max_bits:
            bad = int(value.max()) if value.max() > self.spec.max_bits else int(value.min())
            raise ProtocolViolation(
                f"{where}: message_length gives {bad} bits; it must lie in 0..s = 0..{self.spec.max_bits}"
            )
        return value

    def _check_turn(self, round: int, player: int) -> str:
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
        return where

    def _append(self, record: Record, lengths: np.ndarray | int) -> None:
        self._records.append(record)
        self._published.append(record)
        if isinstance(lengths, int):
            if lengths:
                self._by_turn[record.round - 1, record.player - 1] = lengths * self.batch
                self._totals += lengths
        else:
            self._by_turn[record.round - 1, record.player - 1] = lengths.sum()
            self._totals += lengths

    def silent(self, round: int, player: int) -> None:
        """Write the empty message for every instance (a turn whose public length is 0)."""
        self._check_turn(round, player)
        self._append(Record(round, player, 0, b"", self._silence), 0)

    def write(self, round: int, player: int, payload: object, length: object = None) -> Message:
        """Meter and append P_player's message for round ``round``; return what was written.

        Parameters
        ----------
        round, player : int
            Whose turn it is.
        payload : 0/1 integer array ``(B, w)`` or Bits
            What the player said.
        length : int or int array ``(B,)``, optional
            The protocol's public length for this turn (from
            :meth:`~commlab.engine.protocol.Protocol.message_length`); default s. Every instance's
            message must have exactly this length.
        """
        where = self._check_turn(round, player)
        required = self.public_lengths(round, player, self.spec.max_bits if length is None else length)
        required = np.full(self.batch, required, dtype=np.int64) if np.isscalar(required) else required
        bits, lengths = _as_bits(payload, self.batch, where)
        longest = int(lengths.max(initial=0))
        if longest > self.spec.max_bits:
            instance = int(np.argmax(lengths))
            raise ProtocolViolation(
                f"{where}: message of {longest} bits (instance {instance}) is over the budget "
                f"s = {self.spec.max_bits} bits"
            )
        wrong = np.flatnonzero(lengths != required)
        if wrong.size:
            b = int(wrong[0])
            raise ProtocolViolation(
                f"{where}: instance {b} wrote {lengths[b]} bits but the protocol's public length for this "
                f"turn is {required[b]} (message_length); a message's length must not depend on private "
                "information (docs/engine.md)"
            )
        width = int(required.max(initial=0))
        bits = np.ascontiguousarray(bits[:, :width])
        bits[np.arange(width)[None, :] >= lengths[:, None]] = 0  # padding never reaches the board
        record = Record(round, player, width, bits.tobytes(), lengths.tobytes())
        uniform = bool(lengths.size) and bool((lengths == lengths[0]).all())
        self._append(record, int(lengths[0]) if uniform else lengths)
        self._longest = max(self._longest, width)
        return message_from_record(record, self.batch)

    def records(self, start: int = 0) -> tuple[Record, ...]:
        """The board's immutable records from the ``start``-th on (what an isolated player is sent)."""
        return tuple(self._records[start:])

    def extend(self, records: tuple[Record, ...] | list[Record]) -> None:
        """Append records another board wrote and metered, in turn (an isolated player's replica
        of the parent's board)."""
        for record in records:
            self._check_turn(record.round, record.player)
            lengths = np.frombuffer(record.lengths, dtype=np.int64)
            self._append(record, lengths.copy())
            self._longest = max(self._longest, record.width)

    def last(self) -> Message:
        """A fresh read-only copy of the last message written (P_1's in round R, once the run is over)."""
        return message_from_record(self._records[-1], self.batch)

    def counts(self) -> BitCounts:
        """What the meter counted so far."""
        return BitCounts(self.batch, self._by_turn.copy(), self._longest, int(self._totals.max(initial=0)))

    def transcript(self) -> Transcript:
        return Transcript(self.spec, self.batch, tuple(self._records), self.counts())
