"""Recurrent layer kinds: Elman (tanh or ReLU), GRU (textbook and PyTorch's form), LSTM, diagonal
linear SSM, Mamba-style selective SSM, and the binary-state RNN of SHT24 Cor 5.2.

Every kind declares its parameters once (``param_shapes``: name → shape in terms of the input width
``d_in`` and the layer width ``width``); that one table drives random initialisation, loading from
``.npz`` files and their validation. All arithmetic goes through :class:`~commlab.models.arith.Arith`,
rounded to the model's number format after every operation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from commlab.io.codecs import NumberFormat, UInt
from commlab.models.arith import Arith, rowwise_matmul
from commlab.models.layer import Layer

__all__ = [
    "CELLS",
    "BinaryRNN",
    "DiagonalSSM",
    "Elman",
    "ElmanReLU",
    "GRU",
    "LSTM",
    "NeuralLayer",
    "SelectiveSSM",
    "ThresholdCell",
    "TorchGRU",
]


@dataclass(frozen=True, eq=False)
class NeuralLayer(Layer):
    """A layer with real weights in a number format; subclasses list them in ``param_shapes``."""

    d_in: int
    width: int
    fmt: NumberFormat
    params: dict[str, np.ndarray]
    arith: Arith = field(init=False, repr=False)

    kind: ClassVar[str] = "neural"

    def __post_init__(self):
        object.__setattr__(self, "arith", Arith(self.fmt))
        expected = self.param_shapes(self.d_in, self.width)
        assert set(self.params) == set(expected), (set(self.params), set(expected))
        for name, shape in expected.items():
            assert self.params[name].shape == shape, (name, self.params[name].shape, shape)

    @classmethod
    def param_shapes(cls, d_in: int, width: int) -> dict[str, tuple[int, ...]]:
        raise NotImplementedError

    @classmethod
    def init_param(cls, name: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Default initialisation: biases zero, matrices N(0, 1/fan_in)."""
        if len(shape) == 1:
            return np.zeros(shape)
        return rng.normal(0.0, 1.0 / np.sqrt(shape[0]), size=shape)

    @classmethod
    def random(cls, d_in: int, width: int, fmt: NumberFormat, rng: np.random.Generator):
        """A layer with initial weights drawn from ``rng`` and rounded to ``fmt``."""
        shapes = cls.param_shapes(d_in, width)
        return cls(d_in, width, fmt, {n: fmt.round(cls.init_param(n, s, rng)) for n, s in shapes.items()})

    @classmethod
    def from_params(cls, d_in: int, width: int, fmt: NumberFormat, params: dict[str, np.ndarray]):
        """A layer with the given weights (already in ``fmt``)."""
        return cls(d_in, width, fmt, params)

    def parameters(self) -> dict[str, np.ndarray]:
        return dict(self.params)

    @property
    def state_format(self) -> NumberFormat:
        return self.fmt

    @property
    def state_shapes(self):
        return ((self.width,),)

    def __getattr__(self, name):  # weights read as attributes: self.W, self.U, ...
        params = self.__dict__.get("params", {})
        if name in params:
            return params[name]
        raise AttributeError(name)


class Elman(NeuralLayer):
    """Elman RNN: h_t = tanh(x_t W + h_{t−1} U + b). Carries h (width numbers)."""

    kind = "elman"

    @classmethod
    def param_shapes(cls, d_in, width):
        return {"W": (d_in, width), "U": (width, width), "b": (width,)}

    def step(self, x_t, state):
        a = self.arith
        h = a.tanh(a.add(a.add(a.mm(x_t, self.W), a.mm(state[0], self.U)), self.b))
        return h, (h,)


class ElmanReLU(Elman):
    """Elman RNN with ReLU: h_t = max(0, x_t W + h_{t−1} U + b) (``torch.nn.RNN(nonlinearity="relu")``).
    Carries h (width numbers)."""

    kind = "elman_relu"

    def step(self, x_t, state):
        a = self.arith
        h = a(np.maximum(a.add(a.add(a.mm(x_t, self.W), a.mm(state[0], self.U)), self.b), 0))
        return h, (h,)


class GRU(NeuralLayer):
    """GRU (Cho et al. 2014), gates [z, r, n]: h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}. Carries h."""

    kind = "gru"

    @classmethod
    def param_shapes(cls, d_in, width):
        return {"W": (d_in, 3 * width), "U": (width, 3 * width), "b": (3 * width,)}

    def step(self, x_t, state):
        a, m, (h,) = self.arith, self.width, state
        xw, hu = a.add(a.mm(x_t, self.W), self.b), a.mm(h, self.U)
        z = a.sigmoid(a.add(xw[:, :m], hu[:, :m]))
        r = a.sigmoid(a.add(xw[:, m : 2 * m], hu[:, m : 2 * m]))
        n = a.tanh(a.add(xw[:, 2 * m :], a.mul(r, hu[:, 2 * m :])))
        h = a.add(a.mul(a.sub(a(1.0), z), n), a.mul(z, h))
        return h, (h,)


class TorchGRU(NeuralLayer):
    """The GRU exactly as ``torch.nn.GRU`` computes it, gates in PyTorch's order [r, z, n]:

    r = σ(x W_r + b_ir + h U_r + b_hr),  z = σ(x W_z + b_iz + h U_z + b_hz),
    n = tanh(x W_n + b_in + r ⊙ (h U_n + b_hn)),  h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}.

    It differs from :class:`GRU` in the gate order and in the hidden bias b_hn inside r ⊙ (…),
    which the textbook form does not have. ``W``, ``U`` are PyTorch's ``weight_ih``, ``weight_hh``
    transposed; ``b_ih``, ``b_hh`` its two biases. Carries h.
    """

    kind = "gru_torch"

    @classmethod
    def param_shapes(cls, d_in, width):
        return {"W": (d_in, 3 * width), "U": (width, 3 * width), "b_ih": (3 * width,), "b_hh": (3 * width,)}

    def step(self, x_t, state):
        a, m, (h,) = self.arith, self.width, state
        xw, hu = a.add(a.mm(x_t, self.W), self.b_ih), a.add(a.mm(h, self.U), self.b_hh)
        r = a.sigmoid(a.add(xw[:, :m], hu[:, :m]))
        z = a.sigmoid(a.add(xw[:, m : 2 * m], hu[:, m : 2 * m]))
        n = a.tanh(a.add(xw[:, 2 * m :], a.mul(r, hu[:, 2 * m :])))
        h = a.add(a.mul(a.sub(a(1.0), z), n), a.mul(z, h))
        return h, (h,)


class LSTM(NeuralLayer):
    """LSTM (Hochreiter & Schmidhuber 1997), gates [i, f, g, o]. Carries h and c (2·width)."""

    kind = "lstm"

    @classmethod
    def param_shapes(cls, d_in, width):
        return {"W": (d_in, 4 * width), "U": (width, 4 * width), "b": (4 * width,)}

    @classmethod
    def init_param(cls, name, shape, rng):
        if name == "b":  # forget-gate bias 1, the usual choice
            b = np.zeros(shape)
            b[shape[0] // 4 : shape[0] // 2] = 1.0
            return b
        return super().init_param(name, shape, rng)

    @property
    def state_shapes(self):
        return ((self.width,), (self.width,))

    def step(self, x_t, state):
        a, m, (h, c) = self.arith, self.width, state
        g = a.add(a.add(a.mm(x_t, self.W), a.mm(h, self.U)), self.b)
        i, f = a.sigmoid(g[:, :m]), a.sigmoid(g[:, m : 2 * m])
        cand, o = a.tanh(g[:, 2 * m : 3 * m]), a.sigmoid(g[:, 3 * m :])
        c = a.add(a.mul(f, c), a.mul(i, cand))
        h = a.mul(o, a.tanh(c))
        return h, (h, c)


class DiagonalSSM(NeuralLayer):
    """Diagonal linear state-space layer (S4D / LRU style, real diagonal):
    h_t = λ ⊙ h_{t−1} + x_t B,  y_t = tanh(h_t C + x_t D), with 0 < λ < 1. Carries h."""

    kind = "ssm"

    @classmethod
    def param_shapes(cls, d_in, width):
        return {"decay": (width,), "B": (d_in, width), "C": (width, width), "D": (d_in, width)}

    @classmethod
    def init_param(cls, name, shape, rng):
        if name == "decay":  # λ = exp(−exp(ν)) spread over (0.5, 0.999), as in the LRU
            return np.exp(-np.exp(rng.uniform(np.log(0.001), np.log(0.7), size=shape)))
        return super().init_param(name, shape, rng)

    def step(self, x_t, state):
        a = self.arith
        h = a.add(a.mul(self.decay, state[0]), a.mm(x_t, self.B))
        return a.tanh(a.add(a.mm(h, self.C), a.mm(x_t, self.D))), (h,)


class SelectiveSSM(NeuralLayer):
    """Mamba-style selective state-space layer: a causal depthwise convolution (kernel ``CONV``),
    then a diagonal SSM whose step Δ_t and projections B_t, C_t depend on the input:

    u_t = silu(conv(x W_in)_t),  Δ_t = softplus(u_t W_Δ + b_Δ),  B_t = u_t W_B,  C_t = u_t W_C,
    h_t = exp(Δ_t A) ⊙ h_{t−1} + (Δ_t ⊙ u_t) B_t,  y_t = h_t C_t + D ⊙ u_t.

    Carries h (width × ``SSM_STATE``) and the convolution's window (``CONV`` − 1 inputs), i.e.
    width·(SSM_STATE + CONV − 1) numbers.
    """

    kind = "mamba"
    SSM_STATE: ClassVar[int] = 4
    CONV: ClassVar[int] = 4

    @classmethod
    def param_shapes(cls, d_in, width):
        n, c = cls.SSM_STATE, cls.CONV
        return {
            "W_in": (d_in, width),
            "conv_w": (c, width),
            "conv_b": (width,),
            "W_dt": (width, width),
            "b_dt": (width,),
            "W_B": (width, n),
            "W_C": (width, n),
            "A": (width, n),
            "D": (width,),
        }

    @classmethod
    def init_param(cls, name, shape, rng):
        if name == "A":  # S4D-real: A = −(1, 2, ..., n) per channel
            return -np.broadcast_to(np.arange(1, shape[1] + 1, dtype=float), shape).copy()
        if name == "b_dt":  # softplus⁻¹ of Δ ~ log-uniform on [0.001, 0.1]
            dt = np.exp(rng.uniform(np.log(0.001), np.log(0.1), size=shape))
            return dt + np.log(-np.expm1(-dt))
        if name == "D":
            return np.ones(shape)
        if name == "conv_w":
            return rng.normal(0.0, 1.0 / np.sqrt(shape[0]), size=shape)
        return super().init_param(name, shape, rng)

    @property
    def state_shapes(self):
        return ((self.width, self.SSM_STATE), (self.CONV - 1, self.width))

    def step(self, x_t, state):
        a, (h, window) = self.arith, state
        full = np.concatenate([window, a.mm(x_t, self.W_in)[:, None, :]], axis=1)
        conv = a.mul(full[:, 0], self.conv_w[0])
        for i in range(1, self.CONV):
            conv = a.add(conv, a.mul(full[:, i], self.conv_w[i]))
        u = a.silu(a.add(conv, self.conv_b))
        dt = a.softplus(a.add(a.mm(u, self.W_dt), self.b_dt))
        b_t, c_t = a.mm(u, self.W_B), a.mm(u, self.W_C)
        decay = a.exp(a.mul(dt[:, :, None], self.A[None]))
        h = a.add(a.mul(decay, h), a.mul(a.mul(dt, u)[:, :, None], b_t[:, None, :]))
        y = a.add(a(np.sum(a.mul(h, c_t[:, None, :]), axis=2)), a.mul(self.D, u))
        return y, (h, np.ascontiguousarray(full[:, 1:]))


@dataclass(frozen=True, eq=False)
class ThresholdCell:
    """The default binary cell: h_t = [h_{t−1} W_h + x_t W_x + b > 0] (computed in float64)."""

    W_h: np.ndarray
    W_x: np.ndarray
    b: np.ndarray

    def __call__(self, h: np.ndarray, x: np.ndarray) -> np.ndarray:
        drive = (
            rowwise_matmul(h.astype(np.float64), self.W_h)
            + rowwise_matmul(x.astype(np.float64), self.W_x)
            + self.b
        )
        return (drive > 0).astype(np.uint8)


@dataclass(frozen=True, eq=False)
class BinaryRNN(Layer):
    """The binary-state RNN of SHT24 Cor 5.2: hidden state h_t ∈ {0,1}^m, h_t = cell(h_{t−1}, x_t)
    for any function ``cell`` (a picklable callable, so players can run apart). Carries m bits; its
    output is h_t in the model's format.

    References
    ----------
    C. Sanford, D. Hsu and M. Telgarsky. ICML 2024, Corollary 5.2. arXiv:2402.09268.
    """

    d_in: int
    width: int
    fmt: NumberFormat
    cell: Callable[[np.ndarray, np.ndarray], np.ndarray]

    kind: ClassVar[str] = "binary"

    @classmethod
    def param_shapes(cls, d_in, width):
        return {"W_h": (width, width), "W_x": (d_in, width), "b": (width,)}

    @classmethod
    def random(cls, d_in, width, fmt, rng):
        shapes = cls.param_shapes(d_in, width)
        weights = {n: NeuralLayer.init_param(n, s, rng) for n, s in shapes.items()}
        weights["b"] = rng.normal(0.0, 0.5, size=width)
        return cls(d_in, width, fmt, ThresholdCell(**weights))

    @classmethod
    def from_params(cls, d_in, width, fmt, params):
        return cls(d_in, width, fmt, ThresholdCell(**params))

    @property
    def state_format(self) -> NumberFormat:
        return UInt(1)

    @property
    def state_shapes(self):
        return ((self.width,),)

    def step(self, x_t, state):
        h = np.asarray(self.cell(state[0], x_t)).astype(np.uint64)
        return h.astype(self.fmt.dtype), (h,)

    def parameters(self):
        cell = self.cell
        return {n: getattr(cell, n) for n in ("W_h", "W_x", "b")} if isinstance(cell, ThresholdCell) else {}


#: The cells a recurrent model can be built from, by CLI name.
CELLS: dict[str, type] = {
    "elman": Elman,
    "elman_relu": ElmanReLU,
    "gru": GRU,
    "gru_torch": TorchGRU,
    "lstm": LSTM,
    "ssm": DiagonalSSM,
    "mamba": SelectiveSSM,
    "binary": BinaryRNN,
}
