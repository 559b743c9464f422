"""Layered pointer chasing (docs/theory.md §2; SHT24 Def E.2): instances, answers, validation.

Vertices of every layer are named ``0..q-1``. ``edges[b, j-1]`` is the bijection E_j: V_j → V_{j+1}
of instance ``b`` (``edges[b, j-1, u]`` is the image of ``u``), ``start[b]`` the start vertex of V_1
and ``in_second[b]`` the equipartition of V_{k+1}: ``True`` marks the half V². The answer is one bit:
0 when the path ends in V¹, 1 when it ends in V².
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from commlab._validate import is_integer
from commlab.errors import InvalidInstance, InvalidParameter

__all__ = ["PointerChasing", "check_parameters", "vertex_dtype"]


def check_parameters(q: int, k: int, batch: int | None = None) -> None:
    """Refuse (q, k) that do not define pointer chasing: q even and >= 2, k >= 1.

    Raises
    ------
    InvalidParameter
        Listing every bad value and what would be accepted.
    """
    problems = []
    if not is_integer(q) or q < 2 or q % 2:
        problems.append(f"q must be an even integer >= 2 (the equipartition halves V_k+1), got {q}")
    if not is_integer(k) or k < 1:
        problems.append(f"k must be an integer >= 1, got {k}")
    if batch is not None and (not is_integer(batch) or batch < 1):
        problems.append(f"the number of instances (trials) must be >= 1, got {batch}")
    if problems:
        raise InvalidParameter("; ".join(problems))


def vertex_dtype(q: int) -> np.dtype:
    """The smallest signed integer type that names ``q`` vertices (keeps big batches small)."""
    return np.dtype(np.int16 if q <= 2**15 else np.int32)


@dataclass(frozen=True, eq=False)
class PointerChasing:
    """A batch of (q, k) layered pointer-chasing instances.

    Parameters
    ----------
    edges : int array, shape (B, k, q)
        ``edges[b, j-1]`` is a permutation of ``0..q-1``: the perfect matching E_j.
    start : int array, shape (B,)
        The start vertex v ∈ V_1.
    in_second : bool array, shape (B, q)
        The equipartition of V_{k+1}: exactly q/2 entries ``True`` (the half V²).

    Raises
    ------
    InvalidInstance
        Listing every problem: wrong shapes, a layer that is not a bijection, a start vertex out of
        range, a partition that is not an equipartition.

    Examples
    --------
    >>> inst = PointerChasing.random(q=4, k=3, batch=2, seed=0)
    >>> inst.path().shape, inst.answer().tolist() == inst.in_second[[0, 1], inst.path()[:, -1]].tolist()
    ((2, 4), True)
    """

    edges: np.ndarray
    start: np.ndarray
    in_second: np.ndarray

    def __post_init__(self):
        problems = _problems(self.edges, self.start, self.in_second)
        if problems:
            raise InvalidInstance("not a pointer-chasing instance: " + "; ".join(problems))

    @property
    def batch(self) -> int:
        return self.edges.shape[0]

    @property
    def k(self) -> int:
        return self.edges.shape[1]

    @property
    def q(self) -> int:
        return self.edges.shape[2]

    @classmethod
    def random(cls, q: int, k: int, batch: int, seed: int | np.random.Generator = 0):
        """The lab's average-case distribution: independent uniform bijections, v = 0, and a uniform
        equipartition (so the answer bit is uniform). Deterministic given ``seed``."""
        check_parameters(q, k, batch)
        rng = np.random.default_rng(seed)
        layers = np.broadcast_to(np.arange(q, dtype=vertex_dtype(q)), (batch, k, q))
        edges = rng.permuted(layers, axis=2)
        halves = np.broadcast_to(np.arange(q) >= q // 2, (batch, q))
        return cls(edges, np.zeros(batch, dtype=np.int64), rng.permuted(halves, axis=1))

    def path(self) -> np.ndarray:
        """The vertices v_1, ..., v_{k+1} of every instance, shape (B, k+1)."""
        rows = np.arange(self.batch)
        path = np.empty((self.batch, self.k + 1), dtype=np.int64)
        path[:, 0] = self.start
        for j in range(self.k):  # inherently sequential in k; vectorised over the batch
            path[:, j + 1] = self.edges[rows, j, path[:, j]]
        return path

    def answer(self) -> np.ndarray:
        """The answer bit of every instance: 0 if the path ends in V¹, 1 if in V²."""
        return self.in_second[np.arange(self.batch), self.path()[:, -1]].astype(np.int64)

    def player_inputs(self) -> list[dict[str, np.ndarray]]:
        """Each player's input, P_1 first: P_j holds E_j; v and the partition are public, so every
        player also holds them."""
        return [
            {"edges": self.edges[:, j], "start": self.start, "in_second": self.in_second}
            for j in range(self.k)
        ]


def _problems(edges, start, in_second) -> list[str]:
    """Every reason the arrays do not form a batch of pointer-chasing instances."""
    edges, start, in_second = (np.asarray(a) for a in (edges, start, in_second))
    if edges.ndim != 3 or edges.dtype.kind not in "iu":
        return [f"edges must be an integer array of shape (batch, k, q), got {edges.dtype}{edges.shape}"]
    batch, k, q = edges.shape
    problems = []
    if q < 2 or q % 2:
        problems.append(f"q must be even and >= 2, got q = {q}")
    if k < 1 or batch < 1:
        problems.append(f"need k >= 1 layers and at least one instance, got shape {edges.shape}")
    if problems:
        return problems
    if edges.min() < 0 or edges.max() >= q:
        problems.append(f"edge targets must lie in 0..{q - 1}")
    else:
        is_bijection = np.all(np.sort(edges, axis=2) == np.arange(q, dtype=edges.dtype), axis=2)
        bad = np.argwhere(~is_bijection)
        if bad.size:
            b, j = bad[0]
            problems.append(
                f"layer E_{j + 1} of instance {b} is not a bijection (a target repeats); "
                f"{len(bad)} layer(s) in all"
            )
    if start.shape != (batch,) or start.dtype.kind not in "iu":
        problems.append(f"start must be {batch} integers, got {start.dtype}{start.shape}")
    elif start.size and (start.min() < 0 or start.max() >= q):
        problems.append(f"start vertices must lie in 0..{q - 1}")
    if in_second.shape != (batch, q) or in_second.dtype != bool:
        problems.append(f"in_second must be a bool array of shape ({batch}, {q})")
    elif np.any(in_second.sum(axis=1) != q // 2):
        problems.append(f"in_second must mark exactly q/2 = {q // 2} vertices in every instance")
    return problems
