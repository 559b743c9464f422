"""Figures from a sweep store: the trade-off is the union of stored rows; other figures are one point."""

import pytest

from commlab.errors import InvalidParameter
from commlab.figures.plot import draw, frontier_data, tradeoff_data
from commlab.figures.stored import stored_figure_data
from commlab.sweeps import Record, Store


def save_points(path, name, datas):
    with Store(path) as store:
        for i, data in enumerate(datas):
            params = {key: data[key] for key in ("q", "k") if key in data}
            store.save(Record(f"{name}{i}", f"plot {name}", params, i, "0", "done", data, None, 1, 0.1, "main"))


def test_tradeoff_rows_from_several_points_make_one_figure(tmp_path):
    whole = tradeoff_data(k=3, trials=30, q_values=(8, 16))
    parts = [tradeoff_data(k=3, trials=30, q=16), tradeoff_data(k=3, trials=30, q=8)]
    save_points(tmp_path / "r.db", "tradeoff", parts)
    data = stored_figure_data("tradeoff", tmp_path / "r.db")
    assert data["points"] == 2 and [row["q"] for row in data["rows"]] == [8, 16]
    assert data["rows"] == whole["rows"]
    draw(data)


def test_other_figures_are_one_stored_point_chosen_by_options(tmp_path):
    points = [frontier_data(q=8, k=2, trials=30), frontier_data(q=16, k=2, trials=30)]
    save_points(tmp_path / "f.db", "frontier", points)
    assert stored_figure_data("frontier", tmp_path / "f.db", q=16)["rows"] == points[1]["rows"]
    with pytest.raises(InvalidParameter, match="differ in q: choose one with --q"):
        stored_figure_data("frontier", tmp_path / "f.db")
    with pytest.raises(InvalidParameter, match="no finished 'plot frontier' point with"):
        stored_figure_data("frontier", tmp_path / "f.db", q=32)
    with pytest.raises(InvalidParameter, match="does not exist"):
        stored_figure_data("frontier", tmp_path / "missing.db")
