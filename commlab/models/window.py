"""A recurrent model that really solves hop_k once its state is large enough (issue: "a recurrent
model that can solve hop_k").

Its one layer keeps the last W tokens (W·⌈log₂(|Σ|+1)⌉ bits of state) and, at every position,
evaluates hop_k on the window. The answer is exact whenever every hop stays inside the window: then
each occurrence it finds is the latest one in the whole prefix. When a search runs off a full window
the model cannot know the answer and outputs its ``fallback`` token. So its accuracy on encoded
pointer chasing climbs from guessing to 1 as W approaches N, which is what the lower bound says must
happen for R = 1 < k: the state has to grow with N.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from commlab.errors import InvalidParameter
from commlab.io.codecs import UInt, bits_for, number_format
from commlab.models.layer import Layer
from commlab.models.model import SequenceModel
from commlab.problems.hop import find_k

__all__ = ["WindowHop", "window_hop_model"]


@dataclass(frozen=True, eq=False)
class WindowHop(Layer):
    """Keeps the last ``window`` tokens; outputs hop_k over them (−1 for ⊥, ``fallback`` when the
    search leaves a full window). Empty slots hold the marker ``alphabet`` and form a prefix."""

    window: int
    k: int
    alphabet: int
    fallback: int

    kind: ClassVar[str] = "window"

    @property
    def state_format(self) -> UInt:
        return UInt(bits_for(self.alphabet + 1))

    @property
    def state_shapes(self):
        return ((self.window,),)

    def initial_state(self, batch):
        return (np.full((batch, self.window), self.alphabet, dtype=np.uint64),)

    def step(self, x_t, state):
        seen = np.concatenate([state[0].astype(np.int64), x_t[:, None]], axis=1)  # (B, W + 1)
        reached = find_k(seen, self.k)[:, -1]
        full = seen[:, 0] != self.alphabet
        tokens = seen[np.arange(len(seen)), np.maximum(reached, 0)]
        out = np.where(reached >= 0, tokens, np.where(full, self.fallback, -1))
        return out, (seen[:, 1:].astype(np.uint64),)

    def parameters(self):
        return {}


def window_hop_model(window: int, k: int, alphabet: int, fallback: int = 0) -> SequenceModel:
    """The window model as a one-layer :class:`SequenceModel` over token ids.

    Examples
    --------
    >>> from commlab.problems.hop import hop_k
    >>> x = np.array([[1, 0, 4, 1, 2, 0, 1, 4, 1, 3, 4, 0]])
    >>> model = window_hop_model(window=12, k=2, alphabet=5)
    >>> bool((model.predict(x) == hop_k(x, 2)).all())
    True
    """
    problems = []
    if not isinstance(window, (int, np.integer)) or window < 0:
        problems.append(f"window must be an integer >= 0, got {window}")
    if not isinstance(k, (int, np.integer)) or k < 0:
        problems.append(f"k must be an integer >= 0, got {k}")
    if not 0 <= fallback < alphabet:
        problems.append(f"fallback must be a token in 0..{alphabet - 1}, got {fallback}")
    if problems:
        raise InvalidParameter("; ".join(problems))
    layer = WindowHop(window, k, alphabet, fallback)
    info = {"cell": "window", "layers": 1, "window": window, "k": k}
    return SequenceModel(
        alphabet, (layer,), number_format("float32"), name=f"window-{window} hop_{k}", info=info
    )
