"""Pointer-chasing instances: the distribution, the answer, and the validation of user input."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from commlab import InvalidInstance, InvalidParameter
from commlab.problems.pointer_chasing import PointerChasing, check_parameters


def slow_answer(edges, start, in_second):
    """One instance, followed edge by edge with Python ints."""
    v = int(start)
    for layer in edges:
        v = int(layer[v])
    return int(in_second[v])


@given(q=st.integers(1, 20).map(lambda h: 2 * h), k=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_random_instances_are_valid_and_answers_match_a_slow_walk(q, k, seed):
    inst = PointerChasing.random(q, k, batch=5, seed=seed)
    assert inst.edges.shape == (5, k, q)
    assert (np.sort(inst.edges, axis=2) == np.arange(q)).all()
    assert (inst.in_second.sum(axis=1) == q // 2).all() and (inst.start == 0).all()
    answers = inst.answer()
    for b in range(5):
        assert answers[b] == slow_answer(inst.edges[b], inst.start[b], inst.in_second[b])


def test_same_seed_same_instances_and_answer_bit_is_balanced():
    a, b = PointerChasing.random(64, 3, 2000, seed=11), PointerChasing.random(64, 3, 2000, seed=11)
    assert np.array_equal(a.edges, b.edges) and np.array_equal(a.in_second, b.in_second)
    assert 0.45 < a.answer().mean() < 0.55


def test_player_inputs_give_each_player_its_own_layer():
    inst = PointerChasing.random(8, 3, 4, seed=0)
    inputs = inst.player_inputs()
    assert len(inputs) == 3
    for j, own in enumerate(inputs):
        assert np.array_equal(own["edges"], inst.edges[:, j])
        assert np.array_equal(own["start"], inst.start)


def test_refuses_a_layer_that_is_not_a_bijection_and_reports_every_problem():
    inst = PointerChasing.random(4, 2, 3, seed=0)
    edges = inst.edges.copy()
    edges[1, 1, 0] = edges[1, 1, 1]
    with pytest.raises(InvalidInstance, match="layer E_2 of instance 1 is not a bijection"):
        PointerChasing(edges, inst.start, inst.in_second)
    bad_partition = inst.in_second.copy()
    bad_partition[0] = True
    with pytest.raises(InvalidInstance, match=r"bijection.*exactly q/2"):
        PointerChasing(edges, inst.start, bad_partition)


@pytest.mark.parametrize(
    "edges,start,in_second,match",
    [
        (np.zeros((1, 2)), np.zeros(1, int), np.zeros((1, 2), bool), "shape"),
        (np.array([[[0, 1, 2]]]), np.zeros(1, int), np.zeros((1, 3), bool), "q must be even"),
        (np.array([[[0, 5]]]), np.zeros(1, int), np.array([[True, False]]), "0..1"),
        (np.array([[[0, 1]]]), np.array([2]), np.array([[True, False]]), "start vertices"),
        (np.array([[[0, 1]]]), np.array([0]), np.array([[1, 0]]), "bool array"),
    ],
)
def test_refuses_malformed_arrays(edges, start, in_second, match):
    with pytest.raises(InvalidInstance, match=match):
        PointerChasing(edges, start, in_second)


@pytest.mark.parametrize(
    "q,k,batch,match", [(7, 2, 1, "even"), (0, 2, 1, "even"), (2, 0, 1, "k must"), (4, 2, 0, "trials")]
)
def test_refuses_bad_parameters(q, k, batch, match):
    with pytest.raises(InvalidParameter, match=match):
        check_parameters(q, k, batch)
    with pytest.raises(InvalidParameter):
        PointerChasing.random(q, k, batch)
