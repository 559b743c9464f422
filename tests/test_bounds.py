"""The lower bounds, checked against hand computations."""

import math

import pytest
import sympy as sp

from commlab import InvalidParameter
from commlab.analysis.bounds import (
    ASSADI_N,
    BOUNDS,
    N,
    c,
    constant_ceiling,
    critical_length,
    evaluate_all,
    get_bound,
    k,
    q,
    s,
)


def test_one_constant_the_theorems():
    # Assadi–N's c·q/k⁵, and every N-form is the same inequality at q = N/(2k): c·N/(2k⁶).
    assert sp.simplify(get_bound("assadi-n").required - c * q / k**5) == 0
    for name in ("hop-k", "rnn", "kernel", "longformer", "cot"):
        bound = get_bound(name)
        assert sp.simplify(bound.required - c * N / (2 * k**6)) == 0, name
        assert sp.simplify(bound.required - ASSADI_N.subs(q, N / (2 * k))) == 0, name
    # At N = 2kq + 1 the two forms agree up to c/(2k⁶) bits.
    q_, k_ = 64, 4
    n_ = 2 * k_ * q_ + 1
    gap = get_bound("hop-k").required_bits(N=n_, k=k_) - get_bound("assadi-n").required_bits(q=q_, k=k_)
    assert gap == pytest.approx(1 / (2 * k_**6))


def test_statements_show_the_conversion():
    assert get_bound("assadi-n").text() == "R >= k  or  s >= c*q/k**5"
    assert get_bound("cot").text() == "T + 1 >= k  or  H*m*p >= N*c/(2*k**6)  (= c*q/k**5 at q = N/(2*k))"
    latex = get_bound("rnn").latex()
    assert r"\frac{N c}{2 k^{6}}" in latex and r"\frac{c q}{k^{5}}" in latex and r"q = \frac{N}{2k}" in latex


def test_values_by_hand():
    assert get_bound("assadi-n").required_bits(q=1024, k=2) == 1024 / 32
    assert get_bound("hop-k").required_bits(N=100000, k=8, c=2) == pytest.approx(2 * 100000 / (2 * 8**6))
    assert get_bound("rnn").critical_value(m=64, p=32, k=4) == 2 * 64 * 32 * 4**6
    assert (
        get_bound("kernel").critical_value(m=16, r=8, H=2, p=16, k=3, c=0.5)
        == 2 * 16 * 8 * 2 * 16 * 3**6 / 0.5
    )
    assert critical_length(10, 2, 4) == 2 * 10 * 64 / 4
    assert sp.simplify(get_bound("hop-k").critical() - 2 * s * k**6 / c) == 0


def test_longformer_critical_length_and_when_it_never_binds():
    bound = get_bound("longformer")
    # cN/(2k^6) = (w + N/(gk)) m H p  =>  N* = w m H p / (c/(2k^6) - m H p/(g k))
    w_, m_, h_, p_, g_, k_ = 4, 2, 1, 8, 10**6, 2
    expected = w_ * m_ * h_ * p_ / (1 / (2 * k_**6) - m_ * h_ * p_ / (g_ * k_))
    assert bound.critical_value(w=w_, m=m_, H=h_, p=p_, g=g_, k=k_) == pytest.approx(expected)
    assert math.isinf(bound.critical_value(w=4, m=8, H=1, p=16, g=100, k=2))


def test_applies_on_every_rounds_symbol():
    assert get_bound("rnn").applies(L=3, k=4) and not get_bound("rnn").applies(L=4, k=4)
    assert get_bound("assadi-n").applies(R=3, k=4) and not get_bound("hop-k").applies(R=4, k=4)
    assert get_bound("cot").applies(T=2, k=4) and not get_bound("cot").applies(T=3, k=4)
    with pytest.raises(InvalidParameter, match="needs a value for L"):
        get_bound("rnn").applies(k=4)


def test_vacuous_bounds_are_flagged():
    rows = evaluate_all(8, 100000)
    assert all(row["vacuous"] for row in rows)  # every requirement is 0.19 bits < 1
    assert all(row["required_bits"] < 1 for row in rows)
    assert not any(row["vacuous"] for row in evaluate_all(2, 10**6))  # 10⁶/128 = 7812 bits
    assert get_bound("assadi-n").is_vacuous(q=32, k=2) and not get_bound("assadi-n").is_vacuous(q=33, k=2)


def test_constant_ceiling_is_s_k5_over_q():
    ceiling = constant_ceiling(
        "indicator", q=64, k=4, rounds=1, bits_per_message=143, success=1.0, success_ci=(0.98, 1.0)
    )
    assert ceiling.c_max == pytest.approx(143 * 4**5 / 64)
    # at c = c_max the bound demands exactly the bits the run used
    assert get_bound("assadi-n").required_bits(q=64, k=4, c=ceiling.c_max) == pytest.approx(143)
    with pytest.raises(InvalidParameter, match="says nothing about c"):
        constant_ceiling("chase", q=64, k=4, rounds=4, bits_per_message=6, success=1, success_ci=(0.98, 1))
    with pytest.raises(InvalidParameter, match="not established"):
        constant_ceiling("x", q=64, k=4, rounds=1, bits_per_message=6, success=0.7, success_ci=(0.6, 0.8))


def test_bad_values():
    with pytest.raises(InvalidParameter, match="unknown bound"):
        get_bound("mystery")
    with pytest.raises(InvalidParameter, match="positive"):
        get_bound("hop-k").required_bits(N=-1, k=2)
    with pytest.raises(InvalidParameter, match="unknown symbol"):
        get_bound("hop-k").required_bits(Z=1, k=2)
    for bad in (math.inf, math.nan, 0, -1):
        with pytest.raises(InvalidParameter, match=f"c must be a positive finite number, got {bad}"):
            get_bound("hop-k").required_bits(N=1000, k=2, c=bad)
        with pytest.raises(InvalidParameter, match="n must be a positive finite number"):
            evaluate_all(8, bad)
    with pytest.raises(InvalidParameter, match="shorter than one layer"):
        evaluate_all(8, 10)
    assert set(BOUNDS) == {"assadi-n", "hop-k", "rnn", "kernel", "longformer", "cot"}


def test_evaluate_all():
    rows = {row["name"]: row for row in evaluate_all(4, 1000, c_value=2)}
    assert rows["assadi-n"]["q"] == 125 and rows["assadi-n"]["required_bits"] == pytest.approx(2 * 125 / 4**5)
    assert rows["cot"]["required_bits"] == pytest.approx(2 * 1000 / (2 * 4**6))
    with pytest.raises(InvalidParameter):
        evaluate_all(0, 10)


def test_needed_parameters_by_hand():
    needed = get_bound("rnn").needed("m", N=10**6, k=4, p=16, c=2)
    assert needed.at_least and float(needed) == pytest.approx(2 * 10**6 / (2 * 4**6) / 16)
    assert float(get_bound("kernel").needed("r", N=10**6, k=3, m=8, H=2, p=16)) == pytest.approx(
        10**6 / (2 * 3**6) / (8 * 2 * 16)
    )
    assert str(get_bound("cot").needed("T", k=7)) == "T >= 6"  # N_CoT + 1 >= k (corrected)
    assert float(get_bound("rnn").needed("L", k=5)) == 5.0
    with pytest.raises(InvalidParameter, match="has no parameter 'r'"):
        get_bound("rnn").needed("r", k=2)


def test_needed_global_spacing_is_an_upper_limit():
    # The message (w + N/(gk))·mHp shrinks as g grows: g escapes the bound up to g*, not from it.
    values = {"N": 10**7, "k": 2, "w": 1, "m": 1, "H": 1, "p": 1}
    needed = get_bound("longformer").needed("g", **values)
    required = 10**7 / (2 * 2**6)
    assert not needed.at_least and needed.value == pytest.approx(10**7 / (2 * (required - 1)))
    assert str(needed).startswith("g <= ")

    def message(g_):
        return (1 + 10**7 / (g_ * 2)) * 1

    assert message(0.99 * needed.value) > required > message(1.01 * needed.value)


def test_needed_window_is_zero_when_global_tokens_suffice():
    # (w + N/(gk))·mHp >= cN/(2k^6) holds with w = 0 once N/(gk)·mHp alone exceeds the bound
    assert float(get_bound("longformer").needed("w", N=10**4, k=2, m=8, H=1, p=16, g=10)) == 0.0
    w_ = get_bound("longformer").needed("w", N=10**6, k=2, m=1, H=1, p=1, g=10**6)
    assert float(w_) == pytest.approx(10**6 / (2 * 2**6) - 10**6 / (10**6 * 2))
    # g never escapes when even g → 0 ... is impossible; a bound met by the window alone: g <= inf
    assert get_bound("longformer").needed("g", N=10**4, k=2, w=10**4, m=1, H=1, p=1).value == math.inf


# --- the `commlab bound` command -------------------------------------------------------------------


def _cli(capsys, *args):
    from commlab.cli import main

    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("option", "value"),
    [("--n", "inf"), ("--n", "nan"), ("--c", "inf"), ("--c", "nan"), ("--c", "0"), ("--c", "-1")],
)
def test_bound_cli_refuses_non_finite_and_non_positive_values(capsys, option, value):
    args = {"--k": "8", "--n": "100000", "--c": "1", option: value}
    code, out, err = _cli(capsys, "bound", *[x for pair in args.items() for x in pair])
    name = option[2:]
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"{name} must be a positive finite number, got {float(value)}" in err


def test_bound_cli_model_c_inf_is_refused(capsys):
    code, out, err = _cli(capsys, "bound", "--model", "rnn", "--c", "inf")
    assert code == 2 and out == "" and "c must be a positive finite number, got inf" in err


def test_bound_cli_says_vacuous(capsys):
    import json

    code, out, _ = _cli(capsys, "bound", "--k", "8", "--n", "100000", "--json")
    result = json.loads(out)
    assert code == 0 and result["vacuous"] and all(row["vacuous"] for row in result["bounds"])
    code, out, _ = _cli(capsys, "bound", "--k", "8", "--n", "100000")
    assert "VACUOUS" in out and "forbids nothing" in out
    code, out, _ = _cli(capsys, "bound", "--k", "2", "--n", "1000000", "--json")
    assert not json.loads(out)["vacuous"]


def test_bound_cli_model_builds_no_weights(capsys, monkeypatch):
    import json

    import commlab.models.model

    def refuse(*args, **kwargs):
        raise AssertionError("bound --model must not build weights")

    monkeypatch.setattr(commlab.models.model, "random_recurrent_model", refuse)
    monkeypatch.setattr(commlab.models, "random_recurrent_model", refuse)
    code, out, _ = _cli(capsys, "bound", "--model", "rnn", "--state", "30000", "--cell", "lstm", "--json")
    result = json.loads(out)
    assert code == 0 and result["declared_bits_per_message"] == 2 * 30000 * 32  # h and c, float32
    assert result["bounds"][0]["critical_N"] == 2 * 2 * 30000 * 32 * 4**6  # N* = 2·s·k⁶/c at k = 4


@pytest.mark.parametrize("cell", ["elman", "gru", "lstm", "ssm", "mamba", "binary"])
def test_state_bits_from_shapes_match_a_built_model(cell):
    from commlab.models import random_recurrent_model
    from reductions.rnn import state_bits

    model = random_recurrent_model(cell, 1, 5, 4, "bfloat16")
    assert state_bits(cell, 5, "bfloat16") == model.layers[0].state_bits
