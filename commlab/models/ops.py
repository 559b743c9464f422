"""Transformer building blocks in a number format: masked softmax attention, layer norm, GELU.

Every model of the lab that attends (kernel and Longformer layers, the chain-of-thought transformer,
the log-depth construction, imported GPT-2 models) builds on these, so that "softmax attention"
means one computation everywhere. Each operation is rounded to the format after every step
(:class:`~commlab.models.arith.Arith`); in float64 they are the textbook formulas.

Shapes follow numpy broadcasting: a batch of queries ``(..., n, d)`` against keys ``(..., t, d)``
with a boolean ``allowed`` mask ``(n, t)`` (or broadcastable to ``(..., n, t)``).
"""

from __future__ import annotations

import math

import numpy as np

from commlab.models.arith import Arith

__all__ = ["attention", "causal_mask", "gelu_new", "layer_norm", "masked_softmax", "online_softmax_step"]


def causal_mask(n: int, window: int | None = None, globals_every: int | None = None) -> np.ndarray:
    """Which key positions each query position may attend to: ``allowed[t, s]``.

    Parameters
    ----------
    n : int
        Sequence length.
    window : int, optional
        Attend only to the last ``window`` positions (``t − window < s ≤ t``); ``None`` for all.
    globals_every : int, optional
        With a window: positions ``s`` with ``s % globals_every == globals_every − 1`` are global and
        stay visible to every later query (Longformer, docs/theory.md §6).

    Examples
    --------
    >>> causal_mask(3).astype(int).tolist()
    [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    >>> causal_mask(4, window=2).astype(int).tolist()
    [[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]]
    """
    t = np.arange(n)[:, None]
    s = np.arange(n)[None, :]
    allowed = s <= t
    if window is not None:
        visible = t - s < window
        if globals_every is not None:
            visible |= s % globals_every == globals_every - 1
        allowed &= visible
    return allowed


def masked_softmax(a: Arith, scores: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Softmax over the last axis restricted to ``allowed``, stabilised by the row maximum.

    Each step is rounded to the format: m = max, e = exp(x − m) (0 where masked), z = Σ e, e / z.
    A row with no allowed position (never the case under a causal mask) is all zeros.
    """
    masked = np.where(allowed, scores, -np.inf)
    row_max = masked.max(axis=-1, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0).astype(scores.dtype, copy=False)
    shifted = a.sub(np.where(allowed, scores, row_max), row_max)
    weights = np.where(allowed, a.exp(shifted), 0).astype(scores.dtype, copy=False)
    total = a(weights.sum(axis=-1, keepdims=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, a(weights / np.where(total > 0, total, 1)), 0).astype(scores.dtype)


def attention(
    a: Arith, q: np.ndarray, k: np.ndarray, v: np.ndarray, allowed: np.ndarray, scale: float | None = None
) -> np.ndarray:
    """Dense masked softmax attention: ``softmax(scale · q kᵀ, allowed) v``.

    Parameters
    ----------
    a : Arith
        The format every step is rounded to.
    q : array (..., n, d)
    k : array (..., t, d)
    v : array (..., t, e)
    allowed : bool array (n, t), broadcastable
    scale : float, optional
        Multiplies the scores; default 1/√d as in GPT-2.

    Returns
    -------
    array (..., n, e)

    Notes
    -----
    O(n·t·(d + e)) time and O(n·t) memory per head: the dense form, used as the model where a model
    is defined densely (GPT-2, the log-depth construction) and as the check of every streaming form.

    Examples
    --------
    >>> from commlab.io.codecs import number_format
    >>> a = Arith(number_format("float64"))
    >>> q = k = np.eye(2)[None]
    >>> v = np.array([[[1.0], [3.0]]])
    >>> attention(a, q, k, v, causal_mask(2), scale=0.0).tolist()  # uniform over the prefix
    [[[1.0], [2.0]]]
    """
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = a.mul(a.mm(q, np.swapaxes(k, -1, -2)), np.asarray(scale, dtype=q.dtype))
    return a.mm(masked_softmax(a, scores, allowed), v)


def online_softmax_step(
    a: Arith, state: tuple[np.ndarray, np.ndarray, np.ndarray], score: np.ndarray, value: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One key of a softmax streamed left to right ("online softmax", Milakov & Gimelshein 2018).

    The state is the running maximum μ ``(...)``, normaliser ℓ ``(...)`` and numerator o ``(..., e)``
    over the keys seen so far; one more key with ``score`` ``(...)`` and ``value`` ``(..., e)`` gives
    μ' = max(μ, x), ℓ' = ℓ·e^{μ−μ'} + e^{x−μ'}, o' = o·e^{μ−μ'} + e^{x−μ'}·v, each step rounded.
    After the last key, o/ℓ is the softmax-weighted average. The empty state is μ = −∞, ℓ = 0, o = 0;
    e^{μ−μ'} is taken as 0 while μ = −∞ (so formats without infinities never compute with it).

    Examples
    --------
    >>> from commlab.io.codecs import number_format
    >>> a = Arith(number_format("float64"))
    >>> state = (np.array([-np.inf]), np.zeros(1), np.zeros((1, 1)))
    >>> for x, v in ((0.0, 1.0), (np.log(3), 5.0)):
    ...     state = online_softmax_step(a, state, np.array([x]), np.array([[v]]))
    >>> float(state[2][0, 0] / state[1][0])  # (1·1 + 3·5) / (1 + 3)
    4.0
    """
    running, total, numerator = state
    new_max = np.maximum(running, score)
    seen = np.isfinite(running)
    rescale = np.where(seen, a.exp(a.sub(np.where(seen, running, new_max), new_max)), 0).astype(total.dtype)
    weight = a.exp(a.sub(score, new_max))
    total = a.add(a.mul(total, rescale), weight)
    numerator = a.add(a.mul(numerator, rescale[..., None]), a.mul(weight[..., None], value))
    return new_max, total, numerator


def layer_norm(a: Arith, x: np.ndarray, gain: np.ndarray, bias: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Layer norm over the last axis (biased variance, ε inside the square root, as PyTorch)."""
    width = x.shape[-1]
    mean = a(x.sum(axis=-1, keepdims=True) / width)
    centred = a.sub(x, mean)
    variance = a(a.mul(centred, centred).sum(axis=-1, keepdims=True) / width)
    scale = a(1 / np.sqrt(a.add(variance, np.asarray(eps, dtype=x.dtype))))
    return a.add(a.mul(a.mul(centred, scale), gain), bias)


def gelu_new(a: Arith, x: np.ndarray) -> np.ndarray:
    """GPT-2's tanh approximation: ½x(1 + tanh(√(2/π)(x + 0.044715x³)))."""
    c = np.asarray(math.sqrt(2 / math.pi), dtype=x.dtype)
    cubic = a.mul(a.mul(a.mul(x, x), x), np.asarray(0.044715, dtype=x.dtype))
    inner = a.mul(a.add(x, cubic), c)
    return a.mul(a.mul(x, np.asarray(0.5, dtype=x.dtype)), a.add(a.tanh(inner), np.ones((), x.dtype)))
