"""What every pointer-chasing protocol shares: parameters, vertex codec, the answer and the guess."""

from __future__ import annotations

from abc import abstractmethod
from fractions import Fraction

import numpy as np

from commlab.engine.ir import ProtocolSpec
from commlab.engine.protocol import Protocol, PublicCoins
from commlab.errors import InvalidParameter
from commlab.io.codecs import UInt, bits_for, decode, encode
from commlab.problems.pointer_chasing import check_parameters

__all__ = ["PointerChasingProtocol"]


class PointerChasingProtocol(Protocol):
    """Base of the protocols for (q, k) pointer chasing; P_j's input is
    :meth:`commlab.problems.pointer_chasing.PointerChasing.player_inputs` ``[j-1]``. The output is the
    answer bit, the whole of P_1's message in round R."""

    name = "pointer-chasing"
    #: The constructor option that sets the message size (``"m"``, ``"t"``), or ``None`` when the
    #: protocol's s is fixed by (q, k); budget searches scan :meth:`size_values` of this option.
    size_option: str | None = None

    def __init__(self, q: int, k: int, rounds: int):
        check_parameters(q, k)
        if not isinstance(rounds, (int, np.integer)) or rounds < 1:
            raise InvalidParameter(f"rounds must be an integer >= 1, got {rounds}")
        self.q, self.k = int(q), int(k)
        self.vertex = UInt(bits_for(q))
        self.spec = ProtocolSpec(self.name, self.k, int(rounds), max(self.budget(), 1))

    @abstractmethod
    def budget(self) -> int:
        """The per-message budget s this protocol needs (at least the 1-bit answer)."""

    @classmethod
    def supports(cls, q: int, k: int, rounds: int) -> bool:
        """Whether the protocol runs with ``rounds`` rounds on (q, k) pointer chasing."""
        return rounds >= 1

    @classmethod
    def size_values(cls, q: int, k: int) -> range:
        """The values :attr:`size_option` takes, smallest first (empty when s is fixed)."""
        return range(0)

    def exact_success(self) -> Fraction | None:
        """The exact probability of a correct answer on the lab's distribution
        (:meth:`commlab.problems.pointer_chasing.PointerChasing.random`), over instances and public
        coins, or ``None`` where no closed form is implemented."""
        return None

    def post_vertices(self, vertices: np.ndarray) -> np.ndarray:
        """Vertices ``(B,)`` or ``(B, n)`` as bits, ``bits_for(q)`` per vertex."""
        return encode(self.vertex, vertices.reshape(len(vertices), -1))

    def read_vertices(self, bits: np.ndarray, count: int | None = None) -> np.ndarray:
        """Inverse of :meth:`post_vertices`: shape ``(B,)`` for one vertex (``count=None``), else
        ``(B, count)``."""
        values = decode(self.vertex, bits, (count or 1,)).astype(np.int64)
        return values[:, 0] if count is None else values

    def parameters(self) -> dict:
        """The protocol's own parameters a run reports beside q (none by default)."""
        return {}

    def measure(self, instances, coins: PublicCoins) -> dict[str, np.ndarray]:
        """Protocol-specific measurements per instance of one chunk (none by default);
        :func:`commlab.protocols.simulate` concatenates them over the chunks of a run."""
        return {}

    def summarize(self, measures: dict[str, np.ndarray]) -> dict:
        """What a run reports of the measurements of all its instances (nothing by default)."""
        return {}

    @staticmethod
    def answer_bit(own: dict, end: np.ndarray) -> np.ndarray:
        """The answer, as a one-bit message, for paths that end at ``end`` (public partition)."""
        return own["in_second"][np.arange(len(end)), end].astype(np.uint8)[:, None]

    @staticmethod
    def guess(coins: PublicCoins) -> np.ndarray:
        """A uniformly random answer bit per instance from the public coins (right half the time),
        as a one-bit message."""
        return coins.integers("guess", 2, 1).astype(np.uint8)
