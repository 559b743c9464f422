"""Shared checks for the scalar arguments every entry point takes (library and CLI alike), so that a
bad value is refused the same way, with the same words, wherever it enters.

Each check returns the value as a plain Python number, or raises
:class:`~commlab.errors.InvalidParameter` naming the parameter, quoting the value and saying what
would be accepted.
"""

from __future__ import annotations

import math
import numbers

from commlab.errors import InvalidParameter

__all__ = ["SEED_LIMIT", "check_int", "check_positive_real", "check_seed", "is_integer"]

#: Seeds are integers 0 <= seed < 2**63: what numpy's generators accept, and what fits an int64.
SEED_LIMIT = 2**63


def is_integer(value: object) -> bool:
    """Whether ``value`` is an integer and not a bool (``True`` is an ``int`` in Python, so ``k=True``
    would otherwise pass as ``k = 1``).

    Examples
    --------
    >>> is_integer(3), is_integer(True), is_integer(3.0)
    (True, False, False)
    """
    return (
        isinstance(value, numbers.Integral)
        and not isinstance(value, bool)
        and type(value).__name__ != "bool_"
    )


def check_int(name: str, value: object, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an ``int``, refusing bools, floats and numbers outside ``[minimum, maximum]``.

    ``True`` is an ``int`` in Python, so ``k=True`` would otherwise pass as ``k = 1`` silently.

    Raises
    ------
    InvalidParameter
        Naming ``name`` and the accepted range.

    Examples
    --------
    >>> check_int("k", 3, minimum=1)
    3
    >>> check_int("k", True, minimum=1)
    Traceback (most recent call last):
    ...
    commlab.errors.InvalidParameter: k must be an integer >= 1, got True (a bool)
    """
    low = "" if minimum is None else f" >= {minimum}"
    high = "" if maximum is None else f" <= {maximum}"
    wanted = f"{name} must be an integer{low}{' and' if low and high else ''}{high}"
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        raise InvalidParameter(f"{wanted}, got {value} (a bool)")
    if not is_integer(value):
        raise InvalidParameter(f"{wanted}, got {value!r}")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise InvalidParameter(f"{wanted}, got {value}")
    return value


def check_seed(seed: object) -> int:
    """A seed: an integer 0 <= seed < 2**63.

    Examples
    --------
    >>> check_seed(0)
    0
    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    commlab.errors.InvalidParameter: seed must be an integer 0 <= seed < 2**63, got -1
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= int(seed) < SEED_LIMIT:
        raise InvalidParameter(f"seed must be an integer 0 <= seed < 2**63, got {seed!r}")
    return int(seed)


def check_positive_real(name: str, value: object) -> float:
    """A finite real number > 0 (the bounds' constant c, a failure probability's scale).

    Examples
    --------
    >>> check_positive_real("c", 0.5)
    0.5
    >>> check_positive_real("c", float("inf"))
    Traceback (most recent call last):
    ...
    commlab.errors.InvalidParameter: c must be a finite number > 0, got inf
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameter(f"{name} must be a finite number > 0, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise InvalidParameter(f"{name} must be a finite number > 0, got {value}")
    return value
