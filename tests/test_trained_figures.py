"""The trained-model figures draw the committed results files (no torch needed): what they plot is
what the files hold, and a missing or foreign results file is refused by name."""

import json
from pathlib import Path

import numpy as np
import pytest

from commlab import InvalidParameter
from commlab.figures.plot import make_figure

RESULTS = Path(__file__).parents[1] / "docs" / "results"
DEPTH = RESULTS / "depth_vs_k_small_8000_steps.json"
RNNS = RESULTS / "trained_rnns_small.json"


def test_depth_vs_k_plots_the_file_on_a_log2_axis_with_a_heat_map():
    fig, data = make_figure("depth-vs-k", results=str(DEPTH))
    saved = json.loads(DEPTH.read_text())
    assert [row["depth"] for row in data["depths"]] == [row["depth"] for row in saved["depths"]]
    for row, stored in zip(data["depths"], saved["depths"], strict=True):
        assert row["error"] == [r["error"] for r in stored["per_k"]]
    curves, heat = fig.axes[:2]
    assert curves.get_xscale() == "log" and curves.xaxis.get_transform().base == 2
    assert len(curves.get_lines()) >= len(data["depths"])  # one curve (plus its error bars) per depth
    first = curves.get_lines()[0]
    assert list(first.get_xdata()) == [1, 2, 3, 4]  # k = 0 only in the heat map
    grid = heat.get_images()[0].get_array()
    assert grid.shape == (3, 5) and np.isclose(grid[2, 3], saved["depths"][2]["per_k"][3]["error"])


def test_depth_vs_k_says_which_k_each_depth_learned():
    data = make_figure("depth-vs-k", results=str(DEPTH))[1]
    learned = {row["depth"]: row["learned_through"] for row in data["depths"]}
    assert learned == {2: 1, 3: 1, 4: 3}  # every k' <= k with error's upper 95 % bound below 5 %
    assert {row["depth"]: row["paper_rule"] for row in data["depths"]} == {2: 1, 3: 2, 4: 4}
    error = {row["depth"]: dict(zip(row["k"], row["error"], strict=True)) for row in data["depths"]}
    assert round(error[3][2], 3) == 0.204 and round(error[2][2], 3) == 0.202  # notebook 05's text


@pytest.mark.parametrize("name", ["depth-vs-k", "rnn-bits"])
def test_results_files_are_refused_by_name(name, tmp_path):
    with pytest.raises(InvalidParameter, match="--results"):
        make_figure(name)
    with pytest.raises(InvalidParameter, match="cannot read"):
        make_figure(name, results=str(tmp_path / "none.json"))
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"experiment": "other"}))
    with pytest.raises(InvalidParameter, match="'other'"):
        make_figure(name, results=str(wrong))


def test_plot_cli_takes_results(tmp_path, capsys):
    from commlab.cli import main

    out = tmp_path / "fig.png"
    assert main(["plot", "depth-vs-k", "--results", str(DEPTH), "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["depths"][0]["depth"] == 2 and out.stat().st_size > 1000
    assert main(["plot", "depth-vs-k", "--results", str(tmp_path / "x.json"), "--out", str(out)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_rnn_bits_plots_the_file_against_state_bits():
    fig, data = make_figure("rnn-bits", results=str(RNNS), transformers=str(DEPTH))
    saved = json.loads(RNNS.read_text())
    bits_ax = fig.axes[0]
    assert bits_ax.get_xscale() == "log"
    ks = sorted({row["k"] for m in saved["models"] for row in m["last_position"]})
    cells = sorted({m["cell"] for m in saved["models"]})
    assert len(data["curves"]) == len(ks) * len(cells)
    for curve in data["curves"]:
        models = sorted((m for m in saved["models"] if m["cell"] == curve["cell"]), key=lambda m: m["state_bits"])
        assert curve["accuracy"] == [next(r for r in m["last_position"] if r["k"] == curve["k"])["accuracy"] for m in models]
    assert data["mismatches"] == 0
    # the bound's requirement is marked and, at this n, said to be vacuous
    assert all(row["vacuous"] and row["bound_bits"] < 1 for row in data["rnn_bound"])
    assert any("vacuous" in text.get_text() for text in bits_ax.get_legend().get_texts())
    # the transformers of the depth results stand beside the recurrent models
    assert {s["family"] for s in data["by_parameters"]} == {*cells, "gpt2"}


def test_rnn_bits_refuses_transformers_of_another_task(tmp_path):
    other = json.loads(DEPTH.read_text())
    other["settings"]["n"] = 100
    path = tmp_path / "other.json"
    path.write_text(json.dumps(other))
    with pytest.raises(InvalidParameter, match="do not compare"):
        make_figure("rnn-bits", results=str(RNNS), transformers=str(path))


def test_plot_cli_refuses_results_where_they_do_not_apply(tmp_path, capsys):
    from commlab.cli import main

    for args in (
        ["plot", "example", "--results", str(DEPTH), "--json"],
        ["plot", "depth-vs-k", "--results", str(DEPTH), "--from", str(tmp_path / "r.db"), "--json"],
    ):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "--results" in err and err.count("\n") == 1, err
