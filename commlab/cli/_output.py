"""The CLI's single output sink: a text report, or one JSON object on stdout with ``--json``."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import typer

__all__ = ["emit", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """Numpy scalars and arrays to plain Python; non-finite floats to ``None``."""
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


def emit(result: dict[str, Any], as_json: bool, render: Callable[[dict[str, Any]], str]) -> None:
    """Print ``result`` as JSON (only that on stdout) or as ``render(result)``."""
    if as_json:
        typer.echo(json.dumps(to_jsonable(result)))
    else:
        typer.echo(render(result))
