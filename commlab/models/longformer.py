"""Longformer: softmax attention restricted to a causal window of w positions plus global tokens.

Query t attends to the positions t − w < s ≤ t (its window) and to every global position s ≤ t,
where s is global when s % g = g − 1 (docs/theory.md §6, third row; the mask is
:func:`commlab.models.ops.causal_mask`). So what a block of positions needs from the blocks before it
is the keys and values of the last w − 1 positions before it (a carried window) and those of the
earlier global positions — which, in a protocol, their owners have already posted.

Each query's softmax runs over its keys gathered in increasing position order (earlier globals,
then the window) with :func:`commlab.models.ops.attention`; that gathered computation is the model,
and a player that gathers the same keys computes the same bits. The dense form (the full n × n
masked matrix) is its float64 check. The block is pre-norm: y = x + Attn(LN₁ x) W_o,
out = y + W₂ gelu(LN₂(y) W₁ + b₁) + b₂, every step rounded to the model's format.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from commlab.errors import InvalidParameter
from commlab.io.codecs import NumberFormat, UInt, bits_for, number_format
from commlab.models.arith import Arith
from commlab.models.model import random_ends
from commlab.models.ops import attention, causal_mask, gelu_new, layer_norm

__all__ = ["LongformerForward", "LongformerLayer", "LongformerModel", "is_global", "random_longformer_model"]


def is_global(position, every: int):
    """Whether a (0-based) position is global: every g-th one, ``position % g == g − 1``."""
    return np.asarray(position) % every == every - 1


def check_longformer_shape(heads: int, width: int, window: int, globals_every: int) -> None:
    """Refuse a Longformer shape that cannot be built, naming every bad value."""
    problems = [
        f"{what} must be an integer >= 1, got {value}"
        for what, value in (
            ("heads", heads),
            ("width", width),
            ("window", window),
            ("global-every", globals_every),
        )
        if not isinstance(value, (int, np.integer)) or value < 1
    ]
    if problems:
        raise InvalidParameter("; ".join(problems))


@dataclass(frozen=True, eq=False)
class LongformerLayer:
    """One pre-norm transformer block with windowed + global softmax attention (H heads of width m).

    The state a block hands on is the keys and values of the last ``window − 1`` positions,
    ``(B, window − 1, H, m)`` each; slots before position 0 hold zeros and are never attended.
    """

    d_in: int
    heads: int
    width: int
    window: int
    globals_every: int
    fmt: NumberFormat
    params: dict[str, np.ndarray]
    arith: Arith = field(init=False, repr=False)

    def __post_init__(self):
        check_longformer_shape(self.heads, self.width, self.window, self.globals_every)
        object.__setattr__(self, "arith", Arith(self.fmt))
        expected = self.param_shapes(self.d_in, self.heads, self.width)
        bad = [n for n, s in expected.items() if n not in self.params or self.params[n].shape != s]
        if bad or set(self.params) != set(expected):
            raise InvalidParameter(f"Longformer weights do not fit: check {', '.join(bad) or 'the names'}")

    @staticmethod
    def param_shapes(d_in: int, heads: int, width: int) -> dict[str, tuple[int, ...]]:
        hm = heads * width
        shapes = {"W_q": (d_in, hm), "W_k": (d_in, hm), "W_v": (d_in, hm), "W_o": (hm, d_in)}
        shapes.update({"W_1": (d_in, d_in), "b_1": (d_in,), "W_2": (d_in, d_in), "b_2": (d_in,)})
        shapes.update({name: (d_in,) for name in ("ln1_g", "ln1_b", "ln2_g", "ln2_b")})
        return shapes

    @classmethod
    def random(cls, d_in, heads, width, window, globals_every, fmt, rng) -> LongformerLayer:
        params = {}
        for name, shape in cls.param_shapes(d_in, heads, width).items():
            if name in ("ln1_g", "ln2_g"):
                value = np.ones(shape)
            elif len(shape) == 1:
                value = np.zeros(shape)
            else:
                value = rng.normal(0.0, 1.0 / np.sqrt(shape[0]), size=shape)
            params[name] = fmt.round(value)
        return cls(d_in, heads, width, window, globals_every, fmt, params)

    @property
    def kv_numbers(self) -> int:
        """Numbers per position of keys and values: 2·H·m."""
        return 2 * self.heads * self.width

    def _norm(self, x, which):
        return layer_norm(self.arith, x, self.params[f"{which}_g"], self.params[f"{which}_b"])

    def project(self, x_t: np.ndarray):
        """Query, key, value of one position (B, d) → each (B, H, m)."""
        a, p, shape = self.arith, self.params, (len(x_t), self.heads, self.width)
        h = self._norm(x_t, "ln1")
        return tuple(a.mm(h, p[name]).reshape(shape) for name in ("W_q", "W_k", "W_v"))

    def attend(self, x_t, query, keys, values) -> np.ndarray:
        """The block's output at one position from its query and its gathered keys and values
        ``(B, H, n_keys, m)`` in increasing position order."""
        a, p = self.arith, self.params
        allowed = np.ones((1, keys.shape[2]), dtype=bool)
        attended = attention(a, query[:, :, None, :], keys, values, allowed)[:, :, 0, :]
        y = a.add(x_t, a.mm(attended.reshape(len(x_t), -1), p["W_o"]))
        hidden = gelu_new(a, a.add(a.mm(self._norm(y, "ln2"), p["W_1"]), p["b_1"]))
        return a.add(y, a.add(a.mm(hidden, p["W_2"]), p["b_2"]))

    def keys_of(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """For query t: the global positions before its window and its window positions, each in
        increasing order (positions before 0 are left out)."""
        first = max(0, t - self.window + 1)
        earlier = np.arange(self.globals_every - 1, first, self.globals_every)
        return earlier, np.arange(first, t + 1)

    def dense(self, x: np.ndarray) -> np.ndarray:
        """The layer over a whole sequence ``(n, B, d)`` from the full n × n masked softmax; O(n²),
        only the check of the gathered form."""
        a, p = self.arith, self.params
        n, batch = x.shape[:2]
        h = self._norm(x, "ln1")

        def heads(name):  # (B, H, n, m)
            return np.moveaxis(a.mm(h, p[name]).reshape(n, batch, self.heads, self.width), 0, 2)

        mask = causal_mask(n, window=self.window, globals_every=self.globals_every)
        attended = np.moveaxis(attention(a, heads("W_q"), heads("W_k"), heads("W_v"), mask), 2, 0)
        y = a.add(x, a.mm(attended.reshape(n, batch, -1), p["W_o"]))
        hidden = gelu_new(a, a.add(a.mm(self._norm(y, "ln2"), p["W_1"]), p["b_1"]))
        return a.add(y, a.add(a.mm(hidden, p["W_2"]), p["b_2"]))

    def run(self, x: np.ndarray, start: int, window_kv, earlier_globals: dict[int, tuple]):
        """Run the layer over a block ``x`` (n, B, d) that starts at position ``start``.

        ``window_kv``: keys and values ``(B, w − 1, H, m)`` of positions start − w + 1 .. start − 1;
        ``earlier_globals``: {position: (key, value)} of the global positions before ``start``.
        Returns the outputs, the window at the block's end, and {position: (key, value)} of the
        block's own global positions.
        """
        n, w = len(x), self.window - 1
        projected = [self.project(x[t]) for t in range(n)]
        keys = {start - w + i: (window_kv[0][:, i], window_kv[1][:, i]) for i in range(w)}
        keys.update(earlier_globals)
        keys.update({start + t: projected[t][1:] for t in range(n)})
        outputs = np.empty_like(x) if n else x[:0]
        for t in range(n):
            position = start + t
            earlier, local = self.keys_of(position)
            order = np.concatenate([earlier, local])
            k = np.stack([keys[int(s)][0] for s in order], axis=2)
            v = np.stack([keys[int(s)][1] for s in order], axis=2)
            outputs[t] = self.attend(x[t], projected[t][0], k, v)
        end = start + n
        zero = np.zeros_like(window_kv[0][:, 0]) if w else None
        edge = [keys.get(s, (zero, zero)) if s >= 0 else (zero, zero) for s in range(end - w, end)]
        window = (
            (np.stack([e[0] for e in edge], axis=1), np.stack([e[1] for e in edge], axis=1))
            if w
            else window_kv
        )
        own = {start + t: projected[t][1:] for t in range(n) if is_global(start + t, self.globals_every)}
        return outputs, window, own

    def initial_window(self, batch: int):
        """The window before position 0: zeros (never attended)."""
        shape = (batch, self.window - 1, self.heads, self.width)
        return np.zeros(shape, self.fmt.dtype), np.zeros(shape, self.fmt.dtype)


@dataclass(frozen=True, eq=False)
class LongformerForward:
    """A forward pass: predictions (B, N); per layer, the window and own globals recorded at the
    end of each asked block ``recorded[layer][(start, end)] = (window, globals)``."""

    predictions: np.ndarray
    recorded: list[dict[tuple[int, int], tuple]]


@dataclass(frozen=True, eq=False)
class LongformerModel:
    """Token embedding → L Longformer layers → argmax readout."""

    alphabet: int
    layers: tuple[LongformerLayer, ...]
    fmt: NumberFormat
    embedding: np.ndarray
    readout: np.ndarray
    name: str = "Longformer"
    info: dict = field(default_factory=dict)

    @property
    def output_format(self) -> UInt:
        return UInt(bits_for(self.alphabet + 1))

    def embed(self, tokens: np.ndarray) -> np.ndarray:
        tokens = np.asarray(tokens)
        if (
            tokens.ndim != 2
            or tokens.dtype.kind not in "iu"
            or (tokens.size and tokens.max() >= self.alphabet)
        ):
            raise InvalidParameter(
                f"tokens must be integers in 0..{self.alphabet - 1} of shape (batch, length)"
            )
        return self.embedding[tokens.T]

    def predict_step(self, y_t: np.ndarray) -> np.ndarray:
        return np.argmax(self.fmt.round(y_t @ self.readout), axis=1).astype(np.int64)

    def forward(self, tokens: np.ndarray, blocks=None) -> LongformerForward:
        """Run the model over whole sequences, block by block along ``blocks`` (default: one block)
        — the blocks change nothing but what is recorded, since each query gathers the same keys."""
        x = self.embed(tokens)
        blocks = [(0, len(x))] if blocks is None else blocks
        recorded = []
        for layer in self.layers:
            window, found, kept, outputs = layer.initial_window(x.shape[1]), {}, {}, []
            for start, end in blocks:
                out, window, own = layer.run(x[start:end], start, window, dict(found))
                found.update(own)
                kept[start, end] = (window, own)
                outputs.append(out)
            recorded.append(kept)
            x = np.concatenate(outputs)
        predictions = np.stack([self.predict_step(x[t]) for t in range(len(x))], axis=1)
        return LongformerForward(predictions, recorded)

    def predict(self, tokens: np.ndarray) -> np.ndarray:
        return self.forward(tokens).predictions

    def describe(self) -> str:
        layer = self.layers[0]
        return (
            f"{self.name}: {len(self.layers)} layer(s), H = {layer.heads}, m = {layer.width}, "
            f"window {layer.window}, global every {layer.globals_every}, {self.fmt.name}"
        )


def random_longformer_model(
    layers: int,
    heads: int,
    width: int,
    window: int,
    globals_every: int,
    alphabet: int,
    fmt: str | NumberFormat = "float32",
    seed: int = 0,
) -> LongformerModel:
    """A Longformer with random weights from ``seed`` (residual width H·m).

    Examples
    --------
    >>> model = random_longformer_model(2, 2, 3, window=2, globals_every=3, alphabet=5)
    >>> model.predict(np.array([[0, 1, 2, 3, 4, 0, 1]])).shape
    (1, 7)
    """
    check_longformer_shape(heads, width, window, globals_every)
    if not isinstance(layers, (int, np.integer)) or layers < 1:
        raise InvalidParameter(f"layers must be an integer >= 1, got {layers}")
    fmt = number_format(fmt)
    rng = np.random.default_rng(seed)
    d = heads * width
    stack = tuple(
        LongformerLayer.random(d, heads, width, window, globals_every, fmt, rng) for _ in range(layers)
    )
    embedding, readout = random_ends(alphabet, d, fmt, rng)
    info = {"layers": layers, "heads": heads, "width": width, "window": window, "global_every": globals_every}
    return LongformerModel(alphabet, stack, fmt, embedding, readout, info=info)
