"""The typed objects that flow through commlab, one frozen dataclass each.

Who makes what:

- ``ProtocolSpec``: declared by every :class:`~commlab.engine.protocol.Protocol` (k, R, s).
- ``Bits``: returned by a player's ``speak`` when its messages have different lengths per instance.
- ``Record``: the board's own immutable copy of one metered write (bytes).
- ``Message``: a read-only view of a record, made fresh by the board for each reader.
- ``BitCounts``: the board's meter; adds up exactly over the chunks of a long run.
- ``Transcript``: made by the board at the end of a run (:func:`commlab.engine.runner.run`).
- ``RunResult``: made by the engine; adds the output and the success against the ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np

from commlab._validate import is_integer
from commlab.analysis.stats import clopper_pearson
from commlab.errors import InvalidParameter

__all__ = [
    "BitCounts",
    "Bits",
    "Message",
    "ProtocolSpec",
    "Record",
    "RunResult",
    "Transcript",
    "message_from_record",
    "turn_index",
]


@dataclass(frozen=True)
class ProtocolSpec:
    """What a (k, R, s) sequential blackboard protocol declares (docs/theory.md §1; SHT24 Def E.1).

    Parameters
    ----------
    name : str
        Name shown in reports.
    k : int
        Number of players P_1..P_k; each round they speak in the order P_k, ..., P_1.
    rounds : int
        Number of rounds R.
    max_bits : int
        The budget s on every single message, in bits.
    """

    name: str
    k: int
    rounds: int
    max_bits: int

    def __post_init__(self):
        problems = [
            f"{what} must be an integer >= {low}, got {value!r}"
            for what, value, low in (
                ("k (players)", self.k, 1),
                ("rounds", self.rounds, 1),
                ("max_bits (s)", self.max_bits, 0),
            )
            if not is_integer(value) or value < low
        ]
        if problems:
            raise InvalidParameter(f"protocol {self.name!r}: " + "; ".join(problems))

    @property
    def speaking_order(self) -> tuple[int, ...]:
        """Players in the order they write within a round: ``(k, k-1, ..., 1)``."""
        return tuple(range(self.k, 0, -1))

    @property
    def turns(self) -> list[tuple[int, int]]:
        """Every (round, player) turn of the protocol, in the order they happen."""
        return [(r, j) for r in range(1, self.rounds + 1) for j in self.speaking_order]


@dataclass(frozen=True)
class Bits:
    """A batch of bit strings of possibly different lengths: instance ``b`` holds
    ``bits[b, :lengths[b]]``. Players return this (or a plain 0/1 array of shape ``(B, w)``, all of
    length ``w``); the lengths must be exactly those the protocol's public ``message_length`` gives
    for the turn."""

    bits: np.ndarray
    lengths: np.ndarray | None = None

    @classmethod
    def empty(cls, batch: int) -> Bits:
        """The empty message for every instance of a batch."""
        return cls(np.zeros((batch, 0), dtype=np.uint8))


class Record(NamedTuple):
    """One metered write as the board stores it: immutable bytes that nothing can write to.

    ``bits`` holds ``(batch, width)`` uint8 values row by row and ``lengths`` the ``batch`` int64
    lengths; :func:`message_from_record` turns it into a (read-only) :class:`Message`.
    """

    round: int
    player: int
    width: int
    bits: bytes
    lengths: bytes


def message_from_record(record: Record, batch: int) -> Message:
    """A fresh :class:`Message` whose arrays are read-only views of the record's bytes (numpy refuses
    to make them writeable again, since bytes are immutable)."""
    bits = np.frombuffer(record.bits, dtype=np.uint8).reshape(batch, record.width)
    return Message(record.round, record.player, bits, np.frombuffer(record.lengths, dtype=np.int64))


def turn_index(spec: ProtocolSpec, round: int, player: int) -> int:
    """Position of P_player's round-``round`` message in the order messages are written."""
    return (round - 1) * spec.k + (spec.k - player)


@dataclass(frozen=True, eq=False)
class Message:
    """One metered blackboard write: player ``player`` in round ``round``, for every instance.

    ``bits`` has shape ``(B, w)``; instance ``b`` wrote ``bits[b, :lengths[b]]`` and everything past
    that is zero (the board does not carry padding). Made by the board from its own private copy;
    every reader gets a fresh object whose arrays are read-only.
    """

    round: int
    player: int
    bits: np.ndarray
    lengths: np.ndarray

    def bitstring(self, instance: int) -> str:
        """The bits instance ``instance`` wrote, as a string of '0' and '1'."""
        return "".join(map(str, self.bits[instance, : self.lengths[instance]]))

    def same_as(self, other: Message) -> np.ndarray:
        """Per instance: did ``other`` write exactly the same bit string?"""
        if self.bits.shape[1] != other.bits.shape[1]:
            width = max(self.bits.shape[1], other.bits.shape[1])
            a, b = (np.pad(m.bits, ((0, 0), (0, width - m.bits.shape[1]))) for m in (self, other))
        else:
            a, b = self.bits, other.bits
        return (self.lengths == other.lengths) & np.all(a == b, axis=1)


@dataclass(frozen=True, eq=False)
class BitCounts:
    """What the board's meter counted, in a form that adds up exactly across chunks of a run.

    Parameters
    ----------
    trials : int
        Instances counted.
    by_turn : int array (R, k)
        Bits written, summed over instances; ``[r-1, j-1]`` is P_j in round r.
    longest : int
        The longest message any player wrote on any instance.
    largest_total : int
        The largest total any one instance used.
    """

    trials: int
    by_turn: np.ndarray
    longest: int
    largest_total: int

    def combine(self, other: BitCounts) -> BitCounts:
        """The counts of both runs together (sums add, maxima take the larger)."""
        return BitCounts(
            self.trials + other.trials,
            self.by_turn + other.by_turn,
            max(self.longest, other.longest),
            max(self.largest_total, other.largest_total),
        )


@dataclass(frozen=True, eq=False)
class Transcript:
    """Everything written on the board during a run, in order, with the meter's counts.

    Built by the board from its private records; :attr:`messages` are made on first use.
    """

    spec: ProtocolSpec
    batch: int
    records: tuple[Record, ...]
    counts: BitCounts

    @cached_property
    def messages(self) -> tuple[Message, ...]:
        return tuple(message_from_record(r, self.batch) for r in self.records)

    @property
    def lengths(self) -> np.ndarray:
        """Bits written, shape ``(B, R, k)``; ``[:, r-1, j-1]`` is P_j's message in round r."""
        out = np.zeros((self.batch, self.spec.rounds, self.spec.k), dtype=np.int64)
        for m in self.messages:
            out[:, m.round - 1, m.player - 1] = m.lengths
        return out

    def message(self, round: int, player: int) -> Message:
        """The message P_player wrote in round ``round``."""
        index = turn_index(self.spec, round, player)
        if not (1 <= player <= self.spec.k and 0 <= index < len(self.records)):
            raise KeyError(f"no message from P_{player} in round {round}")
        return self.messages[index]

    def instance(self, b: int) -> list[tuple[int, int, str]]:
        """Instance ``b``'s transcript as ``(round, player, bits)`` triples."""
        return [(m.round, m.player, m.bitstring(b)) for m in self.messages]

    def first_difference(
        self, other: Transcript, mine: np.ndarray | None = None, theirs: np.ndarray | None = None
    ) -> tuple[int, int, int] | None:
        """The first (round, player, instance) where the two transcripts differ, or ``None``.

        With ``mine`` and ``theirs`` (equal-length index arrays), instance ``mine[i]`` of this
        transcript is compared with instance ``theirs[i]`` of ``other``: the same instances run in
        another arrangement. The instance reported is this transcript's.
        """
        if len(self.records) != len(other.records):
            turn = min(len(self.records), len(other.records))
            first = (self.records if turn < len(self.records) else other.records)[turn]
            return first.round, first.player, 0
        rearranged = mine is not None
        for a_record, b_record in zip(self.records, other.records, strict=True):
            if not rearranged and a_record == b_record:
                continue
            a, b = message_from_record(a_record, self.batch), message_from_record(b_record, other.batch)
            if rearranged:
                a = Message(a.round, a.player, a.bits[mine], a.lengths[mine])
                b = Message(b.round, b.player, b.bits[theirs], b.lengths[theirs])
            differs = np.flatnonzero(~a.same_as(b))
            if differs.size:
                return a.round, a.player, int(differs[0] if mine is None else np.min(mine[differs]))
        return None


@dataclass(frozen=True, eq=False)
class RunResult:
    """The outcome of running a protocol on a batch of instances.

    Bit counts come from the board's meter, never from the protocol. ``total_bits`` is the largest
    total any one instance used (the worst-case communication, at most R·k·s); ``bits_by_round`` and
    ``bits_by_player`` are means per instance. A run made of several chunks
    (:func:`commlab.engine.runner.combine`) keeps the outputs and the exact counts of all its
    instances but no transcript (``transcript`` is ``None``), so its memory does not grow with the
    number of trials.
    """

    transcript: Transcript | None
    output: np.ndarray
    seed: int | None
    truth: np.ndarray | None = None
    params: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    counts: BitCounts | None = None
    protocol_spec: ProtocolSpec | None = None

    def __post_init__(self):
        if self.transcript is not None:
            object.__setattr__(self, "counts", self.counts or self.transcript.counts)
            object.__setattr__(self, "protocol_spec", self.protocol_spec or self.transcript.spec)
        assert self.counts is not None and self.protocol_spec is not None, "a run needs its counts"

    @property
    def spec(self) -> ProtocolSpec:
        return self.protocol_spec

    @property
    def trials(self) -> int:
        return int(self.output.shape[0])

    @property
    def bits_per_message(self) -> int:
        """The longest message any player wrote on any instance (≤ s, enforced by the board)."""
        return self.counts.longest

    @property
    def mean_bits_per_message(self) -> float:
        """Bits per message averaged over every message of every instance (silent turns count 0)."""
        return (
            float(self.counts.by_turn.sum() / (self.trials * self.counts.by_turn.size))
            if self.trials
            else 0.0
        )

    @property
    def bits_by_round(self) -> np.ndarray:
        return self.counts.by_turn.sum(axis=1) / self.trials

    @property
    def bits_by_player(self) -> np.ndarray:
        return self.counts.by_turn.sum(axis=0) / self.trials

    @property
    def total_bits_per_instance(self) -> np.ndarray:
        """Bits each instance used in all; needs the transcript (a single-chunk run)."""
        if self.transcript is None:
            raise InvalidParameter(
                "this result combines several chunks and keeps no transcript; run with one chunk "
                "(chunk >= trials) to get per-instance totals"
            )
        return self.transcript.lengths.sum(axis=(1, 2))

    @property
    def total_bits(self) -> int:
        return self.counts.largest_total

    @property
    def correct(self) -> np.ndarray | None:
        return None if self.truth is None else self.output == self.truth

    @property
    def successes(self) -> int | None:
        return None if self.truth is None else int(np.count_nonzero(self.correct))

    @property
    def success(self) -> float | None:
        return None if self.truth is None else self.successes / self.trials

    @property
    def success_ci(self) -> tuple[float, float] | None:
        """Clopper–Pearson 95% interval for the success rate."""
        return None if self.truth is None else clopper_pearson(self.successes, self.trials)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: parameters, seed, version, measured bits and success."""
        from commlab._version import __version__

        ci = self.success_ci
        return {
            "protocol": self.spec.name,
            **self.params,
            "k": self.spec.k,
            "rounds": self.spec.rounds,
            "declared_bits_per_message": self.spec.max_bits,
            "bits_per_message": self.bits_per_message,
            "mean_bits_per_message": self.mean_bits_per_message,
            "bits_by_round": self.bits_by_round.tolist(),
            "bits_by_player": self.bits_by_player.tolist(),
            "total_bits": self.total_bits,
            "trials": self.trials,
            "success": self.success,
            "success_ci": None if ci is None else list(ci),
            **self.extras,
            "seed": self.seed,
            "version": __version__,
        }
