"""Figures: every figure draws from its data, saves in every format, and plots what it measured."""

import json
from pathlib import Path

import pytest

from commlab import InvalidParameter
from commlab.cli._output import to_jsonable
from commlab.figures.plot import FIGURES, draw, make_figure, save, staircase

RESULTS = Path(__file__).parents[1] / "docs" / "results"
SMALL = {
    "tradeoff": {"k": 3, "trials": 60, "q_values": (8, 16)},
    "frontier": {"q": 16, "k": 3, "trials": 60},
    "solvers": {"q": 8, "k": 3, "trials": 40, "windows": (0, 24, 49)},
    "example": {},
    "depth": {"k_values": (3, 4), "n": 24, "max_layers": 5, "trials": 20},
    "rank": {"k_values": (4,), "q_values": (2,), "trials": 10},
    "depth-vs-k": {"results": RESULTS / "depth_vs_k_small_8000_steps.json"},
    "rnn-bits": {
        "results": RESULTS / "trained_rnns_small.json",
        "transformers": RESULTS / "depth_vs_k_small_8000_steps.json",
    },
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
        assert row["n"] == 2 * 3 * row["q"] + 1 and row["bound_bits"] == pytest.approx(row["q"] / 3**5)
        best = {b["rounds"]: b for b in row["best"]}
        assert [best[r]["protocol"] for r in (1, 3)] == ["indicators", "chase"]
        assert best[2]["protocol"] == "chunked" and best[2]["success_exact"] >= 2 / 3
        assert (
            best[2]["declared_bits_per_message"] <= row["sampling"]
            and best[1]["declared_bits_per_message"] < row["broadcast"]
        )
        assert row["gap_ratio"] == pytest.approx(best[2]["declared_bits_per_message"] / row["bound_bits"])
        bits = [best[r]["declared_bits_per_message"] for r in (1, 2, 3)]
        expected = [r for r in (2, 3) if min(bits[: r - 1]) <= bits[r - 1]]
        assert [d["rounds"] for d in row["dominated"]] == expected
    assert data["models"][0]["declared_bits_per_message"] == 64 * 32


@pytest.fixture(scope="module")
def frontier_128():
    return make_figure("frontier", q=128, k=4, trials=300)


def test_frontier_lists_the_best_zoo_protocol_per_round(frontier_128):
    """Issue 10 §6: at q = 128, k = 4 the frontier names the best protocol per R with s and success;
    R = 1 needs at most q bits and R = k − 1 at most ⌈q/(k−1)⌉ bits to be always right."""
    _, data = frontier_128
    rows = {row["rounds"]: row for row in data["rows"]}
    assert [rows[r]["protocol"] for r in (1, 2, 3, 4)] == ["indicators", "pipelined", "chunked", "chase"]
    assert [rows[r]["declared_bits_per_message"] for r in (1, 2, 3, 4)] == [89, 43, 15, 7]
    for row in rows.values():
        low, high = row["success_ci"]
        assert row["success_exact"] >= 2 / 3 and low <= row["success_exact"] <= high
    assert (
        rows[1]["always_right"]["declared_bits_per_message"]
        <= 128
        == rows[1]["always_right"]["declared_bits_per_message"]
    )
    assert (
        rows[3]["always_right"]["declared_bits_per_message"] <= 43
        and rows[3]["always_right"]["success"] == 1.0
    )
    assert data["gap"]["ratio"] == pytest.approx(15 / (128 / 4**5)) and data["gap"]["k4"] == 256


def test_frontier_says_which_protocols_are_dominated(frontier_128):
    _, data = frontier_128
    for row in data["rows"]:
        best = row["candidates"][0]
        assert best["protocol"] == row["protocol"] and not best["dominated_by"]
        for cand in row["candidates"][1:]:
            if (
                cand["decision"] == "reached"
                and cand["declared_bits_per_message"] > row["declared_bits_per_message"]
            ):
                assert cand["dominated_by"], cand
            if cand["protocol"] == "chase" and row["rounds"] < 4:  # one round short: a coin, not best
                assert cand["decision"] == "unreachable" and cand["success_exact"] == 0.5
    sampling = [c for c in data["rows"][2]["candidates"] if c["protocol"] == "sampling"][0]
    assert (
        sampling["declared_bits_per_message"] == 119
        and "chunked (R = 3, 15 bits)" in sampling["dominated_by"]
    )


def test_frontier_staircase_never_runs_through_failing_sizes(frontier_128):
    """The old figure stepped ``where="post"`` over decreasing bits, so R = 1's line ran left of
    its smallest working s. On ascending bits each step's R is achieved at every s it covers."""
    _, data = frontier_128
    xs, ys = staircase(data["rows"])
    need = {row["rounds"]: row["declared_bits_per_message"] for row in data["rows"]}
    assert xs == sorted(xs) and ys == sorted(ys, reverse=True)
    for x, r in zip(xs, ys, strict=True):
        assert need[r] <= x and all(need[fewer] > x for fewer in range(1, r))
    assert (xs[0], ys[0]) == (7, 4) and (xs[-1], ys[-1]) == (89, 1)


def test_frontier_figure_names_the_protocols(frontier_128):
    fig, data = frontier_128
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {"indicators", "pipelined", "chunked", "chase", "sampling", "broadcast"} <= texts
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(t.startswith("dominated at success 2/3: broadcast, sampling") for t in legend)
    assert "120·c·q/k⁵" in fig.axes[0].get_title()


def test_solvers_reach_one_with_the_whole_sequence():
    _, data = make_figure("solvers", **SMALL["solvers"])
    window, indicator, *rest = data["curves"]
    by_kind = {curve["label"].split(",")[0]: curve for curve in rest}
    cot = by_kind.get("one-layer CoT")
    kernel = by_kind["k kernel-attention layers"]  # r = 2, 4, 6, 8 at q = 8: k rounds, exact at r = q
    assert kernel["sizes"] == [2, 4, 6, 8] and kernel["rounds"] == [3] * 4 and kernel["mismatches"] == [0] * 4
    assert kernel["measured_bits_per_message"] == [r * 9 * 32 for r in (2, 4, 6, 8)]
    assert kernel["accuracy"][-1] == 1.0 and kernel["accuracy"][0] < 2 / 3
    assert all(not ceiling["protocol"].startswith("k kernel") for ceiling in data["ceilings"])  # R = k
    if cot is not None:  # the hop-following CoT: one CoT token short of 2k fails, 2k solves it
        assert cot["accuracy"] == [0.0, 1.0] and cot["rounds"] == [2 * 3, 2 * 3 + 1]
    else:
        assert data["skipped"], "a solver left out must say why"
    assert window["accuracy"][-1] == 1.0 and window["mismatches"] == [0, 0, 0]
    # Assadi–N at the encoded q, the theorem's form: c·q/k⁵ (= c·N/(2k⁶) up to c/(2k⁶)); vacuous at c = 1
    assert data["bound_bits"] == pytest.approx(8 / 3**5) and data["vacuous"]
    assert indicator["measured_bits_per_message"] == [2 * 8 + 5 + 4] and indicator["accuracy"] == [1.0]
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
