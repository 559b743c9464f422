"""The layer kind: the unit of every architecture-to-protocol reduction.

A layer maps an input sequence to an output sequence while carrying a *boundary state* from one
position to the next. That state is all a block of positions needs from the blocks before it, so a
player that holds a block can continue the layer from the state its predecessor posted. Each layer
kind says what it carries (``state_shapes``, in ``state_format``) and how one position advances it
(``step``); the scan over time, the bit codec of the state and the protocol are shared by all kinds.

Sequences are time-major: ``x`` has shape ``(n, B, ...)``; ``x[t]`` is position t for the whole
batch, contiguous, so every step runs the same array operations whatever block it belongs to.
"""

from __future__ import annotations

import functools
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Imported with the module, not inside a run: importing threadpoolctl sets KMP_DUPLICATE_LIB_OK in
# os.environ, and the engine refuses a run during which the (shared) environment changed.
from threadpoolctl import ThreadpoolController

from commlab.io.codecs import NumberFormat, decode, encode

__all__ = ["Layer", "Scan", "single_threaded_blas"]


@functools.cache
def _blas_controller() -> ThreadpoolController:
    return ThreadpoolController()  # inspects the loaded BLAS libraries once, not at every scan


def single_threaded_blas():
    """A context in which BLAS uses one thread.

    A recurrent scan multiplies small matrices (batch × width by width × gates) once per position;
    a multi-threaded BLAS spends more on waking and synchronising its threads than on each product,
    and on a busy machine its threads fight (``reduce rnn --cell lstm --format bfloat16`` took
    1 min 56 s against 6.7 s single-threaded; benchmarks/run.py measures it).
    """
    return _blas_controller().limit(limits=1, user_api="blas")


@dataclass(frozen=True, eq=False)
class Scan:
    """A layer run over a block: its outputs ``(n, B, ...)``, the state after the last position,
    and the states after the positions it was asked to record (``{t: state}``)."""

    outputs: np.ndarray
    state: tuple[np.ndarray, ...]
    recorded: dict[int, tuple[np.ndarray, ...]]


class Layer(ABC):
    """A sequence layer that carries a boundary state (an RNN cell, a state-space layer, a window).

    Subclasses define ``kind``, ``state_shapes``, ``state_format``, ``step`` and ``parameters``.
    """

    kind: str

    @property
    @abstractmethod
    def state_shapes(self) -> tuple[tuple[int, ...], ...]:
        """Per-instance shape of every tensor the layer carries (an LSTM carries h and c)."""

    @property
    @abstractmethod
    def state_format(self) -> NumberFormat:
        """The format each carried number is written in."""

    @abstractmethod
    def step(self, x_t: np.ndarray, state: tuple[np.ndarray, ...]):
        """One position for the whole batch: ``(y_t, new_state)``."""

    @abstractmethod
    def parameters(self) -> dict[str, np.ndarray]:
        """The layer's weights by name (the names used in ``.npz`` files)."""

    @property
    def state_numbers(self) -> int:
        """How many numbers the boundary state holds."""
        return sum(math.prod(shape) for shape in self.state_shapes)

    @property
    def state_bits(self) -> int:
        """Bits of the boundary state: numbers × bits per number."""
        return self.state_numbers * self.state_format.bits

    def initial_state(self, batch: int) -> tuple[np.ndarray, ...]:
        """The state before the first position: zeros."""
        dtype = self.state_format.dtype
        return tuple(np.zeros((batch, *shape), dtype=dtype) for shape in self.state_shapes)

    def scan(self, x: np.ndarray, state: tuple[np.ndarray, ...], record: Sequence[int] = ()) -> Scan:
        """Run the layer over a block ``x`` (time-major) from ``state``; loops over time, vectorised
        over the batch, with BLAS single-threaded (:func:`single_threaded_blas`). ``record`` lists the
        positions (in the block) after which to keep the state."""
        wanted, recorded, outputs = set(record), {}, None
        with single_threaded_blas():
            for t in range(len(x)):
                y_t, state = self.step(x[t], state)
                if outputs is None:
                    outputs = np.empty((len(x), *y_t.shape), dtype=y_t.dtype)
                outputs[t] = y_t
                if t in wanted:
                    recorded[t] = state
        return Scan(x[:0] if outputs is None else outputs, state, recorded)

    def encode_state(self, state: tuple[np.ndarray, ...], fmt: NumberFormat | None = None) -> np.ndarray:
        """The exact bit pattern of a state: ``(B, state_bits)``, tensors in declaration order.
        With ``fmt``, the state is first rounded to that (coarser) format and written in it."""
        if fmt is None:
            return np.concatenate([encode(self.state_format, s) for s in state], axis=1)
        return np.concatenate([encode(fmt, fmt.round(s)) for s in state], axis=1)

    def decode_state(self, bits: np.ndarray, fmt: NumberFormat | None = None) -> tuple[np.ndarray, ...]:
        """Inverse of :meth:`encode_state` (values cast back to the layer's own type)."""
        fmt = fmt or self.state_format
        out, offset = [], 0
        for shape in self.state_shapes:
            width = math.prod(shape) * fmt.bits
            values = decode(fmt, bits[:, offset : offset + width], shape)
            out.append(values.astype(self.state_format.dtype, copy=False))
            offset += width
        return tuple(out)

    def describe(self) -> str:
        shapes = " + ".join("×".join(map(str, s)) for s in self.state_shapes)
        return f"{self.kind} (state {shapes} in {self.state_format.name} = {self.state_bits} bits)"
