"""Kernel attention: the streaming layer is the dense model, the feature maps are what they claim,
the zero normaliser is guarded, every step is rounded, and bad shapes are refused."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commlab import InvalidParameter
from commlab.io.codecs import number_format
from commlab.models.hybrid import parse_pattern, random_hybrid_model
from commlab.models.kernel import FEATURE_MAPS, KernelAttention, random_kernel_model

F64 = number_format("float64")


def textbook_kernel_attention(fq, fk, v):
    """(B, H, n, r), (B, H, n, r), (B, H, n, m) → causal φψᵀ attention, 0 where the normaliser is 0."""
    weights = np.tril(np.einsum("bhnr,bhtr->bhnt", fq, fk))
    numerator, normaliser = weights @ v, weights.sum(-1, keepdims=True)
    safe = np.where(normaliser == 0, 1, normaliser)
    return np.where(normaliser == 0, 0, numerator / safe)


@settings(max_examples=40, deadline=None)
@given(
    features=st.sampled_from(FEATURE_MAPS),
    heads=st.integers(1, 3),
    width=st.integers(1, 5),
    rank=st.integers(1, 6),
    n=st.integers(1, 24),
    norm=st.booleans(),
    mlp=st.booleans(),
    seed=st.integers(0, 999),
)
def test_streaming_layer_agrees_with_its_dense_form_in_float64(features, heads, width, rank, n, norm, mlp, seed):
    rng = np.random.default_rng(seed)
    layer = KernelAttention.random(heads * width + 1, heads, width, rank, features, F64, rng, norm, mlp)
    x = rng.normal(size=(n, 3, heads * width + 1))
    streamed = layer.scan(x, layer.initial_state(3)).outputs
    dense = layer.dense(x)
    scale = max(1.0, np.abs(dense).max())
    assert np.abs(streamed - dense).max() <= 1e-9 * scale


@pytest.mark.parametrize("features", FEATURE_MAPS)
def test_attention_core_matches_a_textbook_formula(features):
    """Zero the MLP and use identity projections, so the block is x + attention(x): compare the
    attention with a formula written here, feature maps included."""
    rng = np.random.default_rng(3)
    heads, width, rank = 2, 3, 3  # elu needs key width = rank; 3 = 3 keeps one shape for all maps
    d = heads * width
    layer = KernelAttention.random(d, heads, width, rank, features, F64, rng, norm=False)
    params = dict(layer.params, W_q=np.eye(d), W_k=np.eye(d), W_v=np.eye(d), W_o=np.eye(d))
    params.update(W_1=np.zeros((d, d)), W_2=np.zeros((d, d)))
    layer = KernelAttention(d, heads, width, rank, features, F64, params, norm=False)
    x = rng.normal(size=(9, 2, d))
    heads_x = np.moveaxis(x.reshape(9, 2, heads, width), 0, 2)  # (B, H, n, m)
    if features == "elu":
        fq = fk = np.where(heads_x > 0, heads_x + 1, np.exp(heads_x))
    elif features == "given":
        fq = np.einsum("bhnm,hmr->bhnr", heads_x, params["phi"])
        fk = np.einsum("bhnm,hmr->bhnr", heads_x, params["psi"])
    else:
        scaled = heads_x / width**0.25
        proj = np.einsum("bhnm,hmr->bhnr", scaled, params["omega"])
        fq = fk = np.exp(proj - (scaled**2).sum(-1, keepdims=True) / 2) / np.sqrt(rank)
    expected = x + np.moveaxis(textbook_kernel_attention(fq, fk, heads_x), 2, 0).reshape(9, 2, d)
    got = layer.scan(x, layer.initial_state(2)).outputs
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


def test_performer_features_estimate_the_softmax_kernel():
    """FAVOR+ is unbiased for exp(q·k/√m): with r = 4096 orthogonal features the relative error
    has a standard deviation near 1 % at this scale (9 % with the sign bias of a raw QR)."""
    rng = np.random.default_rng(0)
    layer = KernelAttention.random(4, 1, 4, 4096, "performer", F64, rng, norm=False)
    q, k = rng.normal(size=(2, 20, 1, 4)) * 0.3
    estimate = np.einsum("br,br->b", layer.feature(q, "query")[:, 0], layer.feature(k, "key")[:, 0])
    relative = estimate / np.exp(np.einsum("bm,bm->b", q[:, 0], k[:, 0]) / 2) - 1
    assert np.abs(relative).max() < 0.04
    assert (layer.feature(rng.normal(size=(5, 1, 4)), "key") > 0).all()  # positive features


def test_zero_normaliser_gives_the_zero_vector_in_both_forms():
    """A given factorisation whose keys never match: φ(q)·Σψ(k) = 0, so the head outputs 0 and the
    block is the identity plus its (zeroed) MLP."""
    d = 2
    params = {
        "W_q": np.eye(d), "W_k": np.eye(d), "W_v": np.eye(d), "W_o": np.eye(d),
        "W_1": np.zeros((d, d)), "b_1": np.zeros(d), "W_2": np.zeros((d, d)), "b_2": np.zeros(d),
        "phi": np.array([[[1.0], [0.0]]]), "psi": np.array([[[0.0], [1.0]]]),
    }  # fmt: skip
    layer = KernelAttention(d, 1, d, 1, "given", F64, params, norm=False)
    x = np.tile(np.array([[1.0, 0.0]]), (4, 3, 1))  # ψ(k) = 0 everywhere: normaliser exactly 0
    assert np.array_equal(layer.scan(x, layer.initial_state(3)).outputs, x)
    assert np.array_equal(layer.dense(x), x)


def test_an_attention_only_block_has_no_mlp_weights_and_adds_only_the_attention():
    rng = np.random.default_rng(0)
    layer = KernelAttention.random(4, 2, 2, 3, "elu", F64, rng, norm=True, mlp=False)
    assert not {"W_1", "b_1", "W_2", "b_2", "ln2_g", "ln2_b"} & set(layer.params)
    x = rng.normal(size=(5, 3, 4))
    with_mlp = KernelAttention(4, 2, 2, 3, "elu", F64, {**layer.params, **{
        "W_1": np.zeros((4, 4)), "b_1": np.zeros(4), "W_2": np.zeros((4, 4)), "b_2": np.zeros(4),
        "ln2_g": np.ones(4), "ln2_b": np.zeros(4)}})  # fmt: skip
    # gelu(0) = 0, so a zero MLP adds nothing: the attention-only block is that block
    assert np.array_equal(layer.scan(x, layer.initial_state(3)).outputs, with_mlp.scan(x, with_mlp.initial_state(3)).outputs)


@pytest.mark.parametrize("fmt", ["float32", "float16", "bfloat16", "fixed16.8"])
def test_every_output_and_state_is_in_the_format(fmt):
    model = random_kernel_model(1, 2, 3, 4, 6, fmt, "performer", seed=1)
    layer, rounded = model.layers[0], number_format(fmt).round
    x = model.embed(np.random.default_rng(0).integers(0, 6, size=(4, 7)))
    scan = layer.scan(x, layer.initial_state(4))
    for value in (scan.outputs, *scan.state):
        np.testing.assert_array_equal(rounded(value), value)
    bits = layer.encode_state(scan.state)  # the codec refuses anything not exactly in the format
    assert bits.shape == (4, 2 * 4 * (3 + 1) * number_format(fmt).bits)


def test_state_size_is_h_r_m_plus_one_numbers():
    layer = random_kernel_model(1, 4, 32, 16, 10, "float32", "elu").layers[0]
    assert layer.state_numbers == 4 * 16 * 33 and layer.state_bits == 4 * 16 * 33 * 32


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"rank": 0}, "rank must be an integer >= 1, got 0"),
        ({"heads": 0, "rank": 0}, "heads must be .* got 0; rank must"),
        ({"features": "relu"}, "unknown feature map 'relu'"),
        ({"layers": 0}, "layers must be an integer >= 1"),
    ],
)
def test_bad_shapes_are_refused_naming_the_value(args, message):
    shape = {"layers": 1, "heads": 1, "width": 2, "rank": 2, "alphabet": 3, "features": "elu", **args}
    with pytest.raises(InvalidParameter, match=message):
        random_kernel_model(**shape)


def test_weights_of_the_wrong_shape_are_refused():
    rng = np.random.default_rng(0)
    layer = KernelAttention.random(4, 1, 4, 2, "elu", F64, rng)
    bad = dict(layer.params, W_q=np.zeros((4, 3)))
    bad.pop("b_2")
    with pytest.raises(InvalidParameter, match=r"missing b_2 .*W_q has shape \(4, 3\), expected \(4, 2\)"):
        KernelAttention(4, 1, 4, 2, "elu", F64, bad)


def test_hybrid_patterns():
    model = random_hybrid_model("lstm,kernel,mamba", width=4, rank=2, alphabet=5, heads=2)
    assert [layer.kind for layer in model.layers] == ["lstm", "kernel", "mamba"]
    assert model.layers[1].state_shapes == ((2, 2, 2), (2, 2))
    with pytest.raises(InvalidParameter, match="unknown layer kind\\(s\\) 'attn'"):
        parse_pattern("gru,attn")
    with pytest.raises(InvalidParameter, match="empty pattern"):
        parse_pattern([])
    with pytest.raises(InvalidParameter, match="multiple of heads"):
        random_hybrid_model("kernel", width=5, rank=2, alphabet=3, heads=2)
