"""Kernel-attention transformers, and hybrids of them with recurrent layers, as (k, L, s) protocols
(docs/theory.md §6, second row; SHT24 Cor 5.3).

A kernel-attention layer's boundary state is the running Σψ(k)vᵀ (r × m) and Σψ(k) (r) of every
head (:mod:`commlab.models.kernel`), so it is a layer kind like a recurrent cell and the shared
round-per-layer protocol compiles it: round ℓ computes layer ℓ, each player posts the prefix sums of
every head at its block's end. R = L and s = H·r·(m + 1)·p bits. A hybrid stack mixes these layers
with recurrent ones through the same protocol, with no new code; its s is its largest layer state.
"""

from __future__ import annotations

from commlab.models.kernel import KernelAttention
from reductions.layerwise import LayerwiseReduction
from reductions.registry import register
from reductions.rnn import RECURRENT_KINDS

__all__ = ["HybridReduction", "KernelReduction", "kernel_solver_curve", "reduce_hybrid", "reduce_kernel"]

_REFERENCE = "Sanford, Hsu, Telgarsky, ICML 2024, Cor 5.3 (arXiv:2402.09268)"


@register
class KernelReduction(LayerwiseReduction):
    r"""L-layer kernel-attention transformer → (k, R = L, s = H·r·(m+1)·p) protocol.

    Notes
    -----
    If the model computes hop_k(X)_N on encoded pointer chasing with probability ≥ 2/3, then
    :math:`L \ge k` or :math:`m r H p = \Omega(N / k^6)`, for any feature map (Performer, linear,
    PolySketch, a given factorisation) and any precision p.

    References
    ----------
    C. Sanford, D. Hsu and M. Telgarsky. "Transformers, parallel computation, and logarithmic
    depth." ICML 2024, Corollary 5.3. arXiv:2402.09268.
    """

    name = "kernel"
    family = "kernel (low-rank) attention transformers (performer, elu linear attention, given φψᵀ)"
    bound = "L ≥ k or s = H·r·(m+1)·p = Ω(N/k⁶)  [SHT24 Cor 5.3]"
    references = _REFERENCE
    layer_kinds = frozenset({KernelAttention.kind})


@register
class HybridReduction(LayerwiseReduction):
    r"""A stack mixing recurrent and kernel-attention layers → (k, R = L, s) protocol, s the
    largest layer state in bits.

    Notes
    -----
    :math:`L \ge k` or :math:`s = \Omega(N / k^6)`: each layer is one round whatever its kind.

    References
    ----------
    C. Sanford, D. Hsu and M. Telgarsky. ICML 2024, Corollaries 5.2 and 5.3. arXiv:2402.09268.
    """

    name = "hybrid"
    family = f"hybrid stacks of recurrent and kernel-attention layers ({', '.join(sorted(RECURRENT_KINDS))}, kernel)"
    bound = "L ≥ k or s = (largest layer state) = Ω(N/k⁶)  [SHT24 Cor 5.2, 5.3]"
    references = "Sanford, Hsu, Telgarsky, ICML 2024, Cor 5.2–5.3 (arXiv:2402.09268)"
    layer_kinds = RECURRENT_KINDS | {KernelAttention.kind}


def reduce_kernel(
    *,
    layers: int = 2,
    heads: int = 4,
    width: int = 32,
    rank: int = 16,
    features: str = "performer",
    fmt: str = "float32",
    k: int | None = None,
    q: int = 64,
    trials: int = 200,
    seed: int = 0,
    c_value: float = 1.0,
):
    """Build a kernel-attention transformer (random weights from ``seed``), compile it, run it on
    encoded pointer chasing and report (what ``commlab reduce kernel`` prints). k defaults to L + 1.

    Examples
    --------
    >>> report = reduce_kernel(layers=1, heads=2, width=4, rank=3, q=4, trials=10)
    >>> report.rounds, report.declared_bits_per_message, report.bits_per_message, report.mismatches
    (1, 960, 960, 0)
    """
    from commlab.models.kernel import random_kernel_model
    from reductions.experiment import model_params, reduce_on_pointer_chasing

    k = layers + 1 if k is None else k
    model = random_kernel_model(layers, heads, width, rank, 2 * q + 2, fmt, features, seed)
    return reduce_on_pointer_chasing(
        model, k=k, q=q, trials=trials, seed=seed, reduction="kernel", c_value=c_value, params=model_params(model)
    )


def reduce_hybrid(
    *,
    pattern: str = "gru,kernel,gru",
    width: int = 32,
    rank: int = 8,
    heads: int = 1,
    features: str = "performer",
    fmt: str = "float32",
    k: int | None = None,
    q: int = 64,
    trials: int = 200,
    seed: int = 0,
    c_value: float = 1.0,
):
    """Build a hybrid stack following ``pattern``, compile it, run it on encoded pointer chasing and
    report (what ``commlab reduce hybrid`` prints). k defaults to L + 1.

    Examples
    --------
    >>> report = reduce_hybrid(pattern="gru,kernel", width=4, rank=2, q=4, trials=10)
    >>> report.rounds, report.declared_bits_per_message, report.mismatches
    (2, 320, 0)
    """
    from commlab.models.hybrid import parse_pattern, random_hybrid_model
    from reductions.experiment import model_params, reduce_on_pointer_chasing

    kinds = parse_pattern(pattern)
    k = len(kinds) + 1 if k is None else k
    model = random_hybrid_model(kinds, width, rank, 2 * q + 2, fmt, heads, features, seed)
    return reduce_on_pointer_chasing(
        model, k=k, q=q, trials=trials, seed=seed, reduction="hybrid", c_value=c_value, params=model_params(model)
    )


def kernel_solver_curve(
    q: int, k: int, ranks: list[int], *, trials: int, seed: int = 0, fmt: str = "float32", progress=None
):
    """The indicator-factorised kernel-attention solver (:func:`commlab.models.kernel_chase.kernel_chase_model`,
    k one-head kernel layers over token and positional embeddings) on encoded (q, k) pointer chasing,
    one point per rank r, each compiled by the kernel reduction (R = k) and verified bit for bit. Its
    messages are r·(q + 1)·p bits; it is always right at r = q, and below that right exactly when
    every pointer after the first has index below r or the answer is V¹.

    Examples
    --------
    >>> curve = kernel_solver_curve(4, 2, [1, 4], trials=40)
    >>> curve.accuracy, curve.rounds, curve.bits_per_message, curve.mismatches
    ([0.475, 1.0], [2, 2], [160, 640], [0, 0])
    """
    from commlab.models.kernel_chase import kernel_chase_model
    from reductions.experiment import solver_curve

    return solver_curve(
        "k kernel-attention layers, indicator φψᵀ of rank r",
        lambda rank: kernel_chase_model(q, k, rank, fmt),
        list(ranks),
        q=q,
        k=k,
        trials=trials,
        seed=seed,
        progress=progress,
    )
