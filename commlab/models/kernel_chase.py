"""A k-layer kernel-attention transformer with an exact given factorisation that solves hop_k on
encoded pointer chasing once its rank is large enough (issue 8 §5): the upper-bound solver of the
kernel side.

Reading X = B_k ∘ … ∘ B_1 ∘ (v) (docs/theory.md §5), hop_k(X)_N follows k lookups: the pointer
starts at v = 0 ∈ V_1 and hop ℓ replaces it by E_ℓ(pointer), the token after the pointer's occurrence
as a source in block B_ℓ. Block B_ℓ lists its sources in increasing order, so the i-th pair of the
block is (i, E_ℓ(i)) (indices mod q): the source a target position stands for is a function of the
position alone. The model makes each lookup one kernel-attention layer whose scores are an indicator
over (block, source) pairs, so every query matches at most one key and the attention returns that
key's value exactly (normaliser 1).

- **Embedding.** Token embedding: the one-hot of the current token (index mod q for a vertex token,
  q + b for the answer token 2q + b). Positional embedding: at the target position 2i + 1 of block
  B_ℓ, the one-hot of i in tag section ℓ. Residual width 2kq + 4 (the token, k tag sections of width
  q, pointer slots 1..k−1 of width q and slot k of width 2).
- **Layers.** For ℓ = 1..k, a :class:`~commlab.models.kernel.KernelAttention` layer (one head, key
  and value width m = q, ``features="given"``, attention only: no layer norms, no MLP): its query
  is the pointer after ℓ − 1 hops (the current token for ℓ = 1, pointer slot ℓ − 1 otherwise), its
  key the tag section ℓ, its value the current token (index mod q; the answer bit in B_k), and its
  output goes to pointer slot ℓ. The factorisation Φ = Ψ = the first r columns of I_q makes
  φ(q)·ψ(k) = [a = a′ < r]: rank r.
- **Readout.** Pointer slot k, with a bias of ½ on the answer token 2q (V¹), so a search that lost
  its pointer answers V¹, right half the time, as the window model does.

Every number the model computes is 0, ½, 1 or 3/2, so it is exact in every format that holds these
four; the others are refused.

With rank r = q every lookup matches: accuracy 1 on every instance. With r < q, hop ℓ ≥ 2 finds its
key only if the pointer's index is below r; a pointer that is not covered gives a zero normaliser, the
zero vector (the layer's convention) and from then on zero slots, so the model answers V¹. Hop 1 always
matches (v = 0 < r). So the model is right exactly when every pointer hop_{ℓ−1}(X)_N, ℓ = 2..k, has
index below r, or when the answer is V¹.

It compiles through the ``kernel`` reduction with R = L = k rounds and s = H·r·(m + 1)·p =
r·(q + 1)·p bits per message (each player embeds its block at its own positions, which it knows from
the public partition). SHT24 Cor 5.3 says a kernel-attention model with L < k layers needs
Ω(N/k⁶) bits per layer; this one has L = k, so the curve in r shows what rank buys at the smallest
depth the bound allows, not a way round it.

Not checked: that the input is an encoding (other sequences of length ≤ 2kq + 1 run and mean
nothing; longer ones are refused, since the positional embedding covers 2kq + 1 positions).
"""

from __future__ import annotations

import numpy as np

from commlab._validate import is_integer
from commlab.errors import InvalidParameter
from commlab.io.codecs import NumberFormat, number_format
from commlab.models.kernel import KernelAttention
from commlab.models.model import SequenceModel
from commlab.problems.pointer_chasing import check_parameters

__all__ = ["EXACT_VALUES", "kernel_chase_model"]

#: Every value the model computes: one-hots and normalisers (0, 1), the V¹ bias (½) and a found V¹'s
#: logit (3/2). A format must hold them all for the model to be what it claims.
EXACT_VALUES = (0.0, 0.5, 1.0, 1.5)


class _Stream:
    """Where things live in the residual stream of the (q, k) kernel chaser (module docstring)."""

    def __init__(self, q: int, k: int):
        self.q, self.k = q, k

    def tag(self, hop: int) -> int:
        """Start of tag section ``hop`` (1..k)."""
        return self.q + 2 + (hop - 1) * self.q

    def slot(self, hop: int) -> int:
        """Start of pointer slot ``hop`` (0..k); slot 0 is the current token."""
        return 0 if hop == 0 else self.q + 2 + self.k * self.q + (hop - 1) * self.q

    @property
    def width(self) -> int:
        return self.slot(self.k) + 2

    def token_embedding(self) -> np.ndarray:
        """(2q + 2) × width: token t to the one-hot of t mod q (vertices) or q + b (answer 2q + b)."""
        q, tokens = self.q, np.arange(2 * self.q + 2)
        embedding = np.zeros((len(tokens), self.width))
        embedding[tokens, np.where(tokens >= 2 * q, tokens - q, tokens % q)] = 1
        return embedding

    def position_embedding(self) -> np.ndarray:
        """(2kq + 1) × width: target position 2i + 1 of block B_ℓ to the one-hot of i in tag section ℓ."""
        q, k = self.q, self.k
        positions = np.zeros((2 * k * q + 1, self.width))
        where = np.arange(2 * k * q)
        targets = where[where % 2 == 1]
        block = k - targets // (2 * q)  # B_k first
        positions[targets, self.tag(1) + (block - 1) * q + (targets % (2 * q)) // 2] = 1
        return positions


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
    """The k-layer kernel-attention solver of (q, k) pointer chasing encoded as hop_k, with the
    indicator factorisation of rank ``rank`` (default q, where it is always right).

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
        k kernel-attention layers with token and positional embeddings; compiled by the ``kernel``
        reduction with R = k and s = r·(q + 1)·p bits.

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
    >>> [layer.kind for layer in model.layers], model.layers[0].state_bits  # r·(q+1)·32
    (['kernel', 'kernel', 'kernel'], 2304)
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
    layers = tuple(_lookup_layer(stream, hop, int(rank), fmt) for hop in range(1, k + 1))
    readout = np.zeros((stream.width, 2 * q + 2))
    readout[stream.slot(k) + np.arange(2), 2 * q + np.arange(2)] = 1
    bias = np.zeros(2 * q + 2)
    bias[2 * q] = 0.5  # a lost search answers V¹
    info = {"cell": "kernel-chase", "q": int(q), "k": int(k), "rank": int(rank), "layers": int(k)}
    return SequenceModel(
        2 * q + 2,
        layers,
        fmt,
        embedding=fmt.round(stream.token_embedding()),
        readout=fmt.round(readout),
        name=f"kernel-chase q={q} k={k} r={rank}",
        info=info,
        readout_bias=fmt.round(bias),
        positions=fmt.round(stream.position_embedding()),
    )
