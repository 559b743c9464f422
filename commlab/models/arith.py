"""Arithmetic in a number format: every operation's result is rounded to the format.

For IEEE formats with a numpy type the rounding is the type itself (numpy computes in it); for
bfloat16 and fixed point each operation runs in a wider type and is rounded at once, so a model in
those formats is exactly reproducible by anyone who runs the same operations in the same order.
"""

from __future__ import annotations

import numpy as np

from commlab.io.codecs import NumberFormat

__all__ = ["Arith", "rowwise_matmul"]


def rowwise_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for a batch ``a`` of shape (B, m), one vector–matrix product per row, so that every
    row's result has the same bits whatever other rows share the batch (BLAS matrix–matrix kernels
    round differently for different batch sizes; a batch of one even takes another kernel). The
    engine's batch-independence audit relies on it.

    Examples
    --------
    >>> a, b = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32), np.ones((3, 2), np.float32)
    >>> bool((rowwise_matmul(a, b)[2:3] == rowwise_matmul(a[2:3], b)).all())
    True
    """
    if a.ndim != 2:
        return a @ b
    return (a[:, None, :] @ b)[:, 0, :]


class Arith:
    """Operations rounded to ``fmt`` after each step.

    Examples
    --------
    >>> from commlab.io.codecs import FixedPoint
    >>> a = Arith(FixedPoint(8, 4))
    >>> a.mul(np.array([0.5625]), np.array([0.5625])).tolist()  # 0.31640625 rounds to 0.3125
    [0.3125]
    """

    def __init__(self, fmt: NumberFormat):
        self.fmt = fmt
        self.round = fmt.round

    def __call__(self, x) -> np.ndarray:
        return self.round(x)

    def mm(self, a, b):
        return self.round(rowwise_matmul(a, b))

    def add(self, a, b):
        return self.round(a + b)

    def sub(self, a, b):
        return self.round(a - b)

    def mul(self, a, b):
        return self.round(a * b)

    def tanh(self, a):
        return self.round(np.tanh(a))

    def exp(self, a):
        with np.errstate(over="ignore"):
            return self.round(np.exp(a))

    def sigmoid(self, a):
        """1 / (1 + e^{−a}), rounded after each of the three operations."""
        one = self.round(np.ones((), dtype=self.fmt.dtype))
        with np.errstate(divide="ignore"):
            return self.round(one / self.add(one, self.exp(-a)))

    def silu(self, a):
        return self.mul(a, self.sigmoid(a))

    def softplus(self, a):
        """log(1 + e^a), computed stably as max(a, 0) + log1p(e^{−|a|}), rounded at each step."""
        return self.add(self.round(np.maximum(a, 0)), self.round(np.log1p(self.exp(-np.abs(a)))))
