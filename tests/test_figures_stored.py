"""Figures from a sweep store: the trade-off is the union of stored rows; the frontier is one point."""

import json

import pytest

from commlab.cli import main
from commlab.errors import InvalidParameter
from commlab.figures.plot import draw, frontier_data, tradeoff_data
from commlab.figures.stored import stored_figure_data
from commlab.sweeps import Store, StoredPoint


def save_points(path, name, datas):
    with Store(path) as store:
        for i, data in enumerate(datas):
            params = {key: data[key] for key in ("q", "k") if key in data}
            store.save(StoredPoint(f"{name}{i}", f"plot {name}", params, i, "0", "done", data, None, 1, 0.1, "main"))


def test_tradeoff_rows_from_several_points_make_one_figure(tmp_path):
    whole = tradeoff_data(k=3, trials=30, q_values=(8, 16))
    parts = [tradeoff_data(k=3, trials=30, q=16), tradeoff_data(k=3, trials=30, q=8)]
    save_points(tmp_path / "r.db", "tradeoff", parts)
    data = stored_figure_data("tradeoff", tmp_path / "r.db")
    assert data["points"] == 2 and [row["q"] for row in data["rows"]] == [8, 16]
    assert data["rows"] == whole["rows"]
    draw(data)


def test_the_frontier_is_one_stored_point_chosen_by_its_options(tmp_path):
    points = [frontier_data(q=8, k=2, trials=30), frontier_data(q=16, k=2, trials=30)]
    save_points(tmp_path / "f.db", "frontier", points)
    assert stored_figure_data("frontier", tmp_path / "f.db", q=16)["rows"] == points[1]["rows"]
    with pytest.raises(InvalidParameter, match="differ in q: choose one with --q"):
        stored_figure_data("frontier", tmp_path / "f.db")
    with pytest.raises(InvalidParameter, match="no finished 'plot frontier' point with"):
        stored_figure_data("frontier", tmp_path / "f.db", q=32)
    with pytest.raises(InvalidParameter, match="does not exist"):
        stored_figure_data("frontier", tmp_path / "missing.db")
    with pytest.raises(InvalidParameter, match="'example' is measured afresh"):
        stored_figure_data("example", tmp_path / "f.db")


def test_a_sweep_of_plot_points_redraws_and_extends_the_tradeoff(tmp_path, capsys):
    """End to end: sweep `plot tradeoff` over q (JSON only), then `plot tradeoff --from` draws the
    stored rows without measuring; adding a q to the grid and rerunning extends the figure."""
    grid = tmp_path / "grid.toml"
    grid.write_text('experiment = "plot tradeoff"\n[grid]\nk = 3\nq = [8, 16]\ntrials = 30\n')
    store = tmp_path / "results.db"
    assert main(["sweep", "run", str(grid), "--store", str(store), "--quiet"]) == 0
    capsys.readouterr()
    out = tmp_path / "tradeoff.png"
    assert main(["plot", "tradeoff", "--from", str(store), "--out", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [row["q"] for row in data["rows"]] == [8, 16] and out.stat().st_size > 0 and data["points"] == 2
    assert main(["sweep", "run", str(grid), "--store", str(store), "--set", "q=[8, 16, 32]", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["plot", "tradeoff", "--from", str(store), "--json"]) == 0
    assert [row["q"] for row in json.loads(capsys.readouterr().out)["rows"]] == [8, 16, 32]
    assert main(["plot", "tradeoff", "--k", "3"]) == 2  # neither --out nor --json: nothing to do
    assert "nothing to do" in capsys.readouterr().err


def test_the_solvers_figure_redraws_from_what_its_json_printed(tmp_path, capsys):
    """The stored JSON of `plot solvers` (shared names: measured_bits_per_message, n) is what the
    draw function reads: store one point through the CLI, redraw it, get the same numbers."""
    grid = tmp_path / "solvers.toml"
    grid.write_text('experiment = "plot solvers"\n[grid]\nq = 8\nk = 3\ntrials = 20\nseed = 0\n')
    store = tmp_path / "solvers.db"
    assert main(["sweep", "run", str(grid), "--store", str(store), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["plot", "solvers", "--q", "8", "--k", "3", "--trials", "20", "--json"]) == 0
    direct = json.loads(capsys.readouterr().out)
    assert main(["plot", "solvers", "--from", str(store), "--out", str(tmp_path / "s.png"), "--json"]) == 0
    stored = json.loads(capsys.readouterr().out)
    assert stored["curves"] == direct["curves"] and stored["ceilings"] == direct["ceilings"]
    assert stored["n"] == 2 * 3 * 8 + 1 and (tmp_path / "s.png").stat().st_size > 0
