"""Sequence models: token embedding → a stack of layers → per-position argmax over the alphabet.

``SequenceModel.forward`` is the executable reference every reduction is checked against: a plain
scan of each layer over the whole sequence (no blocks, no bit codec), which can record the state of
any layer after any position. Predictions are read one position at a time (``predict_step``), so
that a player reading one position computes exactly what the model computes there.

Weights files (``.npz``, ``.safetensors`` or ``.pt``, read by :func:`commlab.io.weights.read_weights`):
``embedding`` (alphabet, width), ``readout`` (width, alphabet), optionally ``readout_bias``
(alphabet,) and ``positions`` (length, width), and, for layer i (0-based), ``layers.{i}.{name}``
with the names and shapes each cell lists in ``param_shapes`` (see :mod:`commlab.models.recurrent`).
A PyTorch state dict of ``nn.Embedding`` → ``nn.RNN``/``nn.GRU``/``nn.LSTM`` → ``nn.Linear`` is
imported as it is (:func:`commlab.models.importers.torch_recurrent_model`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from commlab.errors import InvalidParameter
from commlab.io.codecs import NumberFormat, UInt, bits_for, number_format
from commlab.io.weights import read_weights, save_safetensors
from commlab.models.arith import rowwise_matmul
from commlab.models.layer import Layer
from commlab.models.recurrent import CELLS

__all__ = [
    "Forward",
    "SequenceModel",
    "check_arrays",
    "load_recurrent_model",
    "random_recurrent_model",
    "save_weights",
]


@dataclass(frozen=True, eq=False)
class Forward:
    """A forward pass: ``predictions`` (B, N) and, per layer, the states recorded after the asked
    positions (``recorded[layer][position] = state``)."""

    predictions: np.ndarray
    recorded: list[dict[int, tuple[np.ndarray, ...]]]


@dataclass(frozen=True, eq=False)
class SequenceModel:
    """A stack of layers between a token embedding and an argmax readout.

    Parameters
    ----------
    alphabet : int
        Number of token values |Σ|; inputs are tokens ``0..alphabet-1``.
    layers : tuple of Layer
    fmt : NumberFormat
        The numeric format of the whole forward pass.
    embedding : array (alphabet, width), optional
        ``None`` feeds the token ids themselves to the first layer (as ``(n, B)`` integers).
    readout : array (width, classes), optional
        ``None`` takes the last layer's output as the prediction (a token, or −1 for ⊥).
    name : str
    info : dict
        Where the model came from (cell, sizes, seed or weights file).
    readout_bias : array (classes,), optional
        Added to the readout's logits (an ``nn.Linear`` readout's bias).
    positions : array (length, width), optional
        Learned-style positional embeddings, added to the token embedding (needs ``embedding``);
        the model then takes sequences of at most ``length`` tokens. A player holding the block
        ``[start, end)`` knows its positions from the public partition, so it embeds its block with
        ``embed(own, start)``.
    """

    alphabet: int
    layers: tuple[Layer, ...]
    fmt: NumberFormat
    embedding: np.ndarray | None = None
    readout: np.ndarray | None = None
    name: str = "model"
    info: dict = field(default_factory=dict)
    readout_bias: np.ndarray | None = None
    positions: np.ndarray | None = None

    def __post_init__(self):
        if self.positions is not None and (self.embedding is None or self.positions.shape[1:] != self.embedding.shape[1:]):
            raise InvalidParameter(
                "positional embeddings need a token embedding of the same width, got "
                f"{None if self.embedding is None else self.embedding.shape} and {self.positions.shape}"
            )

    @property
    def output_format(self) -> UInt:
        """How a prediction is written as bits: ``value + 1`` (so ⊥ = −1 fits) in
        ``bits_for(alphabet + 1)`` bits."""
        return UInt(bits_for(self.alphabet + 1))

    def embed(self, tokens: np.ndarray, start: int = 0) -> np.ndarray:
        """Tokens (B, n) at positions ``start .. start + n − 1`` to the first layer's input,
        time-major (n, B, ...)."""
        tokens = np.asarray(tokens)
        if tokens.ndim != 2 or tokens.dtype.kind not in "iu":
            raise InvalidParameter(f"tokens must be integers of shape (batch, length), got {tokens.shape}")
        if tokens.size and (tokens.min() < 0 or tokens.max() >= self.alphabet):
            raise InvalidParameter(
                f"tokens must lie in 0..{self.alphabet - 1} for this model's alphabet, "
                f"got range [{tokens.min()}, {tokens.max()}]"
            )
        if self.embedding is None:
            return np.ascontiguousarray(tokens.T.astype(np.int64))
        if self.positions is None:
            return self.embedding[tokens.T]
        if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or start < 0:
            raise InvalidParameter(f"a block's start must be an integer >= 0, got {start!r}")
        end = start + tokens.shape[1]
        if end > len(self.positions):
            raise InvalidParameter(
                f"{self.name} takes sequences of at most {len(self.positions)} tokens (its positional "
                f"embeddings), got tokens up to position {end - 1}; build it for this length"
            )
        return self.fmt.round(self.embedding[tokens.T] + self.positions[start:end, None, :])

    def predict_step(self, y_t: np.ndarray) -> np.ndarray:
        """Prediction at one position for the whole batch, from the last layer's output (B, width)."""
        if self.readout is None:
            return np.asarray(y_t, dtype=np.int64)
        return np.argmax(self._logits(y_t), axis=-1).astype(np.int64)

    def _logits(self, y: np.ndarray) -> np.ndarray:
        logits = self.fmt.round(rowwise_matmul(y, self.readout))  # batch-independent bits
        return logits if self.readout_bias is None else self.fmt.round(logits + self.readout_bias)

    def logits(self, tokens: np.ndarray) -> np.ndarray:
        """The readout's scores at every position, shape (B, N, classes) (needs a readout)."""
        if self.readout is None:
            raise InvalidParameter(f"{self.name} has no readout, so no logits; use predict")
        x = self.embed(tokens)
        for layer in self.layers:
            x = layer.scan(x, layer.initial_state(x.shape[1])).outputs
        return np.swapaxes(self._logits(x), 0, 1)

    def forward(self, tokens: np.ndarray, record: Sequence[int] = ()) -> Forward:
        """Run the model over whole sequences; loops over time, vectorised over the batch.

        Parameters
        ----------
        tokens : int array (B, N)
        record : positions (0-based) after which to record every layer's state.
        """
        x = self.embed(tokens)
        recorded = []
        for layer in self.layers:
            scan = layer.scan(x, layer.initial_state(x.shape[1]), record)
            recorded.append(scan.recorded)
            x = scan.outputs
        predictions = np.empty((x.shape[1], len(x)), dtype=np.int64)
        for t in range(len(x)):  # one position at a time, as a player reading one position would
            predictions[:, t] = self.predict_step(x[t])
        return Forward(predictions, recorded)

    def predict(self, tokens: np.ndarray) -> np.ndarray:
        """Predictions at every position, shape (B, N)."""
        return self.forward(tokens).predictions

    def describe(self) -> str:
        body = ", ".join(layer.describe() for layer in self.layers)
        return f"{self.name}: {len(self.layers)} layer(s) [{body}], alphabet {self.alphabet}, {self.fmt.name}"


def _cell_class(cell: str):
    if cell not in CELLS:
        raise InvalidParameter(f"unknown cell {cell!r}; choose one of {', '.join(CELLS)}")
    return CELLS[cell]


def _check_architecture(layers: int, state: int, alphabet: int) -> None:
    problems = [
        f"{what} must be an integer >= {low}, got {value}"
        for what, value, low in (("layers", layers, 1), ("state", state, 1), ("alphabet", alphabet, 1))
        if not isinstance(value, (int, np.integer)) or value < low
    ]
    if problems:
        raise InvalidParameter("; ".join(problems))


def random_ends(alphabet: int, width: int, fmt: NumberFormat, rng: np.random.Generator):
    """A random model's token embedding N(0, 1) (alphabet × width) and readout N(0, 1/width)
    (width × alphabet), drawn in that order from ``rng`` after its layers and rounded to ``fmt``:
    the one initialisation every random model in the lab shares."""
    embedding = fmt.round(rng.normal(0.0, 1.0, size=(alphabet, width)))
    readout = fmt.round(rng.normal(0.0, 1.0 / np.sqrt(width), size=(width, alphabet)))
    return embedding, readout


def random_recurrent_model(
    cell: str, layers: int, state: int, alphabet: int, fmt: str | NumberFormat = "float32", seed: int = 0
) -> SequenceModel:
    """A multi-layer recurrent model with initial weights from ``seed``, rounded to ``fmt``.

    Every layer has width ``state`` (the hidden size; what a layer carries follows from its cell,
    e.g. an LSTM carries 2·state numbers). The embedding is N(0, 1), the readout N(0, 1/state).

    Examples
    --------
    >>> model = random_recurrent_model("gru", layers=2, state=8, alphabet=5, seed=0)
    >>> model.predict(np.array([[0, 1, 2, 3, 4]])).shape
    (1, 5)
    """
    _check_architecture(layers, state, alphabet)
    kind, fmt = _cell_class(cell), number_format(fmt)
    rng = np.random.default_rng(seed)
    stack = tuple(kind.random(state, state, fmt, rng) for _ in range(layers))
    embedding, readout = random_ends(alphabet, state, fmt, rng)
    info = {"cell": cell, "layers": layers, "state": state, "seed": seed}
    return SequenceModel(alphabet, stack, fmt, embedding, readout, f"{cell} RNN", info)


def save_weights(model: SequenceModel, path: str | Path) -> None:
    """Write a model's weights in the documented layout: ``.safetensors`` if ``path`` ends so,
    else ``.npz``."""
    arrays = {"embedding": model.embedding, "readout": model.readout, "readout_bias": model.readout_bias}
    arrays["positions"] = model.positions
    for i, layer in enumerate(model.layers):
        arrays.update({f"layers.{i}.{name}": value for name, value in layer.parameters().items()})
    arrays = {k: v for k, v in arrays.items() if v is not None}
    if str(path).endswith(".safetensors"):
        save_safetensors(path, arrays, {"cell": model.info.get("cell", ""), "format": model.fmt.name})
    else:
        np.savez(path, **arrays)


def _check_same_architecture(model: SequenceModel, path, cell: str, layers: int, state: int, alphabet: int):
    """An imported PyTorch model must be the one the caller asked for; say which it is if not."""
    found = model.info
    widths = {layer.width for layer in model.layers}
    classes = model.readout.shape[1]
    asked = (cell, layers, {state}, alphabet, alphabet)
    if (found["cell"], len(model.layers), widths, model.alphabet, classes) != asked:
        raise InvalidParameter(
            f"weights file {str(path)!r} holds a {len(model.layers)}-layer PyTorch {found['source']} "
            f"(--cell {found['cell']}) of hidden size {sorted(widths)} over {model.alphabet} tokens with "
            f"{classes} output classes; asked for a {layers}-layer {cell} of state {state} over "
            f"{alphabet} tokens. Pass the options that match the file"
        )


def load_recurrent_model(
    path: str | Path, cell: str, layers: int, state: int, alphabet: int, fmt: str | NumberFormat = "float32"
) -> SequenceModel:
    """A recurrent model whose weights come from a file: commlab's own layout (module docstring) in
    ``.npz``, ``.safetensors`` or ``.pt``, or a PyTorch state dict of an ``nn.Embedding`` →
    ``nn.RNN``/``nn.GRU``/``nn.LSTM`` → ``nn.Linear`` model (read without torch).

    Raises
    ------
    InvalidParameter
        Listing every problem at once: an unreadable file (see
        :func:`~commlab.io.weights.read_weights`), missing or unexpected arrays, wrong shapes,
        NaN or infinite values, a PyTorch model of another architecture. Values are rounded to ``fmt``.
    """
    from commlab.models.importers import is_torch_recurrent, torch_recurrent_model

    _check_architecture(layers, state, alphabet)
    kind, fmt = _cell_class(cell), number_format(fmt)
    arrays = read_weights(path)
    if is_torch_recurrent(arrays):
        nonlinearity = "relu" if cell == "elman_relu" else "tanh"
        model = torch_recurrent_model(arrays, nonlinearity=nonlinearity, fmt=fmt)
        _check_same_architecture(model, path, cell, layers, state, alphabet)
        model.info["weights"] = str(path)
        return model
    expected = {"embedding": (alphabet, state), "readout": (state, alphabet)}
    if "readout_bias" in arrays:
        expected["readout_bias"] = (alphabet,)
    if "positions" in arrays:
        expected["positions"] = (arrays["positions"].shape[0] if arrays["positions"].ndim == 2 else -1, state)
    for i in range(layers):
        shapes = kind.param_shapes(state, state)
        expected.update({f"layers.{i}.{name}": shape for name, shape in shapes.items()})
    problems = [f"missing {name} {shape}" for name, shape in expected.items() if name not in arrays]
    problems += [f"unexpected array {name}" for name in arrays if name not in expected]
    problems += check_arrays(arrays, expected)
    if problems:
        raise InvalidParameter(
            f"weights file {str(path)!r} does not fit a {layers}-layer {cell} model of state {state} "
            f"over {alphabet} tokens: " + "; ".join(problems)
        )
    rounded = {name: fmt.round(value.astype(np.float64)) for name, value in arrays.items()}
    stack = []
    for i in range(layers):
        params = {name: rounded[f"layers.{i}.{name}"] for name in kind.param_shapes(state, state)}
        stack.append(kind.from_params(state, state, fmt, params))
    info = {"cell": cell, "layers": layers, "state": state, "weights": str(path)}
    return SequenceModel(
        alphabet,
        tuple(stack),
        fmt,
        rounded["embedding"],
        rounded["readout"],
        f"{cell} RNN",
        info,
        rounded.get("readout_bias"),
        rounded.get("positions"),
    )


def check_arrays(arrays: dict[str, np.ndarray], expected: dict[str, tuple[int, ...]]) -> list[str]:
    """Problems with the arrays that are present: wrong shapes, NaN/inf or non-numbers."""
    problems = []
    for name, shape in expected.items():
        if name in arrays:
            value = arrays[name]
            if value.shape != shape:
                problems.append(f"{name} has shape {value.shape}, expected {shape}")
            elif value.dtype.kind not in "fiu" or not np.isfinite(value.astype(np.float64)).all():
                problems.append(f"{name} holds NaN/inf or non-numbers")
    return problems
