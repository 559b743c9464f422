"""hop_k against a slow reference written straight from docs/theory.md §4 (1-based, Python loops)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commlab import InvalidParameter
from commlab.problems.hop import find_k, find_one, hop_k, hop_table, sample_hop_data


def slow_find(x, i, k):
    """find^k(i), 1-based, 0 for none: find¹(i) = max({0} ∪ {j ≤ i : X_{j−1} = X_i})."""
    for _ in range(k):
        if i == 0:
            return 0
        i = max([0] + [j for j in range(2, i + 1) if x[j - 2] == x[i - 1]])
    return i


def slow_hop(x, k):
    out = []
    for i in range(1, len(x) + 1):
        j = slow_find(x, i, k)
        out.append(x[j - 1] if j else -1)
    return out


sequences = st.integers(1, 6).flatmap(
    lambda a: st.one_of(
        st.lists(st.integers(0, a - 1), min_size=1, max_size=200),
        # long runs of repeats: fixed points of find¹
        st.lists(st.tuples(st.integers(0, a - 1), st.integers(1, 12)), min_size=1, max_size=20).map(
            lambda runs: [t for t, n in runs for _ in range(n)][:200]
        ),
    )
)


@settings(max_examples=300)
@given(x=sequences, k=st.integers(0, 20))
def test_hop_k_matches_the_definition(x, k):
    assert hop_k(np.array(x), k).tolist() == slow_hop(x, k)
    positions = find_k(np.array(x), k).tolist()
    assert positions == [slow_find(x, i, k) - 1 for i in range(1, len(x) + 1)]


@settings(max_examples=100)
@given(x=sequences, k_max=st.integers(0, 12), scale=st.sampled_from([1, 40000]))
def test_hop_table_and_batches_agree_with_single_calls(x, k_max, scale):
    """scale = 40000 pushes batch × alphabet above 2^16, onto find¹'s per-row sort."""
    x = [t * scale for t in x]
    batch = np.array([x, x[::-1]])
    table = hop_table(batch, k_max)
    for k in range(k_max + 1):
        assert table[k].tolist() == [slow_hop(x, k), slow_hop(x[::-1], k)]
        assert hop_k(batch, k).tolist() == table[k].tolist()


def test_worked_example_from_theory():
    x = np.array(["abcde".index(c) for c in "baebcabebdea"])
    show = lambda row: " ".join("abcde"[t] if t >= 0 else "⊥" for t in row)  # noqa: E731
    assert show(hop_k(x, 1)) == "⊥ ⊥ ⊥ a ⊥ e c b e ⊥ b b"
    assert show(hop_k(x, 2)) == "⊥ ⊥ ⊥ ⊥ ⊥ ⊥ ⊥ a b ⊥ e c"
    assert hop_k(x, 3)[-1] == -1
    assert hop_k(x, 0).tolist() == x.tolist()


def test_repeat_is_a_fixed_point():
    x = np.array([3, 1, 1])
    assert find_one(x).tolist() == [-1, -1, 2] and find_k(x, 7)[-1] == 2 and hop_k(x, 7)[-1] == 1


def test_large_tokens_and_single_symbol():
    x = np.array([70000, 5, 70000, 5])
    assert hop_k(x, 1).tolist() == [-1, -1, 5, 70000]
    assert hop_k(np.zeros(4, dtype=int), 3).tolist() == [-1, 0, 0, 0]


@pytest.mark.parametrize(
    "x,k,match",
    [
        (np.array([0.5]), 1, "integer"),
        (np.array([-1, 2]), 1, "non-negative"),
        (np.zeros((2, 2, 2), int), 1, "shape"),
        (np.array([1, 2]), -1, "k must"),
        # bool is an int subclass: True must not pass as k = 1 (issue 11 §1)
        (np.array([1, 2]), True, "not a bool"),
        (np.array([1, 2]), False, "not a bool"),
        (np.array([1, 2]), np.bool_(True), "not a bool"),
        (np.array([1, 2]), 1.0, "k must"),
    ],
)
def test_refusals(x, k, match):
    for function in (hop_k, find_k, hop_table):
        with pytest.raises(InvalidParameter, match=match):
            function(x, k)


@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 4), (70000, 0)])
def test_empty_inputs(shape):
    x = np.zeros(shape, dtype=np.int64)
    assert hop_k(x, 2).shape == find_k(x, 2).shape == find_one(x).shape == shape
    assert hop_table(x, 3).shape == (4, *shape)


@given(
    st.integers(2, 6),
    st.integers(1, 60),
    st.lists(st.integers(0, 8), min_size=1, max_size=3),
    st.integers(0, 99),
)
def test_sampled_data_has_no_equal_neighbours_and_right_targets(alphabet, length, ks, seed):
    data = sample_hop_data(7, length, alphabet, ks, seed)
    assert data.inputs.shape == (7, length) and data.inputs.max() < alphabet
    assert (data.inputs[:, 1:] != data.inputs[:, :-1]).all()
    assert set(data.k.tolist()) <= set(ks)
    for b in range(7):
        assert data.targets[b].tolist() == slow_hop(data.inputs[b].tolist(), int(data.k[b]))
    again = sample_hop_data(7, length, alphabet, ks, seed)
    assert np.array_equal(again.inputs, data.inputs) and np.array_equal(again.k, data.k)


def test_sampled_data_refusals():
    with pytest.raises(InvalidParameter, match="alphabet"):
        sample_hop_data(2, 5, 1, 1)
    with pytest.raises(InvalidParameter, match="k must"):
        sample_hop_data(2, 5, 3, [-1])


@settings(max_examples=60)
@given(x=sequences, copies=st.integers(1, 40), big=st.booleans())
def test_batched_sort_paths_agree_with_the_definition(x, copies, big):
    """Small batches take one radix sort over (row, token) keys, large alphabets a sort per row."""
    rng = np.random.default_rng(len(x) * copies)
    batch = np.array([rng.permutation(x) for _ in range(copies)])
    if big:
        batch = batch * 5000  # batch × alphabet above 2^16: the per-row path
    for row, found in zip(batch, find_one(batch), strict=True):
        assert found.tolist() == [slow_find(row.tolist(), i, 1) - 1 for i in range(1, len(row) + 1)]
