"""GPT-2 in numpy, in every number format of the lab, with HuggingFace weights.

The forward pass is HuggingFace's ``GPT2Model`` (pre-norm blocks, learned positional embeddings,
``gelu_new``, layer norm with ε = 1e−5, causal softmax attention scaled by 1/√(head width)) built
from the lab's shared operations (:mod:`commlab.models.ops`), every step rounded to the model's
number format (:class:`~commlab.models.arith.Arith`). ``GPT2LMHeadModel`` adds logits = hidden · W_teᵀ
(or its own ``lm_head.weight``).

Weights: :func:`gpt2_from_state_dict` takes the state dict of a ``GPT2Model`` (keys ``wte.weight``,
``h.0.attn.c_attn.weight`` …), a ``GPT2LMHeadModel`` (the same under ``transformer.``) or any module
that holds one under another prefix (the released SHT24 runs use ``backbone.``). HuggingFace's
``Conv1D`` stores its weight as (in, out), so ``x @ W + b`` is used as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from commlab.errors import InvalidParameter
from commlab.io.codecs import NumberFormat, number_format
from commlab.models.arith import Arith
from commlab.models.model import check_arrays
from commlab.models.ops import attention, causal_mask, gelu_new, layer_norm, masked_softmax

__all__ = ["GPT2", "gpt2_from_state_dict"]

#: Per block: name → shape in terms of the width m.
_BLOCK_SHAPES = {
    "ln_1.weight": lambda m: (m,),
    "ln_1.bias": lambda m: (m,),
    "attn.c_attn.weight": lambda m: (m, 3 * m),
    "attn.c_attn.bias": lambda m: (3 * m,),
    "attn.c_proj.weight": lambda m: (m, m),
    "attn.c_proj.bias": lambda m: (m,),
    "ln_2.weight": lambda m: (m,),
    "ln_2.bias": lambda m: (m,),
    "mlp.c_fc.weight": lambda m: (m, 4 * m),
    "mlp.c_fc.bias": lambda m: (4 * m,),
    "mlp.c_proj.weight": lambda m: (4 * m, m),
    "mlp.c_proj.bias": lambda m: (m,),
}
#: Buffers some transformers versions save (the causal mask); not weights.
_BUFFERS = ("attn.bias", "attn.masked_bias")


@dataclass(frozen=True, eq=False)
class GPT2:
    """A GPT-2 stack in a number format.

    Parameters
    ----------
    wte : array (vocab, m)
        Token embeddings.
    wpe : array (positions, m)
        Learned positional embeddings; sequences may be at most ``positions`` long.
    blocks : tuple of dict
        Per block, the arrays named as in :data:`_BLOCK_SHAPES` (HuggingFace names, Conv1D layout).
    ln_f : (gain, bias)
    heads : int
        Attention heads H (must divide m).
    fmt : NumberFormat
    lm_head : array (classes, m), optional
        The LM head; ``None`` makes the final hidden state the output (as ``GPT2Model``).
    eps : float
        Layer-norm ε.
    """

    wte: np.ndarray
    wpe: np.ndarray
    blocks: tuple[dict[str, np.ndarray], ...]
    ln_f: tuple[np.ndarray, np.ndarray]
    heads: int
    fmt: NumberFormat
    lm_head: np.ndarray | None = None
    eps: float = 1e-5
    info: dict = field(default_factory=dict)

    @property
    def width(self) -> int:
        return self.wte.shape[1]

    @property
    def depth(self) -> int:
        return len(self.blocks)

    def describe(self) -> str:
        head = "LM head" if self.lm_head is not None else "hidden state as output"
        return (
            f"GPT-2: {self.depth} layer(s), width {self.width}, {self.heads} heads, vocabulary "
            f"{self.wte.shape[0]}, {self.wpe.shape[0]} positions, {head}, {self.fmt.name}"
        )

    def _check_tokens(self, tokens: np.ndarray) -> np.ndarray:
        tokens = np.asarray(tokens)
        if tokens.ndim != 2 or tokens.dtype.kind not in "iu":
            raise InvalidParameter(f"tokens must be integers of shape (batch, length), got {tokens.shape}")
        if tokens.shape[1] > self.wpe.shape[0]:
            raise InvalidParameter(
                f"sequences of length {tokens.shape[1]} exceed the model's {self.wpe.shape[0]} positions"
            )
        if tokens.size and (tokens.min() < 0 or tokens.max() >= self.wte.shape[0]):
            raise InvalidParameter(
                f"tokens must lie in 0..{self.wte.shape[0] - 1}, got range [{tokens.min()}, {tokens.max()}]"
            )
        return tokens

    def hidden(self, tokens: np.ndarray, dropout: float = 0.0, rng: np.random.Generator | None = None):
        """The final hidden state (after ``ln_f``), shape (B, N, m).

        Parameters
        ----------
        tokens : int array (B, N)
        dropout : float
            Probability of GPT-2's dropouts (embeddings, attention weights, both residual branches),
            as in training mode; 0 is inference mode. Needs ``rng``.
        rng : numpy Generator
            Draws the dropout masks (the same p as PyTorch, not PyTorch's random stream).
        """
        tokens = self._check_tokens(tokens)
        if not 0.0 <= dropout < 1.0:
            raise InvalidParameter(f"dropout must be in [0, 1), got {dropout}")
        if dropout and rng is None:
            raise InvalidParameter("dropout needs a seeded rng")
        a, n = Arith(self.fmt), tokens.shape[1]
        batch, heads, head_width = tokens.shape[0], self.heads, self.width // self.heads
        allowed = causal_mask(n)

        def drop(x):
            if not dropout:
                return x
            keep = rng.random(x.shape) >= dropout
            return a.mul(np.where(keep, x, 0), np.asarray(1 / (1 - dropout), dtype=x.dtype))

        def split(x):  # (B·N, m) → (B, H, N, m/H), contiguous for batched BLAS
            return np.ascontiguousarray(x.reshape(batch, n, heads, head_width).transpose(0, 2, 1, 3))

        def linear(x, p, name):
            # One 2-D matrix product (numpy's 3-D @ 2-D is many times slower, and so is the engine's
            # row-by-row Arith.mm, 3x here): GPT-2 is evaluated, never compiled into a protocol, so
            # it needs no bits that are independent of the batch around them.
            return a.add(a(x @ p[name + ".weight"]), p[name + ".bias"])

        x = drop(a.add(self.wte[tokens], self.wpe[:n]).reshape(batch * n, self.width))
        for p in self.blocks:
            h = layer_norm(a, x, p["ln_1.weight"], p["ln_1.bias"], self.eps)
            q, k, v = np.split(linear(h, p, "attn.c_attn"), 3, axis=-1)
            if dropout:  # attention with its weights dropped, as GPT-2 trains
                scale = np.asarray(1 / math.sqrt(head_width), dtype=x.dtype)
                scores = a.mul(a.mm(split(q), np.swapaxes(split(k), -1, -2)), scale)
                mixed = a.mm(drop(masked_softmax(a, scores, allowed)), split(v))
            else:
                mixed = attention(a, split(q), split(k), split(v), allowed)
            mixed = mixed.transpose(0, 2, 1, 3).reshape(batch * n, self.width)
            x = a.add(x, drop(linear(mixed, p, "attn.c_proj")))
            h = layer_norm(a, x, p["ln_2.weight"], p["ln_2.bias"], self.eps)
            x = a.add(x, drop(linear(gelu_new(a, linear(h, p, "mlp.c_fc")), p, "mlp.c_proj")))
        return layer_norm(a, x, *self.ln_f, self.eps).reshape(batch, n, self.width)

    def logits(self, tokens: np.ndarray, dropout: float = 0.0, rng: np.random.Generator | None = None):
        """Scores per position (B, N, classes): the LM head's, or the hidden state itself."""
        h = self.hidden(tokens, dropout, rng)
        return h if self.lm_head is None else Arith(self.fmt).mm(h, self.lm_head.T)

    def predict(self, tokens: np.ndarray, dropout: float = 0.0, rng: np.random.Generator | None = None):
        """The argmax of :meth:`logits` at every position, (B, N)."""
        return np.argmax(self.logits(tokens, dropout, rng), axis=-1)


def _prefix(arrays: dict[str, np.ndarray]) -> str:
    found = sorted(name[: -len("wte.weight")] for name in arrays if name.endswith("wte.weight"))
    if len(found) != 1:
        raise InvalidParameter(
            f"expected one GPT-2 token embedding (…wte.weight) in the state dict, found {found or 'none'}"
        )
    return found[0]


def gpt2_from_state_dict(
    arrays: dict[str, np.ndarray],
    heads: int,
    fmt: str | NumberFormat = "float32",
    lm_head: bool | None = None,
    eps: float = 1e-5,
) -> GPT2:
    """Build a :class:`GPT2` from a HuggingFace GPT-2 state dict (no torch, no transformers).

    Parameters
    ----------
    arrays : dict of str → array
        From :func:`commlab.io.weights.read_weights`.
    heads : int
        Attention heads (a state dict does not record them; ``n_head`` in the model's config).
    fmt : number format
    lm_head : bool, optional
        Whether the output is LM logits; by default when the keys are a ``GPT2LMHeadModel``'s
        (``transformer.`` prefix), using ``lm_head.weight`` or, if absent, the tied ``wte``.
    eps : float
        Layer-norm ε (``layer_norm_epsilon``, 1e−5 in GPT-2).

    Raises
    ------
    InvalidParameter
        Naming every missing, unexpected, misshapen or non-finite tensor, or heads that do not divide m.
    """
    fmt = number_format(fmt)
    prefix = _prefix(arrays)
    vocab, width = arrays[prefix + "wte.weight"].shape
    if not isinstance(heads, (int, np.integer)) or heads < 1 or width % heads:
        raise InvalidParameter(f"heads must be a positive divisor of the width {width}, got {heads}")
    depth = 0
    while f"{prefix}h.{depth}.ln_1.weight" in arrays:
        depth += 1
    positions = arrays.get(prefix + "wpe.weight", np.zeros((0, 0))).shape[0]
    expected = {
        prefix + "wte.weight": (vocab, width),
        prefix + "wpe.weight": (positions, width),
        prefix + "ln_f.weight": (width,),
        prefix + "ln_f.bias": (width,),
    }
    for i in range(depth):
        expected.update({f"{prefix}h.{i}.{name}": shape(width) for name, shape in _BLOCK_SHAPES.items()})
    if lm_head is None:
        lm_head = prefix == "transformer."
    head_name = prefix[: -len("transformer.")] + "lm_head.weight" if prefix.endswith("transformer.") else None
    if lm_head and head_name in arrays:
        expected[head_name] = (arrays[head_name].shape[0], width)
    buffers = {f"{prefix}h.{i}.{b}" for i in range(depth) for b in _BUFFERS}
    problems = [f"missing {name} {shape}" for name, shape in expected.items() if name not in arrays]
    problems += [
        f"unexpected tensor {name}" for name in arrays if name not in expected and name not in buffers
    ]
    problems += check_arrays(arrays, expected)
    if depth == 0:
        problems.append(f"no transformer blocks ({prefix}h.0.…)")
    if problems:
        raise InvalidParameter("cannot import this GPT-2 state dict: " + "; ".join(problems))

    def get(name: str) -> np.ndarray:
        return fmt.round(arrays[name].astype(np.float64))

    blocks = tuple({name: get(f"{prefix}h.{i}.{name}") for name in _BLOCK_SHAPES} for i in range(depth))
    wte = get(prefix + "wte.weight")
    head = (get(head_name) if head_name in arrays else wte) if lm_head else None
    info = {"depth": depth, "width": width, "heads": int(heads), "vocab": vocab, "positions": positions}
    return GPT2(
        wte=wte,
        wpe=get(prefix + "wpe.weight"),
        blocks=blocks,
        ln_f=(get(prefix + "ln_f.weight"), get(prefix + "ln_f.bias")),
        heads=int(heads),
        fmt=fmt,
        lm_head=head,
        eps=eps,
        info=info,
    )
