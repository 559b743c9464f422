"""PyTorch state dicts → commlab recurrent models, by name, with no torch needed.

A model ``nn.Embedding`` → ``nn.RNN``/``nn.GRU``/``nn.LSTM`` (any number of layers) → ``nn.Linear``
saves a state dict such as::

    embedding.weight  (V, E)
    rnn.weight_ih_l0  (G·H, E)   rnn.weight_hh_l0 (G·H, H)   rnn.bias_ih_l0 (G·H,)   rnn.bias_hh_l0 (G·H,)
    rnn.weight_ih_l1  (G·H, H)   …
    readout.weight    (A, H)     readout.bias (A,)

with G = 1 (RNN), 3 (GRU) or 4 (LSTM) gate blocks. The recurrent module is found by its
``weight_ih_l{i}`` names, its kind by G, the embedding as the 2-D ``weight`` listed before it and
the readout as the one listed after it (PyTorch lists parameters in registration order; pass
``embedding=``/``readout=`` to name them instead).

The cells follow PyTorch's arithmetic: ``nn.RNN`` is :class:`~commlab.models.recurrent.Elman`
(tanh) or :class:`~commlab.models.recurrent.ElmanReLU`, ``nn.LSTM`` is
:class:`~commlab.models.recurrent.LSTM` (same gate order i, f, g, o; the two biases summed), and
``nn.GRU`` is :class:`~commlab.models.recurrent.TorchGRU`, whose b_hn sits inside r ⊙ (…) as in
PyTorch and unlike the textbook GRU.
"""

from __future__ import annotations

import re

import numpy as np

from commlab.errors import InvalidParameter
from commlab.io.codecs import NumberFormat, number_format
from commlab.models.model import SequenceModel, check_arrays
from commlab.models.recurrent import LSTM, Elman, ElmanReLU, TorchGRU

__all__ = ["is_torch_recurrent", "torch_recurrent_model"]

_RECURRENT_KEY = re.compile(r"^(?P<prefix>.*?)weight_ih_l(?P<layer>\d+)(?P<reverse>_reverse)?$")
_KINDS = {1: "RNN", 3: "GRU", 4: "LSTM"}


def is_torch_recurrent(arrays: dict[str, np.ndarray]) -> bool:
    """Whether a state dict holds a PyTorch ``nn.RNN``/``nn.GRU``/``nn.LSTM`` (``weight_ih_l0``)."""
    return any(_RECURRENT_KEY.match(name) for name in arrays)


def torch_recurrent_model(
    arrays: dict[str, np.ndarray],
    *,
    nonlinearity: str = "tanh",
    fmt: str | NumberFormat = "float32",
    embedding: str | None = None,
    readout: str | None = None,
) -> SequenceModel:
    """Import a PyTorch embedding → RNN/GRU/LSTM → linear model from its state dict.

    Parameters
    ----------
    arrays : dict of str → array
        The state dict, e.g. from :func:`commlab.io.weights.read_weights`.
    nonlinearity : {"tanh", "relu"}
        ``nn.RNN``'s nonlinearity (a state dict does not record it; ignored for GRU and LSTM).
    fmt : number format
        The format the imported model computes in (weights are rounded to it).
    embedding, readout : str, optional
        Module names (``"embed"`` for ``embed.weight``) when the order of the state dict does not
        tell them apart.

    Returns
    -------
    SequenceModel
        ``info`` says ``source`` (``nn.GRU`` …), ``cell`` (the commlab cell), ``layers`` and ``state``.

    Raises
    ------
    InvalidParameter
        Listing what does not fit: bidirectional or projected (``proj_size``) layers, missing or
        unexpected tensors, wrong shapes, NaN/inf values.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sd = {"emb.weight": rng.normal(size=(5, 3)), "rnn.weight_ih_l0": rng.normal(size=(8, 3)),
    ...       "rnn.weight_hh_l0": rng.normal(size=(8, 2)), "out.weight": rng.normal(size=(5, 2))}
    >>> model = torch_recurrent_model(sd)
    >>> model.info["source"], model.info["cell"], model.predict(np.array([[0, 1, 2]])).shape
    ('nn.LSTM', 'lstm', (1, 3))
    """
    if nonlinearity not in ("tanh", "relu"):
        raise InvalidParameter(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    fmt = number_format(fmt)
    matches = {name: m for name in arrays if (m := _RECURRENT_KEY.match(name))}
    prefixes = sorted({m["prefix"] for m in matches.values()})
    if len(prefixes) != 1:
        raise InvalidParameter(f"expected one recurrent module (weight_ih_l0 …), found {prefixes or 'none'}")
    prefix = prefixes[0]
    problems = []
    if any(m["reverse"] for m in matches.values()):
        problems.append("bidirectional layers (…_reverse) are not causal and cannot be imported")
    if any(name.startswith(prefix + "weight_hr_l") for name in arrays):
        problems.append("LSTM projections (proj_size > 0, weight_hr_l…) are not supported")
    layers = len(matches)
    if sorted(int(m["layer"]) for m in matches.values()) != list(range(layers)):
        problems.append(f"layers must be numbered 0..{layers - 1}, found {sorted(matches)}")
    if problems:
        raise InvalidParameter("cannot import this PyTorch model: " + "; ".join(problems))

    w_ih, w_hh = arrays[f"{prefix}weight_ih_l0"], arrays.get(f"{prefix}weight_hh_l0")
    if (
        w_hh is None
        or w_ih.ndim != 2
        or w_hh.ndim != 2
        or w_hh.shape[1] == 0
        or w_hh.shape[0] % w_hh.shape[1]
    ):
        raise InvalidParameter(f"{prefix}weight_hh_l0 is missing or not of shape (G·H, H)")
    hidden = w_hh.shape[1]
    gates = w_hh.shape[0] // hidden
    if gates not in _KINDS:
        raise InvalidParameter(
            f"{gates} gate blocks in {prefix}weight_hh_l0; expected 1 (RNN), 3 (GRU) or 4 (LSTM)"
        )
    source = f"nn.{_KINDS[gates]}"
    kind = {1: ElmanReLU if nonlinearity == "relu" else Elman, 3: TorchGRU, 4: LSTM}[gates]

    recurrent_names = [n for n in arrays if n.startswith(prefix) and _RECURRENT_PARAM.match(n[len(prefix) :])]
    others = [n for n in arrays if n not in recurrent_names]
    embed_name, readout_name = _find_ends(arrays, others, recurrent_names, embedding, readout)
    vocab, d_in = arrays[f"{embed_name}.weight"].shape if f"{embed_name}.weight" in arrays else (0, 0)
    classes = arrays[f"{readout_name}.weight"].shape[0] if f"{readout_name}.weight" in arrays else 0

    expected = {f"{embed_name}.weight": (vocab, w_ih.shape[1]), f"{readout_name}.weight": (classes, hidden)}
    optional = {f"{readout_name}.bias": (classes,)}
    for i in range(layers):
        width_in = w_ih.shape[1] if i == 0 else hidden
        expected[f"{prefix}weight_ih_l{i}"] = (gates * hidden, width_in)
        expected[f"{prefix}weight_hh_l{i}"] = (gates * hidden, hidden)
        optional[f"{prefix}bias_ih_l{i}"] = optional[f"{prefix}bias_hh_l{i}"] = (gates * hidden,)
    problems = [f"missing {name} {shape}" for name, shape in expected.items() if name not in arrays]
    problems += [
        f"unexpected tensor {name}" for name in arrays if name not in expected and name not in optional
    ]
    problems += check_arrays(arrays, {**expected, **optional})
    if problems:
        raise InvalidParameter(f"cannot import this PyTorch {source} model: " + "; ".join(problems))

    def get(name: str, shape) -> np.ndarray:
        return arrays[name].astype(np.float64) if name in arrays else np.zeros(shape)

    stack = []
    for i in range(layers):
        width_in = d_in if i == 0 else hidden
        b_ih = get(f"{prefix}bias_ih_l{i}", gates * hidden)
        b_hh = get(f"{prefix}bias_hh_l{i}", gates * hidden)
        params = {"W": arrays[f"{prefix}weight_ih_l{i}"].T, "U": arrays[f"{prefix}weight_hh_l{i}"].T}
        params.update({"b_ih": b_ih, "b_hh": b_hh} if kind is TorchGRU else {"b": b_ih + b_hh})
        stack.append(kind.from_params(width_in, hidden, fmt, {n: fmt.round(v) for n, v in params.items()}))
    bias_name = f"{readout_name}.bias"
    info = {"source": source, "cell": kind.kind, "layers": layers, "state": hidden}
    return SequenceModel(
        alphabet=vocab,
        layers=tuple(stack),
        fmt=fmt,
        embedding=fmt.round(arrays[f"{embed_name}.weight"].astype(np.float64)),
        readout=fmt.round(arrays[f"{readout_name}.weight"].T.astype(np.float64)),
        name=f"imported {source}",
        info=info,
        readout_bias=fmt.round(arrays[bias_name].astype(np.float64)) if bias_name in arrays else None,
    )


_RECURRENT_PARAM = re.compile(r"^(weight|bias)_(ih|hh|hr)_l\d+(_reverse)?$")


def _find_ends(arrays, others, recurrent_names, embedding, readout) -> tuple[str, str]:
    """The embedding and readout module names: given, or the 2-D weights before and after the
    recurrent module in the state dict's order."""
    order = list(arrays)
    first, last = order.index(recurrent_names[0]), order.index(recurrent_names[-1])
    matrices = [n for n in others if n.endswith(".weight") and arrays[n].ndim == 2]
    before = [n for n in matrices if order.index(n) < first]
    after = [n for n in matrices if order.index(n) > last]
    if embedding is None:
        if len(before) != 1:
            raise InvalidParameter(
                f"cannot tell the nn.Embedding: 2-D weights before the recurrent module are {before}; "
                "pass embedding='name'"
            )
        embedding = before[0][: -len(".weight")]
    if readout is None:
        candidates = [n for n in after if n[: -len(".weight")] != embedding]
        if len(candidates) != 1:
            raise InvalidParameter(
                f"cannot tell the nn.Linear readout: 2-D weights after the recurrent module are "
                f"{candidates}; pass readout='name'"
            )
        readout = candidates[0][: -len(".weight")]
    return embedding, readout
