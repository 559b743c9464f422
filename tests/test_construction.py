"""The log-depth construction (docs/theory.md §8): exactly hop_k at every position, at exactly
2 + ⌈log₂ k⌉ layers, with its doubling pointers exposed; a shallower model fails, measurably."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commlab import InvalidParameter
from commlab.models.construction import (
    SCALE,
    build_hop_transformer,
    ceil_depth,
    floor_depth,
    load_hop_construction,
)
from commlab.problems.hop import find_k, hop_k
from commlab.problems.pointer_chasing import PointerChasing
from reductions.pointer_chasing import encode
from tests.test_hop import slow_hop


def random_batch(rng, count, length, alphabet, repeats):
    """Uniform tokens (repeats, fixed points included) or runs of one token (many fixed points)."""
    if not repeats:
        return rng.integers(0, alphabet, size=(count, length))
    runs = rng.integers(0, alphabet, size=(count, length))
    keep = rng.random((count, length)) < 0.5
    keep[:, 0] = False
    for t in range(1, length):
        runs[:, t] = np.where(keep[:, t], runs[:, t - 1], runs[:, t])
    return runs


def test_the_worked_example():
    x = np.array([["abcde".index(ch) for ch in "baebcabebdea"]])
    for k, expected in ((1, "⊥⊥⊥a⊥ecbe⊥bb"), (2, "⊥⊥⊥⊥⊥⊥⊥ab⊥ec")):
        out = build_hop_transformer(k, context=12, alphabet=5).predict(x)[0]
        assert "".join("abcde"[t] if t >= 0 else "⊥" for t in out) == expected
    assert build_hop_transformer(3, context=12, alphabet=5).predict(x)[0, -1] == -1


def test_equals_hop_k_on_thousands_of_sequences():
    """Every position of 3000 sequences: |Σ| 2..32, k 1..64, N up to 512, with repeats."""
    rng = np.random.default_rng(2024)
    checked = 0
    cases = [
        (int(rng.integers(1, 65)), int(rng.integers(2, 33)), int(rng.choice([8, 33, 64]))) for _ in range(58)
    ]
    cases += [(k, a, 512) for k, a in ((1, 2), (16, 32), (64, 3), (5, 7))]
    for i, (k, alphabet, length) in enumerate(cases):
        count = 60 if length < 512 else 5
        x = random_batch(rng, count, length, alphabet, repeats=i % 2 == 1)
        model = build_hop_transformer(k, context=length, alphabet=alphabet)
        assert model.layers == 2 + int(np.ceil(np.log2(k)))
        got = model.predict(x)
        assert np.array_equal(got, hop_k(x, k)), (k, alphabet, length)
        checked += count
    assert checked >= 3000


@settings(max_examples=60)
@given(
    st.integers(1, 40),
    st.integers(1, 6).flatmap(lambda a: st.lists(st.integers(0, a - 1), min_size=1, max_size=40)),
)
def test_equals_the_slow_reference(k, tokens):
    """Against a Python-loop reference written from the 1-based definition (edge cases: N = 1,
    one symbol, all repeats)."""
    model = build_hop_transformer(k, context=40, alphabet=6)
    assert model.predict(np.array([tokens])).tolist()[0] == slow_hop(tokens, k)


def test_shorter_sequences_than_the_context():
    model = build_hop_transformer(6, context=100, alphabet=4)
    x = np.random.default_rng(1).integers(0, 4, size=(30, 17))
    assert np.array_equal(model.predict(x), hop_k(x, 6))


@pytest.mark.parametrize("k", [2, 3, 4])
def test_on_encoded_pointer_chasing(k):
    """The answer hop_k(X)_N is the pointer-chasing answer; every other position is hop_k too."""
    enc = encode(PointerChasing.random(8, k, 200, seed=k))
    model = build_hop_transformer(k, context=enc.tokens.shape[1], alphabet=enc.alphabet)
    got = model.predict(enc.tokens)
    assert np.array_equal(got, hop_k(enc.tokens, k))
    assert np.array_equal(got[:, -1], enc.answer)


def test_depth_rule():
    assert [ceil_depth(k) for k in range(1, 10)] == [2, 3, 4, 4, 5, 5, 5, 5, 6]
    assert [floor_depth(k) for k in range(1, 10)] == [2, 3, 3, 4, 4, 4, 4, 5, 5]
    assert all(build_hop_transformer(k, 8, 3).layers == ceil_depth(k) for k in range(1, 65))


def test_pointers_double_layer_by_layer():
    rng = np.random.default_rng(3)
    x = random_batch(rng, 40, 200, 3, repeats=True)
    model = build_hop_transformer(13, context=200, alphabet=3)
    pointers = model.pointers(x)
    assert sorted(pointers) == [1, 2, 4, 8, 16]
    for hops, found in pointers.items():
        assert np.array_equal(found, find_k(x, hops)), hops


def test_the_floor_form_fails_where_it_differs():
    """k = 3 with ⌊log₂ 3⌋ + 2 = 3 layers reaches only 2 hops: it computes hop_2, not hop_3."""
    rng = np.random.default_rng(4)
    x = rng.integers(0, 4, size=(200, 64))
    shallow = build_hop_transformer(3, context=64, alphabet=4, layers=floor_depth(3))
    assert shallow.layers == 3 and shallow.reached == 2 and not shallow.exact_depth
    got = shallow.predict(x)
    assert np.array_equal(got, hop_k(x, 2))
    accuracy = np.mean(got == hop_k(x, 3))
    assert accuracy < 0.5  # measured 0.355 at this (N, |Σ|, seed): most positions differ


def test_deeper_than_needed_is_still_exact():
    x = np.random.default_rng(5).integers(0, 3, size=(20, 50))
    model = build_hop_transformer(3, context=50, alphabet=3, layers=7)
    assert np.array_equal(model.predict(x), hop_k(x, 3))


def test_attention_is_exactly_one_hot():
    """The scale makes every non-argmax weight underflow to 0.0: the stream stays integer."""
    assert SCALE > 745.2 and np.exp(-SCALE) == 0.0
    x = np.random.default_rng(6).integers(0, 5, size=(10, 80))
    streams = build_hop_transformer(9, context=80, alphabet=5).model.forward(x, keep=True).streams
    for stream in streams:
        assert np.array_equal(stream, np.rint(stream))


def test_save_and_load(tmp_path):
    model = build_hop_transformer(5, context=30, alphabet=4)
    model.save(tmp_path / "hop5.npz")
    again = load_hop_construction(tmp_path / "hop5.npz")
    x = np.random.default_rng(7).integers(0, 4, size=(20, 30))
    assert (again.k, again.reached, again.layers) == (5, 5, 5)
    assert np.array_equal(again.predict(x), hop_k(x, 5))
    assert all(np.array_equal(again.pointers(x)[h], model.pointers(x)[h]) for h in model.pointer_slots)


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"k": 0, "context": 8, "alphabet": 2}, "k must"),
        ({"k": 2, "context": 0, "alphabet": 2}, "context"),
        ({"k": 2, "context": 8, "alphabet": 2, "layers": 1}, "layers"),
        ({"k": 2, "context": 10**7, "alphabet": 4}, "exact float64"),
    ],
)
def test_bad_parameters(kwargs, word):
    with pytest.raises(InvalidParameter, match=word):
        build_hop_transformer(**kwargs)


def test_tokens_outside_the_alphabet_or_context():
    model = build_hop_transformer(2, context=5, alphabet=3)
    with pytest.raises(InvalidParameter, match="alphabet"):
        model.predict(np.array([[0, 3]]))
    with pytest.raises(InvalidParameter, match="context"):
        model.predict(np.zeros((1, 6), dtype=int))


def cli(capsys, *args):
    from commlab.cli import main

    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_construct_hop_json(capsys, tmp_path):
    code, out, err = cli(
        capsys,
        "construct",
        "hop",
        "--k",
        "5",
        "--n",
        "40",
        "--alphabet",
        "3",
        "--trials",
        "30",
        "--json",
        "--save",
        str(tmp_path / "w.npz"),
    )
    assert code == 0 and err == ""
    r = json.loads(out)
    for key in ("k", "layers", "n", "alphabet", "trials", "accuracy", "accuracy_ci", "depth_rule", "seed"):
        assert key in r
    assert (r["k"], r["layers"], r["depth_rule"], r["accuracy"]) == (5, 5, "2 + ceil(log2 k)", 1.0)
    assert r["floor_form"]["layers"] == 4 and r["floor_form"]["reached"] == 4
    assert r["floor_form"]["position_accuracy"] < 1
    assert load_hop_construction(tmp_path / "w.npz").k == 5


def test_cli_construct_hop_floor_form_reports_its_failure(capsys):
    code, out, _ = cli(
        capsys,
        "construct",
        "hop",
        "--k",
        "3",
        "--layers",
        "3",
        "--n",
        "64",
        "--alphabet",
        "4",
        "--trials",
        "100",
        "--json",
    )
    r = json.loads(out)
    assert code == 0 and r["depth_rule"] == "floor(log2 k) + 2" and r["reached"] == 2
    assert r["accuracy_ci"][1] < 0.05 and r["last_position_accuracy_ci"][1] < 2 / 3


@pytest.mark.parametrize("args", [["--k", "0"], ["--alphabet", "0"], ["--layers", "1"], ["--trials", "0"]])
def test_cli_construct_hop_bad_values(capsys, args):
    code, out, err = cli(capsys, "construct", "hop", "--n", "8", *args)
    assert code == 2 and out == "" and err.count("\n") == 1 and "Error" in err
