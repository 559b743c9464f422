"""Prop E.4 (corrected): decode(hop_k(encode(I))) is the pointer-chasing answer of I."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commlab import InvalidInstance, InvalidParameter
from commlab.problems.hop import find_one, hop_k
from commlab.problems.pointer_chasing import PointerChasing
from reductions.pointer_chasing import answer_tokens, decode, encode, player_blocks


@settings(max_examples=200)
@given(q=st.integers(1, 32).map(lambda h: 2 * h), k=st.integers(1, 12), seed=st.integers(0, 2**32 - 1))
def test_hop_k_of_the_encoding_answers_pointer_chasing(q, k, seed):
    inst = PointerChasing.random(q, k, batch=20, seed=seed)  # 200 draws x 20 = 4000 instances
    enc = encode(inst)
    assert enc.tokens.shape == (20, 2 * k * q + 1)
    assert enc.tokens.min() >= 0 and enc.tokens.max() < enc.alphabet == 2 * q + 2
    last = hop_k(enc.tokens, k)[:, -1]
    assert np.array_equal(last, enc.answer)
    assert np.array_equal(decode(last, q), inst.answer())


@given(q=st.integers(1, 16).map(lambda h: 2 * h), k=st.integers(1, 6), seed=st.integers(0, 999))
def test_any_start_vertex_is_relabelled(q, k, seed):
    inst = PointerChasing.random(q, k, batch=6, seed=seed)
    start = np.random.default_rng(seed).integers(0, q, size=6)
    moved = PointerChasing(inst.edges, start, inst.in_second)
    enc = encode(moved)
    assert (enc.tokens[:, -1] == 0).all()
    assert np.array_equal(decode(hop_k(enc.tokens, k)[:, -1], q), moved.answer())


@pytest.mark.parametrize("q,k", [(2, 1), (4, 3), (6, 5)])
def test_corrected_find_one_of_the_last_position(q, k):
    enc = encode(PointerChasing.random(q, k, batch=3, seed=1))
    # docs/theory.md §5 (corrected): find¹(N) = 2(k−1)q + 2, 1-based, i.e. 2(k−1)q + 1 0-based.
    assert (find_one(enc.tokens)[:, -1] == 2 * (k - 1) * q + 1).all()


def test_layout_and_blocks():
    q, k = 2, 2
    inst = PointerChasing(np.array([[[1, 0], [0, 1]]]), np.array([0]), np.array([[False, True]]))
    enc = encode(inst)
    # B_2: even sources 2,3 -> answer tokens (4 for V¹, 5 for V²); B_1: 0->3, 1->2; then v = 0.
    assert enc.tokens.tolist() == [[2, 4, 3, 5, 0, 3, 1, 2, 0]]
    assert enc.answer.tolist() == [5] and inst.answer().tolist() == [1]  # path 0 -> 1 -> 1 ∈ V²
    assert enc.blocks == player_blocks(q, k) == [(0, 4), (4, 9)]
    assert [x.tolist() for x in enc.player_inputs()] == [[[0, 3, 1, 2, 0]], [[2, 4, 3, 5]]]
    assert answer_tokens(q) == (4, 5)


def test_a_repeated_target_is_refused():
    with pytest.raises(InvalidInstance, match="not a bijection"):
        encode(PointerChasing(np.array([[[1, 1]]]), np.array([0]), np.array([[False, True]])))
    with pytest.raises(InvalidParameter, match="PointerChasing"):
        encode(np.zeros((1, 1, 2), int))


def test_decode_marks_non_answers():
    assert decode(np.array([4, 5, -1, 0, 6]), q=2).tolist() == [0, 1, -1, -1, -1]
