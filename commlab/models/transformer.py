"""Causally masked softmax transformers in numpy: one attention head per layer on a residual stream.

A :class:`Transformer` prepends a beginning-of-sequence token (BOS, token id ``alphabet``) at
position 0, so the real tokens sit at positions 1..N, as in the 1-based positions of
docs/theory.md §4. The input to the first layer is ``token_embedding[token] + position_embedding[i]``;
every layer adds ``attention(x W_q, x W_k, x W_v) W_o`` to the stream (no MLP, no layer norm), and the
readout ``x W_r`` scores ``alphabet + 1`` classes: the tokens and, last, ⊥ (predicted as ``-1``).
Attention is :func:`commlab.models.ops.attention` — the lab's one masked softmax — in the dense
form: O(N²) time and memory per layer and head, bounded by running the batch in chunks.

Weights files (``.npz``): ``token_embedding`` (alphabet + 1, width), ``position_embedding``
(context + 1, width), ``readout`` (width, alphabet + 1), ``scales`` (layers,), and per layer i
``layers.{i}.query`` / ``key`` (width, d), ``value`` (width, e), ``output`` (e, width); a
``meta.*`` array per entry of :attr:`Transformer.info` whose value is a number.

Not checked: that the weights are finite (a loaded file is checked; a directly built model is not).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from commlab.errors import InvalidParameter
from commlab.io.codecs import UInt, bits_for, number_format
from commlab.models.arith import Arith
from commlab.models.ops import attention, causal_mask

__all__ = ["AttentionLayer", "Transformer", "TransformerForward", "load_transformer", "random_transformer"]

CHUNK_ELEMENTS = 2**22
"""Attention scores held at once, per layer: the batch runs in chunks of
``max(1, CHUNK_ELEMENTS // (N + 1)²)`` sequences (32 MiB of float64 scores, a few times that in the
softmax's temporaries)."""


@dataclass(frozen=True, eq=False)
class AttentionLayer:
    """One causally masked softmax attention head added to the residual stream.

    Parameters
    ----------
    query, key : array (width, d)
    value : array (width, e)
    output : array (e, width)
    scale : float
        Multiplies the scores ``q·k`` before the softmax.
    """

    query: np.ndarray
    key: np.ndarray
    value: np.ndarray
    output: np.ndarray
    scale: float

    def project(self, a: Arith, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Queries, keys and values of a stream ``x`` (B, n, width), each row on its own."""
        return a.mm(x, self.query), a.mm(x, self.key), a.mm(x, self.value)

    def attend(self, a: Arith, x: np.ndarray, q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
        """The stream after this layer: ``x + softmax(scale · q kᵀ, causal) v W_o``.

        Row t of the result depends on row t of ``x`` and ``q`` and on rows 0..t of ``k`` and ``v``
        only (later rows get weight exactly 0), which is what lets a player that holds a block
        compute its rows from the earlier blocks' keys and values (:mod:`reductions.attention`).
        """
        mixed = attention(a, q, k, v, causal_mask(x.shape[1]), self.scale)
        return a.add(x, a.mm(mixed, self.output))


@dataclass(frozen=True, eq=False)
class TransformerForward:
    """A forward pass: ``predictions`` (B, N) (``-1`` for ⊥) and, when asked for, the residual
    stream before every layer and after the last (``streams[ℓ]``, (B, N + 1, width), row 0 = BOS)
    and every layer's keys and values (``keys[ℓ]``, ``values[ℓ]``)."""

    predictions: np.ndarray
    streams: list[np.ndarray] = field(default_factory=list)
    keys: list[np.ndarray] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class Transformer:
    """A causal softmax transformer with one head per layer (module docstring for the layout).

    Parameters
    ----------
    alphabet : int
        Token values ``0..alphabet-1``; id ``alphabet`` is BOS.
    token_embedding : array (alphabet + 1, width)
    position_embedding : array (context + 1, width)
        Row i for position i (0 = BOS); sequences may be up to ``context`` tokens long.
    layers : tuple of AttentionLayer
    readout : array (width, alphabet + 1)
        Scores of the tokens and, in the last column, of ⊥.
    fmt : str or NumberFormat
        The number format of every operation (float64 by default).
    name : str
    info : dict
        What the model is (e.g. the hop count a construction computes); saved with the weights.
    """

    alphabet: int
    token_embedding: np.ndarray
    position_embedding: np.ndarray
    layers: tuple[AttentionLayer, ...]
    readout: np.ndarray
    fmt: object = "float64"
    name: str = "transformer"
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "fmt", number_format(self.fmt))
        width = self.token_embedding.shape[1]
        assert self.token_embedding.shape == (self.alphabet + 1, width)
        assert self.position_embedding.shape[1] == width and self.readout.shape == (width, self.alphabet + 1)

    @property
    def context(self) -> int:
        """The longest sequence the position embedding covers."""
        return self.position_embedding.shape[0] - 1

    @property
    def width(self) -> int:
        """Width of the residual stream."""
        return self.token_embedding.shape[1]

    @property
    def output_format(self) -> UInt:
        """How a prediction is written as bits: ``value + 1`` (⊥ = −1 fits) in
        ``bits_for(alphabet + 1)`` bits, as for :class:`commlab.models.SequenceModel`."""
        return UInt(bits_for(self.alphabet + 1))

    @property
    def arith(self) -> Arith:
        return Arith(self.fmt)

    def check_tokens(self, tokens) -> np.ndarray:
        """Tokens as a (B, N) integer array, or :class:`InvalidParameter` saying what is wrong."""
        tokens = np.asarray(tokens)
        if tokens.ndim != 2 or tokens.dtype.kind not in "iu":
            raise InvalidParameter(
                f"tokens must be integers of shape (batch, length), got {tokens.dtype}{tokens.shape}"
            )
        if tokens.shape[1] > self.context:
            raise InvalidParameter(
                f"sequences of {tokens.shape[1]} tokens exceed this model's context of {self.context}; "
                "build the model for a longer context"
            )
        if tokens.size and (tokens.min() < 0 or tokens.max() >= self.alphabet):
            raise InvalidParameter(
                f"tokens must lie in 0..{self.alphabet - 1} for this model's alphabet, "
                f"got range [{tokens.min()}, {tokens.max()}]"
            )
        return tokens

    def embed(self, tokens: np.ndarray) -> np.ndarray:
        """The stream before layer 1: (B, N + 1, width), row 0 = BOS."""
        tokens = self.check_tokens(tokens)
        with_bos = np.concatenate([np.full((len(tokens), 1), self.alphabet), tokens], axis=1)
        positions = self.position_embedding[: with_bos.shape[1]]
        return self.arith.add(self.token_embedding[with_bos], positions)

    def chunks(self, batch: int, rows: int) -> list[slice]:
        """The batch slices every layer runs on (to bound the attention's memory); players of a
        compiled protocol use the same slices, so every matrix product has the model's shapes."""
        size = max(1, CHUNK_ELEMENTS // (rows * rows))
        return [slice(start, min(start + size, batch)) for start in range(0, batch, size)]

    def read_out(self, stream: np.ndarray) -> np.ndarray:
        """Predictions from stream rows (..., width): argmax of the scores, ⊥ (last class) as −1."""
        scores = self.arith.mm(stream, self.readout)
        best = np.argmax(scores, axis=-1).astype(np.int64)
        return np.where(best == self.alphabet, -1, best)

    def forward(self, tokens, keep: bool = False) -> TransformerForward:
        """Run the model on (B, N) tokens; with ``keep``, also return every stream, key and value."""
        a = self.arith
        x = self.embed(tokens)
        streams, keys, values = [x], [], []
        for layer in self.layers:
            out = np.empty_like(x)
            k_all = np.empty((*x.shape[:2], layer.key.shape[1]), dtype=x.dtype) if keep else None
            v_all = np.empty((*x.shape[:2], layer.value.shape[1]), dtype=x.dtype) if keep else None
            for part in self.chunks(*x.shape[:2]):
                q, k, v = layer.project(a, x[part])
                out[part] = layer.attend(a, x[part], q, k, v)
                if keep:
                    k_all[part], v_all[part] = k, v
            x = out
            if keep:
                streams.append(x)
                keys.append(k_all)
                values.append(v_all)
        return TransformerForward(self.read_out(x[:, 1:]), streams if keep else [], keys, values)

    def predict(self, tokens) -> np.ndarray:
        """Predictions at every position, (B, N), ``-1`` for ⊥."""
        return self.forward(tokens).predictions

    def describe(self) -> str:
        d, e = (self.layers[0].key.shape[1], self.layers[0].value.shape[1]) if self.layers else (0, 0)
        return (
            f"{self.name}: {len(self.layers)} softmax attention layer(s), 1 head, width {self.width}, "
            f"head dims {d}+{e}, alphabet {self.alphabet}, context {self.context}, {self.fmt.name}"
        )

    def save(self, path: str | Path) -> None:
        """Write the weights (and numeric :attr:`info`) in the module's ``.npz`` layout."""
        arrays = {
            "token_embedding": self.token_embedding,
            "position_embedding": self.position_embedding,
            "readout": self.readout,
            "scales": np.array([layer.scale for layer in self.layers], dtype=np.float64),
        }
        for i, layer in enumerate(self.layers):
            for part in ("query", "key", "value", "output"):
                arrays[f"layers.{i}.{part}"] = getattr(layer, part)
        arrays.update(
            {f"meta.{k}": np.asarray(v) for k, v in self.info.items() if isinstance(v, (int, float))}
        )
        np.savez(path, **arrays)


def load_transformer(path: str | Path, fmt: str = "float64", name: str = "transformer") -> Transformer:
    """A transformer from an ``.npz`` file written by :meth:`Transformer.save`.

    Raises
    ------
    InvalidParameter
        For an unreadable file, missing arrays, inconsistent shapes or non-finite values (every
        problem at once).
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError) as error:
        raise InvalidParameter(f"cannot read weights file {str(path)!r}: {error}") from None
    fixed = ("token_embedding", "position_embedding", "readout", "scales")
    problems = [f"missing {key}" for key in fixed if key not in arrays]
    if problems:
        raise InvalidParameter(f"weights file {str(path)!r}: " + "; ".join(problems))
    depth = len(arrays["scales"])
    vocab, width = arrays["token_embedding"].shape
    expected = {"position_embedding": (None, width), "readout": (width, vocab)}
    for i in range(depth):
        expected.update({f"layers.{i}.query": (width, None), f"layers.{i}.key": (width, None)})
        expected.update({f"layers.{i}.value": (width, None), f"layers.{i}.output": (None, width)})
    for key, shape in expected.items():
        if key not in arrays:
            problems.append(f"missing {key}")
        elif arrays[key].ndim != 2 or any(
            s is not None and s != t for s, t in zip(shape, arrays[key].shape, strict=True)
        ):
            problems.append(f"{key} has shape {arrays[key].shape}, expected {shape} (None: any)")
    known = set(fixed) | set(expected)
    problems += [
        f"unexpected array {key}" for key in arrays if key not in known and not key.startswith("meta.")
    ]
    problems += [
        f"{key} holds NaN or inf" for key in known & set(arrays) if not np.isfinite(arrays[key]).all()
    ]
    if problems:
        raise InvalidParameter(f"weights file {str(path)!r} is not a transformer: " + "; ".join(problems))
    fmt = number_format(fmt)
    layers = tuple(
        AttentionLayer(
            *(fmt.round(arrays[f"layers.{i}.{p}"]) for p in ("query", "key", "value", "output")),
            float(arrays["scales"][i]),
        )
        for i in range(depth)
    )
    info = {key[5:]: arrays[key].item() for key in arrays if key.startswith("meta.")}
    return Transformer(
        vocab - 1,
        fmt.round(arrays["token_embedding"]),
        fmt.round(arrays["position_embedding"]),
        layers,
        fmt.round(arrays["readout"]),
        fmt,
        name,
        info,
    )


def random_transformer(
    alphabet: int, layers: int, width: int = 8, head: int = 4, context: int = 64, seed: int = 0
) -> Transformer:
    """A transformer with Gaussian weights (for checking reductions, not for solving anything).

    Examples
    --------
    >>> model = random_transformer(alphabet=5, layers=2, seed=0)
    >>> model.predict(np.array([[0, 1, 2, 3, 4]])).shape
    (1, 5)
    """
    if min(alphabet, layers, width, head, context) < 1:
        raise InvalidParameter(
            f"alphabet, layers, width, head and context must be >= 1, got {alphabet, layers, width, head, context}"
        )
    rng = np.random.default_rng(seed)

    def normal(*shape, std=1.0):
        return rng.normal(0.0, std, size=shape)

    stack = tuple(
        AttentionLayer(
            normal(width, head),
            normal(width, head),
            normal(width, head),
            normal(head, width, std=head**-0.5),
            1 / np.sqrt(head),
        )
        for _ in range(layers)
    )
    return Transformer(
        alphabet,
        normal(alphabet + 1, width),
        normal(context + 1, width),
        stack,
        normal(width, alphabet + 1),
        "float64",
        "random transformer",
        {"seed": seed},
    )
