"""Hybrid stacks: recurrent layers and kernel-attention layers in one model, in the spirit of
today's hybrid state-space/attention models. Every layer is a :class:`~commlab.models.layer.Layer`
kind, so a hybrid compiles round per layer with no code beyond the kinds (docs/theory.md §6)."""

from __future__ import annotations

import numpy as np

from commlab.errors import InvalidParameter
from commlab.io.codecs import NumberFormat, number_format
from commlab.models.kernel import KernelAttention, check_kernel_shape
from commlab.models.model import SequenceModel, random_ends
from commlab.models.recurrent import CELLS

__all__ = ["HYBRID_KINDS", "parse_pattern", "random_hybrid_model"]

#: The layer kinds a hybrid pattern may name (``binary`` is left out: its state is not real-valued).
HYBRID_KINDS = tuple(name for name in CELLS if name != "binary") + (KernelAttention.kind,)


def parse_pattern(pattern: str | list[str]) -> list[str]:
    """``"gru,kernel,gru"`` → ``["gru", "kernel", "gru"]``, refusing unknown or empty kinds.

    Examples
    --------
    >>> parse_pattern(" gru, kernel ,lstm")
    ['gru', 'kernel', 'lstm']
    """
    kinds = [p.strip().lower() for p in pattern.split(",")] if isinstance(pattern, str) else list(pattern)
    unknown = [kind for kind in kinds if kind not in HYBRID_KINDS]
    if not kinds or unknown:
        what = f"unknown layer kind(s) {', '.join(map(repr, unknown))}" if unknown else "an empty pattern"
        raise InvalidParameter(
            f"{what} in the pattern {pattern!r}; use a comma list of {', '.join(HYBRID_KINDS)}"
        )
    return kinds


def random_hybrid_model(
    pattern: str | list[str],
    width: int,
    rank: int,
    alphabet: int,
    fmt: str | NumberFormat = "float32",
    heads: int = 1,
    features: str = "performer",
    seed: int = 0,
) -> SequenceModel:
    """A model whose layers follow ``pattern`` (e.g. ``"gru,kernel,gru"``), all of residual width
    ``width``; kernel layers have ``heads`` heads of width ``width // heads`` and rank ``rank``.

    Examples
    --------
    >>> model = random_hybrid_model("gru,kernel,gru", width=8, rank=2, alphabet=5)
    >>> [layer.kind for layer in model.layers], [layer.state_bits for layer in model.layers]
    (['gru', 'kernel', 'gru'], [256, 576, 256])
    """
    kinds = parse_pattern(pattern)
    if not isinstance(width, (int, np.integer)) or width < 1:
        raise InvalidParameter(f"width must be an integer >= 1, got {width}")
    if "kernel" in kinds:
        check_kernel_shape(heads, width, rank, features)
        if width % heads:
            raise InvalidParameter(
                f"width {width} must be a multiple of heads {heads} (head width = width / heads)"
            )
    fmt = number_format(fmt)
    rng = np.random.default_rng(seed)
    stack = tuple(
        KernelAttention.random(width, heads, width // heads, rank, features, fmt, rng)
        if kind == "kernel"
        else CELLS[kind].random(width, width, fmt, rng)
        for kind in kinds
    )
    embedding, readout = random_ends(alphabet, width, fmt, rng)
    info = {
        "pattern": ",".join(kinds),
        "layers": len(kinds),
        "width": width,
        "rank": rank,
        "heads": heads,
        "features": features,
        "seed": seed,
    }
    return SequenceModel(alphabet, stack, fmt, embedding, readout, f"hybrid {','.join(kinds)}", info)
