"""What a protocol is: declared (k, R, s), a rule for what each player says, a rule for the output.

A protocol object holds only parameters (never the instances it runs on), so the engine can hand it
to players that run in separate processes. A player's private memory is a dict the engine keeps for
that player alone; nothing in it reaches another player except through the board.
"""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from commlab.engine.blackboard import BoardView
from commlab.engine.ir import Bits, Message, ProtocolSpec
from commlab.io.codecs import UInt

__all__ = ["Protocol", "PublicCoins"]


@dataclass(frozen=True)
class PublicCoins:
    """Public randomness: every player gets the same generator for the same label.

    Examples
    --------
    >>> coins = PublicCoins(seed=7)
    >>> int(coins.generator("x").integers(100)) == int(coins.generator("x").integers(100))
    True
    """

    seed: int
    _drawn: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def generator(self, label: str) -> np.random.Generator:
        """A fresh generator determined by the run's seed and ``label`` alone."""
        return np.random.default_rng([self.seed, zlib.crc32(label.encode())])

    def draw(self, label: str, sample: Callable[[np.random.Generator], Any]) -> Any:
        """``sample(generator(label))``, computed once per process and handed to every player that
        asks for the same label: public randomness is the same for all, so one draw serves all.
        ``sample`` must depend on nothing but the generator (and public parameters)."""
        if label not in self._drawn:
            self._drawn[label] = sample(self.generator(label))
        return self._drawn[label]


class Protocol(ABC):
    """A (k, R, s) sequential blackboard protocol (docs/theory.md §1; SHT24 Def E.1).

    Subclasses set :attr:`spec` and implement :meth:`speak`; :meth:`decode` reads the output from
    P_1's message in round R (by default, as an unsigned integer).

    Examples
    --------
    Two players; P_2 posts its bit, P_1 posts the XOR with its own:

    >>> import numpy as np
    >>> from commlab import Protocol, ProtocolSpec, run
    >>> class Xor(Protocol):
    ...     spec = ProtocolSpec("xor", k=2, rounds=1, max_bits=1)
    ...     def speak(self, player, round, own, board, coins, memory):
    ...         if player == 2:
    ...             return own[:, None]
    ...         return (own ^ board.message(1, 2).bits[:, 0])[:, None]
    >>> x1, x2 = np.array([0, 1, 1]), np.array([1, 1, 0])
    >>> run(Xor(), [x1, x2], truth=x1 ^ x2).success
    1.0
    """

    spec: ProtocolSpec

    @abstractmethod
    def speak(
        self,
        player: int,
        round: int,
        own: Any,
        board: BoardView,
        coins: PublicCoins,
        memory: dict,
    ) -> np.ndarray | Bits:
        """P_player's message in round ``round``: a 0/1 array ``(B, w)`` or :class:`Bits`.

        ``own`` is this player's input (batch first), ``board`` the messages so far, ``coins`` the
        public randomness and ``memory`` this player's private dict, kept between its turns.
        """

    def decode(self, message: Message) -> np.ndarray:
        """The protocol's output per instance, read from P_1's last message."""
        width = message.bits.shape[1]
        if width == 0:
            return np.zeros(len(message.bits), dtype=np.int64)
        values = UInt(width).from_bits(message.bits)
        # Messages are left-aligned: drop the zero padding past each instance's length.
        return (values >> (width - message.lengths).astype(np.uint64)).astype(np.int64)
