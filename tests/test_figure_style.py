"""Figures are legible (issue 11 §4): TrueType fonts in PDFs, labelled ticks on the tradeoff x-axis,
the example readable at q = 16, and notebooks that display figures large enough to read."""

import base64
import itertools
import struct
from pathlib import Path

import nbformat
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from nbclient import NotebookClient

from commlab.figures.plot import make_figure, save

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


def _extents(fig, texts):
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    return [t.get_window_extent(renderer) for t in texts]


def _overlapping(boxes) -> list[tuple[int, int]]:
    return [(i, j) for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2) if a.overlaps(b)]


@pytest.mark.parametrize("suffix", ["pdf", "eps"])
def test_vector_output_embeds_truetype_not_type3_fonts(tmp_path, suffix):
    fig, _ = make_figure("example")
    path = tmp_path / f"example.{suffix}"
    if suffix == "pdf":
        save(fig, str(path))
        data = path.read_bytes()
        assert b"/Subtype /Type3" not in data
        assert b"/FontFile2" in data  # an embedded TrueType program
    else:  # save() writes png, pdf and svg only; a figure saved by hand in the plot style
        import matplotlib

        from commlab.figures.plot import COLUMN

        with matplotlib.rc_context(COLUMN):
            fig.savefig(path)
        assert b"/FontType 42" in path.read_bytes() and b"/FontType 3" not in path.read_bytes()


def test_tradeoff_labels_every_measured_length():
    fig, data = make_figure("tradeoff", k=3, trials=40, q_values=(8, 16, 32))
    ax = fig.axes[0]
    labels = [t for t in ax.get_xticklabels() if t.get_text()]
    assert [t.get_text() for t in labels] == [str(row["n"]) for row in data["rows"]]  # 49, 97, 193
    assert not _overlapping(_extents(fig, labels))


def test_example_tokens_are_readable_at_q_16():
    fig, data = make_figure("example", q=16)
    bottom = fig.axes[1]
    tokens = [t for t in bottom.texts if t.get_text().isdigit()]
    assert len(tokens) == len(data["encoding"]["sequence"]) == 97
    assert min(t.get_fontsize() for t in tokens) >= 6
    assert not _overlapping(_extents(fig, tokens))


def _png_width(png: bytes) -> int:
    return struct.unpack(">I", png[16:20])[0]  # the IHDR chunk's width


def test_notebook_setups_show_figures_large_enough_to_read():
    """Each notebook's setup cell, then a one-column figure: at least 600 px wide inline (the
    figure's own 100 dpi gives about 340 px, where 7-point text is 10 px high). One kernel; the
    display settings are reset before each setup cell."""
    probe = (
        "from matplotlib.figure import Figure\n"
        "from commlab.figures.plot import WIDTH\n"
        "probe = Figure(figsize=(WIDTH, 2.5))\n"
        "probe.subplots().plot([0, 1])\n"
        "probe"
    )
    reset = '%config InlineBackend.print_figure_kwargs = {"bbox_inches": "tight"}'
    cells = []
    for path in NOTEBOOKS:
        setup = nbformat.read(path, as_version=4).cells[1]
        assert setup.cell_type == "code" and "%matplotlib inline" in setup.source, path.name
        cells += [nbformat.v4.new_code_cell(code) for code in (reset, setup.source, probe)]
    notebook = nbformat.v4.new_notebook(cells=cells)
    NotebookClient(
        notebook, timeout=120, resources={"metadata": {"path": str(NOTEBOOKS[0].parent)}}
    ).execute()
    for path, cell in zip(NOTEBOOKS, notebook.cells[2::3], strict=True):
        images = [o["data"]["image/png"] for o in cell.outputs if "image/png" in o.get("data", {})]
        assert images and _png_width(base64.b64decode(images[0])) >= 600, path.name


def test_interval_errorbar_draws_each_interval_and_skips_missing_points():
    from matplotlib.figure import Figure

    from commlab.figures.style import interval_errorbar

    ax = Figure().subplots()
    bars = interval_errorbar(ax, [1, 2, 3], [0.5, None, 0.2], [(0.4, 0.7), None, (0.1, 0.2)])
    segments = bars.lines[2][0].get_segments()
    assert [tuple(s[:, 1]) for s in segments if len(s)] == [(0.4, 0.7), (0.1, 0.2)]
