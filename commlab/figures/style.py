"""The house style every figure is drawn in: paper column width and its font sizes."""

__all__ = ["COLUMN", "WIDTH", "interval_errorbar"]

import numpy as np

# Figures are built without pyplot: no global state, any backend, and they display in notebooks.
COLUMN = {
    # TrueType (Type 42) fonts in PDF/PS: editable, searchable text that journals accept (Type 3
    # bitmaps-as-glyphs are matplotlib's default). save() applies these too, since savefig reads
    # rcParams when it writes, not when the figure was drawn.
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "font.size": 7,
    "axes.titlesize": 8,
    "axes.labelsize": 7,
    "legend.fontsize": 6,
    "xtick.labelsize": 6,
    "ytick.labelsize": 6,
    "lines.markersize": 3.5,
}
WIDTH = 3.4  # inches: one column of a two-column paper


def interval_errorbar(ax, x, value, interval, **style):
    """Plot ``value`` at ``x`` with its confidence ``interval`` (a (low, high) pair per point) as
    error bars; ``style`` goes to :meth:`matplotlib.axes.Axes.errorbar`. Missing values (``None``)
    are not drawn."""
    value = np.array([np.nan if v is None else v for v in value], dtype=float)
    interval = np.array([[np.nan, np.nan] if c is None else c for c in interval], dtype=float).reshape(-1, 2)
    return ax.errorbar(x, value, yerr=[value - interval[:, 0], interval[:, 1] - value], **style)
