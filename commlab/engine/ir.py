"""The typed objects that flow through commlab, one frozen dataclass each.

Who makes what:

- ``ProtocolSpec``: declared by every :class:`~commlab.engine.protocol.Protocol` (k, R, s).
- ``Bits``: returned by a player's ``speak`` when its messages have different lengths per instance.
- ``Message``: made only by :meth:`commlab.engine.blackboard.Blackboard.write`, after metering.
- ``Transcript``: made by the engine (:func:`commlab.engine.runner.run`) from the board.
- ``RunResult``: made by the engine; adds the output and the success against the ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from commlab._validate import is_integer
from commlab.analysis.stats import clopper_pearson
from commlab.errors import InvalidParameter

__all__ = ["Bits", "Message", "ProtocolSpec", "RunResult", "Transcript"]


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
    length ``w``)."""

    bits: np.ndarray
    lengths: np.ndarray | None = None

    @classmethod
    def empty(cls, batch: int) -> Bits:
        """The empty message for every instance of a batch."""
        return cls(np.zeros((batch, 0), dtype=np.uint8))


@dataclass(frozen=True, eq=False)
class Message:
    """One metered blackboard write: player ``player`` in round ``round``, for every instance.

    ``bits`` has shape ``(B, w)``; instance ``b`` wrote ``bits[b, :lengths[b]]`` and everything past
    that is zero (the board does not carry padding).
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
class Transcript:
    """Everything written on the board during a run, in order."""

    spec: ProtocolSpec
    messages: tuple[Message, ...]

    @property
    def batch(self) -> int:
        return self.messages[0].bits.shape[0] if self.messages else 0

    @property
    def lengths(self) -> np.ndarray:
        """Bits written, shape ``(B, R, k)``; ``[:, r-1, j-1]`` is P_j's message in round r."""
        out = np.zeros((self.batch, self.spec.rounds, self.spec.k), dtype=np.int64)
        for m in self.messages:
            out[:, m.round - 1, m.player - 1] = m.lengths
        return out

    def message(self, round: int, player: int) -> Message:
        """The message P_player wrote in round ``round``."""
        for m in self.messages:
            if (m.round, m.player) == (round, player):
                return m
        raise KeyError(f"no message from P_{player} in round {round}")

    def instance(self, b: int) -> list[tuple[int, int, str]]:
        """Instance ``b``'s transcript as ``(round, player, bits)`` triples."""
        return [(m.round, m.player, m.bitstring(b)) for m in self.messages]

    def first_difference(self, other: Transcript) -> tuple[int, int, int] | None:
        """The first (round, player, instance) where the two transcripts differ, or ``None``."""
        if len(self.messages) != len(other.messages):
            turn = min(len(self.messages), len(other.messages))
            mine = self.messages[turn] if turn < len(self.messages) else other.messages[turn]
            return mine.round, mine.player, 0
        for mine, theirs in zip(self.messages, other.messages, strict=False):
            differs = np.flatnonzero(~mine.same_as(theirs))
            if differs.size:
                return mine.round, mine.player, int(differs[0])
        return None


@dataclass(frozen=True, eq=False)
class RunResult:
    """The outcome of running a protocol on a batch of instances.

    Bit counts come from the board's meter, never from the protocol. ``total_bits`` is the largest
    total any one instance used (the worst-case communication, at most R·k·s); ``bits_by_round`` and
    ``bits_by_player`` are means per instance.
    """

    transcript: Transcript
    output: np.ndarray
    seed: int | None
    truth: np.ndarray | None = None
    params: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> ProtocolSpec:
        return self.transcript.spec

    @property
    def trials(self) -> int:
        return int(self.output.shape[0])

    @property
    def bits_per_message(self) -> int:
        """The longest message any player wrote on any instance (≤ s, enforced by the board)."""
        return int(self.transcript.lengths.max(initial=0))

    @property
    def mean_bits_per_message(self) -> float:
        return float(self.transcript.lengths.mean()) if self.trials else 0.0

    @property
    def bits_by_round(self) -> np.ndarray:
        return self.transcript.lengths.sum(axis=2).mean(axis=0)

    @property
    def bits_by_player(self) -> np.ndarray:
        return self.transcript.lengths.sum(axis=1).mean(axis=0)

    @property
    def total_bits_per_instance(self) -> np.ndarray:
        return self.transcript.lengths.sum(axis=(1, 2))

    @property
    def total_bits(self) -> int:
        return int(self.total_bits_per_instance.max(initial=0))

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
