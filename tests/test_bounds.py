"""The lower bounds, checked against hand computations."""

import math

import pytest
import sympy as sp

from commlab import BoundInconsistency, InvalidParameter
from commlab.analysis.bounds import BOUNDS, N, c, check_measurement, critical_length, get_bound, k, q, s


def test_statements():
    assert sp.simplify(get_bound("assadi-n").required - c * q / k**5) == 0
    assert sp.simplify(get_bound("hop-k").required - c * N / k**6) == 0
    assert get_bound("cot").text() == "T + 1 >= k  or  H*m*p >= N*c/k**6"
    assert r"\frac{c q}{k^{5}}" in get_bound("assadi-n").latex()


def test_values_by_hand():
    assert get_bound("assadi-n").required_bits(q=1024, k=2) == 1024 / 32
    assert get_bound("hop-k").required_bits(N=100000, k=8, c=2) == pytest.approx(2 * 100000 / 8**6)
    assert get_bound("rnn").critical_value(m=64, p=32, k=4) == 64 * 32 * 4**6
    assert (
        get_bound("kernel").critical_value(m=16, r=8, H=2, p=16, k=3, c=0.5) == 16 * 8 * 2 * 16 * 3**6 / 0.5
    )
    assert critical_length(10, 2, 4) == 10 * 64 / 4
    assert sp.simplify(get_bound("hop-k").critical() - s * k**6 / c) == 0


def test_longformer_critical_length_and_when_it_never_binds():
    bound = get_bound("longformer")
    # cN/k^6 = (w + N/(gk)) m H p  =>  N* = w m H p / (c/k^6 - m H p/(g k))
    w_, m_, h_, p_, g_, k_ = 4, 2, 1, 8, 10**6, 2
    expected = w_ * m_ * h_ * p_ / (1 / k_**6 - m_ * h_ * p_ / (g_ * k_))
    assert bound.critical_value(w=w_, m=m_, H=h_, p=p_, g=g_, k=k_) == pytest.approx(expected)
    assert math.isinf(bound.critical_value(w=4, m=8, H=1, p=16, g=100, k=2))


def test_applies_only_below_k_rounds():
    assert get_bound("rnn").applies(L=3, k=4) and not get_bound("rnn").applies(L=4, k=4)


def test_measurements_below_the_bound_are_refused():
    check_measurement("hop-k", success=0.9, bits=16, rounds=1, N=1000, k=2)  # needs 1000/64 = 15.6 bits
    with pytest.raises(BoundInconsistency, match="bits went uncounted"):
        check_measurement("hop-k", success=0.9, bits=2, rounds=1, N=10**6, k=2)
    check_measurement("hop-k", success=0.5, bits=0, rounds=1, N=10**6, k=2)  # no claim of success
    check_measurement("hop-k", success=1.0, bits=0, rounds=2, N=10**6, k=2)  # enough rounds


def test_bad_values():
    with pytest.raises(InvalidParameter, match="unknown bound"):
        get_bound("mystery")
    with pytest.raises(InvalidParameter, match="positive"):
        get_bound("hop-k").required_bits(N=-1, k=2)
    with pytest.raises(InvalidParameter, match="unknown symbol"):
        get_bound("hop-k").required_bits(Z=1, k=2)
    assert set(BOUNDS) == {"assadi-n", "hop-k", "rnn", "kernel", "longformer", "cot"}


def test_evaluate_all():
    from commlab.analysis.bounds import evaluate_all

    rows = {row["name"]: row for row in evaluate_all(4, 1000, c_value=2)}
    assert rows["assadi-n"]["q"] == 125 and rows["assadi-n"]["required_bits"] == pytest.approx(2 * 125 / 4**5)
    assert rows["cot"]["required_bits"] == pytest.approx(2 * 1000 / 4**6)
    with pytest.raises(InvalidParameter):
        evaluate_all(0, 10)


def test_needed_parameters_by_hand():
    assert get_bound("rnn").needed("m", N=10**6, k=4, p=16, c=2) == pytest.approx(2 * 10**6 / 4**6 / 16)
    assert get_bound("kernel").needed("r", N=10**6, k=3, m=8, H=2, p=16) == pytest.approx(
        10**6 / 3**6 / (8 * 2 * 16)
    )
    assert get_bound("cot").needed("T", k=7) == 6.0  # N_CoT + 1 >= k (corrected)
    assert get_bound("rnn").needed("L", k=5) == 5.0
    with pytest.raises(InvalidParameter, match="has no parameter 'r'"):
        get_bound("rnn").needed("r", k=2)


def test_needed_window_is_zero_when_global_tokens_suffice():
    # (w + N/(gk))·mHp >= cN/k^6 holds with w = 0 once N/(gk)·mHp alone exceeds the bound
    assert get_bound("longformer").needed("w", N=10**4, k=2, m=8, H=1, p=16, g=10) == 0.0
    w = get_bound("longformer").needed("w", N=10**6, k=2, m=1, H=1, p=1, g=10**6)
    assert w == pytest.approx(10**6 / 2**6 - 10**6 / (10**6 * 2))
