"""A pair-tag layer and k kernel-attention layers with an exact given factorisation that solve
hop_k on encoded pointer chasing once the rank is large enough (issue 8 §5): the upper-bound
solver of the kernel side.

Reading X = B_k ∘ … ∘ B_1 ∘ (v) (docs/theory.md §5), hop_k(X)_N follows k lookups: the pointer
starts at v = 0 ∈ V_1 and hop ℓ replaces it by E_ℓ(pointer), the token after the pointer's occurrence
as a source in block B_ℓ. The model makes each lookup one kernel-attention layer whose scores are an
indicator over (block, token) pairs, so every query matches at most one key and the attention
returns that key's value exactly (normaliser 1). Every number the model computes is 0, ½, 1 or 3/2,
so it is exact in every format that holds these four; the others are refused.

Layers (k + 1 in all, so the protocol has R = k + 1 rounds):

1. :class:`PairTag` (kind ``"pair-tag"``), a recurrent layer with a binary state (the previous token
   and the position, ⌈log₂(2q+2)⌉ + ⌈log₂(2kq+2)⌉ bits). At a target position of block B_ℓ it writes
   the one-hot of its source a (index a mod q) into tag section ℓ of the residual stream; everywhere
   it writes the one-hot of the current token. Attention layers have no positions of their own, so
   this is where the (block, token) pairs come from. On an encoding the sources of a block are
   listed in increasing order, so the tag is a function of the position alone: a positional tag,
   which a player could compute from its block's offset. It costs one round whose messages carry
   only that public information (the position and previous token, counted like any state).
2. For ℓ = 1..k, a :class:`~commlab.models.kernel.KernelAttention` layer (one head, key and value
   width m = q, ``features="given"``, attention only: no layer norms, no MLP): its query is the pointer after ℓ − 1
   hops (the current token for ℓ = 1, pointer slot ℓ − 1 otherwise), its key the tag section ℓ, its
   value the current token (index mod q; the answer bit in B_k), and its output goes to pointer slot ℓ.
   The factorisation Φ = Ψ = the first r columns of I_q makes φ(q)·ψ(k) = [a = a′ < r]: rank r.

The readout reads pointer slot k, with a bias of 1/2 on the answer token 2q (V¹), so a search that
lost its pointer answers V¹, right half the time, as the window model does.

With rank r = q every lookup matches: accuracy 1 on every instance. With r < q, hop ℓ ≥ 2 finds its
key only if the pointer's index is below r; a pointer that is not covered gives a zero normaliser, the
zero vector (the layer's convention) and from then on zero slots, so the model answers V¹. Hop 1 always
matches (v = 0 < r). So the model is right exactly when every pointer hop_{ℓ−1}(X)_N, ℓ = 2..k, has
index below r, or when the answer is V¹.

Each kernel layer posts H·r·(m + 1)·p = r·(q + 1)·p bits per message, so accuracy against bits
posted is a curve in r. The model uses L = k + 1 layers; SHT24 Cor 5.2–5.3 say that a stack of
recurrent and kernel-attention layers with L < k needs Ω(N/k⁶) bits per layer, so the curve shows
what rank buys at a depth the bound allows, not a way round it.

Not checked: that the input is an encoding (other sequences run and mean nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from commlab._validate import is_integer
from commlab.errors import InvalidParameter
from commlab.io.codecs import NumberFormat, UInt, bits_for, number_format
from commlab.models.indicator import _from_bits, _to_bits
from commlab.models.kernel import KernelAttention
from commlab.models.layer import Layer
from commlab.models.model import SequenceModel
from commlab.problems.pointer_chasing import check_parameters

__all__ = ["EXACT_VALUES", "PairTag", "kernel_chase_model"]

#: Every value the model computes: one-hots and normalisers (0, 1), the V¹ bias (½) and a found V¹'s
#: logit (3/2). A format must hold them all for the model to be what it claims.
EXACT_VALUES = (0.0, 0.5, 1.0, 1.5)


@dataclass(frozen=True)
class _Stream:
    """Where things live in the residual stream of the (q, k) kernel chaser (width 2kq + 4): the
    current token (q + 2: index mod q for a vertex token, q + b for the answer token 2q + b), k tag
    sections of width q, pointer slots 1..k−1 of width q (a vertex's index mod q) and slot k of
    width 2 (the answer bit)."""

    q: int
    k: int

    def tag(self, hop: int) -> int:
        """Start of tag section ``hop`` (1..k)."""
        return self.q + 2 + (hop - 1) * self.q

    def slot(self, hop: int) -> int:
        """Start of pointer slot ``hop`` (0..k); slot 0 is the current token."""
        return 0 if hop == 0 else self.q + 2 + self.k * self.q + (hop - 1) * self.q

    @property
    def width(self) -> int:
        return self.slot(self.k) + 2

    def token_index(self, tokens: np.ndarray) -> np.ndarray:
        """Where the one-hot of each token goes in the current-token section."""
        return np.where(tokens >= 2 * self.q, tokens - self.q, tokens % self.q)


@dataclass(frozen=True, eq=False)
class PairTag(Layer):
    """Tags each target position of the (q, k) encoding with its (block, source) pair (module
    docstring); a binary state of ⌈log₂(2q+2)⌉ + ⌈log₂(2kq+2)⌉ bits. Input: token ids; output: the
    residual stream of :func:`kernel_chase_model` (current token and tags) in ``fmt``, slots zero."""

    q: int
    k: int
    fmt: NumberFormat

    kind: ClassVar[str] = "pair-tag"

    @property
    def _stream(self) -> _Stream:
        return _Stream(self.q, self.k)

    @property
    def state_format(self) -> UInt:
        return UInt(1)

    @property
    def state_shapes(self):
        return ((bits_for(2 * self.q + 2),), (bits_for(2 * self.k * self.q + 2),))

    def step(self, x_t, state):
        previous, position = state
        stream, q, rows = self._stream, self.q, np.arange(len(x_t))
        x = np.asarray(x_t, dtype=np.int64)
        where = _from_bits(position)
        out = np.zeros((len(x), stream.width), dtype=self.fmt.dtype)
        out[rows, stream.token_index(x)] = 1
        block = self.k - where // (2 * q)  # B_k first; block 0 is the final token v
        tagged = np.flatnonzero((block >= 1) & (where % 2 == 1))  # target positions: previous = source
        out[tagged, self._stream.tag(1) + (block[tagged] - 1) * q + _from_bits(previous)[tagged] % q] = 1
        where = np.minimum(where + 1, 2 * self.k * q + 1)  # saturates past the encoding's length
        return out, (_to_bits(x, self.state_shapes[0][0]), _to_bits(where, self.state_shapes[1][0]))

    def parameters(self):
        return {}

    def describe(self) -> str:
        return f"pair-tag (q = {self.q}, k = {self.k}; binary state {self.state_bits} bits)"


def _lookup_layer(stream: _Stream, hop: int, rank: int, fmt: NumberFormat) -> KernelAttention:
    """Kernel-attention layer ``hop``: E_hop(pointer) from slot hop − 1 into slot hop (module docstring)."""
    q, d = stream.q, stream.width
    shapes = KernelAttention.param_shapes(d, 1, q, rank, "given", norm=False, mlp=False)
    params = {name: np.zeros(shape) for name, shape in shapes.items()}
    index = np.arange(q)
    values = index if hop < stream.k else np.arange(2)  # the target's index mod q, or the answer bit
    params["W_q"][stream.slot(hop - 1) + index, index] = 1
    params["W_k"][stream.tag(hop) + index, index] = 1
    params["W_v"][values + (0 if hop < stream.k else q), values] = 1
    params["W_o"][values, stream.slot(hop) + values] = 1
    params["phi"][0] = params["psi"][0] = np.eye(q)[:, :rank]
    params = {name: fmt.round(value) for name, value in params.items()}
    return KernelAttention(d, 1, q, rank, "given", fmt, params, norm=False, mlp=False)


def kernel_chase_model(q: int, k: int, rank: int | None = None, fmt: str | NumberFormat = "float32") -> SequenceModel:
    """The (k + 1)-layer kernel-attention solver of (q, k) pointer chasing encoded as hop_k, with
    the indicator factorisation of rank ``rank`` (default q, where it is always right).

    Parameters
    ----------
    q, k : int
        The pointer-chasing instance size (q even >= 2, k >= 1); the alphabet is 2q + 2.
    rank : int, optional
        Feature dimension r of every kernel layer, 1 <= r <= q.
    fmt : str or NumberFormat
        Number format of the forward pass; it must hold 0, ½, 1 and 3/2 exactly (every value the
        model computes), as every float format and fixed point with a fraction bit and two integer
        bits do.

    Returns
    -------
    SequenceModel
        Layers ``[PairTag, KernelAttention × k]``; compiled by the ``hybrid`` reduction with
        R = k + 1 and s = r·(q + 1)·p bits.

    Raises
    ------
    InvalidParameter
        For a bad q or k, a rank outside 1..q, or a format that cannot hold 0, ½, 1 and 3/2.

    Examples
    --------
    >>> from commlab.problems import PointerChasing, hop_k
    >>> from reductions.pointer_chasing import encode
    >>> encoded = encode(PointerChasing.random(q=8, k=3, batch=50, seed=0))
    >>> model = kernel_chase_model(8, 3)
    >>> [layer.kind for layer in model.layers], model.layers[1].state_bits  # r·(q+1)·32
    (['pair-tag', 'kernel', 'kernel', 'kernel'], 2304)
    >>> bool((model.predict(encoded.tokens)[:, -1] == hop_k(encoded.tokens, 3)[:, -1]).all())
    True

    References
    ----------
    C. Sanford, D. Hsu and M. Telgarsky. ICML 2024, Corollary 5.3. arXiv:2402.09268.
    """
    check_parameters(q, k)
    rank = q if rank is None else rank
    if not is_integer(rank) or not 1 <= rank <= q:
        raise InvalidParameter(f"rank must be an integer in 1..q = 1..{q} (rank q is always right), got {rank!r}")
    fmt, stream = number_format(fmt), _Stream(int(q), int(k))
    values = np.array(EXACT_VALUES)
    if not np.array_equal(fmt.round(values), values):
        raise InvalidParameter(
            f"format {fmt.name} cannot hold the values 0, 0.5, 1, 1.5 the kernel chaser computes "
            f"(it rounds them to {fmt.round(values).tolist()}); use float32, float16, bfloat16 or fixed16.8"
        )
    layers = (PairTag(stream.q, stream.k, fmt),) + tuple(
        _lookup_layer(stream, hop, int(rank), fmt) for hop in range(1, k + 1)
    )
    readout = np.zeros((stream.width, 2 * q + 2))
    readout[stream.slot(k) + np.arange(2), 2 * q + np.arange(2)] = 1
    bias = np.zeros(2 * q + 2)
    bias[2 * q] = 0.5  # a lost search answers V¹
    info = {"cell": "kernel-chase", "q": int(q), "k": int(k), "rank": int(rank), "layers": k + 1}
    return SequenceModel(
        2 * q + 2,
        layers,
        fmt,
        readout=fmt.round(readout),
        readout_bias=fmt.round(bias),
        name=f"kernel-chase q={q} k={k} r={rank}",
        info=info,
    )
