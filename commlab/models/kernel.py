"""Kernel ("low-rank") attention as a layer kind: softmax(QKᵀ) replaced by φ(Q)ψ(K)ᵀ.

Per head h, with a feature map of dimension r (the *rank*), position t attends to every s ≤ t with
weight φ(q_t)·ψ(k_s), normalised by φ(q_t)·Σ_{s≤t} ψ(k_s). Because the weights factor, the prefix
enters only through two running sums, which are the layer's boundary state (docs/theory.md §6,
second row):

    S_t = S_{t−1} + ψ(k_t) v_tᵀ   (r × m),     z_t = z_{t−1} + ψ(k_t)   (r),
    attention_t = φ(q_t) S_t / φ(q_t) z_t.

So a layer with H heads carries H·r·(m + 1) numbers, whatever the sequence length, and a block of
positions needs nothing from the blocks before it beyond them.

The block around the attention is a pre-norm transformer block: ``y = x + Attn(LN₁ x) W_o`` and
``out = y + W₂ gelu(LN₂(y) W₁ + b₁) + b₂`` (layer norms optional; without the MLP, ``out = y``, an
attention-only block), every step rounded to the model's
number format by :class:`~commlab.models.arith.Arith` and built from :mod:`commlab.models.ops`.

Feature maps (``features``):

- ``"performer"``: FAVOR+ positive orthogonal random features (Choromanski et al. 2021),
  φ(x) = ψ(x) = exp(ωᵀx̃ − ‖x̃‖²/2)/√r with x̃ = x / m^{1/4}, so that E[φ(q)·ψ(k)] = exp(q·k/√m); ω
  (m × r per head) is drawn once from the layer's seed and is part of its weights.
- ``"elu"``: linear attention (Katharopoulos et al. 2020), φ(x) = ψ(x) = elu(x) + 1, computed as
  x + 1 for x > 0 and eˣ otherwise (the same function). Queries and keys have width r.
- ``"given"``: an exact user-supplied factorisation, φ(x) = x Φ and ψ(x) = x Ψ with Φ, Ψ (m × r per
  head) given as matrices: with one-hot queries and keys over a finite set, φ(a)·ψ(b) = (ΦΨᵀ)_{ab}
  is any score table of rank ≤ r.

**Zero normaliser.** With positive features the normaliser is positive unless it underflows; with a
given factorisation it may be exactly zero (e.g. no key matches an indicator query). Wherever
φ(q_t)·z_t = 0 the head outputs the zero vector, in the streaming and the dense form alike; this is
the convention of :func:`commlab.models.ops.masked_softmax` for a row with nothing to attend to.

Not checked: that a given factorisation keeps the normaliser away from zero (a tiny normaliser gives
huge outputs, computed exactly).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from commlab.errors import InvalidParameter
from commlab.io.codecs import NumberFormat, number_format
from commlab.models.arith import Arith
from commlab.models.layer import Layer
from commlab.models.ops import causal_mask, gelu_new, layer_norm

__all__ = ["FEATURE_MAPS", "KernelAttention", "check_kernel_shape", "random_kernel_model"]

#: The feature maps a kernel-attention layer can use, by CLI name.
FEATURE_MAPS = ("performer", "elu", "given")


def check_kernel_shape(heads: int, width: int, rank: int, features: str) -> None:
    """Refuse a kernel-attention shape that cannot be built, naming every bad value.

    Raises
    ------
    InvalidParameter
        For heads, width or rank below 1, or an unknown feature map.
    """
    problems = [
        f"{what} must be an integer >= 1, got {value}"
        for what, value in (("heads", heads), ("width", width), ("rank", rank))
        if not isinstance(value, (int, np.integer)) or value < 1
    ]
    if features not in FEATURE_MAPS:
        problems.append(f"unknown feature map {features!r}; choose one of {', '.join(FEATURE_MAPS)}")
    if problems:
        raise InvalidParameter("; ".join(problems))


def _orthogonal_features(rng: np.random.Generator, width: int, rank: int) -> np.ndarray:
    """FAVOR+ projections (width × rank): blocks of orthogonal directions with χ-distributed lengths
    (Choromanski et al. 2021, §2.4), so each column is marginally N(0, I). The QR factor is made
    Haar-distributed by fixing the signs of R's diagonal (Mezzadri 2007); without that the directions
    are biased and the estimator's variance grows several-fold."""
    blocks, rows = [], 0
    while rows < rank:
        q, r = np.linalg.qr(rng.normal(size=(width, width)))
        blocks.append((q * np.sign(np.diag(r))).T)
        rows += width
    directions = np.concatenate(blocks)[:rank]
    lengths = np.linalg.norm(rng.normal(size=(rank, width)), axis=1)
    return (directions * lengths[:, None]).T


@dataclass(frozen=True, eq=False)
class KernelAttention(Layer):
    """One pre-norm transformer block whose attention is kernel attention (module docstring).

    Parameters
    ----------
    d_in : int
        Width of the residual stream (the layer's input and output).
    heads, width, rank : int
        H heads with values of width m, feature maps of dimension r.
    features : {"performer", "elu", "given"}
    fmt : NumberFormat
    params : dict
        Weights by name, shapes as in :meth:`param_shapes`.
    norm : bool
        Whether the block has its two layer norms.
    mlp : bool
        Whether the block has its MLP (``False``: an attention-only block, ``out = y``).

    References
    ----------
    A. Katharopoulos, A. Vyas, N. Pappas and F. Fleuret. "Transformers are RNNs: fast autoregressive
    transformers with linear attention." ICML 2020. arXiv:2006.16236.
    K. Choromanski et al. "Rethinking attention with Performers." ICLR 2021. arXiv:2009.14794.
    C. Sanford, D. Hsu and M. Telgarsky. ICML 2024, Corollary 5.3. arXiv:2402.09268.
    """

    d_in: int
    heads: int
    width: int
    rank: int
    features: str
    fmt: NumberFormat
    params: dict[str, np.ndarray]
    norm: bool = True
    mlp: bool = True
    arith: Arith = field(init=False, repr=False)

    kind: ClassVar[str] = "kernel"

    def __post_init__(self):
        check_kernel_shape(self.heads, self.width, self.rank, self.features)
        object.__setattr__(self, "arith", Arith(self.fmt))
        expected = self.param_shapes(
            self.d_in, self.heads, self.width, self.rank, self.features, self.norm, self.mlp
        )
        problems = [f"missing {n} {s}" for n, s in expected.items() if n not in self.params]
        problems += [f"unexpected {n}" for n in self.params if n not in expected]
        problems += [
            f"{n} has shape {self.params[n].shape}, expected {s}"
            for n, s in expected.items()
            if n in self.params and self.params[n].shape != s
        ]
        if problems:
            raise InvalidParameter("kernel-attention weights do not fit: " + "; ".join(problems))

    @staticmethod
    def key_width(width: int, rank: int, features: str) -> int:
        """Width of queries and keys: r for elu features (φ acts on them directly), m otherwise."""
        return rank if features == "elu" else width

    @classmethod
    def param_shapes(
        cls, d_in: int, heads: int, width: int, rank: int, features: str, norm: bool = True, mlp: bool = True
    ) -> dict[str, tuple[int, ...]]:
        """Every weight's shape; the one table behind initialisation and validation."""
        kw = cls.key_width(width, rank, features)
        shapes = {
            "W_q": (d_in, heads * kw),
            "W_k": (d_in, heads * kw),
            "W_v": (d_in, heads * width),
            "W_o": (heads * width, d_in),
        }
        if mlp:
            shapes.update({"W_1": (d_in, d_in), "b_1": (d_in,), "W_2": (d_in, d_in), "b_2": (d_in,)})
        if features == "performer":
            shapes["omega"] = (heads, kw, rank)
        if features == "given":
            shapes.update({"phi": (heads, kw, rank), "psi": (heads, kw, rank)})
        if norm:
            shapes.update({name: (d_in,) for name in ("ln1_g", "ln1_b") + (("ln2_g", "ln2_b") if mlp else ())})
        return shapes

    @classmethod
    def random(
        cls,
        d_in: int,
        heads: int,
        width: int,
        rank: int,
        features: str,
        fmt: NumberFormat,
        rng: np.random.Generator,
        norm: bool = True,
        mlp: bool = True,
    ) -> KernelAttention:
        """A layer with weights drawn from ``rng`` and rounded to ``fmt``: matrices N(0, 1/fan_in),
        biases 0, layer-norm gains 1, FAVOR+ projections orthogonal (given Φ, Ψ: N(0, 1/m))."""
        check_kernel_shape(heads, width, rank, features)
        params = {}
        for name, shape in cls.param_shapes(d_in, heads, width, rank, features, norm, mlp).items():
            if name == "omega":
                value = np.stack([_orthogonal_features(rng, shape[1], rank) for _ in range(heads)])
            elif name in ("ln1_g", "ln2_g"):
                value = np.ones(shape)
            elif len(shape) == 1:
                value = np.zeros(shape)
            else:
                value = rng.normal(0.0, 1.0 / np.sqrt(shape[-2]), size=shape)
            params[name] = fmt.round(value)
        return cls(d_in, heads, width, rank, features, fmt, params, norm, mlp)

    # --- the layer kind -------------------------------------------------------------------------

    @property
    def state_shapes(self):
        return ((self.heads, self.rank, self.width), (self.heads, self.rank))

    @property
    def state_format(self) -> NumberFormat:
        return self.fmt

    def parameters(self) -> dict[str, np.ndarray]:
        return dict(self.params)

    def feature(self, x: np.ndarray, role: str) -> np.ndarray:
        """φ (``role="query"``) or ψ (``"key"``) of per-head vectors ``(..., H, kw)`` → ``(..., H, r)``."""
        a, p = self.arith, self.params
        if self.features == "elu":
            one = np.ones((), dtype=x.dtype)
            return np.where(x > 0, a.add(x, one), a.exp(np.minimum(x, 0)))
        if self.features == "given":
            matrix = p["phi"] if role == "query" else p["psi"]
            return a.mm(x[..., None, :], matrix)[..., 0, :]
        kw, dtype = x.shape[-1], x.dtype
        scaled = a.mul(x, np.asarray(kw**-0.25, dtype=dtype))
        projected = a.mm(scaled[..., None, :], p["omega"])[..., 0, :]
        half_norm = a.mul(a.mm(scaled[..., None, :], scaled[..., :, None])[..., 0], np.asarray(0.5, dtype))
        return a.mul(a.exp(a.sub(projected, half_norm)), np.asarray(self.rank**-0.5, dtype=dtype))

    def _normalise(self, numerator: np.ndarray, normaliser: np.ndarray) -> np.ndarray:
        """numerator / normaliser per head, the zero vector where the normaliser is 0."""
        nonzero = normaliser != 0
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            ratio = self.arith(numerator / np.where(nonzero, normaliser, 1))
        return np.where(nonzero, ratio, 0).astype(numerator.dtype, copy=False)

    def _project(self, h: np.ndarray):
        """Queries, keys, values per head: ``(..., H, kw)``, ``(..., H, kw)``, ``(..., H, m)``."""
        a, p, heads = self.arith, self.params, self.heads
        lead = h.shape[:-1]
        q = a.mm(h, p["W_q"]).reshape(*lead, heads, -1)
        k = a.mm(h, p["W_k"]).reshape(*lead, heads, -1)
        v = a.mm(h, p["W_v"]).reshape(*lead, heads, self.width)
        return q, k, v

    def _norm(self, x: np.ndarray, which: str) -> np.ndarray:
        if not self.norm:
            return x
        return layer_norm(self.arith, x, self.params[f"{which}_g"], self.params[f"{which}_b"])

    def _finish(self, x: np.ndarray, attended: np.ndarray) -> np.ndarray:
        """Residual, output projection and MLP around the attention output ``(..., H, m)``."""
        a, p = self.arith, self.params
        y = a.add(x, a.mm(attended.reshape(*attended.shape[:-2], -1), p["W_o"]))
        if not self.mlp:
            return y
        hidden = gelu_new(a, a.add(a.mm(self._norm(y, "ln2"), p["W_1"]), p["b_1"]))
        return a.add(y, a.add(a.mm(hidden, p["W_2"]), p["b_2"]))

    def step(self, x_t, state):
        a = self.arith
        q, k, v = self._project(self._norm(x_t, "ln1"))
        fq, fk = self.feature(q, "query"), self.feature(k, "key")  # (B, H, r)
        sums, norms = state
        sums = a.add(sums, a.mul(fk[..., :, None], v[..., None, :]))
        norms = a.add(norms, fk)
        numerator = a.mm(fq[..., None, :], sums)[..., 0, :]
        normaliser = a.mm(fq[..., None, :], norms[..., :, None])[..., 0, :]
        return self._finish(x_t, self._normalise(numerator, normaliser)), (sums, norms)

    def dense(self, x: np.ndarray) -> np.ndarray:
        """The same layer computed densely over a whole sequence ``(n, B, d)``: the full n × n
        causally masked weight matrix φ(Q)ψ(K)ᵀ, O(n²) per head. Only the check of :meth:`step`."""
        a = self.arith
        q, k, v = self._project(self._norm(x, "ln1"))  # (n, B, H, ·)
        fq, fk = (np.moveaxis(f, 0, 2) for f in (self.feature(q, "query"), self.feature(k, "key")))
        weights = np.where(causal_mask(len(x)), a.mm(fq, np.swapaxes(fk, -1, -2)), 0)  # (B, H, n, n)
        numerator = a.mm(weights, np.moveaxis(v, 0, 2))
        normaliser = a(weights.sum(axis=-1, keepdims=True))
        return self._finish(x, np.moveaxis(self._normalise(numerator, normaliser), 2, 0))

    def describe(self) -> str:
        return (
            f"kernel attention ({self.features}, H = {self.heads}, m = {self.width}, r = {self.rank}; "
            f"state {self.heads}×{self.rank}×({self.width}+1) in {self.fmt.name} = {self.state_bits} bits)"
        )


def random_kernel_model(
    layers: int,
    heads: int,
    width: int,
    rank: int,
    alphabet: int,
    fmt: str | NumberFormat = "float32",
    features: str = "performer",
    seed: int = 0,
    norm: bool = True,
):
    """An L-layer kernel-attention transformer with random weights from ``seed``: token embedding
    of width d = H·m, L kernel-attention blocks, argmax readout.

    Examples
    --------
    >>> model = random_kernel_model(layers=2, heads=2, width=4, rank=3, alphabet=5, seed=0)
    >>> model.layers[0].state_bits  # H·r·(m + 1) float32 numbers
    960
    >>> model.predict(np.array([[0, 1, 2, 3, 4]])).shape
    (1, 5)
    """
    from commlab.models.model import SequenceModel, random_ends

    check_kernel_shape(heads, width, rank, features)
    if not isinstance(layers, (int, np.integer)) or layers < 1:
        raise InvalidParameter(f"layers must be an integer >= 1, got {layers}")
    fmt = number_format(fmt)
    rng = np.random.default_rng(seed)
    d = heads * width
    stack = tuple(
        KernelAttention.random(d, heads, width, rank, features, fmt, rng, norm) for _ in range(layers)
    )
    embedding, readout = random_ends(alphabet, d, fmt, rng)
    info = {
        "layers": layers,
        "heads": heads,
        "width": width,
        "rank": rank,
        "features": features,
        "seed": seed,
    }
    return SequenceModel(alphabet, stack, fmt, embedding, readout, f"{features} kernel transformer", info)
