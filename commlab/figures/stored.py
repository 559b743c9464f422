"""Figures from a sweep store: redraw a figure from stored points without recomputing them.

A sweep over ``plot NAME`` (``experiment = "plot tradeoff"``, a grid of its options) stores each
point's figure data (the JSON that ``commlab plot NAME --json`` prints). A figure whose points are
rows along an axis — the trade-off, one row per q — is the union of the stored rows, so adding grid
points extends it (each row keeps the seed it was measured with: rows are independent, so a sweep's
per-point seeds may differ); any other figure is one stored point, chosen by its options.

Only figures whose data already carries the CLI's shared JSON names (docs/cli-json.md) can be drawn
from what ``--json`` printed: :data:`STORED_FIGURES`.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

from commlab.errors import InvalidParameter

__all__ = ["ROW_AXES", "STORED_FIGURES", "stored_figure_data"]

#: The figures that can be drawn from a store (their JSON is their figure data).
STORED_FIGURES = ("tradeoff", "frontier")

#: Figures assembled from many stored points: the list of rows and the key that orders them.
ROW_AXES: dict[str, tuple[str, str]] = {"tradeoff": ("rows", "q")}

_NOT_IDENTITY = {"version", "out", "schema"}


def _identity(name: str, data: dict[str, Any]) -> str:
    rows = ROW_AXES.get(name, (None,))[0]
    ignored = _NOT_IDENTITY | ({rows, "seed"} if rows else set())
    return json.dumps({key: value for key, value in data.items() if key not in ignored}, sort_keys=True)


def stored_figure_data(name: str, store: str | Path, **options: Any) -> dict[str, Any]:
    """The data of figure ``name`` assembled from the ``plot NAME`` points stored in ``store``.

    Parameters
    ----------
    name : str
        The figure (``tradeoff``, ``frontier``, ``solvers``, …).
    store : path
        A results store written by ``commlab sweep run``.
    **options
        Figure options (``k``, ``q``, ``c``, ``trials``, ``seed``); those not ``None`` select the
        stored points whose figure data has that value.

    Returns
    -------
    dict
        Figure data, as the figure's data function returns it, ready for
        :func:`commlab.figures.plot.draw`; ``points`` says how many stored points it came from.

    Raises
    ------
    InvalidParameter
        If the store has no matching point, or the matching points belong to several figures (the
        message lists what tells them apart, so an option can choose one).
    """
    from commlab.figures.plot import FIGURES
    from commlab.sweeps import Store

    if name not in STORED_FIGURES:
        raise InvalidParameter(
            f"--from draws {', '.join(STORED_FIGURES)} from a store; {name!r} is measured afresh (drop --from)"
        )
    if not Path(store).is_file():
        raise InvalidParameter(f"--from {str(store)!r} does not exist; write it with `commlab sweep run`")
    with Store(store) as opened:
        results = [r.result for r in opened.records(f"plot {name}", status="done")]
    wanted = {key: value for key, value in options.items() if value is not None}
    rows_key, axis = ROW_AXES.get(name, (None, None))

    def matches(data: dict[str, Any]) -> bool:
        return all(
            data.get(key, value) == value
            or (key == axis and any(row.get(axis) == value for row in data.get(rows_key, [])))
            for key, value in wanted.items()
        )

    chosen = [data for data in results if matches(data)]
    if not chosen:
        condition = f" with {wanted}" if wanted else ""
        raise InvalidParameter(
            f"{str(store)!r} holds no finished 'plot {name}' point{condition}; run a sweep with "
            f'experiment = "plot {name}" into it first'
        )
    groups: dict[str, list[dict[str, Any]]] = {}
    for data in chosen:
        groups.setdefault(_identity(name, data), []).append(data)
    if len(groups) > 1:
        options_of_figure = set(inspect.signature(FIGURES[name][0]).parameters) - {"progress"}
        differing = sorted(
            {key for data in chosen for key in data if key in options_of_figure
             and len({json.dumps(d.get(key), sort_keys=True) for d in chosen}) > 1}
        ) or ["seed"]
        raise InvalidParameter(
            f"{str(store)!r} holds {len(groups)} different 'plot {name}' figures; they differ in "
            f"{', '.join(differing)}: choose one with --{differing[0]}"
        )
    [members] = groups.values()
    data = dict(members[-1])
    if rows_key is not None:
        rows = {row[axis]: row for member in members for row in member[rows_key]}
        data[rows_key] = [rows[x] for x in sorted(rows)]
    data.pop("out", None)
    seeds = sorted({member["seed"] for member in members})
    return {**data, "seed": seeds[0] if len(seeds) == 1 else None, "seeds": seeds, "points": len(members)}
