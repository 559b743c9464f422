"""The shared attention blocks against textbook formulas written independently here."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import softmax

from commlab.io.codecs import number_format
from commlab.models.arith import Arith
from commlab.models.ops import attention, causal_mask, gelu_new, layer_norm

F64 = Arith(number_format("float64"))


def reference_attention(q, k, v, allowed, scale):
    scores = np.einsum("...nd,...td->...nt", q, k) * scale
    scores = np.where(allowed, scores, -np.inf)
    return np.einsum("...nt,...te->...ne", softmax(scores, axis=-1), v)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 12), d=st.integers(1, 5), window=st.none() | st.integers(1, 6), seed=st.integers(0, 99)
)
def test_attention_matches_textbook_softmax(n, d, window, seed):
    rng = np.random.default_rng(seed)
    q, k, v = (rng.normal(size=(2, n, d)) * 3 for _ in range(3))
    allowed = causal_mask(n, window=window)
    expected = reference_attention(q, k, v, allowed, 1 / math.sqrt(d))
    np.testing.assert_allclose(attention(F64, q, k, v, allowed), expected, rtol=1e-12, atol=1e-12)


def test_mask_with_globals_keeps_global_positions_visible():
    allowed = causal_mask(8, window=2, globals_every=3)
    assert allowed[7].nonzero()[0].tolist() == [2, 5, 6, 7]
    assert not allowed[np.triu_indices(8, 1)].any()


def test_layer_norm_and_gelu_match_formulas():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 7))
    gain, bias = rng.normal(size=7), rng.normal(size=7)
    expected = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5) * gain + bias
    np.testing.assert_allclose(layer_norm(F64, x, gain, bias), expected, rtol=1e-12)
    gelu = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    np.testing.assert_allclose(gelu_new(F64, x), gelu, rtol=1e-12)


@pytest.mark.parametrize("fmt", ["float32", "float16", "bfloat16", "fixed16.8"])
def test_every_step_is_rounded_to_the_format(fmt):
    a = Arith(number_format(fmt))
    rng = np.random.default_rng(2)
    q = a(rng.normal(size=(4, 6, 3)).astype(number_format(fmt).dtype))
    out = attention(a, q, q, q, causal_mask(6))
    np.testing.assert_array_equal(a(out), out)
    assert (
        np.abs(out - attention(F64, q.astype(float), q.astype(float), q.astype(float), causal_mask(6))).max()
        < 0.1
    )


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 30), e=st.integers(1, 4), spread=st.floats(0.1, 200), seed=st.integers(0, 99))
def test_online_softmax_streamed_left_to_right_is_the_softmax(n, e, spread, seed):
    from commlab.models.ops import online_softmax_step

    rng = np.random.default_rng(seed)
    scores, values = rng.normal(size=(n, 3)) * spread, rng.normal(size=(n, 3, e))
    state = (np.full(3, -np.inf), np.zeros(3), np.zeros((3, e)))
    for t in range(n):
        state = online_softmax_step(F64, state, scores[t], values[t])
    expected = np.einsum("nb,nbe->be", softmax(scores, axis=0), values)
    np.testing.assert_allclose(state[2] / state[1][:, None], expected, rtol=1e-10, atol=1e-12)
    assert np.array_equal(state[0], scores.max(axis=0))


@pytest.mark.parametrize("fmt", ["float16", "bfloat16", "fixed16.8"])
def test_online_softmax_rounds_every_step_and_never_touches_infinity_in_fixed_point(fmt):
    from commlab.models.ops import online_softmax_step

    number = number_format(fmt)
    a = Arith(number)
    rng = np.random.default_rng(0)
    state = (
        np.full(4, -np.inf, dtype=number.dtype),
        np.zeros(4, number.dtype),
        np.zeros((4, 2), number.dtype),
    )
    for _ in range(6):
        score, value = a(rng.normal(size=4) * 3), a(rng.normal(size=(4, 2)))
        state = online_softmax_step(a, state, score, value)
        for part in state:
            np.testing.assert_array_equal(a(part), part)
    assert np.all(state[1] >= 1)  # the maximum's own weight is e⁰ = 1
