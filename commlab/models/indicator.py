"""A one-layer recurrent model with a binary state of 2q + O(log q) bits that solves hop_k on encoded
pointer chasing exactly (issue 10 §3): the upper-bound solver of the recurrent side.

Reading X = B_k ∘ … ∘ B_1 ∘ (v) left to right (docs/theory.md §5), it composes indicators the way
the one-round "composed indicators" protocol does (docs/theory.md §7). χ_j marks the vertices of
layer j whose path ends in V² (answer token 2q + 1). Block B_k pairs each source a with its answer
token, which gives χ_k; block B_j pairs a with E_j(a) ∈ V_{j+1}, and χ_j(a) = χ_{j+1}(E_j(a)). The
state carries

- ``ahead``: χ_{j+1}, the indicator of the layer ahead (q bits);
- ``building``: χ_j, filled in pair by pair (q bits);
- ``previous``: the previous token, the source of the pair in progress (⌈log₂(2q + 2)⌉ bits);
- ``position``: the position in the 2q-token block (⌈log₂ 2q⌉ bits), whose end moves ``building``
  to ``ahead``.

At q = 64 that is 128 + 8 + 7 = 143 bits. After B_1, ``ahead`` is χ_1 and the last token v is
answered with 2q + χ_1(v): hop_k(X)_N, for every k ≥ 1 at once (the model does not need k).

Its output at position t is 2q + ahead(x_t): the answer token the sequence would have if it ended
at t, so only the last position of an encoding is claimed to be hop_k. Not checked: that the input is
an encoding (on other sequences the model still runs, deterministically, and means nothing). The
sources of a block are listed in increasing order, so ``previous`` could be replaced by the position
(135 bits at q = 64); the model keeps it so as not to depend on that order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from commlab.errors import InvalidParameter
from commlab.io.codecs import UInt, bits_for, number_format
from commlab.models.layer import Layer
from commlab.models.model import SequenceModel

__all__ = ["IndicatorChase", "indicator_chase_model"]


def _to_bits(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers (B,) to their ``width`` binary digits (B, width), least significant first."""
    return ((values[:, None] >> np.arange(width)) & 1).astype(np.uint64)


def _from_bits(bits: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_to_bits`."""
    return (bits.astype(np.int64) << np.arange(bits.shape[1])).sum(axis=1)


@dataclass(frozen=True, eq=False)
class IndicatorChase(Layer):
    """The composed-indicator layer over the tokens ``0..2q+1`` of the (q, k) encoding; a binary
    state of ``2q + ⌈log₂(2q+2)⌉ + ⌈log₂ 2q⌉`` bits (see the module docstring)."""

    q: int

    kind: ClassVar[str] = "indicator"

    @property
    def token_bits(self) -> int:
        return bits_for(2 * self.q + 2)

    @property
    def position_bits(self) -> int:
        return bits_for(2 * self.q)

    @property
    def state_format(self) -> UInt:
        return UInt(1)

    @property
    def state_shapes(self):
        return ((self.q,), (self.q,), (self.token_bits,), (self.position_bits,))

    def step(self, x_t, state):
        ahead, building, previous, position = state
        q, rows = self.q, np.arange(len(x_t))
        x = np.asarray(x_t, dtype=np.int64)
        where = _from_bits(position)
        # The bit a target carries: its answer half in B_k, else the indicator of the layer ahead.
        carried = np.where(x >= 2 * q, x - 2 * q, ahead[rows, x % q].astype(np.int64))
        building = building.copy()
        pairs = np.flatnonzero(where % 2 == 1)  # target positions: the previous token is the source
        building[pairs, _from_bits(previous)[pairs] % q] = carried[pairs]
        done = where == 2 * q - 1
        ahead = np.where(done[:, None], building, ahead)
        building = np.where(done[:, None], np.uint64(0), building)
        where = np.where(done, 0, where + 1)
        output = 2 * q + ahead[rows, x % q].astype(np.int64)
        return output, (ahead, building, _to_bits(x, self.token_bits), _to_bits(where, self.position_bits))

    def parameters(self):
        return {}


def indicator_chase_model(q: int) -> SequenceModel:
    """The composed-indicator solver for (q, k) pointer chasing encoded as hop_k, any k, as a
    one-layer :class:`SequenceModel` over the 2q + 2 tokens of the encoding.

    Raises
    ------
    InvalidParameter
        If q is not an integer >= 1.

    Examples
    --------
    >>> from commlab.problems import PointerChasing, hop_k
    >>> from reductions.pointer_chasing import encode
    >>> encoded = encode(PointerChasing.random(q=64, k=4, batch=50, seed=0))
    >>> model = indicator_chase_model(64)
    >>> model.layers[0].state_bits  # 2·64 + 8 + 7
    143
    >>> bool((model.predict(encoded.tokens)[:, -1] == hop_k(encoded.tokens, 4)[:, -1]).all())
    True
    """
    if isinstance(q, bool) or not isinstance(q, (int, np.integer)) or q < 1:
        raise InvalidParameter(f"q must be an integer >= 1, got {q!r}")
    info = {"cell": "indicator", "layers": 1, "q": int(q)}
    return SequenceModel(
        2 * q + 2, (IndicatorChase(int(q)),), number_format("float32"), name=f"indicator-chase q={q}", info=info
    )
