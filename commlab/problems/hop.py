"""The k-hop induction heads task (docs/theory.md §4; SHT24 Def 4.1), vectorised.

Positions are 0-based here: ``f(p) = 1 + max{a < p : x[a] = x[p]}``, or none, is the position
``find¹`` points to (``f(p) <= p``; ``f(p) = p`` when ``x[p-1] = x[p]``, a fixed point). ``find^k``
iterates it and ``hop_k(x)[p] = x[find^k(p)]``, or ⊥. Everywhere in commlab ⊥ (and "no position")
is ``-1``. Tokens are non-negative integers.

The work is one stable sort (for ``f``) and then array gathers: ``O(N log k)`` for one k by pointer
doubling, ``O(N k)`` for all levels 0..k (one gather of tokens a level); no Python loop over
positions or sequences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from commlab.errors import InvalidParameter

__all__ = ["HopData", "find_k", "find_one", "hop_k", "hop_symbols", "hop_table", "sample_hop_data"]

BOTTOM = -1


def _as_tokens(x) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim not in (1, 2) or x.dtype.kind not in "iu":
        raise InvalidParameter(
            f"tokens must be an integer array of shape (N,) or (B, N), got {x.dtype}{x.shape}"
        )
    if x.size and x.min() < 0:
        raise InvalidParameter(f"tokens must be non-negative (-1 means ⊥ in outputs), got {x.min()}")
    return x


def _check_k(k) -> int:
    # bool is an int subclass: refuse it by name, or hop_k(x, True) would quietly mean k = 1.
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 0:
        raise InvalidParameter(f"k must be an integer >= 0 (not a bool), got {k!r}")
    return int(k)


def _previous_match(rows: np.ndarray) -> np.ndarray:
    """``find¹`` of a (B, N) batch as flat indices into ``rows.ravel()``, ``-1`` where there is none.

    A stable sort groups equal tokens of a row in position order; each position's ``find¹`` is then
    one past its predecessor in the group, scattered back to the position.
    """
    batch, n = rows.shape
    symbols = int(rows.max(initial=0)) + 1
    if batch * symbols <= 2**16:
        # One radix sort of (row, token) keys for the whole batch (numpy radix-sorts ≤ 16-bit keys).
        row_keys = np.arange(0, batch * symbols, symbols, dtype=np.uint16)[:, None]
        keys = (rows.astype(np.uint16) + row_keys).ravel()
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        same = ordered[1:] == ordered[:-1]
    else:
        narrow = np.uint8 if symbols <= 2**8 else np.uint16 if symbols <= 2**16 else np.int64
        by_row = np.argsort(rows.astype(narrow, copy=False), axis=1, kind="stable")  # radix ≤ 16 bits
        ordered = np.take_along_axis(rows, by_row, axis=1).ravel()
        order = (by_row + n * np.arange(batch, dtype=np.intp)[:, None]).ravel()
        same = ordered[1:] == ordered[:-1]
        same[n - 1 :: max(n, 1)] = False  # a row's last entry never matches the next row's first
    found = np.empty(batch * n, dtype=np.intp)
    if found.size:
        found[order[0]] = BOTTOM
        found[order[1:]] = np.where(same, order[:-1] + 1, BOTTOM)
    return found


def find_one(x) -> np.ndarray:
    """``find¹`` at every position, 0-based, ``-1`` where there is none.

    Examples
    --------
    >>> x = ["baebcabebdea".index(c) for c in "baebcabebdea"]
    >>> find_one(x).tolist()
    [-1, -1, -1, 1, -1, 2, 4, 3, 7, -1, 8, 6]
    """
    x = _as_tokens(x)
    rows = np.atleast_2d(x)
    found = _previous_match(rows).reshape(rows.shape)
    row_starts = rows.shape[1] * np.arange(rows.shape[0], dtype=np.intp)[:, None]
    return np.where(found < 0, BOTTOM, found - row_starts).astype(np.int64, copy=False).reshape(x.shape)


class _FlatHops:
    """``find¹`` of a (B, N) batch as one flat pointer array over B·(N+1) slots.

    Each row gets an extra sentinel slot N that stands for "none" and points to itself, and holds
    the token ⊥; so iterating pointers and reading tokens are single 1-D ``take`` calls, whatever
    the batch, and ⊥ needs no special case.
    """

    def __init__(self, x: np.ndarray):
        rows = np.atleast_2d(x)
        self.shape = x.shape
        self.batch, self.n = rows.shape
        width = self.n + 1
        self.offsets = (np.arange(self.batch, dtype=np.intp) * width)[:, None]
        found = _previous_match(rows).reshape(rows.shape)
        step = np.empty((self.batch, width), dtype=np.intp)
        rows_above = np.arange(self.batch, dtype=np.intp)[:, None]  # the flat shift from N to N + 1 slots
        step[:, : self.n] = np.where(found < 0, self.offsets + self.n, found + rows_above)
        step[:, self.n] = self.offsets[:, 0] + self.n
        self.step = step.ravel()
        tokens = np.full((self.batch, width), BOTTOM, dtype=np.int64)
        tokens[:, : self.n] = rows
        self.tokens = tokens.ravel()

    def starts(self) -> np.ndarray:
        """Flat slots of the real positions (sentinels are only ever pointed to)."""
        return (self.offsets + np.arange(self.n, dtype=np.intp)).ravel()

    def positions(self, flat: np.ndarray) -> np.ndarray:
        """Flat slots (…, B·N) back to 0-based positions of shape (…, *x.shape), -1 for none."""
        local = flat.reshape(*flat.shape[:-1], self.batch, self.n) - self.offsets
        return np.where(local == self.n, BOTTOM, local).reshape(*flat.shape[:-1], *self.shape)

    def read(self, flat: np.ndarray) -> np.ndarray:
        """Tokens at flat slots, shaped like :meth:`positions`."""
        return np.take(self.tokens, flat).reshape(*flat.shape[:-1], *self.shape)

    def power(self, k: int) -> np.ndarray:
        """Flat slots of ``find^k`` from every position, by pointer doubling: ``O(log k)`` gathers."""
        reached, step = self.starts(), self.step
        while k:
            if k & 1:
                reached = np.take(step, reached)
            k >>= 1
            if k:
                step = np.take(step, step)
        return reached


def find_k(x, k: int) -> np.ndarray:
    """The positions ``find^k`` reads, 0-based, ``-1`` for none (``k = 0``: every position itself).

    Pointer doubling: ``O(N log k)`` gathers.

    Examples
    --------
    >>> x = ["baebcabebdea".index(c) for c in "baebcabebdea"]
    >>> find_k(x, 2).tolist()
    [-1, -1, -1, -1, -1, -1, -1, 1, 3, -1, 7, 4]
    """
    x, k = _as_tokens(x), _check_k(k)
    hops = _FlatHops(x)
    return hops.positions(hops.power(k))


def hop_k(x, k: int) -> np.ndarray:
    """``hop_k`` at every position: the token ``find^k`` points to, ``-1`` for ⊥.

    Parameters
    ----------
    x : int array, shape (N,) or (B, N)
        Non-negative tokens.
    k : int
        Number of hops (``0`` is the identity).

    Returns
    -------
    int64 array of the shape of ``x``.

    Raises
    ------
    InvalidParameter
        For a non-integer or negative token array, or ``k < 0``.

    References
    ----------
    C. Sanford, D. Hsu and M. Telgarsky. "Transformers, parallel computation, and logarithmic
    depth." ICML 2024, Definition 4.1. arXiv:2402.09268.

    Examples
    --------
    The talk's example ``baebcabebdea``: "what comes next after …a" is b for k = 1, c for k = 2.

    >>> x = np.array(["abcde".index(c) for c in "baebcabebdea"])
    >>> "".join("abcde"[t] if t >= 0 else "⊥" for t in hop_k(x, 1))
    '⊥⊥⊥a⊥ecbe⊥bb'
    >>> "".join("abcde"[t] if t >= 0 else "⊥" for t in hop_k(x, 2))
    '⊥⊥⊥⊥⊥⊥⊥ab⊥ec'
    """
    x, k = _as_tokens(x), _check_k(k)
    hops = _FlatHops(x)
    return hops.read(hops.power(k))


def hop_table(x, k_max: int) -> np.ndarray:
    """``hop_k`` for every level ``k = 0..k_max``: shape ``(k_max + 1, *x.shape)``, ``O(N k_max)``.

    Level by level on tokens, not positions: ``hop_{l+1}(p) = hop_l(find¹(p))``, so each level is
    one gather of the previous level's tokens, written straight into the output. A position with no
    ``find¹`` points to itself; its level-1 token is set to ⊥, and every later level copies that ⊥.

    Examples
    --------
    >>> hop_table(np.array([0, 1, 0, 1]), 2)[:, -1].tolist()
    [1, 0, 1]
    """
    x, k_max = _as_tokens(x), _check_k(k_max)
    rows = np.atleast_2d(x)
    found = _previous_match(rows)
    none = found < 0
    step = np.where(none, np.arange(found.size, dtype=np.intp), found)
    table = np.empty((k_max + 1, rows.size), dtype=np.int64)
    table[0] = rows.ravel()
    for level in range(1, k_max + 1):
        np.take(table[level - 1], step, out=table[level])
        if level == 1:
            table[1][none] = BOTTOM
    return table.reshape(k_max + 1, *x.shape)


@dataclass(frozen=True, eq=False)
class HopData:
    """k-hop training/evaluation data: ``inputs`` (B, N), per-sequence ``k`` (B,) and ``targets``
    (B, N) with ``targets[b] = hop_{k[b]}(inputs[b])`` (``-1`` for ⊥)."""

    inputs: np.ndarray
    k: np.ndarray
    targets: np.ndarray
    alphabet: int
    seed: int


def sample_hop_data(count: int, length: int, alphabet: int, k: int | list[int], seed: int = 0) -> HopData:
    """Random sequences with no two equal neighbours, as in the paper's experiments, with targets.

    Parameters
    ----------
    count, length : int
        Number of sequences B and their length N.
    alphabet : int
        Alphabet size |Σ| (>= 2, or 1 when N = 1).
    k : int or list of int
        One k for every sequence, or the ks to draw from uniformly per sequence (mixed).
    seed : int

    Examples
    --------
    >>> data = sample_hop_data(3, 10, 4, k=[1, 2], seed=0)
    >>> bool((data.inputs[:, 1:] != data.inputs[:, :-1]).all()), data.targets.shape
    (True, (3, 10))
    """
    ks = np.atleast_1d(np.asarray(k))
    if count < 1 or length < 1:
        raise InvalidParameter(f"need count >= 1 and length >= 1, got {count} and {length}")
    if alphabet < 2 and not (alphabet == 1 and length == 1):
        raise InvalidParameter(f"no two equal neighbours needs an alphabet of >= 2 symbols, got {alphabet}")
    if ks.size == 0 or ks.dtype.kind not in "iu" or ks.min() < 0:
        raise InvalidParameter(f"k must be a non-negative integer or a list of them, got {k}")
    rng = np.random.default_rng(seed)
    first = rng.integers(0, alphabet, size=(count, 1))
    steps = rng.integers(1, max(alphabet, 2), size=(count, length - 1))
    inputs = np.cumsum(np.concatenate([first, steps], axis=1), axis=1) % alphabet
    per_sequence = rng.choice(ks, size=count)
    if np.unique(ks).size == 1:  # one k: pointer doubling, O(N log k), not every level up to k
        targets = hop_k(inputs, int(ks[0]))
    else:
        table = hop_table(inputs, int(ks.max()))
        targets = np.take_along_axis(table, per_sequence[None, :, None], axis=0)[0]
    return HopData(inputs, per_sequence, targets, alphabet, seed)


def hop_symbols(symbols: list[str], k: int) -> list[str | None]:
    """``hop_k`` of a sequence of arbitrary symbols (any hashable labels), ``None`` for ⊥.

    Examples
    --------
    >>> hop_symbols(list("baebcabebdea"), 2)[-1]
    'c'
    """
    names = list(dict.fromkeys(symbols))
    index = {name: i for i, name in enumerate(names)}
    hops = hop_k(np.array([index[s] for s in symbols], dtype=np.int64), k) if symbols else []
    return [names[t] if t >= 0 else None for t in hops]
