r"""Low-rank stand-ins for a transformer's attention, to measure what rank the log-depth construction
needs (issue 9 §3; docs/theory.md §6, kernel attention).

Each layer's attention matrix ``A = softmax(scale · q kᵀ, causal)`` (per instance, (N+1)×(N+1)) is
replaced by

- ``svd``: its best rank-r approximation in Frobenius and spectral norm (Eckart–Young), the truncated
  SVD ``U_r Σ_r V_rᵀ``, computed per instance. It need not be causal (a rank-r matrix generally puts
  some weight on later rows), which can only help the model; when singular values tie (a one-hot
  attention matrix has many), which of the tied directions is kept is LAPACK's choice.
- ``performer``: the FAVOR+ positive random features of Choromanski et al. with r features,
  ``φ(x) = exp(wᵢᵀx − |x|²/2)/√r``, ``wᵢ ~ N(0, I)``, on ``√scale·q`` and ``√scale·k``, so that
  ``E[φ(q)ᵀφ(k)] = exp(scale·q·k)``; rows are normalised as softmax rows are, under the causal mask.
  Query features are stabilised by their row maximum and key features by their overall maximum
  (both cancel in the normalisation). This is kernel attention in its quadratic form; its causal
  prefix-sum form (what a protocol would post) computes the same numbers in another order.

The rest of the model (projections, residual stream, readout) is unchanged, and the model's own
softmax (:func:`commlab.models.ops.masked_softmax`) gives ``A``.

References
----------
C. Eckart and G. Young. "The approximation of one matrix by another of lower rank."
Psychometrika 1(3), 1936. doi:10.1007/BF02288367.
K. Choromanski et al. "Rethinking attention with Performers." ICLR 2021. arXiv:2009.14794.
C. Sanford, D. Hsu and M. Telgarsky. "Transformers, parallel computation, and logarithmic depth."
ICML 2024, Corollary 5.3. arXiv:2402.09268.
"""

from __future__ import annotations

import numpy as np

from commlab.errors import InvalidParameter
from commlab.models.ops import causal_mask, masked_softmax
from commlab.models.transformer import Transformer

__all__ = ["METHODS", "low_rank_predict"]

METHODS = ("svd", "performer")


def _svd_truncate(weights: np.ndarray, rank: int) -> np.ndarray:
    if rank >= weights.shape[-1]:
        return weights
    u, s, vt = np.linalg.svd(weights, full_matrices=False)
    return (u[..., :rank] * s[..., None, :rank]) @ vt[..., :rank, :]


def _performer(q: np.ndarray, k: np.ndarray, scale: float, rank: int, rng: np.random.Generator) -> np.ndarray:
    root = np.sqrt(scale)
    q, k = q * root, k * root
    w = rng.standard_normal((q.shape[-1], rank))
    log_q = q @ w - 0.5 * np.sum(q * q, axis=-1, keepdims=True)
    log_k = k @ w - 0.5 * np.sum(k * k, axis=-1, keepdims=True)
    phi_q = np.exp(log_q - log_q.max(axis=-1, keepdims=True))
    phi_k = np.exp(log_k - log_k.max(axis=(-2, -1), keepdims=True))
    kernel = (phi_q @ np.swapaxes(phi_k, -1, -2)) * causal_mask(q.shape[-2])
    total = kernel.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, kernel / np.where(total > 0, total, 1), 0.0)


def low_rank_predict(model: Transformer, tokens, rank: int, method: str = "svd", seed: int = 0) -> np.ndarray:
    """Predictions (B, N) of ``model`` with every layer's attention replaced by a rank-``rank``
    stand-in (module docstring).

    Parameters
    ----------
    model : Transformer
    tokens : int array (B, N)
    rank : int
        r >= 1 (``svd`` with r >= N + 1 is the model itself).
    method : {"svd", "performer"}
    seed : int
        Seeds the Performer features (one draw per layer, shared by the batch).

    Raises
    ------
    InvalidParameter
        For an unknown method or r < 1.

    Examples
    --------
    >>> from commlab.models.construction import build_hop_transformer
    >>> from commlab.problems.hop import hop_k
    >>> c = build_hop_transformer(2, context=10, alphabet=3)
    >>> x = np.array([[0, 1, 2, 0, 1, 2, 1, 0, 2, 1]])
    >>> bool((low_rank_predict(c.model, x, rank=11) == hop_k(x, 2)).all())
    True
    """
    if method not in METHODS:
        raise InvalidParameter(f"unknown low-rank method {method!r}; choose one of {', '.join(METHODS)}")
    if not isinstance(rank, (int, np.integer)) or rank < 1:
        raise InvalidParameter(f"rank must be an integer >= 1, got {rank!r}")
    a = model.arith
    x = model.embed(tokens)
    rng = np.random.default_rng(seed)
    allowed = causal_mask(x.shape[1])
    for layer in model.layers:
        q, k, v = layer.project(a, x)
        if method == "svd":
            mixed = np.empty((*x.shape[:2], v.shape[-1]))
            for part in model.chunks(*x.shape[:2]):
                scores = a.mul(a.mm(q[part], np.swapaxes(k[part], -1, -2)), np.float64(layer.scale))
                mixed[part] = _svd_truncate(masked_softmax(a, scores, allowed), rank) @ v[part]
        else:
            features = np.random.default_rng(rng.integers(2**63))
            mixed = np.empty((*x.shape[:2], v.shape[-1]))
            for part in model.chunks(*x.shape[:2]):
                mixed[part] = _performer(q[part], k[part], layer.scale, rank, features) @ v[part]
        x = x + mixed @ layer.output
    return model.read_out(x[:, 1:])


def rank_grid(rows: int) -> list[int]:
    """Ranks to try for attention matrices of ``rows`` rows: a few fractions of ``rows`` and the last
    few ranks below full, where the construction's threshold lies.

    Examples
    --------
    >>> rank_grid(34)
    [1, 4, 8, 17, 25, 31, 32, 33, 34]
    """
    picks = {1, rows // 8, rows // 4, rows // 2, (3 * rows) // 4, rows - 3, rows - 2, rows - 1, rows}
    return sorted(r for r in picks if 1 <= r <= rows)


def threshold(ranks: list[int], successes: list[int], trials: int, target: float = 2 / 3) -> int | None:
    """The smallest rank from which on accuracy provably reaches ``target``: its 95 % Clopper–Pearson
    lower bound is ≥ target there and at every larger rank tried (``None`` if no such rank).

    Examples
    --------
    >>> threshold([1, 2, 3, 4], [0, 40, 12, 40], 40)
    4
    """
    from commlab.analysis.stats import clopper_pearson

    found = None
    for rank, hits in sorted(zip(ranks, successes, strict=True), reverse=True):
        if clopper_pearson(hits, trials)[0] < target:
            break
        found = rank
    return found


def rank_sweep(
    k_values: tuple[int, ...] = (4, 8),
    q_values: tuple[int, ...] = (2, 4, 8),
    *,
    trials: int = 40,
    seed: int = 0,
    performer_ranks: tuple[int, ...] = (16, 256, 4096),
    progress=None,
) -> dict:
    """Accuracy on encoded (q, k) pointer chasing (hop_k(X)_N) of the log-depth construction with
    every attention replaced by its best rank-r approximation (``svd``) or by r Performer features,
    as r grows; with each curve's threshold (:func:`threshold`) and the rank the kernel-attention
    bound demands, r ≥ c·N/(2k⁶·m·H·p) (SHT24 Cor 5.3 with the constant of docs/theory.md §3; c = 1,
    m the stream width, H = 1, p = 64).

    Returns
    -------
    dict with ``curves``: one entry per (method, k, q) with ``n``, ``ranks``, ``accuracy``,
    ``accuracy_ci``, ``threshold``, ``layers``, ``width`` and ``bound_rank``.
    """
    from commlab.analysis.bounds import get_bound
    from commlab.analysis.stats import clopper_pearson
    from commlab.models.construction import build_hop_transformer
    from commlab.problems.pointer_chasing import PointerChasing
    from reductions.pointer_chasing import encode

    curves = []
    for k in k_values:
        for q in q_values:
            enc = encode(PointerChasing.random(q, k, trials, seed))
            n = enc.tokens.shape[1]
            model = build_hop_transformer(k, n, enc.alphabet).model
            bound_rank = float(get_bound("kernel").needed("r", N=n, k=k, m=model.width, H=1, p=64, c=1))
            for method, ranks in (("svd", rank_grid(n + 1)), ("performer", list(performer_ranks))):
                hits = [
                    int(
                        np.count_nonzero(
                            low_rank_predict(model, enc.tokens, r, method, seed)[:, -1] == enc.answer
                        )
                    )
                    for r in ranks
                ]
                curves.append(
                    {
                        "method": method,
                        "k": k,
                        "q": q,
                        "n": n,
                        "layers": len(model.layers),
                        "width": model.width,
                        "ranks": ranks,
                        "accuracy": [h / trials for h in hits],
                        "accuracy_ci": [list(clopper_pearson(h, trials)) for h in hits],
                        "threshold": threshold(ranks, hits, trials),
                        "bound_rank": bound_rank,
                    }
                )
                if progress is not None:
                    progress()
    return {"trials": trials, "seed": seed, "curves": curves}
