"""Sweep files: an experiment (CLI command words) and a grid of its options, expanded into points.

A sweep file is TOML::

    experiment = "run chase"      # the command words, as typed after `commlab`
    [grid]
    q = [64, 128, 256]            # a list of values
    k = { from = 4, to = 8, step = 4 }   # an inclusive range
    trials = 500                  # a single value

Every point of the grid (the Cartesian product, in file order) runs the command with those options and
``--json``. Its seed is derived from the experiment and the point's own parameters
(:func:`derive_seed`), so a point's result does not depend on the order, the worker or the backend that
ran it; a grid key ``seed`` sets the seed explicitly instead, and ``replicate = [0, 1, 2]`` gives
independent repeats (it changes the derived seed and is not passed to the command).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from commlab._validate import SEED_LIMIT
from commlab._version import __version__
from commlab.errors import InvalidParameter

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["Point", "Sweep", "derive_seed", "load_sweep", "parse_override", "point_key"]

REPLICATE = "replicate"


@dataclass(frozen=True)
class Point:
    """One run of a sweep: the command words, its options, the seed it runs with and its store key."""

    experiment: str
    params: tuple[tuple[str, Any], ...]
    seed: int | None
    key: str

    def argv(self, seeded: bool) -> list[str]:
        """The command line (after ``commlab``) that runs this point and prints JSON."""
        args = self.experiment.split()
        for name, value in self.params:
            if name == REPLICATE:
                continue
            if isinstance(value, bool):
                if value:
                    args.append(f"--{name}")
                continue
            args += [f"--{name}", str(value)]
        if seeded and "seed" not in dict(self.params):
            args += ["--seed", str(self.seed)]
        return [*args, "--json"]

    @property
    def parameters(self) -> dict[str, Any]:
        return dict(self.params)

    def describe(self) -> str:
        """The experiment and its parameters, as ``run chase q=64 k=4``."""
        return " ".join([self.experiment, *(f"{name}={value}" for name, value in self.params)])


@dataclass(frozen=True)
class Sweep:
    """A parsed sweep file: the experiment's command words and the grid (name → list of values)."""

    experiment: str
    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    source: str = ""

    @property
    def size(self) -> int:
        return math.prod(len(values) for _, values in self.grid)

    def points(self, seeded: bool = True) -> list[Point]:
        """Every point of the grid, in file order (the last key varies fastest)."""
        names = [name for name, _ in self.grid]
        out = []
        for values in itertools.product(*(values for _, values in self.grid)):
            params = tuple(zip(names, values, strict=True))
            explicit = dict(params).get("seed")
            seed = (explicit if explicit is not None else derive_seed(self.experiment, params)) if seeded else None
            out.append(Point(self.experiment, params, seed, point_key(self.experiment, params, seed)))
        return out


def _canonical(experiment: str, params) -> str:
    return json.dumps([experiment, sorted(params)], sort_keys=True, separators=(",", ":"))


def derive_seed(experiment: str, params) -> int:
    """The seed of a point: a hash of its experiment and parameters, in ``[0, 2⁶³)``.

    Examples
    --------
    >>> derive_seed("run chase", (("q", 64), ("k", 4))) == derive_seed("run chase", (("k", 4), ("q", 64)))
    True
    """
    digest = hashlib.sha256(_canonical(experiment, params).encode()).digest()
    return int.from_bytes(digest[:8], "big") % SEED_LIMIT


def point_key(experiment: str, params, seed: int | None, version: str = __version__) -> str:
    """The store key of a point: a hash of (experiment, parameters, seed, version)."""
    text = json.dumps([_canonical(experiment, params), seed, version])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _values(name: str, raw: Any, problems: list[str]) -> tuple[Any, ...]:
    if isinstance(raw, list):
        if not raw:
            problems.append(f"grid key {name!r} has an empty list; give at least one value")
        return tuple(raw)
    if isinstance(raw, dict):
        unknown = set(raw) - {"from", "to", "step"}
        if unknown or not {"from", "to"} <= set(raw):
            problems.append(f"grid key {name!r}: a range is {{ from = A, to = B, step = S }}, got {raw}")
            return ()
        start, stop, step = raw["from"], raw["to"], raw.get("step", 1)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, stop, step)) or step <= 0:
            problems.append(f"grid key {name!r}: range bounds and a positive step must be integers, got {raw}")
            return ()
        return tuple(range(start, stop + 1, step))
    return (raw,)


def parse_override(text: str) -> tuple[str, Any]:
    """``key=value`` from ``--set``: the value is read as TOML (``3``, ``[1, 2]``, ``true``), else a string.

    Examples
    --------
    >>> parse_override("q=[64, 128]"), parse_override("cell=lstm")
    (('q', [64, 128]), ('cell', 'lstm'))
    """
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise InvalidParameter(f"--set takes key=value, got {text!r}")
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return name.strip(), parsed


def load_sweep(path: str | Path, overrides: list[str] = ()) -> Sweep:
    """Read a sweep file, apply ``--set key=value`` overrides, and report every problem at once.

    Raises
    ------
    InvalidParameter
        For a missing or unreadable file, bad TOML, a missing ``experiment``, or bad grid values
        (all problems in one message).
    """
    path = Path(path)
    try:
        text = path.read_text()
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise InvalidParameter(f"sweep file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidParameter(f"cannot read sweep file {str(path)!r}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise InvalidParameter(f"sweep file {str(path)!r} is not valid TOML: {error}") from None
    problems = []
    unknown = set(data) - {"experiment", "grid"}
    if unknown:
        problems.append(f"unknown top-level keys {sorted(unknown)}; a sweep file has 'experiment' and [grid]")
    experiment = data.get("experiment")
    if not isinstance(experiment, str) or not experiment.split():
        problems.append("'experiment' must name a command, e.g. experiment = \"run chase\"")
        experiment = ""
    grid = dict(data.get("grid", {}))
    if not isinstance(data.get("grid", {}), dict):
        problems.append("[grid] must be a table of option = values")
        grid = {}
    for override in overrides:
        name, value = parse_override(override)
        grid[name] = value
    parsed = tuple((name, _values(name, raw, problems)) for name, raw in grid.items())
    if problems:
        raise InvalidParameter(f"sweep file {str(path)!r}: " + "; ".join(problems))
    return Sweep(" ".join(experiment.split()), parsed, text)
