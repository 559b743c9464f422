"""Reductions: encodings of problems into k-hop, and compilers of models into blackboard protocols.

``compile_to_protocol`` is the one orchestrator: pick the reduction (the first registered one that
accepts the model, unless one is named), validate the model and the partition — reporting every
problem at once — and compile. Built-in reductions register on import of this package; plugins come
from the entry-point group ``commlab.reductions``.
"""

from __future__ import annotations

from typing import Any

from commlab.engine.protocol import Protocol
from commlab.errors import UnsupportedModel

# isort: off
# Registering imports, in the order `commlab reductions` lists them and defaults are tried.
from reductions import rnn  # noqa: F401
from reductions import kernel, cot, longformer  # noqa: F401
# isort: on
from reductions.layerwise import check_blocks
from reductions.registry import REGISTRY, Reduction, get_reduction, load_plugins, register

__all__ = [
    "REGISTRY",
    "Reduction",
    "compile_to_protocol",
    "get_reduction",
    "load_plugins",
    "register",
    "validate",
]


def validate(model: Any, reduction: str | Reduction | None = None) -> list[str]:
    """Every reason ``model`` cannot be compiled (by ``reduction``, or by any registered one)."""
    if reduction is not None:
        chosen = get_reduction(reduction) if isinstance(reduction, str) else reduction
        return [f"{chosen.name}: {p}" for p in chosen.validate(model)]
    load_plugins()
    reasons = {name: r.validate(model) for name, r in REGISTRY.items()}
    if any(not problems for problems in reasons.values()):
        return []
    return [f"{name}: {p}" for name, problems in reasons.items() for p in problems]


def _choose(model: Any, reduction: str | Reduction | None) -> Reduction:
    if isinstance(reduction, Reduction):
        return reduction
    if reduction is not None:
        return get_reduction(reduction)
    load_plugins()
    for candidate in REGISTRY.values():
        if not candidate.validate(model):
            return candidate
    raise UnsupportedModel(validate(model) or ["no registered reduction accepts this model"])


def compile_to_protocol(
    model: Any, blocks: list[tuple[int, int]], reduction: str | Reduction | None = None
) -> Protocol:
    """Compile ``model`` into a blackboard protocol for players holding ``blocks``.

    Parameters
    ----------
    model
        The model (e.g. a :class:`commlab.models.SequenceModel`).
    blocks : list of (start, end)
        Contiguous positions each player holds, in speaking order (P_k first, leftmost).
    reduction : str or Reduction, optional
        Which reduction to use; by default the first registered one that accepts the model.

    Returns
    -------
    Protocol

    Raises
    ------
    UnsupportedModel
        Listing every reason the model or the partition cannot be compiled.

    Examples
    --------
    >>> from commlab.models import random_recurrent_model
    >>> model = random_recurrent_model("lstm", layers=2, state=4, alphabet=6)
    >>> protocol = compile_to_protocol(model, [(0, 3), (3, 7)])
    >>> protocol.spec.k, protocol.spec.rounds, protocol.spec.max_bits  # LSTM posts h and c
    (2, 2, 256)
    """
    chosen = _choose(model, reduction)
    problems = [f"{chosen.name}: {p}" for p in chosen.validate(model)] + check_blocks(blocks)
    if problems:
        raise UnsupportedModel(problems)
    return chosen.compile(model, blocks)


from reductions import attention  # noqa: E402, F401  (registered after rnn, the default for SequenceModels)
