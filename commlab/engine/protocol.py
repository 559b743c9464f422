"""What a protocol is: declared (k, R, s), a public rule for message lengths, a rule for what each
player says, and a rule for the output.

A protocol object holds only parameters (never the instances it runs on). The engine gives every
player its own copy of it, of its input and of the coins, so nothing one player does to them reaches
another; a player's private memory is a dict the engine keeps for that player alone. Nothing reaches
another player except through the board.
"""

from __future__ import annotations

import hashlib
import math
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from commlab.engine.blackboard import BoardView
from commlab.engine.ir import Bits, Message, ProtocolSpec
from commlab.errors import InvalidParameter
from commlab.io.codecs import UInt

__all__ = ["Protocol", "PublicCoins"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _splitmix(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, elementwise on uint64 (wrapping arithmetic): a bijection whose
    outputs look independent for consecutive inputs (Steele, Lea & Flood 2014)."""
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    return x ^ (x >> np.uint64(31))


def _key(*parts: object) -> np.uint64:
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


class PublicCoins:
    """Randomness per instance: public coins every player shares, and each player's private coins.

    Instance ``i`` of a run draws from ``(seed, label, i)`` alone — not from where it sits in the
    batch or which other instances share it — so a run split into chunks, reordered or cut down to
    one instance draws the same coins for every instance. Every player gets its own object; the
    public draws are the same for all players, the private ones (:meth:`private_uniform`,
    :meth:`private_integers`) differ between players and are reproducible from the seed.

    Parameters
    ----------
    seed : int
        The run's seed.
    instances : int or int array
        The instances of the batch, by number (``n`` means ``0..n-1``).
    player : int, optional
        The player holding this object (needed for private coins).

    Examples
    --------
    >>> coins = PublicCoins(seed=7, instances=[5, 9])
    >>> alone = PublicCoins(seed=7, instances=[9])
    >>> bool((coins.uniform("x", 3)[1] == alone.uniform("x", 3)[0]).all())
    True
    >>> coins.integers("die", 6).shape
    (2,)
    """

    def __init__(self, seed: int, instances: int | np.ndarray, player: int | None = None):
        self.seed = int(seed)
        ids = np.arange(instances) if np.ndim(instances) == 0 else np.asarray(instances)
        self.instances = np.array(ids, dtype=np.uint64)
        self.instances.flags.writeable = False
        self.player = player

    @property
    def batch(self) -> int:
        return len(self.instances)

    def _uniform(self, key: np.uint64, shape: int | tuple[int, ...]) -> np.ndarray:
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        count = math.prod(shape)
        per_instance = _splitmix(_splitmix(self.instances * _GOLDEN) ^ key)[:, None]
        counter = (np.arange(1, count + 1, dtype=np.uint64) * _GOLDEN)[None, :]
        words = _splitmix(per_instance + counter) >> np.uint64(11)
        return (words * 2.0**-53).reshape((self.batch, *shape))

    def uniform(self, label: str, shape: int | tuple[int, ...] = ()) -> np.ndarray:
        """Public uniform numbers in [0, 1), shape ``(batch, *shape)``, the same for every player."""
        return self._uniform(_key("public", self.seed, label), shape)

    def integers(self, label: str, high: int, shape: int | tuple[int, ...] = ()) -> np.ndarray:
        """Public integers in ``0..high-1``, shape ``(batch, *shape)`` (53-bit uniforms, scaled)."""
        return np.floor(self.uniform(label, shape) * high).astype(np.int64)

    def private_uniform(self, label: str, shape: int | tuple[int, ...] = ()) -> np.ndarray:
        """This player's private uniform numbers in [0, 1), shape ``(batch, *shape)``: seeded by
        the run's seed, the player and the instance, so a rerun (or the isolation audit) draws
        the same ones."""
        if self.player is None:
            raise InvalidParameter("private coins belong to a player; these coins are the public ones")
        return self._uniform(_key("private", self.seed, self.player, label), shape)

    def private_integers(self, label: str, high: int, shape: int | tuple[int, ...] = ()) -> np.ndarray:
        """This player's private integers in ``0..high-1``, shape ``(batch, *shape)``."""
        return np.floor(self.private_uniform(label, shape) * high).astype(np.int64)


class Protocol(ABC):
    """A (k, R, s) sequential blackboard protocol (docs/theory.md §1; SHT24 Def E.1).

    Subclasses set :attr:`spec` and implement :meth:`speak`; :meth:`message_length` says, from
    public information alone, how long each message is (by default s, every turn);
    :meth:`decode` reads the output from P_1's message in round R (by default, as an unsigned
    integer).

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
        """P_player's message in round ``round``: a 0/1 array ``(B, w)`` or :class:`Bits`, each
        instance exactly as long as :meth:`message_length` says.

        ``own`` is this player's input (batch first), ``board`` the messages so far, ``coins`` the
        public randomness (and this player's private coins) and ``memory`` this player's private
        dict, kept between its turns. A turn whose length is 0 on every instance is silent: the
        engine writes the empty message without calling ``speak``.
        """

    def message_length(
        self, round: int, player: int, board: BoardView, coins: PublicCoins, memory: dict
    ) -> int | np.ndarray:
        """How many bits P_player writes in round ``round``: an integer, or one per instance.

        It may depend only on public information — the round, the player, the board so far and the
        public coins — so that a message's length tells nothing its bits do not (docs/engine.md).
        ``memory`` is a dict kept between calls, for what the rule derives from the board. The
        engine calls it with none of the players' inputs; the board refuses a message of any
        other length. Default: s, every turn.
        """
        return self.spec.max_bits

    def decode(self, message: Message) -> np.ndarray:
        """The protocol's output per instance, read from P_1's last message (and nothing else: the
        engine calls it on a pristine copy of the protocol, and the audit checks it)."""
        width = message.bits.shape[1]
        if width == 0:
            return np.zeros(len(message.bits), dtype=np.int64)
        values = UInt(width).from_bits(message.bits)
        # Messages are left-aligned: drop the zero padding past each instance's length.
        return (values >> (width - message.lengths).astype(np.uint64)).astype(np.int64)
