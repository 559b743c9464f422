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
    "depth": {"k_values": (3, 4), "n": 24, "max_layers": 5, "trials": 20},
    "rank": {"k_values": (4,), "q_values": (2,), "trials": 10},
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
    curve = data["curves"][0]
    assert curve["accuracy"][-1] == 1.0 and curve["mismatches"] == [0, 0, 0]
    assert data["bound_bits"] == pytest.approx(49 / 3**6)


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
