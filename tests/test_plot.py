"""Figures: every figure draws from its data, saves in every format, and plots what it measured."""

import json

import pytest

from commlab import InvalidParameter
from commlab.cli._output import to_jsonable
from commlab.figures.plot import FIGURES, draw, make_figure, save

SMALL = {
    "tradeoff": {"k": 3, "trials": 60, "q_values": (8, 16)},
    "frontier": {"q": 16, "k": 3, "trials": 60},
    "solvers": {"q": 8, "k": 3, "trials": 40, "windows": (0, 24, 49)},
    "example": {},
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_figure_draws_and_saves(name, tmp_path):
    fig, data = make_figure(name, **SMALL[name])
    assert data["figure"] == name and json.loads(json.dumps(to_jsonable(data)))
    for suffix in ("png", "pdf", "svg"):
        assert save(draw(data), str(tmp_path / f"{name}.{suffix}")).endswith(suffix)
    assert (tmp_path / f"{name}.png").stat().st_size > 1000


def test_tradeoff_numbers():
    _, data = make_figure("tradeoff", **SMALL["tradeoff"])
    for row in data["rows"]:
        assert row["N"] == 2 * 3 * row["q"] + 1 and row["bound"] == pytest.approx(row["N"] / 3**6)
        assert row["chase"] <= row["sampling"] <= row["broadcast"]
        assert row["sampling_success"] >= 2 / 3
    assert data["models"][0]["bits"] == 64 * 32


def test_frontier_rounds_fall_as_bits_grow():
    _, data = make_figure("frontier", **SMALL["frontier"])
    bits = [row["bits_per_message"] for row in data["rows"]]
    assert [row["rounds"] for row in data["rows"]] == [1, 2, 3] and bits == sorted(bits, reverse=True)


def test_solvers_reach_one_with_the_whole_sequence():
    _, data = make_figure("solvers", **SMALL["solvers"])
    window, indicator = data["curves"]
    assert window["accuracy"][-1] == 1.0 and window["mismatches"] == [0, 0, 0]
    # Assadi–N at the encoded q, the theorem's form: c·q/k⁵ (= c·N/(2k⁶) up to c/(2k⁶)); vacuous at c = 1
    assert data["bound_bits"] == pytest.approx(8 / 3**5) and data["vacuous"]
    assert indicator["bits_per_message"] == [2 * 8 + 5 + 4] and indicator["accuracy"] == [1.0]
    assert indicator["rounds"] == [1] and indicator["mismatches"] == [0]


def test_solvers_report_the_ceiling_on_the_constant_with_the_solver_named():
    _, data = make_figure("solvers", **SMALL["solvers"])
    ceilings = {ceiling["protocol"]: ceiling for ceiling in data["ceilings"]}
    indicator = ceilings["indicator RNN (state 2q + O(log q) bits)"]
    assert indicator["c_max"] == pytest.approx(25 * 3**5 / 8)  # s·k⁵/q with s = 25 bits
    assert indicator["success_ci"][0] >= 2 / 3 and indicator["rounds"] < 3
    window = ceilings["window RNN (keeps the last W tokens)"]
    assert window["c_max"] > indicator["c_max"]  # the window needs more bits, so its ceiling is weaker


def test_example_chain():
    _, data = make_figure("example")
    assert data["chain"] == [11, 6, 4] and data["hop"][-1] == "c"
    assert len(data["encoding"]["sequence"]) == 2 * 3 * 4 + 1


def test_refusals(tmp_path):
    with pytest.raises(InvalidParameter, match="unknown figure"):
        make_figure("pie")
    fig, _ = make_figure("example")
    with pytest.raises(InvalidParameter, match=r"\.png, \.pdf or \.svg"):
        save(fig, str(tmp_path / "x.gif"))
    with pytest.raises(InvalidParameter, match="cannot write"):
        save(fig, str(tmp_path / "missing" / "x.png"))


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"k": 0}, "k must be an integer >= 1, got 0"),
        ({"k": 1}, "needs k >= 2"),
        ({"q": 7}, "q must be an even integer"),
        ({"c": float("nan")}, "c must be a positive finite number, got nan"),
        ({"c": -1}, "c must be a positive finite number, got -1"),
    ],
)
def test_solvers_refuse_bad_values_up_front(options, match):
    with pytest.raises(InvalidParameter, match=match):
        make_figure("solvers", **{**SMALL["solvers"], **options})
