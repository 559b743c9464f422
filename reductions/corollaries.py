"""The bound each architecture's corollary gives, evaluated for one model (SHT24 Cor 5.2–5.6).

:mod:`commlab.analysis.bounds` states each corollary symbolically in the model's own parameters
(width m, rank r, heads H, precision p, window w, global spacing g, CoT length T); this evaluates it
for a model, beside the measured bits, so a report shows both the corollary and the critical N.
"""

from __future__ import annotations

from typing import Any

from commlab.analysis.bounds import get_bound

__all__ = ["corollary"]


def corollary(name: str, *, k: int, c_value: float = 1.0, **values: float) -> dict[str, Any]:
    """The corollary ``name`` (``kernel``, ``longformer``, ``cot``, ``rnn``, or ``hop-k`` in s and R
    for any model) for a model with these parameters: its text, whether its rounds fall short of k
    (so the bits must grow with N), and the critical length N* past which the model's message is too
    small (``inf`` if it never is).

    Examples
    --------
    >>> row = corollary("kernel", k=3, m=32, r=16, H=4, p=32, L=2)
    >>> row["applies"], row["critical_N"] == 2 * 32 * 16 * 4 * 32 * 3**6
    (True, True)
    """
    bound = get_bound(name)
    rounds = {key: values.pop(key) for key in ("L", "T", "R") if key in values}
    row = {
        "name": name,
        "bound": bound.text(),
        "reference": bound.reference,
        "c": c_value,
        **values,
        **rounds,
    }
    used = {symbol: rounds[str(symbol)] for symbol in bound.rounds.free_symbols}
    row["applies"] = bool(bound.rounds.subs(used) < k)
    row["critical_N"] = bound.critical_value(k=k, c=c_value, **values)
    return row
