"""The CLI's single output sink: a text report, or one JSON object on stdout with ``--json``.

Every JSON object carries ``version`` (commlab's) and ``schema`` (:data:`SCHEMA`, raised whenever a
key is renamed or removed); the keys of each command are documented in docs/cli-json.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import typer

from commlab._version import __version__

__all__ = ["SCHEMA", "canonical", "emit", "to_jsonable"]

#: Version of the JSON layout: 2 since every command uses the shared key names (docs/cli-json.md).
SCHEMA = 2


def to_jsonable(value: Any) -> Any:
    """Numpy scalars and arrays to plain Python; non-finite floats to ``None``."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def canonical(value: Any, renames: Mapping[str, str], drop: tuple[str, ...] = ()) -> Any:
    """``value`` with dictionary keys renamed to the shared names (at every depth) and ``drop``
    keys removed, e.g. a library's ``bits_per_message`` to ``measured_bits_per_message``.

    Examples
    --------
    >>> canonical({"N": 9, "rows": [{"N": 3, "version": "x"}]}, {"N": "n"}, drop=("version",))
    {'n': 9, 'rows': [{'n': 3}]}
    """
    if isinstance(value, Mapping):
        return {
            renames.get(key, key): canonical(item, renames, drop)
            for key, item in value.items()
            if key not in drop
        }
    if isinstance(value, (list, tuple)):
        return [canonical(item, renames, drop) for item in value]
    return value


def emit(result: dict[str, Any], as_json: bool, render: Callable[[dict[str, Any]], str]) -> None:
    """Print ``result`` (with ``version`` and ``schema`` added) as one JSON object on stdout, or as
    the text ``render(result)``."""
    record = {**{k: v for k, v in result.items() if k not in ("version", "schema")}}
    record.update(version=__version__, schema=SCHEMA)
    if as_json:
        typer.echo(json.dumps(to_jsonable(record)))
    else:
        typer.echo(render(record))
