"""Multi-layer recurrent models as (k, L, s) protocols (docs/theory.md §6, first row; SHT24 Cor 5.2).

Round ℓ runs layer ℓ; each player posts the layer's boundary state at its block's end — every tensor
the cell carries (an LSTM posts h and c; the Mamba-style layer also its convolution window). So
R = L and s = (numbers in the largest state) × (bits per number). Because the players continue the
model's own sequential arithmetic from the exact bits of the state, the protocol's output equals the
model's bit for bit, in every number format.
"""

from __future__ import annotations

import math

import numpy as np

from commlab.errors import InvalidParameter
from commlab.io.codecs import number_format
from commlab.models.indicator import IndicatorChase
from commlab.models.recurrent import CELLS
from commlab.models.window import WindowHop
from reductions.layerwise import LayerwiseReduction
from reductions.registry import register

__all__ = ["RecurrentReduction", "reduce_rnn", "rnn_critical_lengths", "state_bits"]

RECURRENT_KINDS = frozenset({cls.kind for cls in CELLS.values()} | {WindowHop.kind, IndicatorChase.kind})


@register
class RecurrentReduction(LayerwiseReduction):
    r"""L-layer recurrent network → (k, R = L, s = state bits) sequential blackboard protocol.

    Notes
    -----
    If the network computes hop_k(X)_N on encoded pointer chasing with probability ≥ 2/3, then
    :math:`L \ge k` or :math:`s = m p = \Omega(N / k^6)` (m numbers of p bits in the largest
    state). Any cell, any precision; Mamba and other SSMs at inference included.

    References
    ----------
    C. Sanford, D. Hsu and M. Telgarsky. "Transformers, parallel computation, and logarithmic
    depth." ICML 2024, Corollary 5.2. arXiv:2402.09268.
    """

    name = "rnn"
    family = "multi-layer recurrent networks (elman, gru, lstm, ssm, mamba, binary, window, indicator)"
    bound = "L ≥ k or s = m·p = Ω(N/k⁶)  [SHT24 Cor 5.2]"
    references = "Sanford, Hsu, Telgarsky, ICML 2024, Cor 5.2 (arXiv:2402.09268)"
    layer_kinds = RECURRENT_KINDS


def reduce_rnn(
    *,
    layers: int = 3,
    state: int = 64,
    cell: str = "elman",
    fmt: str = "float32",
    k: int | None = None,
    q: int = 64,
    trials: int = 200,
    seed: int = 0,
    weights: str | None = None,
    c_value: float = 1.0,
):
    """Build a recurrent model (random weights from ``seed``, or ``weights`` from an ``.npz`` file),
    compile it, run it on encoded pointer chasing and report (what ``commlab reduce rnn`` prints).

    k defaults to ``layers + 1``, the first k the bound's alternative L ≥ k does not cover.

    Examples
    --------
    >>> report = reduce_rnn(layers=2, state=8, q=4, trials=20)
    >>> report.rounds, report.declared_bits_per_message, report.mismatches
    (2, 256, 0)
    """
    from commlab.models.model import load_recurrent_model, random_recurrent_model
    from reductions.experiment import reduce_on_pointer_chasing

    k = layers + 1 if k is None else k
    alphabet = 2 * q + 2
    if weights is None:
        model = random_recurrent_model(cell, layers, state, alphabet, fmt, seed)
    else:
        model = load_recurrent_model(weights, cell, layers, state, alphabet, fmt)
    params = {"cell": cell, "layers": layers, "state": state, "format": model.fmt.name}
    return reduce_on_pointer_chasing(
        model, k=k, q=q, trials=trials, seed=seed, reduction="rnn", c_value=c_value, params=params
    )


def state_bits(cell: str, state: int, fmt: str = "float32") -> int:
    """Bits of the boundary state of one recurrent layer of width ``state``, from the shapes alone.

    No weights are built (the layer is given zero-size broadcast views for its parameters), so any
    width answers at once and in constant memory.

    Examples
    --------
    >>> state_bits("lstm", 30000, "float32")  # h and c
    1920000
    """
    from commlab.models.model import _cell_class

    if isinstance(state, bool) or not isinstance(state, (int, np.integer)) or state < 1:
        raise InvalidParameter(f"state must be an integer >= 1, got {state!r}")
    kind, fmt = _cell_class(cell), number_format(fmt)
    shapes = kind.param_shapes(state, state)
    layer = kind.from_params(state, state, fmt, {name: np.broadcast_to(0.0, s) for name, s in shapes.items()})
    return layer.state_bits


def rnn_critical_lengths(
    *, layers: int = 3, state: int = 64, cell: str = "elman", fmt: str = "float32", c_value: float = 1.0
) -> dict:
    """For an L-layer recurrent model of this shape: s (bits of its largest state, from the shapes
    alone, see :func:`state_bits`) and, for every k = L+1 .. L+6, the length N* = 2·s·k⁶/c beyond
    which it cannot solve hop_k (SHT24 Cor 5.2 with Assadi–N's s ≥ c·q/k⁵ at q = N/(2k)).

    Raises
    ------
    InvalidParameter
        Naming the bad value: layers or state not an integer >= 1, an unknown cell or format, or
        ``c_value`` not a positive finite number.

    Examples
    --------
    >>> rnn_critical_lengths(layers=1, state=2, fmt="float16")["table"][0]["critical_N"]  # 2·32·2⁶
    4096.0
    """
    from reductions.experiment import bound_table

    if isinstance(layers, bool) or not isinstance(layers, (int, np.integer)) or layers < 1:
        raise InvalidParameter(f"layers must be an integer >= 1, got {layers!r}")
    if isinstance(c_value, bool) or not (math.isfinite(c_value) and c_value > 0):
        raise InvalidParameter(f"c must be a positive finite number, got {c_value!r}")
    bits = state_bits(cell, state, fmt)
    return {
        "model": "rnn",
        "cell": cell,
        "layers": layers,
        "state": state,
        "format": number_format(fmt).name,
        "bits_per_message": bits,
        "c": c_value,
        "table": bound_table(layers, bits, c_value),
    }
