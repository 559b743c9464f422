"""Pointer chasing encoded as k-hop induction heads (docs/theory.md §5; SHT24 Prop E.4, corrected).

Tokens are the paper's alphabet [2q+2] shifted to 0-based: token = paper label − 1. So the vertices
of odd layers V_1, V_3, … are tokens ``0..q-1``, those of even layers ``q..2q-1``, and the answer
tokens are ``2q`` (the path ends in V¹) and ``2q+1`` (it ends in V²).

Block B_j lists the sources of V_j in increasing order, each followed by its match:
``(a_1, E_j(a_1), …, a_q, E_j(a_q))``; in B_k the targets are answer tokens. The sequence is
``X = B_k ∘ B_{k−1} ∘ … ∘ B_1 ∘ (v)`` with ``v = 0`` (V_1 is relabelled so the start is 0), so
``N = 2kq + 1`` and ``hop_k(X)_N`` is the answer token. P_j holds B_j, and P_1 also the last token,
so the speaking order P_k, …, P_1 runs left to right along the sequence.

Bijections are essential: a repeated target derails the search, so instances that are not bijections
are refused (by :class:`commlab.problems.pointer_chasing.PointerChasing`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from commlab.errors import InvalidParameter
from commlab.problems.pointer_chasing import PointerChasing, check_parameters

__all__ = ["HopEncoding", "answer_tokens", "decode", "encode", "player_blocks", "random_encoding"]


def answer_tokens(q: int) -> tuple[int, int]:
    """The answer tokens ``(2q, 2q+1)``: the path ends in V¹, or in V²."""
    return 2 * q, 2 * q + 1


def player_blocks(q: int, k: int) -> list[tuple[int, int]]:
    """The ``[start, end)`` positions each player holds, in speaking order P_k, …, P_1.

    Examples
    --------
    >>> player_blocks(q=2, k=3)
    [(0, 4), (4, 8), (8, 13)]
    """
    check_parameters(q, k)
    return [(2 * i * q, 2 * (i + 1) * q + (i == k - 1)) for i in range(k)]


@dataclass(frozen=True, eq=False)
class HopEncoding:
    """A batch of pointer-chasing instances written as k-hop sequences.

    ``tokens`` has shape (B, 2kq+1); ``blocks`` lists the ``[start, end)`` each player holds in
    speaking order (P_k first); ``answer`` is the true answer token of each sequence.
    """

    tokens: np.ndarray
    q: int
    k: int
    blocks: list[tuple[int, int]]
    answer: np.ndarray

    @property
    def alphabet(self) -> int:
        """Alphabet size 2q + 2."""
        return 2 * self.q + 2

    def player_inputs(self) -> list[np.ndarray]:
        """Each player's tokens, P_1 first (the order :func:`commlab.run` takes inputs in)."""
        return [self.tokens[:, start:end] for start, end in reversed(self.blocks)]


def encode(instances: PointerChasing) -> HopEncoding:
    """Write pointer-chasing instances as k-hop sequences (SHT24 Prop E.4, corrected).

    Parameters
    ----------
    instances : PointerChasing
        A batch of (q, k) instances (validated on construction: layers must be bijections).

    Returns
    -------
    HopEncoding
        With ``hop_k(tokens)[:, -1] == answer``.

    Notes
    -----
    Corrected from arXiv v1: ``find¹(N) = 2(k−1)q + 2`` (1-based) and even-layer sources are
    ``q + i/2`` in the paper's labels.

    References
    ----------
    C. Sanford, D. Hsu and M. Telgarsky. "Transformers, parallel computation, and logarithmic
    depth." ICML 2024, Proposition E.4. arXiv:2402.09268.

    Examples
    --------
    >>> from commlab.problems.hop import hop_k
    >>> inst = PointerChasing.random(q=4, k=3, batch=5, seed=0)
    >>> enc = encode(inst)
    >>> enc.tokens.shape, bool((hop_k(enc.tokens, 3)[:, -1] == enc.answer).all())
    ((5, 25), True)
    >>> decode(enc.answer, q=4).tolist() == inst.answer().tolist()
    True
    """
    if not isinstance(instances, PointerChasing):
        raise InvalidParameter("encode takes a PointerChasing batch; build one from your arrays first")
    q, k, batch = instances.q, instances.k, instances.batch
    rows = np.arange(batch)
    edges = instances.edges.astype(np.int64)
    # Relabel V_1 so that the start vertex is 0: swap the names of v and 0.
    swap = np.broadcast_to(np.arange(q), (batch, q)).copy()
    swap[rows, instances.start] = 0
    swap[:, 0] = instances.start
    edges[:, 0] = np.take_along_axis(edges[:, 0], swap, axis=1)

    offsets = np.where(np.arange(k + 1) % 2 == 0, 0, q)  # layer j (1-based) is index j-1
    sources = np.broadcast_to((offsets[:k, None] + np.arange(q))[None], (batch, k, q))
    targets = offsets[1:, None] + edges
    targets[:, k - 1] = answer_tokens(q)[0] + instances.in_second[rows[:, None], edges[:, k - 1]]
    blocks = np.stack([sources, targets], axis=3)[:, ::-1].reshape(batch, 2 * k * q)
    tokens = np.concatenate([blocks, np.zeros((batch, 1), dtype=np.int64)], axis=1)
    answer = answer_tokens(q)[0] + instances.answer()
    return HopEncoding(tokens, q, k, player_blocks(q, k), answer)


def decode(last_hop: np.ndarray, q: int) -> np.ndarray:
    """The answer bit from ``hop_k(X)_N``: 0 for token 2q (V¹), 1 for 2q+1 (V²), and −1 for anything
    else (⊥ or a non-answer token, e.g. a wrong model prediction).

    Examples
    --------
    >>> decode(np.array([8, 9, -1, 3]), q=4).tolist()
    [0, 1, -1, -1]
    """
    last_hop = np.asarray(last_hop)
    first, second = answer_tokens(q)
    return np.where(last_hop == first, 0, np.where(last_hop == second, 1, -1))


def random_encoding(q: int, k: int, seed: int = 0) -> dict:
    """One random (q, k) instance, encoded: a JSON-ready description for display.

    Returns
    -------
    dict
        ``q, k, sequence, blocks`` (``[start, end)`` per player in speaking order, P_k first),
        ``players`` (their names, in the same order), ``answer_token``, ``answer`` (V¹ or V²) and
        ``seed``.

    Examples
    --------
    >>> shown = random_encoding(2, 1, seed=0)
    >>> len(shown["sequence"]), shown["blocks"], shown["players"]
    (5, [[0, 5]], ['P_1'])
    """
    enc = encode(PointerChasing.random(q, k, 1, seed))
    answer = int(enc.answer[0])
    return {
        "q": q,
        "k": k,
        "sequence": enc.tokens[0].tolist(),
        "blocks": [list(block) for block in enc.blocks],
        "players": [f"P_{j}" for j in range(k, 0, -1)],
        "answer_token": answer,
        "answer": "V1" if answer == answer_tokens(q)[0] else "V2",
        "seed": seed,
    }
