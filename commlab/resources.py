"""Memory estimates from shapes alone, so that a size that cannot fit is refused up front (with the
estimate and the limit) instead of failing minutes later, or swapping the machine to a halt.

Estimates count the arrays that dominate, from their shapes, without allocating any of them; they
are meant to be within a small factor of the peak, and to err on the high side.

The limit is :func:`memory_limit`: the memory available now (``MemAvailable``), or the number of
bytes in ``COMMLAB_MEMORY_LIMIT`` when set (suffixes K, M, G allowed).
"""

from __future__ import annotations

import math
import os

from commlab.errors import InvalidParameter

__all__ = [
    "check_memory",
    "format_bytes",
    "memory_limit",
    "pointer_chasing_bytes",
    "recurrent_reduction_bytes",
]

_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def format_bytes(count: float) -> str:
    """``count`` bytes in binary units.

    Examples
    --------
    >>> format_bytes(3 * 2**30), format_bytes(512)
    ('3.0 GiB', '512 B')
    """
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{int(count)} B"


def memory_limit() -> int:
    """Bytes a computation may use: ``COMMLAB_MEMORY_LIMIT`` if set, else the memory available now.

    Raises
    ------
    InvalidParameter
        If ``COMMLAB_MEMORY_LIMIT`` is not a number of bytes (optionally with K, M, G or T).
    """
    setting = os.environ.get("COMMLAB_MEMORY_LIMIT", "").strip().upper().removesuffix("B").removesuffix("I")
    if setting:
        number, unit = (setting[:-1], setting[-1]) if setting[-1] in _UNITS else (setting, "")
        try:
            limit = float(number) * _UNITS[unit]
        except ValueError:
            raise InvalidParameter(
                f"COMMLAB_MEMORY_LIMIT must be a number of bytes such as 8G or 500M, got {setting!r}"
            ) from None
        return int(limit)
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # no way to tell: do not refuse
        return 2**62


def check_memory(estimate: float, what: str, fix: str) -> None:
    """Refuse a computation whose estimated memory exceeds :func:`memory_limit`.

    Parameters
    ----------
    estimate : float
        Estimated peak bytes.
    what : str
        What would be computed, e.g. ``"run chase with q = 10⁹, k = 8, 1 trial"``.
    fix : str
        What to change, e.g. ``"lower --q or --trials"``.

    Raises
    ------
    InvalidParameter
        Quoting the estimate and the limit.

    Examples
    --------
    >>> check_memory(1e3, "a small run", "nothing")
    """
    limit = memory_limit()
    if estimate > limit:
        raise InvalidParameter(
            f"{what} needs about {format_bytes(estimate)} of memory, more than the {format_bytes(limit)} "
            f"available (COMMLAB_MEMORY_LIMIT overrides); {fix}"
        )


def pointer_chasing_bytes(
    q: int, k: int, batch: int, message_bits: int = 0, rounds: int = 1, trials: int | None = None
) -> int:
    """Estimated peak bytes of running a protocol on random (q, k) pointer-chasing instances,
    ``batch`` of them at a time (a chunk), ``trials`` in all (default: one batch).

    The instances of a chunk (k layers of q vertices each, drawn by permuting a copy, so counted
    twice, plus the equipartition), its transcript (one byte per posted bit, ``batch × rounds × k ×
    message_bits``, counted twice: the board and the copy a run returns), and what every instance
    leaves behind (its output and its truth as int64, kept per chunk and once combined: 32 bytes).

    Examples
    --------
    >>> pointer_chasing_bytes(1024, 8, 1000) // 2**20
    33
    """
    vertex = 2 if q <= 2**15 else 4
    instances = batch * (2 * k * q * vertex + 2 * q)
    transcript = 2 * batch * rounds * k * message_bits
    results = 32 * (batch if trials is None else trials)
    return int(instances + transcript + results)


def recurrent_reduction_bytes(cell: str, layers: int, state: int, q: int, k: int, trials: int) -> int:
    """Estimated peak bytes of ``reduce rnn``: the model's weights (from the cell's parameter
    shapes, float64 while drawn and once rounded) and the outputs of one layer over the whole
    encoded sequence (N = 2kq + 1 positions × ``trials`` instances × ``state`` numbers, float64),
    twice (a layer's input and output). Measured peaks were 0.9–1.2× this estimate.

    Examples
    --------
    >>> recurrent_reduction_bytes("lstm", 3, 64, 64, 4, 200) // 2**20
    101
    """
    from commlab.models.recurrent import CELLS

    alphabet = 2 * q + 2
    shapes = CELLS[cell].param_shapes(state, state) if cell in CELLS else {"W": (state, 4 * state)}
    per_layer = sum(math.prod(shape) for shape in shapes.values())
    weights = 2 * 8 * (layers * per_layer + 2 * alphabet * state)
    n = 2 * k * q + 1
    activations = 2 * 8 * trials * n * state
    return int(weights + activations)
